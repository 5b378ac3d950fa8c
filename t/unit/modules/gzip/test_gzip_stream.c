/*
 * test_gzip_stream.c -- modules/gzip/gzip_stream.c: what goes in comes out
 * of gunzip byte for byte, whatever the chunking (one byte at a time
 * included); a sync flush makes everything so far decodable; a slow
 * consumer's buffers are never overwritten and consumed ones are reused;
 * z_streams come back to the cache.
 */
#include <stdlib.h>

#include "test.h"
#include "gzip/gzip_stream.h"

/* What the response writer does: take the bytes, mark them sent. */
typedef struct {
    u_char  *data;
    size_t   len, cap;
} sink_t;

static void
sink_take(sink_t *s, pc_chain_t *out, bool consume)
{
    size_t n;

    for (; out != NULL; out = out->next) {
        n = (size_t) (out->buf->last - out->buf->pos);
        if (s->len + n > s->cap) {
            s->cap = (s->len + n) * 2 + 1024;
            s->data = realloc(s->data, s->cap);
        }
        memcpy(s->data + s->len, out->buf->pos, n);
        s->len += n;
        if (consume)
            out->buf->pos = out->buf->last;
    }
}

/* gunzip (with sync-flush semantics, so a partial stream decodes too). */
static size_t
gunzip(const u_char *in, size_t len, u_char *out, size_t cap, int *end)
{
    z_stream zs;
    size_t n;
    int rc;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + 15) != Z_OK)
        return (size_t) -1;
    zs.next_in = (u_char *) in;
    zs.avail_in = (uInt) len;
    zs.next_out = out;
    zs.avail_out = (uInt) cap;
    rc = inflate(&zs, Z_SYNC_FLUSH);
    *end = rc == Z_STREAM_END;
    n = cap - zs.avail_out;
    inflateEnd(&zs);
    return rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR ? n : (size_t) -1;
}

static u_char *
make_input(size_t len)
{
    static const char *words[] = { "\"id\":", "12345", "\"name\":", "\"portcullis\"",
                                   ",", "{", "}", "[", "]", "true", " " };
    u_char *p = malloc(len + 16);
    size_t i = 0, w;
    unsigned seed = 7;

    while (i < len) {
        seed = seed * 1103515245 + 12345;
        w = (seed >> 16) % pc_nelems(words);
        if ((seed >> 8) % 17 == 0)
            p[i++] = (u_char) (seed >> 3);          /* some noise */
        else
            for (const char *c = words[w]; *c && i < len; c++)
                p[i++] = (u_char) *c;
    }
    return p;
}

static void
feed_bytes(pc_gzip_stream_t *st, u_char *p, size_t n, pc_gzip_flush_e fl, sink_t *s,
    pc_rc_t *rc)
{
    pc_buf_t b;
    pc_chain_t cl = { &b, NULL }, *out;

    memset(&b, 0, sizeof(b));
    b.start = b.pos = p;
    b.end = b.last = p + n;
    if (pc_gzip_stream_feed(st, &cl, fl, &out) != PC_OK)
        *rc = PC_ERROR;
    if (b.pos != b.last)
        *rc = PC_ERROR;     /* input must be consumed */
    sink_take(s, out, true);
}

static void
roundtrip(size_t len, size_t chunk, int level, const char *what)
{
    pc_pool_t *pool = pc_pool_create(4096);
    u_char *in = make_input(len), *back = malloc(len + 64);
    pc_gzip_stream_t st;
    sink_t s = { NULL, 0, 0 };
    pc_chain_t *out;
    pc_rc_t rc = PC_OK;
    size_t off, n;
    int end = 0;

    is_int(pc_gzip_stream_init(&st, pool, level), PC_OK, "%s: init", what);
    for (off = 0; off < len; off += n) {
        n = pc_min(chunk, len - off);
        feed_bytes(&st, in + off, n, PC_GZIP_SYNC_FLUSH, &s, &rc);
    }
    if (pc_gzip_stream_feed(&st, NULL, PC_GZIP_FINISH, &out) != PC_OK)
        rc = PC_ERROR;
    sink_take(&s, out, true);
    is_int(rc, PC_OK, "%s: every call ok, input consumed", what);
    n = gunzip(s.data, s.len, back, len + 64, &end);
    ok(n == len && memcmp(back, in, len) == 0 && end, "%s: gunzip gives the input back "
       "(%zu -> %zu bytes)", what, len, s.len);
    ok(st.in_bytes == len && st.out_bytes == s.len, "%s: byte counters", what);
    pc_pool_destroy(pool);
    free(in);
    free(back);
    free(s.data);
}

static void
test_sync_flush(void)
{
    pc_pool_t *pool = pc_pool_create(4096);
    u_char *in = make_input(3000), back[4096];
    pc_gzip_stream_t st;
    sink_t s = { NULL, 0, 0 };
    pc_rc_t rc = PC_OK;
    size_t n;
    int end = 1;

    pc_gzip_stream_init(&st, pool, 6);
    feed_bytes(&st, in, 1000, PC_GZIP_SYNC_FLUSH, &s, &rc);
    n = gunzip(s.data, s.len, back, sizeof(back), &end);
    ok(n == 1000 && memcmp(back, in, 1000) == 0 && !end,
       "after a sync flush the first 1000 bytes decode, stream not ended");
    feed_bytes(&st, in + 1000, 2000, PC_GZIP_NO_FLUSH, &s, &rc);
    feed_bytes(&st, in + 3000, 0, PC_GZIP_SYNC_FLUSH, &s, &rc);
    n = gunzip(s.data, s.len, back, sizeof(back), &end);
    ok(n == 3000 && memcmp(back, in, 3000) == 0, "an empty call with SYNC flushes what was "
       "fed without flush");
    is_int(rc, PC_OK, "calls ok");
    pc_pool_destroy(pool);
    free(in);
    free(s.data);
}

