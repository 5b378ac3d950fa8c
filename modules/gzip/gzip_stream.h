/*
 * gzip_stream.h -- streaming gzip (deflate) over buffer chains: what the
 * gzip body filter does, without the request around it (unit-tested and
 * fuzzed alone).
 *
 * Input buffers are read in place (next_in points into them) and marked
 * consumed (pos = last); output goes into buffers from the worker's free
 * list (pc_buf_get), handed out as a chain.  The consumer (the response
 * writer) advances each buffer's pos as it sends; a buffer whose pos
 * reached last is reused by a later call.  The z_stream comes from a
 * small per-process cache of initialised streams (deflateReset, not a new
 * deflateInit2, per response), so a busy worker does not malloc per
 * response; everything goes back when the pool given to init is reset.
 */
#ifndef PC_GZIP_STREAM_H
#define PC_GZIP_STREAM_H

#include <zlib.h>

#include "core/pc_core.h"
#include "core/pc_buf.h"

/* Window and hash sizes: 16 KiB window, memLevel 8 — about 192 KiB of
 * zlib state per response being compressed (nginx's default is 256 KiB);
 * see doc/modules/gzip.md for the ratio/speed numbers. */
#define PC_GZIP_WBITS      14
#define PC_GZIP_MEMLEVEL   8
#define PC_GZIP_BUF_SIZE   16384   /* output buffer size                 */
#define PC_GZIP_CACHE_MAX  8       /* idle z_streams kept per process    */

typedef enum {
    PC_GZIP_NO_FLUSH = 0,   /* compress what comes, emit when zlib likes */
    PC_GZIP_SYNC_FLUSH,     /* and make everything so far decodable      */
    PC_GZIP_FINISH          /* and end the gzip member                   */
} pc_gzip_flush_e;

typedef struct pc_gzip_out_s pc_gzip_out_t;

typedef struct {
    struct pc_gzip_z_s  *z;         /* from the cache                    */
    pc_pool_t           *pool;      /* owns the output nodes             */
    pc_gzip_out_t       *outs;      /* every output node of the stream   */
    uint32_t             calls;     /* feed calls so far                 */
    uint64_t             in_bytes;
    uint64_t             out_bytes;
    unsigned             pending:1; /* input since the last flush        */
    unsigned             finished:1;
} pc_gzip_stream_t;

/*
 * Start a gzip stream at level (1..9) whose output nodes live in pool;
 * the z_stream and the output buffers go back (cache / free list) by a
 * cleanup on pool.  PC_OK, PC_ERROR on ENOMEM.
 */
pc_rc_t pc_gzip_stream_init(pc_gzip_stream_t *st, pc_pool_t *pool, int level);

/*
 * Compress every byte of in (its buffers are consumed: pos = last), then
 * flush as asked.  *out is the chain of output buffers filled by this call
 * (NULL when none); they stay valid until their pos reaches last and a
 * later call reuses them, or the pool goes.  After PC_GZIP_FINISH the
 * stream is finished: later input is consumed and dropped.  PC_OK, or
 * PC_ERROR (ENOMEM, a zlib error).
 */
pc_rc_t pc_gzip_stream_feed(pc_gzip_stream_t *st, pc_chain_t *in, pc_gzip_flush_e flush,
    pc_chain_t **out);

/* Free every cached z_stream (worker exit, tests). */
void pc_gzip_stream_release_all(void);

/* Idle z_streams in the cache (tests). */
unsigned pc_gzip_stream_cached(void);

#endif /* PC_GZIP_STREAM_H */
