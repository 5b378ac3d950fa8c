/*
 * pc_buf.h -- I/O buffers and chains.
 *
 * Buffers are fixed-size blocks from a per-worker free list (no malloc per
 * request in steady state).  A connection takes a buffer when it has bytes to
 * hold and gives it back as soon as it idles, so an idle keep-alive client
 * costs no buffer memory.
 */
#ifndef PC_BUF_H
#define PC_BUF_H

#include "core/pc_types.h"
#include "core/pc_module.h"

struct pc_buf_s {
    u_char     *start;      /* first byte of the block                  */
    u_char     *end;        /* one past the block                       */
    u_char     *pos;        /* first unconsumed byte                    */
    u_char     *last;       /* one past the last filled byte            */
    uint32_t    size;       /* end - start, the size class              */
    unsigned    pooled:1;   /* came from pc_buf_get (return with pc_buf_put) */
    unsigned    last_buf:1; /* end of the body                          */
    unsigned    flush:1;
    pc_buf_t   *next_free;
};

struct pc_chain_s {
    pc_buf_t            *buf;
    struct pc_chain_s   *next;
};

/* Take a buffer of exactly size bytes from the worker's free list (or
 * malloc one).  pos = last = start.  NULL on ENOMEM. */
pc_buf_t *pc_buf_get(size_t size);

/* Give b back (NULL accepted).  Keeps at most a bounded number of free
 * buffers per size class; the rest are freed so idle RSS stays low. */
void pc_buf_put(pc_buf_t *b);

/* Free every cached buffer (worker exit, tests). */
void pc_buf_release_all(void);

/* Free the cached buffers of each size that no pc_buf_get took since the
 * previous call (they sat idle all that time), keeping at least keep of
 * each size.  Returns the bytes given back to malloc.  For a periodic trim
 * after a burst; the caller may then malloc_trim. */
size_t pc_buf_trim(unsigned keep);

/* Number of free buffers cached for size (metrics, tests). */
unsigned pc_buf_free_count(size_t size);

#endif /* PC_BUF_H */
