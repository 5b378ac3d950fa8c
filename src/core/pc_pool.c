/*
 * pc_pool.c -- arenas (bump allocators) with cleanups and pooled arrays.
 *
 * Layout.  One malloc holds the pool header followed by the first block's
 * usable bytes, so a pool that never outgrows its first block costs exactly
 * one malloc and one free, and pc_pool_reset() has nothing to free.  When the
 * current block is full another block_size block is chained in front and
 * becomes current; the tail of the block it replaces is abandoned (at most a
 * quarter block, because bigger requests never come from blocks).
 *
 * Ownership.  Everything handed out belongs to the pool and lives until
 * pc_pool_reset() or pc_pool_destroy():
 *   - small allocations (<= block_size / 4) are carved from blocks;
 *   - large allocations get their own malloc, kept on pool->large;
 *   - cleanup records are carved from the pool itself, so registering one
 *     can only fail on ENOMEM, and they vanish with the memory they guard.
 * Cleanups run newest first (pushed at the head of a list), before any
 * memory is released, so a cleanup may still read pool data.
 *
 * Fast path.  pc_palloc() is an align + compare + bump on pool->last; every
 * other case (new block, large allocation) lives in a separate function.
 */
#include <stdlib.h>
#include <string.h>
#include <stdalign.h>

#include "core/pc_pool.h"

#define PC_POOL_ALIGN      alignof(max_align_t)
#define PC_POOL_MIN_BLOCK  512

typedef struct pc_pool_block_s  pc_pool_block_t;
typedef struct pc_pool_large_s  pc_pool_large_t;
typedef struct pc_pool_cln_s    pc_pool_cln_t;

/* Header of every block after the first (the first lives in pc_pool_s). */
struct pc_pool_block_s {
    pc_pool_block_t  *next;
};

/* Header of a large allocation; the payload follows, aligned. */
struct pc_pool_large_s {
    pc_pool_large_t  *next;
    size_t            size;     /* whole malloc, for pc_pool_size() */
};

struct pc_pool_cln_s {
    pc_cleanup_pt     fn;
    void             *data;
    pc_pool_cln_t    *next;
};

struct pc_pool_s {
    u_char           *last;       /* first free byte of the current block  */
    u_char           *end;        /* end of the current block              */
    pc_pool_block_t  *blocks;     /* extra blocks, newest first            */
    pc_pool_large_t  *large;      /* large allocations, newest first       */
    pc_pool_cln_t    *cleanups;   /* newest first: runs in reverse order   */
    size_t            block_size;
    size_t            large_min;  /* sizes above this bypass the blocks    */
    size_t            held;       /* bytes malloc'ed: blocks + large       */
    u_char           *first;      /* start of the embedded first block     */
};

/* Room taken by the pool header (or a block header) before usable bytes. */
#define PC_POOL_HDR   pc_align(sizeof(struct pc_pool_s), PC_POOL_ALIGN)
#define PC_BLOCK_HDR  pc_align(sizeof(pc_pool_block_t), PC_POOL_ALIGN)
#define PC_LARGE_HDR  pc_align(sizeof(pc_pool_large_t), PC_POOL_ALIGN)

/*
 * Create a pool; block_size is the size of each malloc'ed block, header
 * included (raised to PC_POOL_MIN_BLOCK).  NULL on ENOMEM.
 */
pc_pool_t *
pc_pool_create(size_t block_size)
{
    pc_pool_t *pool;

    if (block_size < PC_POOL_MIN_BLOCK)
        block_size = PC_POOL_MIN_BLOCK;
    block_size = pc_align(block_size, PC_POOL_ALIGN);
    if (block_size == 0)                       /* wrapped around */
        return NULL;

    pool = malloc(block_size);
    if (pool == NULL)
        return NULL;

    pool->first = (u_char *) pool + PC_POOL_HDR;
    pool->last = pool->first;
    pool->end = (u_char *) pool + block_size;
    pool->blocks = NULL;
    pool->large = NULL;
    pool->cleanups = NULL;
    pool->block_size = block_size;
    /* A quarter block always fits in a fresh block, whatever the header. */
    pool->large_min = block_size / 4;
    pool->held = block_size;
    return pool;
}

/* Run every cleanup, newest first.  A cleanup registered by a cleanup runs
 * too, so nothing registered is ever skipped. */
static void
run_cleanups(pc_pool_t *pool)
{
    pc_pool_cln_t *c;

    while ((c = pool->cleanups) != NULL) {
        pool->cleanups = c->next;
        c->fn(c->data);
    }
}

/* Free large allocations and every block but the first. */
static void
free_extra(pc_pool_t *pool)
{
    pc_pool_large_t *l, *ln;
    pc_pool_block_t *b, *bn;

    for (l = pool->large; l != NULL; l = ln) {
        ln = l->next;
        free(l);
    }
    for (b = pool->blocks; b != NULL; b = bn) {
        bn = b->next;
        free(b);
    }
    pool->large = NULL;
    pool->blocks = NULL;
}

/* Run cleanups and free all memory.  NULL is accepted. */
void
pc_pool_destroy(pc_pool_t *pool)
{
    if (pool == NULL)
        return;
    run_cleanups(pool);
    free_extra(pool);
    free(pool);
}

/* Run cleanups, free large allocations and extra blocks, rewind the first
 * block.  Every pointer obtained from the pool becomes invalid. */
