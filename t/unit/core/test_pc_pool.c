/*
 * test_pc_pool.c -- unit tests for src/core/pc_pool.c: alignment, the
 * block/large split, cleanup order, reset and pc_array_t growth.  Run under
 * ASan so that a freed or overrun block shows up as a failure.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_pool.h"
#include "test.h"

#define ALIGN  alignof(max_align_t)

static int order[16];
static int norder;

static void
record(void *data)
{
    if (norder < 16)
        order[norder++] = (int) (intptr_t) data;
}

static void
test_alignment(void)
{
    pc_pool_t *pool = pc_pool_create(1024);
    bool aligned = true, distinct = true;
    u_char *p, *prev = NULL;
    size_t i;

    ok(pool != NULL, "pool created");
    for (i = 0; i < 200; i++) {
        /* odd unaligned allocations in between must not misalign palloc */
        pc_pnalloc(pool, i % 7 + 1);
        p = pc_palloc(pool, i % 50 + 1);
        aligned &= p != NULL && (uintptr_t) p % ALIGN == 0;
        distinct &= p != prev;
        memset(p, 0xa5, i % 50 + 1);          /* ASan: inside the block */
        prev = p;
    }
    ok(aligned, "palloc results are aligned to max_align_t across blocks");
    ok(distinct, "palloc never returns the same pointer twice");

    p = pc_pnalloc(pool, 3);
    ok(pc_pnalloc(pool, 5) == p + 3, "pnalloc packs byte strings without padding");
    ok(pc_palloc(pool, 0) != NULL, "palloc(0) returns a pointer");
    ok(pc_palloc(pool, SIZE_MAX) == NULL, "palloc(SIZE_MAX) fails cleanly");
    ok(pc_palloc(pool, SIZE_MAX - 8) == NULL, "palloc(SIZE_MAX - 8) fails cleanly");
    pc_pool_destroy(pool);
}

static void
test_small_block_clamped(void)
{
    pc_pool_t *pool = pc_pool_create(1);
    void *p;

    ok(pool != NULL, "a tiny block size is raised to the minimum");
    is_int(pc_pool_size(pool), 512, "minimum block is 512 bytes");
    p = pc_palloc(pool, 128);
    ok(p != NULL, "a quarter block comes from the block");
    is_int(pc_pool_size(pool), 512, "no extra malloc for it");
    pc_pool_destroy(pool);
}

static void
test_large(void)
{
    pc_pool_t *pool = pc_pool_create(4096);
    size_t base = pc_pool_size(pool);
    u_char *p;

    p = pc_palloc(pool, 1024);
    is_int(pc_pool_size(pool), base, "block_size/4 is still a small allocation");
    ok(p != NULL, "quarter block allocated");
    p = pc_palloc(pool, 1025);
    ok(p != NULL && (uintptr_t) p % ALIGN == 0, "large allocation is aligned");
    ok(pc_pool_size(pool) >= base + 1025, "large allocation counted in pc_pool_size");
    memset(p, 1, 1025);
    p = pc_pnalloc(pool, 100000);
    ok(p != NULL, "100 kB byte string goes to the large list");
    memset(p, 2, 100000);
    ok(pc_pool_size(pool) >= base + 101025, "both large allocations counted");
    pc_pool_reset(pool);
    is_int(pc_pool_size(pool), base, "reset frees large allocations");
    pc_pool_destroy(pool);
}

static void
test_blocks_and_reset(void)
{
    pc_pool_t *pool = pc_pool_create(1024);
    size_t base = pc_pool_size(pool);
    void *first, *p;
    int i;

    first = pc_palloc(pool, 16);
    for (i = 0; i < 100; i++)
        p = pc_palloc(pool, 200);
    ok(p != NULL, "100 x 200 bytes allocated");
    ok(pc_pool_size(pool) > base, "extra blocks were chained");
    is_int(pc_pool_size(pool) % 1024, 0, "pool holds whole blocks only");
    pc_pool_reset(pool);
    is_int(pc_pool_size(pool), base, "reset keeps only the first block");
    ok(pc_palloc(pool, 16) == first, "after reset the first block is reused from its start");
    pc_pool_destroy(pool);
}

