/*
 * gzip_stream.c -- streaming gzip over buffer chains (see gzip_stream.h).
 */
#include <stdlib.h>

#include "gzip/gzip_stream.h"

/* A cached deflate state and the level it is set to. */
struct pc_gzip_z_s {
    z_stream    zs;
    int         level;
};

/* An output buffer and its chain link (request pool). */
struct pc_gzip_out_s {
    pc_buf_t       *buf;
    pc_chain_t      cl;
    uint32_t        call;       /* the feed call that last filled it     */
    pc_gzip_out_t  *next;
};

static struct pc_gzip_z_s *cache[PC_GZIP_CACHE_MAX];
static unsigned ncache;

/* ---------------------------------------------------------------------
 * z_stream cache
 * ------------------------------------------------------------------- */

static struct pc_gzip_z_s *
z_get(int level)
{
    struct pc_gzip_z_s *z;

    if (ncache > 0) {
        z = cache[--ncache];
        /* deflateReset keeps the buffer pointers of the last response:
         * they point at buffers that are gone (deflateParams may call
         * deflate with them) */
        z->zs.next_in = z->zs.next_out = NULL;
        z->zs.avail_in = z->zs.avail_out = 0;
        /* a reset stream has no input yet: changing the level is free */
        if (z->level != level && deflateParams(&z->zs, level, Z_DEFAULT_STRATEGY) != Z_OK) {
            deflateEnd(&z->zs);
            free(z);
            return NULL;
        }
        z->level = level;
        return z;
    }
    z = calloc(1, sizeof(*z));
    if (z == NULL)
        return NULL;
    /* windowBits + 16: zlib writes the gzip header and trailer itself */
    if (deflateInit2(&z->zs, level, Z_DEFLATED, PC_GZIP_WBITS + 16, PC_GZIP_MEMLEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK)
    {
        free(z);
        return NULL;
    }
    z->level = level;
    return z;
}

static void
z_put(struct pc_gzip_z_s *z)
{
    if (ncache < PC_GZIP_CACHE_MAX && deflateReset(&z->zs) == Z_OK) {
        cache[ncache++] = z;
        return;
    }
    deflateEnd(&z->zs);
    free(z);
}

/* Contract: see gzip_stream.h. */
void
pc_gzip_stream_release_all(void)
{
    while (ncache > 0) {
        struct pc_gzip_z_s *z = cache[--ncache];

        deflateEnd(&z->zs);
        free(z);
    }
}

/* Contract: see gzip_stream.h. */
unsigned
pc_gzip_stream_cached(void)
{
    return ncache;
}

/* ---------------------------------------------------------------------
 * Stream
 * ------------------------------------------------------------------- */

static void
stream_cleanup(void *data)
{
    pc_gzip_stream_t *st = data;
    pc_gzip_out_t *o;

    for (o = st->outs; o != NULL; o = o->next) {
        pc_buf_put(o->buf);
        o->buf = NULL;
    }
    st->outs = NULL;
    if (st->z != NULL) {
        z_put(st->z);
        st->z = NULL;
    }
}

/* Contract: see gzip_stream.h. */
pc_rc_t
pc_gzip_stream_init(pc_gzip_stream_t *st, pc_pool_t *pool, int level)
{
    memset(st, 0, sizeof(*st));
    st->pool = pool;
    if (level < 1 || level > 9)
        level = Z_DEFAULT_COMPRESSION;
    if (pc_pool_cleanup_add(pool, stream_cleanup, st) != PC_OK)
        return PC_ERROR;
    st->z = z_get(level);
    return st->z != NULL ? PC_OK : PC_ERROR;
}

/* A buffer the consumer is done with and this call has not used, else a
 * new one; appended to the call's output chain. */
static pc_gzip_out_t *
next_out(pc_gzip_stream_t *st, pc_chain_t ***tail)
{
    pc_gzip_out_t *o;

    for (o = st->outs; o != NULL; o = o->next)
        if (o->call != st->calls && o->buf->pos == o->buf->last)
            break;
    if (o == NULL) {
        o = pc_palloc(st->pool, sizeof(*o));
        if (o == NULL)
            return NULL;
        o->buf = pc_buf_get(PC_GZIP_BUF_SIZE);
        if (o->buf == NULL)
            return NULL;
        o->next = st->outs;
        st->outs = o;
    }
    o->buf->pos = o->buf->last = o->buf->start;
    o->buf->last_buf = 0;
    o->buf->flush = 0;
    o->call = st->calls;
    o->cl.buf = o->buf;
    o->cl.next = NULL;
    **tail = &o->cl;
    *tail = &o->cl.next;
    return o;
}

/*
 * One deflate() with output space; *cur is the buffer being filled.
 * Returns zlib's code (Z_OK, Z_STREAM_END, Z_BUF_ERROR) or Z_MEM_ERROR
 * when no output buffer could be had.
 */
static int
deflate_step(pc_gzip_stream_t *st, pc_gzip_out_t **cur, pc_chain_t ***tail, int flush)
{
    z_stream *zs = &st->z->zs;
    uInt room;
    int rc;

    if (*cur == NULL || (*cur)->buf->last == (*cur)->buf->end) {
        if ((*cur = next_out(st, tail)) == NULL)
            return Z_MEM_ERROR;
    }
    room = (uInt) ((*cur)->buf->end - (*cur)->buf->last);
    zs->next_out = (*cur)->buf->last;
    zs->avail_out = room;
    rc = deflate(zs, flush);
    (*cur)->buf->last += room - zs->avail_out;
    st->out_bytes += room - zs->avail_out;
    return rc;
}

static pc_rc_t
compress_buf(pc_gzip_stream_t *st, pc_buf_t *b, pc_gzip_out_t **cur, pc_chain_t ***tail)
{
    z_stream *zs = &st->z->zs;
    size_t n;
    int rc;

    while (b->pos < b->last) {
        /* avail_in is 32 bits: feed a huge buffer in slices */
        n = pc_min((size_t) (b->last - b->pos), (size_t) UINT32_MAX);
        zs->next_in = b->pos;
        zs->avail_in = (uInt) n;
        while (zs->avail_in > 0) {
            rc = deflate_step(st, cur, tail, Z_NO_FLUSH);
            /* with output room, no progress at all is a broken stream */
            if ((rc != Z_OK && rc != Z_BUF_ERROR)
                || (rc == Z_BUF_ERROR && zs->avail_out != 0))
                return PC_ERROR;
        }
        st->in_bytes += n;
        b->pos += n;
    }
    st->pending = 1;
    return PC_OK;
}

/* Flush (Z_SYNC_FLUSH / Z_FINISH) until zlib has nothing more to say. */
static pc_rc_t
flush_all(pc_gzip_stream_t *st, int flush, pc_gzip_out_t **cur, pc_chain_t ***tail)
{
    int rc;

    for ( ;; ) {
        rc = deflate_step(st, cur, tail, flush);
        if (rc == Z_STREAM_END && flush == Z_FINISH) {
            st->finished = 1;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return PC_ERROR;
        if (flush == Z_FINISH && rc == Z_BUF_ERROR && st->z->zs.avail_out != 0)
            return PC_ERROR;
        /* a sync flush is complete once zlib left output space unused */
        if (flush == Z_SYNC_FLUSH && st->z->zs.avail_out != 0)
            break;
    }
    st->pending = 0;
    return PC_OK;
}

/* Drop trailing empty buffers from the chain (free for later calls). */
static pc_chain_t *
trim_chain(pc_chain_t *head)
{
    pc_chain_t **l = &head, **keep = &head;

    for (l = &head; *l != NULL; l = &(*l)->next)
        if ((*l)->buf->last > (*l)->buf->pos)
            keep = &(*l)->next;
    *keep = NULL;
    return head;
}

/* Contract: see gzip_stream.h. */
pc_rc_t
pc_gzip_stream_feed(pc_gzip_stream_t *st, pc_chain_t *in, pc_gzip_flush_e flush,
    pc_chain_t **out)
{
    pc_chain_t *head = NULL, **tail = &head, *cl;
    pc_gzip_out_t *cur = NULL;
    pc_rc_t rc = PC_OK;

    *out = NULL;
    st->calls++;
    for (cl = in; cl != NULL; cl = cl->next) {
        if (cl->buf == NULL || cl->buf->last <= cl->buf->pos)
            continue;
        if (st->finished || st->z == NULL) {
            cl->buf->pos = cl->buf->last;
            continue;
        }
        if ((rc = compress_buf(st, cl->buf, &cur, &tail)) != PC_OK)
            break;
    }
    if (rc == PC_OK && !st->finished && st->z != NULL) {
        if (flush == PC_GZIP_FINISH)
            rc = flush_all(st, Z_FINISH, &cur, &tail);
        else if (flush == PC_GZIP_SYNC_FLUSH && st->pending)
            rc = flush_all(st, Z_SYNC_FLUSH, &cur, &tail);
    }
    *out = trim_chain(head);
    return rc;
}