void
pc_pool_reset(pc_pool_t *pool)
{
    run_cleanups(pool);
    free_extra(pool);
    pool->last = pool->first;
    pool->end = (u_char *) pool + pool->block_size;
    pool->held = pool->block_size;
}

/* Slow path: a malloc of its own, remembered on pool->large. */
static void *
alloc_large(pc_pool_t *pool, size_t size)
{
    pc_pool_large_t *l;

    if (size > SIZE_MAX - PC_LARGE_HDR)
        return NULL;
    l = malloc(PC_LARGE_HDR + size);
    if (l == NULL)
        return NULL;
    l->size = PC_LARGE_HDR + size;
    l->next = pool->large;
    pool->large = l;
    pool->held += l->size;
    return (u_char *) l + PC_LARGE_HDR;
}

/* Slow path: chain a new block, make it current, carve size bytes from it.
 * size <= large_min, which always fits in a fresh block. */
static void *
alloc_block(pc_pool_t *pool, size_t size)
{
    pc_pool_block_t *b;
    u_char *p;

    b = malloc(pool->block_size);
    if (b == NULL)
        return NULL;
    b->next = pool->blocks;
    pool->blocks = b;
    pool->held += pool->block_size;

    p = (u_char *) b + PC_BLOCK_HDR;
    pool->end = (u_char *) b + pool->block_size;
    pool->last = p + size;
    return p;
}

/* Carve size bytes aligned to align (a power of two) from the pool. */
static inline void *
alloc(pc_pool_t *pool, size_t size, size_t align)
{
    uintptr_t p;

    if (size > pool->large_min)
        return alloc_large(pool, size);

    /* Integer arithmetic: the aligned cursor may lie past end, and forming
     * such a pointer would be undefined behaviour. */
    p = pc_align((uintptr_t) pool->last, align);
    if (p <= (uintptr_t) pool->end && size <= (uintptr_t) pool->end - p) {
        pool->last = (u_char *) p + size;
        return (void *) p;
    }
    return alloc_block(pool, size);
}

/* size bytes aligned for any object type; NULL on ENOMEM. */
void *
pc_palloc(pc_pool_t *pool, size_t size)
{
    return alloc(pool, size, PC_POOL_ALIGN);
}

/* Same, zero-filled. */
void *
pc_pcalloc(pc_pool_t *pool, size_t size)
{
    void *p = alloc(pool, size, PC_POOL_ALIGN);

    if (p != NULL)
        memset(p, 0, size);
    return p;
}

/* size bytes with no alignment (byte strings); NULL on ENOMEM. */
void *
pc_pnalloc(pc_pool_t *pool, size_t size)
{
    return alloc(pool, size, 1);
}

/* Copy s[0..len) plus a NUL into the pool; NULL on ENOMEM. */
u_char *
pc_pstrdup(pc_pool_t *pool, const u_char *s, size_t len)
{
    u_char *d;

    if (len == SIZE_MAX)
        return NULL;
    d = pc_pnalloc(pool, len + 1);
    if (d == NULL)
        return NULL;
    if (len != 0)
        memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* Register fn(data) to run (newest first) at reset/destroy.  PC_ERROR on
 * ENOMEM, in which case fn will not run: the caller must release data. */
pc_rc_t
pc_pool_cleanup_add(pc_pool_t *pool, pc_cleanup_pt fn, void *data)
{
    pc_pool_cln_t *c;

    c = pc_palloc(pool, sizeof(*c));
    if (c == NULL)
        return PC_ERROR;
    c->fn = fn;
    c->data = data;
    c->next = pool->cleanups;
    pool->cleanups = c;
    return PC_OK;
}

/* Bytes currently malloc'ed by the pool (blocks and large allocations). */
size_t
pc_pool_size(const pc_pool_t *pool)
{
    return pool->held;
}

/* Prepare a to hold n elements of size bytes (n may be 0). PC_ERROR on
 * ENOMEM or when n * size overflows. */
pc_rc_t
pc_array_init(pc_array_t *a, pc_pool_t *pool, uint32_t n, size_t size)
{
    a->nelts = 0;
    a->nalloc = n;
    a->size = size;
    a->pool = pool;
    a->elts = NULL;
    if (size != 0 && n > SIZE_MAX / size)
        return PC_ERROR;
    a->elts = pc_palloc(pool, (size_t) n * size);
    return a->elts == NULL ? PC_ERROR : PC_OK;
}

/* Append one zeroed element, doubling the storage when full (the old
 * storage stays in the pool).  NULL on ENOMEM or overflow. */
void *
pc_array_push(pc_array_t *a)
{
    void *elt, *grown;
    uint32_t n;

    if (a->nelts == a->nalloc) {
        if (a->nalloc > UINT32_MAX / 2)
            return NULL;
        n = a->nalloc < 4 ? 4 : a->nalloc * 2;
        if (a->size != 0 && n > SIZE_MAX / a->size)
            return NULL;
        grown = pc_palloc(a->pool, (size_t) n * a->size);
        if (grown == NULL)
            return NULL;
        if (a->nelts != 0)
            memcpy(grown, a->elts, (size_t) a->nelts * a->size);
        a->elts = grown;
        a->nalloc = n;
    }
    elt = (u_char *) a->elts + (size_t) a->nelts * a->size;
    a->nelts++;
    memset(elt, 0, a->size);
    return elt;
}