static void
test_pcalloc_pstrdup(void)
{
    pc_pool_t *pool = pc_pool_create(1024);
    u_char *z, *s;
    bool zero = true;
    int i;

    z = pc_pnalloc(pool, 64);
    memset(z, 0xff, 64);
    pc_pool_reset(pool);
    z = pc_pcalloc(pool, 64);                 /* reuses the dirty bytes */
    for (i = 0; i < 64; i++)
        zero &= z[i] == 0;
    ok(zero, "pcalloc zero-fills reused memory");
    z = pc_pcalloc(pool, 5000);
    zero = true;
    for (i = 0; i < 5000; i++)
        zero &= z[i] == 0;
    ok(zero, "pcalloc zero-fills large allocations");

    s = pc_pstrdup(pool, (const u_char *) "abc", 3);
    is_str(s, 4, "abc", 4, "pstrdup copies and NUL-terminates");
    s = pc_pstrdup(pool, NULL, 0);
    ok(s != NULL && s[0] == '\0', "pstrdup of an empty string");
    pc_pool_destroy(pool);
}

static void
test_cleanups(void)
{
    pc_pool_t *pool = pc_pool_create(1024);
    int i;

    for (i = 1; i <= 3; i++)
        is_int(pc_pool_cleanup_add(pool, record, (void *) (intptr_t) i), PC_OK,
               "cleanup %d registered", i);
    norder = 0;
    pc_pool_reset(pool);
    is_int(norder, 3, "reset ran the three cleanups");
    ok(order[0] == 3 && order[1] == 2 && order[2] == 1, "in reverse order of registration");
    norder = 0;
    pc_pool_reset(pool);
    is_int(norder, 0, "a cleanup runs only once");

    pc_pool_cleanup_add(pool, record, (void *) 7);
    for (i = 0; i < 50; i++)
        pc_palloc(pool, 200);                 /* the next one lands in a later block */
    pc_pool_cleanup_add(pool, record, (void *) 8);
    norder = 0;
    pc_pool_destroy(pool);
    ok(norder == 2 && order[0] == 8 && order[1] == 7, "destroy runs cleanups newest first");
    pc_pool_destroy(NULL);
    ok(1, "destroy(NULL) is a no-op");
}

struct pair {
    uint32_t  a;
    uint64_t  b;
};

static void
test_array(void)
{
    pc_pool_t *pool = pc_pool_create(1024);
    struct pair *e;
    pc_array_t a;
    bool good = true, zeroed = true;
    uint32_t i;

    is_int(pc_array_init(&a, pool, 0, sizeof(struct pair)), PC_OK, "array with 0 slots");
    for (i = 0; i < 1000; i++) {
        e = pc_array_push(&a);
        if (e == NULL) {
            good = false;
            break;
        }
        zeroed &= e->a == 0 && e->b == 0;
        e->a = i;
        e->b = (uint64_t) i * 3;
    }
    ok(zeroed, "pushed elements start zeroed");
    is_int(a.nelts, 1000, "1000 elements pushed");
    ok(a.nalloc >= 1000, "storage grew");
    e = a.elts;
    for (i = 0; good && i < 1000; i++)
        good = e[i].a == i && e[i].b == (uint64_t) i * 3;
    ok(good, "growth preserved every element");
    is_int(pc_array_init(&a, pool, UINT32_MAX, SIZE_MAX / 2), PC_ERROR,
           "n * size overflow is rejected");
    is_int(pc_array_init(&a, pool, 4, 8), PC_OK, "array with 4 slots");
    ok(pc_array_push(&a) != NULL && a.nelts == 1, "push into preallocated slots");
    pc_pool_destroy(pool);
}

int
main(void)
{
    test_alignment();
    test_small_block_clamped();
    test_large();
    test_blocks_and_reset();
    test_pcalloc_pstrdup();
    test_cleanups();
    test_array();
    return done_testing();
}