static void
test_empty_and_after_finish(void)
{
    pc_pool_t *pool = pc_pool_create(4096);
    pc_gzip_stream_t st;
    sink_t s = { NULL, 0, 0 };
    pc_chain_t *out = (pc_chain_t *) 1;
    u_char back[16], junk[4] = "abc";
    pc_rc_t rc = PC_OK;
    int end = 0;

    pc_gzip_stream_init(&st, pool, 1);
    is_int(pc_gzip_stream_feed(&st, NULL, PC_GZIP_SYNC_FLUSH, &out), PC_OK,
           "flush with nothing fed");
    ok(out == NULL, "produces nothing");
    is_int(pc_gzip_stream_feed(&st, NULL, PC_GZIP_FINISH, &out), PC_OK, "finish at once");
    sink_take(&s, out, true);
    is_int((int) gunzip(s.data, s.len, back, sizeof(back), &end), 0,
           "an empty body is a valid empty gzip member (%zu bytes)", s.len);
    ok(end, "complete");
    ok(st.finished, "finished");
    feed_bytes(&st, junk, 3, PC_GZIP_FINISH, &s, &rc);
    is_int(rc, PC_OK, "input after the end is consumed");
    is_int((int) st.in_bytes, 0, "and dropped");
    pc_pool_destroy(pool);
    free(s.data);
}

/* The writer has not sent call 1's output yet: call 2 must not reuse its
 * buffers; once everything is sent, later calls reuse them. */
static void
test_slow_consumer(void)
{
    pc_pool_t *pool = pc_pool_create(4096);
    u_char *in = make_input(200000), *back = malloc(200064), *copy;
    pc_gzip_stream_t st;
    sink_t s = { NULL, 0, 0 }, s1 = { NULL, 0, 0 };
    pc_chain_t *out1, *out2, *cl;
    pc_buf_t b;
    pc_chain_t in_cl = { &b, NULL };
    unsigned before;
    size_t i;
    int end = 0;

    pc_buf_release_all();
    pc_gzip_stream_init(&st, pool, 1);
    memset(&b, 0, sizeof(b));
    b.start = b.pos = in;
    b.end = b.last = in + 100000;
    pc_gzip_stream_feed(&st, &in_cl, PC_GZIP_SYNC_FLUSH, &out1);
    sink_take(&s1, out1, false);       /* copied, but NOT marked sent */
    copy = s1.data;
    b.start = b.pos = in + 100000;
    b.end = b.last = in + 200000;
    pc_gzip_stream_feed(&st, &in_cl, PC_GZIP_FINISH, &out2);
    for (cl = out1, i = 0; cl != NULL; cl = cl->next) {
        ok(memcmp(cl->buf->pos, copy + i, (size_t) (cl->buf->last - cl->buf->pos)) == 0,
           "unsent buffer of call 1 intact after call 2");
        i += (size_t) (cl->buf->last - cl->buf->pos);
    }
    sink_take(&s, out1, true);
    sink_take(&s, out2, true);
    ok(gunzip(s.data, s.len, back, 200064, &end) == 200000 && memcmp(back, in, 200000) == 0,
       "and the whole stream decodes");
    pc_pool_destroy(pool);

    /* 2000 small calls, each consumed: a couple of buffers serve them all */
    pool = pc_pool_create(4096);
    pc_buf_release_all();
    pc_gzip_stream_init(&st, pool, 6);
    for (i = 0; i < 2000; i++) {
        pc_rc_t rc = PC_OK;

        feed_bytes(&st, in + i * 50, 50, PC_GZIP_SYNC_FLUSH, &s, &rc);
    }
    before = pc_buf_free_count(PC_GZIP_BUF_SIZE);
    pc_pool_destroy(pool);
    ok(pc_buf_free_count(PC_GZIP_BUF_SIZE) - before <= 2,
       "consumed buffers are reused (%u buffers for 2000 calls)",
       pc_buf_free_count(PC_GZIP_BUF_SIZE) - before);
    free(in);
    free(back);
    free(s.data);
    free(s1.data);
}

static void
test_cache(void)
{
    pc_pool_t *pool;
    pc_gzip_stream_t st;

    pc_gzip_stream_release_all();
    is_int((int) pc_gzip_stream_cached(), 0, "cache empty");
    pool = pc_pool_create(4096);
    pc_gzip_stream_init(&st, pool, 9);
    pc_pool_destroy(pool);
    is_int((int) pc_gzip_stream_cached(), 1, "a finished stream goes back to the cache");
    pool = pc_pool_create(4096);
    pc_gzip_stream_init(&st, pool, 9);
    is_int((int) pc_gzip_stream_cached(), 0, "and is taken from it");
    pc_pool_destroy(pool);
    roundtrip(50000, 4096, 2, "cached stream at another level");
    is_int(pc_gzip_stream_init(&st, (pool = pc_pool_create(4096)), 0), PC_OK,
           "level 0 means the default");
    pc_pool_destroy(pool);
    pc_gzip_stream_release_all();
    is_int((int) pc_gzip_stream_cached(), 0, "release_all empties it");
}

int
main(void)
{
    roundtrip(100000, 100000, 6, "one call");
    roundtrip(100000, 16384, 6, "16 KiB chunks");
    roundtrip(20000, 1, 1, "one byte at a time");
    roundtrip(300000, 7777, 9, "odd chunks, level 9");
    roundtrip(1, 1, 6, "one byte");
    test_sync_flush();
    test_empty_and_after_finish();
    test_slow_consumer();
    test_cache();
    pc_buf_release_all();
    return done_testing();
}
