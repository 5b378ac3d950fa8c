/*
 * idgen.c -- see idgen.h.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "core/pc_core.h"
#include "trace/idgen.h"
#include "trace/traceparent.h"

#define ROTL(v, n)  ((uint32_t) (((v) << (n)) | ((v) >> (32 - (n)))))
#define QR(a, b, c, d)                                  \
    do {                                                \
        a += b; d ^= a; d = ROTL(d, 16);                \
        c += d; b ^= c; b = ROTL(b, 12);                \
        a += b; d ^= a; d = ROTL(d, 8);                 \
        c += d; b ^= c; b = ROTL(b, 7);                 \
    } while (0)

static uint32_t
load32(const u_char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}

static void
store32(u_char *p, uint32_t v)
{
    p[0] = (u_char) v;
    p[1] = (u_char) (v >> 8);
    p[2] = (u_char) (v >> 16);
    p[3] = (u_char) (v >> 24);
}

/* Contract: see idgen.h. */
void
pc_trace_chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
    u_char out[64])
{
    uint32_t s[16], x[16];
    int      i;

    s[0] = 0x61707865;          /* "expand 32-byte k" */
    s[1] = 0x3320646e;
    s[2] = 0x79622d32;
    s[3] = 0x6b206574;
    for (i = 0; i < 8; i++)
        s[4 + i] = key[i];
    s[12] = counter;
    s[13] = nonce[0];
    s[14] = nonce[1];
    s[15] = nonce[2];
    memcpy(x, s, sizeof(x));
    for (i = 0; i < 10; i++) {
        QR(x[0], x[4], x[8], x[12]);
        QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]);
        QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]);
        QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]);
        QR(x[3], x[4], x[9], x[14]);
    }
    for (i = 0; i < 16; i++)
        store32(out + 4 * i, x[i] + s[i]);
}

/* Make the next batch: the first 32 bytes rekey g (fast key erasure), the
 * rest is output. */
static void
refill(pc_trace_idgen_t *g)
{
    static const uint32_t nonce[3] = { 0, 0, 0 };
    uint32_t              i;

    if (g->refills >= PC_TRACE_IDGEN_RESEED)
        (void) pc_trace_idgen_reseed(g);
    for (i = 0; i < PC_TRACE_IDGEN_BLOCKS; i++)
        pc_trace_chacha20_block(g->key, i, nonce, g->buf + 64 * i);
    for (i = 0; i < 8; i++)
        g->key[i] = load32(g->buf + 4 * i);
    memset(g->buf, 0, 32);
    g->pos = 32;
    g->refills++;
}

/* Contract: see idgen.h. */
void
pc_trace_idgen_seed(pc_trace_idgen_t *g, const u_char seed[32])
{
    uint32_t i;

    memset(g, 0, sizeof(*g));
    for (i = 0; i < 8; i++)
        g->key[i] = load32(seed + 4 * i);
    g->pos = sizeof(g->buf);        /* empty: the first use refills */
    g->seeded = 1;
}

/* Read n bytes from getrandom(2), retrying EINTR and short reads. */
static pc_rc_t
os_random(u_char *out, size_t n)
{
    ssize_t got;

    while (n > 0) {
        got = getrandom(out, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return PC_ERROR;
        }
        out += got;
        n -= (size_t) got;
    }
    return PC_OK;
}

/* Contract: see idgen.h. */
pc_rc_t
pc_trace_idgen_reseed(pc_trace_idgen_t *g)
{
    u_char          seed[32];
    struct timespec ts;
    pc_rc_t         rc;
    uint32_t        i;

    memset(seed, 0, sizeof(seed));
    rc = os_random(seed, sizeof(seed));
    if (rc != PC_OK) {
        /* Never expected on Linux >= 3.17; keep going with something that
         * at least differs between workers and runs. */
        clock_gettime(CLOCK_REALTIME, &ts);
        store32(seed, (uint32_t) ts.tv_nsec);
        store32(seed + 4, (uint32_t) ts.tv_sec);
        store32(seed + 8, (uint32_t) getpid());
    }
    if (!g->seeded) {
        pc_trace_idgen_seed(g, seed);
    } else {
        for (i = 0; i < 8; i++)
            g->key[i] ^= load32(seed + 4 * i);
    }
    memset(seed, 0, sizeof(seed));
    g->refills = 0;
    return rc;
}

/* Contract: see idgen.h. */
void
pc_trace_idgen_bytes(pc_trace_idgen_t *g, u_char *out, size_t n)
{
    size_t take;

    if (!g->seeded)
        (void) pc_trace_idgen_reseed(g);
    while (n > 0) {
        if (g->pos >= sizeof(g->buf))
            refill(g);
        take = pc_min(n, sizeof(g->buf) - g->pos);
        memcpy(out, g->buf + g->pos, take);
        memset(g->buf + g->pos, 0, take);   /* issued bytes leave no trace */
        g->pos += (uint32_t) take;
        out += take;
        n -= take;
    }
}

/* Contract: see idgen.h. */
void
pc_trace_idgen_nonzero(pc_trace_idgen_t *g, u_char *out, size_t n)
{
    do {
        pc_trace_idgen_bytes(g, out, n);
    } while (n > 0 && pc_trace_all_zero(out, n));
}
