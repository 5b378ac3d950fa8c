/*
 * fuzz_tls_sni.c -- libFuzzer target for src/tls/pc_tls_info.c:
 * pc_tls_sni_parse over any server_name extension body (the first bytes of
 * a ClientHello a client controls that Portcullis itself reads, in the
 * ClientHello callback that picks the server block).
 *
 * Invariants:
 *   - a name is accepted only when the input is exactly one host_name
 *     entry: the input rebuilt from the name is byte for byte the input;
 *   - the name lies inside the input, is 1..255 bytes, without NUL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/pc_tls.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char        rebuilt[300];
    const u_char *name = NULL;
    size_t        nlen = 0;

    if (!pc_tls_sni_parse(data, size, &name, &nlen))
        return 0;
    CHECK(nlen >= 1 && nlen <= 255);
    CHECK(name >= data && name + nlen <= data + size);
    CHECK(memchr(name, 0, nlen) == NULL);
    CHECK(size == nlen + 5);
    rebuilt[0] = (u_char) ((nlen + 3) >> 8);
    rebuilt[1] = (u_char) (nlen + 3);
    rebuilt[2] = 0;
    rebuilt[3] = (u_char) (nlen >> 8);
    rebuilt[4] = (u_char) nlen;
    memcpy(rebuilt + 5, name, nlen);
    CHECK(memcmp(rebuilt, data, size) == 0);
    return 0;
}
