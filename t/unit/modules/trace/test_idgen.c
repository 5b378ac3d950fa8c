/*
 * test_idgen.c -- modules/trace/idgen.c: the ChaCha20 block function
 * against RFC 8439 §2.3.2, determinism from a seed, fast key erasure,
 * non-zero ids, and seeding from getrandom.
 */
#include <stdlib.h>

#include "test.h"
#include "core/pc_core.h"
#include "trace/idgen.h"

static void
test_rfc8439(void)
{
    static const u_char expect[64] = {
        0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
        0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a,
        0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2,
        0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9,
        0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e
    };
    /* key 00 01 .. 1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1 */
    static const uint32_t key[8] = { 0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c,
                                     0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c };
    static const uint32_t nonce[3] = { 0x09000000, 0x4a000000, 0x00000000 };
    u_char out[64];

    pc_trace_chacha20_block(key, 1, nonce, out);
    ok(memcmp(out, expect, 64) == 0, "ChaCha20 block matches RFC 8439 2.3.2");
}

static void
test_seeded(void)
{
    pc_trace_idgen_t a, b;
    u_char           seed[32], x[100], y[100], z[1000];
    size_t           i, zeros = 0;

    for (i = 0; i < 32; i++)
        seed[i] = (u_char) i;
    pc_trace_idgen_seed(&a, seed);
    pc_trace_idgen_seed(&b, seed);
    pc_trace_idgen_bytes(&a, x, sizeof(x));
    pc_trace_idgen_bytes(&b, y, 30);
    pc_trace_idgen_bytes(&b, y + 30, 70);
    ok(memcmp(x, y, sizeof(x)) == 0, "same seed, same stream, however it is split");
    pc_trace_idgen_bytes(&a, z, sizeof(z));         /* crosses a refill */
    ok(memcmp(z, x, sizeof(x)) != 0, "the stream moves on");
    for (i = 0; i < sizeof(z); i++)
        zeros += z[i] == 0;
    ok(zeros < 20, "output looks random (%zu zero bytes in 1000)", zeros);
    ok(a.pos >= 32, "the rekey bytes are never output");
    for (i = 32; i < a.pos && a.buf[i] == 0; i++) { }
    ok(i == a.pos, "issued bytes are wiped from the buffer");
    seed[0] ^= 1;
    pc_trace_idgen_seed(&b, seed);
    pc_trace_idgen_bytes(&b, y, sizeof(y));
    ok(memcmp(x, y, sizeof(x)) != 0, "another seed, another stream");
}

static void
test_os(void)
{
    pc_trace_idgen_t a, b;
    u_char           x[16], y[16], id[8];
    int              i, nonzero = 1;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    ok(pc_trace_idgen_reseed(&a) == PC_OK, "getrandom seeding works");
    pc_trace_idgen_bytes(&a, x, sizeof(x));
    pc_trace_idgen_bytes(&b, y, sizeof(y));     /* seeds itself on first use */
    ok(b.seeded, "an unseeded generator seeds itself");
    ok(memcmp(x, y, sizeof(x)) != 0, "two generators differ");
    ok(pc_trace_idgen_reseed(&a) == PC_OK, "reseeding mixes in fresh bytes");
    for (i = 0; i < 10000; i++) {
        pc_trace_idgen_nonzero(&a, id, sizeof(id));
        if (id[0] == 0 && memcmp(id, "\0\0\0\0\0\0\0\0", 8) == 0)
            nonzero = 0;
    }
    ok(nonzero, "nonzero ids are never all zeros");
    a.refills = PC_TRACE_IDGEN_RESEED;
    a.pos = sizeof(a.buf);
    pc_trace_idgen_bytes(&a, x, 1);
    ok(a.refills == 1, "a reseed happens every PC_TRACE_IDGEN_RESEED refills");
}

int
main(void)
{
    test_rfc8439();
    test_seeded();
    test_os();
    return done_testing();
}
