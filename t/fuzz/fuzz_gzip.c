/*
 * fuzz_gzip.c -- libFuzzer target for the gzip body filter's engine
 * (modules/gzip/gzip_stream.c) and the header parsers it decides with
 * (modules/gzip/gzip_headers.c).
 *
 * Input: byte 0 picks the level, byte 1 seeds the chunk splits, byte 2
 * picks the consumer (prompt, or one call late like a slow client) and
 * whether some calls skip the sync flush; the rest is the response body.
 * The body is fed in pseudo-random chunk sizes (0 .. 4 KiB, sometimes as
 * a chain of several buffers), each call's output is "sent" the way the
 * response writer does it; the target asserts that every input buffer is
 * consumed, that buffers still waiting to be sent are never overwritten,
 * and that gunzip of everything sent is the body, byte for byte, ending
 * exactly at the end of the gzip member.  The whole input is also run
 * through the Accept-Encoding / Cache-Control / Vary / Content-Type
 * parsers (which must not read out of bounds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzip/gzip_headers.h"
#include "gzip/gzip_stream.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    u_char  *data;
    size_t   len, cap;
} sink_t;

/* Copy what out holds and mark it sent (pos = last), as the writer does.
 * snap, when given, is what the chain held when it was produced: it must
 * not have changed since (no reuse of unsent buffers). */
static void
send_chain(sink_t *s, pc_chain_t *out, const sink_t *snap)
{
    size_t n, off = 0;

    for (; out != NULL; out = out->next) {
        CHECK(out->buf != NULL && out->buf->last >= out->buf->pos);
        n = (size_t) (out->buf->last - out->buf->pos);
        if (snap != NULL) {
            CHECK(off + n <= snap->len && memcmp(snap->data + off, out->buf->pos, n) == 0);
            off += n;
        }
        if (s->len + n > s->cap) {
            s->cap = (s->len + n) * 2 + 4096;
            s->data = realloc(s->data, s->cap);
            CHECK(s->data != NULL);
        }
        memcpy(s->data + s->len, out->buf->pos, n);
        s->len += n;
        out->buf->pos = out->buf->last;
    }
    CHECK(snap == NULL || off == snap->len);
}

static void
snapshot(sink_t *snap, pc_chain_t *out)
{
    pc_chain_t *cl;

    snap->len = 0;
    for (cl = out; cl != NULL; cl = cl->next) {
        size_t n = (size_t) (cl->buf->last - cl->buf->pos);

        if (snap->len + n > snap->cap) {
            snap->cap = (snap->len + n) * 2 + 4096;
            snap->data = realloc(snap->data, snap->cap);
            CHECK(snap->data != NULL);
        }
        memcpy(snap->data + snap->len, cl->buf->pos, n);
        snap->len += n;
    }
}

static uint32_t
next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void
check_gunzip(const sink_t *s, const uint8_t *body, size_t len)
{
    u_char *back = malloc(len + 1);
    z_stream zs;
    int rc;

    CHECK(back != NULL);
    memset(&zs, 0, sizeof(zs));
    CHECK(inflateInit2(&zs, 16 + 15) == Z_OK);
    zs.next_in = s->data;
    zs.avail_in = (uInt) s->len;
    zs.next_out = back;
    zs.avail_out = (uInt) len + 1;
    rc = inflate(&zs, Z_FINISH);
    CHECK(rc == Z_STREAM_END);
    CHECK(zs.avail_in == 0);                    /* nothing after the member */
    CHECK(zs.total_out == len);
    CHECK(len == 0 || memcmp(back, body, len) == 0);
    inflateEnd(&zs);
    free(back);
}

static void
run_headers(const uint8_t *data, size_t size)
{
    pc_gzip_ae_t st = PC_GZIP_AE_INIT;
    u_char buf[64];
    size_t n;

    pc_gzip_ae_parse(&st, data, size);
    (void) pc_gzip_ae_accepts(&st);
    CHECK(st.gzip >= -1 && st.gzip <= 1 && st.star >= -1 && st.star <= 1);
    (void) pc_gzip_no_transform(data, size);
    (void) pc_gzip_vary_has(data, size);
    n = pc_gzip_media_type(data, size, buf, sizeof(buf));
    CHECK(n <= sizeof(buf));
}

/* One call: up to three buffers cut from body[*off ..). */
static pc_rc_t
feed_call(pc_gzip_stream_t *st, const uint8_t *body, size_t len, size_t *off, uint32_t *rnd,
    int flush, pc_chain_t **out)
{
    pc_buf_t b[3];
    pc_chain_t cl[3];
    size_t n, k, nb = 1 + next_rand(rnd) % 3;
    pc_rc_t rc;

    memset(b, 0, sizeof(b));
    for (k = 0; k < nb; k++) {
        n = next_rand(rnd) % 4097;     /* not inside pc_min: evaluated twice */
        n = pc_min(n, len - *off);
        b[k].start = b[k].pos = (u_char *) body + *off;
        b[k].end = b[k].last = (u_char *) body + *off + n;
        cl[k].buf = &b[k];
        cl[k].next = k + 1 < nb ? &cl[k + 1] : NULL;
        *off += n;
    }
    rc = pc_gzip_stream_feed(st, cl, (pc_gzip_flush_e) flush, out);
    for (k = 0; k < nb; k++)
        CHECK(b[k].pos == b[k].last);           /* input consumed */
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sink_t sent = { NULL, 0, 0 }, snap = { NULL, 0, 0 };
    pc_chain_t *out, *late = NULL;
    pc_gzip_stream_t st;
    pc_pool_t *pool;
    const uint8_t *body;
    size_t len, off = 0;
    uint32_t rnd;
    int slow, flush;

    run_headers(data, size);
    if (size < 3)
        return 0;
    body = data + 3;
    len = size - 3;
    rnd = 0x9e3779b9u ^ ((uint32_t) data[1] << 8) ^ data[2];
    slow = data[2] & 1;
    pool = pc_pool_create(4096);
    CHECK(pool != NULL);
    CHECK(pc_gzip_stream_init(&st, pool, 1 + data[0] % 9) == PC_OK);
    while (off < len) {
        flush = (data[2] & 2) && next_rand(&rnd) % 3 == 0 ? PC_GZIP_NO_FLUSH
                                                          : PC_GZIP_SYNC_FLUSH;
        CHECK(feed_call(&st, body, len, &off, &rnd, flush, &out) == PC_OK);
        if (slow) {
            /* the previous call's output is sent only now */
            send_chain(&sent, late, late != NULL ? &snap : NULL);
            snapshot(&snap, out);
            late = out;
        } else {
            send_chain(&sent, out, NULL);
        }
    }
    send_chain(&sent, late, late != NULL ? &snap : NULL);
    CHECK(pc_gzip_stream_feed(&st, NULL, PC_GZIP_FINISH, &out) == PC_OK);
    send_chain(&sent, out, NULL);
    CHECK(st.finished && st.in_bytes == len && st.out_bytes == sent.len);
    check_gunzip(&sent, body, len);
    pc_pool_destroy(pool);
    free(sent.data);
    free(snap.data);
    return 0;
}
