/*
 * test_pc_buf.c -- fixed-size buffers and their per-process free lists
 * (src/core/pc_buf.c).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "core/pc_buf.h"

static void
test_get_put(void)
{
    pc_buf_t *b, *b2;

    b = pc_buf_get(4096);
    ok(b != NULL, "get 4096");
    is_int(b->size, 4096, "size");
    ok(b->start == b->pos && b->pos == b->last, "empty: start = pos = last");
    is_int(b->end - b->start, 4096, "end - start = size");
    ok(b->pooled && !b->last_buf && !b->flush, "flags");
    ok(((uintptr_t) b->start & 15) == 0, "data is 16-byte aligned");
    memset(b->start, 0xab, 4096);     /* the whole block is usable (ASan) */
    b->last = b->end;
    b->last_buf = 1;

    pc_buf_put(b);
    is_int(pc_buf_free_count(4096), 1, "one cached after put");
    b2 = pc_buf_get(4096);
    ok(b2 == b, "the cached buffer is reused");
    ok(b2->pos == b2->start && b2->last == b2->start, "reused buffer is reset");
    ok(!b2->last_buf, "reused buffer flags are reset");
    is_int(pc_buf_free_count(4096), 0, "cache empty again");
    pc_buf_put(b2);
}

static void
test_sizes(void)
{
    pc_buf_t *a, *b;

    a = pc_buf_get(1);
    ok(a != NULL && a->size == 1, "one-byte buffer");
    b = pc_buf_get(16384);
    ok(b != NULL && b->size == 16384, "another size class");
    pc_buf_put(a);
    pc_buf_put(b);
    is_int(pc_buf_free_count(1), 1, "class 1 cached");
    is_int(pc_buf_free_count(16384), 1, "class 16384 cached");
    is_int(pc_buf_free_count(4097), 0, "no class for an unused size");
    a = pc_buf_get(16384);
    ok(a == b, "exact-size classes do not mix");
    pc_buf_put(a);

    errno = 0;
    ok(pc_buf_get(0) == NULL && errno == EINVAL, "size 0 is rejected");
    ok(pc_buf_get(SIZE_MAX) == NULL, "absurd size is rejected");
    ok(pc_buf_get((size_t) UINT32_MAX) == NULL, "size over 32 bits is rejected");
}

static void
test_cap(void)
{
    pc_buf_t *bufs[100];
    int       i;

    for (i = 0; i < 100; i++)
        bufs[i] = pc_buf_get(2048);
    for (i = 0; i < 100; i++)
        pc_buf_put(bufs[i]);
    is_int(pc_buf_free_count(2048), 64, "at most 64 free buffers are kept");
}

static void
test_many_classes(void)
{
    pc_buf_t *b;
    size_t    size;

    /* More sizes than classes: the extra ones are plain malloc/free. */
    for (size = 100; size < 120; size++) {
        b = pc_buf_get(size);
        ok(b != NULL && b->size == size, "size %zu", size);
        pc_buf_put(b);
    }
    is_int(pc_buf_free_count(119), 0, "a size without a class is not cached");
}

static void
test_not_pooled(void)
{
    pc_buf_t b;
    u_char   data[8];

    memset(&b, 0, sizeof(b));
    b.start = b.pos = b.last = data;
    b.end = data + sizeof(data);
    b.size = sizeof(data);
    pc_buf_put(&b);        /* must not be freed or cached */
    is_int(pc_buf_free_count(sizeof(data)), 0, "a non-pooled buffer is ignored");
    pc_buf_put(NULL);
    ok(1, "put(NULL) is a no-op");
}

/* pc_buf_trim frees only what sat idle since the previous trim. */
static void
test_trim(void)
{
    pc_buf_t *b[20];
    unsigned  i;
    size_t    freed;

    pc_buf_release_all();
    for (i = 0; i < 20; i++)
        b[i] = pc_buf_get(4096);
    for (i = 0; i < 20; i++)
        pc_buf_put(b[i]);
    is_int(pc_buf_free_count(4096), 20, "trim: 20 cached after a burst");
    is_int((int) pc_buf_trim(4), 0, "trim: nothing used in this period is freed");
    is_int(pc_buf_free_count(4096), 20, "trim: all 20 still cached");
    freed = pc_buf_trim(4);
    is_int(pc_buf_free_count(4096), 4, "trim: a period later all but 4 are freed");
    ok(freed >= 16 * 4096, "trim: reports the bytes given back");

    /* 3 of the 4 taken: one sat idle the whole period and goes; the three
     * in use are the caller's and come back later. */
    for (i = 0; i < 3; i++)
        b[i] = pc_buf_get(4096);
    ok(pc_buf_trim(0) >= 4096, "trim: the one idle buffer is freed");
    is_int(pc_buf_free_count(4096), 0, "trim: none cached while 3 are in use");
    for (i = 0; i < 3; i++)
        pc_buf_put(b[i]);
    is_int(pc_buf_free_count(4096), 3, "trim: returned ones are cached again");
    is_int((int) pc_buf_trim(0), 0, "trim: they were in use this period");
    b[0] = pc_buf_get(4096);
    pc_buf_put(b[0]);
    pc_buf_trim(0);
    is_int(pc_buf_free_count(4096), 1, "trim: keeps the one used in the period");
    pc_buf_trim(0);
    is_int(pc_buf_free_count(4096), 0, "trim: frees it once idle for a whole period");
}

int
main(void)
{
    test_get_put();
    test_sizes();
    test_cap();
    test_many_classes();
    test_not_pooled();
    test_trim();
    pc_buf_release_all();
    is_int(pc_buf_free_count(4096), 0, "release_all empties the caches");
    is_int(pc_buf_free_count(2048), 0, "every class");
    return done_testing();
}
