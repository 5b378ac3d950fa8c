/*
 * pc_buf.c -- fixed-size buffers with per-process free lists.
 *
 * A worker is single-threaded, so the free lists need no locks.  A buffer is
 * one malloc: the pc_buf_t header followed by its data, so taking and giving
 * back a buffer is a list push/pop.  Only a few distinct sizes are in use
 * (client header buffer, proxy buffer, ...): sizes get a class on first use,
 * up to BUF_CLASSES of them; a size beyond that is served by plain
 * malloc/free.  Each class keeps at most BUF_CACHE_MAX free buffers, so a
 * burst does not pin memory forever.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/pc_core.h"
#include "core/pc_buf.h"

#define BUF_CLASSES    8
#define BUF_CACHE_MAX  64

/* The data starts after the header, aligned for any use. */
#define BUF_HDR  pc_align(sizeof(pc_buf_t), 16)

typedef struct {
    uint32_t    size;       /* 0: class unused */
    uint32_t    nfree;
    uint32_t    nlow;       /* fewest free since the last pc_buf_trim */
    pc_buf_t   *free;
} buf_class_t;

static buf_class_t classes[BUF_CLASSES];

/* The class of size, creating it when there is room; NULL when none. */
static buf_class_t *
class_of(size_t size, bool create)
{
    unsigned i;

    for (i = 0; i < BUF_CLASSES; i++) {
        if (classes[i].size == size)
            return &classes[i];
        if (classes[i].size == 0) {
            if (!create)
                return NULL;
            classes[i].size = (uint32_t) size;
            return &classes[i];
        }
    }
    return NULL;
}

/* See pc_buf.h.  Rejects size 0 and sizes that do not fit in 32 bits
 * (NULL, errno EINVAL). */
pc_buf_t *
pc_buf_get(size_t size)
{
    buf_class_t *bc;
    pc_buf_t    *b;

    if (size == 0 || size > UINT32_MAX - BUF_HDR) {
        errno = EINVAL;
        return NULL;
    }

    bc = class_of(size, true);
    if (bc != NULL && bc->free != NULL) {
        b = bc->free;
        bc->free = b->next_free;
        bc->nfree--;
        if (bc->nfree < bc->nlow)
            bc->nlow = bc->nfree;
    } else {
        b = malloc(BUF_HDR + size);
        if (b == NULL)
            return NULL;
    }

    b->start = (u_char *) b + BUF_HDR;
    b->end = b->start + size;
    b->pos = b->start;
    b->last = b->start;
    b->size = (uint32_t) size;
    b->pooled = 1;
    b->last_buf = 0;
    b->flush = 0;
    b->next_free = NULL;
    return b;
}

/* See pc_buf.h.  Buffers not from pc_buf_get (pooled = 0) are ignored. */
void
pc_buf_put(pc_buf_t *b)
{
    buf_class_t *bc;

    /* Buffers that point into other memory (pool, static text) are not
     * ours to recycle. */
    if (b == NULL || !b->pooled)
        return;

    bc = class_of(b->size, false);
    if (bc == NULL || bc->nfree >= BUF_CACHE_MAX) {
        free(b);
        return;
    }
    b->next_free = bc->free;
    bc->free = b;
    bc->nfree++;
}

/* See pc_buf.h. */
void
pc_buf_release_all(void)
{
    pc_buf_t *b;
    unsigned  i;

    for (i = 0; i < BUF_CLASSES; i++) {
        while ((b = classes[i].free) != NULL) {
            classes[i].free = b->next_free;
            free(b);
        }
        classes[i].nfree = 0;
        classes[i].nlow = 0;
    }
}

/* See pc_buf.h.  The buffers no pc_buf_get needed since the last trim
 * were idle all that time: give them back, keeping a few. */
size_t
pc_buf_trim(unsigned keep)
{
    buf_class_t *bc;
    pc_buf_t    *b;
    size_t       freed = 0;
    unsigned     i;

    for (i = 0; i < BUF_CLASSES; i++) {
        bc = &classes[i];
        while (bc->nlow > keep && (b = bc->free) != NULL) {
            bc->free = b->next_free;
            bc->nfree--;
            bc->nlow--;
            freed += BUF_HDR + b->size;
            free(b);
        }
        bc->nlow = bc->nfree;
    }
    return freed;
}

/* See pc_buf.h. */
unsigned
pc_buf_free_count(size_t size)
{
    buf_class_t *bc = class_of(size, false);

    return bc != NULL ? bc->nfree : 0;
}
