/*
 * fuzz_tls_dn.c -- libFuzzer target for src/tls/pc_tls_info.c:
 * pc_tls_dn_text over any DER-encoded X.509 Name (what a client puts in the
 * subject and issuer of its certificate, and what $ssl_client_s_dn /
 * $ssl_client_i_dn print).
 *
 * Invariants, for every output size from 0 to the full length:
 *   - the length returned never exceeds the buffer size;
 *   - a shorter buffer gives a prefix of the full text, cut between RDNs
 *     (empty, or the next byte of the full text is ',' or '+', or it is
 *     the end);
 *   - the text is printable ASCII: control and non-ASCII bytes are always
 *     escaped as \XX, so a DN can never forge a header or a log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "tls/pc_tls.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static u_char  full[8192], part[8192];
    const u_char  *p = data;
    X509_NAME     *name;
    size_t         n, k, i;

    if (size > 4096)
        return 0;
    name = d2i_X509_NAME(NULL, &p, (long) size);
    if (name == NULL)
        return 0;
    n = pc_tls_dn_text(name, full, sizeof(full));
    CHECK(n <= sizeof(full));
    for (i = 0; i < n; i++)
        CHECK(full[i] >= 0x20 && full[i] < 0x7f);
    for (k = 0; k <= n && k < sizeof(part); k += 1 + k / 8) {
        size_t m = pc_tls_dn_text(name, part, k);

        CHECK(m <= k);
        CHECK(memcmp(part, full, m) == 0);
        CHECK(m == 0 || m == n || full[m] == ',' || full[m] == '+');
    }
    X509_NAME_free(name);
    return 0;
}
