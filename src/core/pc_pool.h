/*
 * pc_pool.h -- arenas (bump allocators) with cleanups.
 *
 * A pool owns everything allocated from it and is freed as a whole: the
 * cycle pool (configuration, life of a generation), the request pool (reset
 * when a keep-alive request ends).  Cleanups run in reverse order of
 * registration when the pool is reset or destroyed; register resources
 * (z_stream, pcre2_match_data, fds) next to their creation.
 */
#ifndef PC_POOL_H
#define PC_POOL_H

#include "core/pc_types.h"

typedef void (*pc_cleanup_pt)(void *data);

/* Create a pool whose blocks are block_size bytes (allocations larger than
 * a quarter block get their own malloc, freed with the pool).  NULL on ENOMEM. */
pc_pool_t *pc_pool_create(size_t block_size);

/* Run cleanups, free every block. NULL is accepted. */
void pc_pool_destroy(pc_pool_t *pool);

/* Run cleanups, free large allocations and extra blocks, keep the first
 * block for reuse: what a keep-alive request does between requests. */
void pc_pool_reset(pc_pool_t *pool);

/* Aligned allocation (max_align_t); NULL on ENOMEM.  Never freed alone. */
void *pc_palloc(pc_pool_t *pool, size_t size);

/* Same, zero-filled. */
void *pc_pcalloc(pc_pool_t *pool, size_t size);

/* Unaligned allocation for byte strings. */
void *pc_pnalloc(pc_pool_t *pool, size_t size);

/* Copy len bytes plus a NUL terminator into the pool. */
u_char *pc_pstrdup(pc_pool_t *pool, const u_char *s, size_t len);

/* Register fn(data) to run when the pool is reset or destroyed. */
pc_rc_t pc_pool_cleanup_add(pc_pool_t *pool, pc_cleanup_pt fn, void *data);

/* Total bytes currently held by the pool (blocks + large), for metrics/tests. */
size_t pc_pool_size(const pc_pool_t *pool);

/*
 * A growable array of fixed-size elements living in a pool.  Growth copies
 * into a new pool allocation (the old one stays until the pool goes), so it
 * is meant for configuration-time lists, not hot paths.
 */
typedef struct {
    void       *elts;
    uint32_t    nelts;
    uint32_t    nalloc;
    size_t      size;
    pc_pool_t  *pool;
} pc_array_t;

pc_rc_t pc_array_init(pc_array_t *a, pc_pool_t *pool, uint32_t n, size_t size);
/* Append one zeroed element; NULL on ENOMEM. */
void *pc_array_push(pc_array_t *a);

#endif /* PC_POOL_H */
