/*
 * pc_shm.c -- named shared-memory zones.
 *
 * Zones are declared while a configuration loads and mapped by the master
 * before it forks workers (MAP_SHARED|MAP_ANONYMOUS: inherited by fork, no
 * file to clean up).  A mapping outlives the cycle that created it when the
 * next cycle declares the same name, size and tag, which is how rate-limit
 * state and counters survive a reload.
 *
 * Several cycles can point at one mapping, so the count of users lives in a
 * process-local registry rather than in any one cycle's pool.  A forked
 * worker gets a copy of the registry and only ever drops references in its
 * own copy, never touching the master's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "core/pc_shm.h"

typedef struct shm_map_s shm_map_t;

struct shm_map_s {
    void       *addr;
    size_t      size;       /* mapped bytes (page multiple) */
    unsigned    refs;       /* cycles using it              */
    shm_map_t  *next;
};

static shm_map_t *maps;

static size_t
page_round(size_t size)
{
    long page = sysconf(_SC_PAGESIZE);

    if (page <= 0)
        page = 4096;
    return pc_align(size, (size_t) page);
}

static shm_map_t *
map_find(void *addr)
{
    shm_map_t *m;

    for (m = maps; m != NULL; m = m->next) {
        if (m->addr == addr)
            return m;
    }
    return NULL;
}

/* See pc_shm.h.  size 0 declares a use whose size the defining
 * directive gives (before or after); a size still 0 at pc_shm_map time is
 * an error there. */
pc_shm_zone_t *
pc_shm_zone_add(pc_conf_t *cf, const pc_str_t *name, size_t size,
    const void *tag)
{
    pc_shm_zone_t **zp, *z;
    uint32_t        i;
    pc_array_t     *zones = &cf->cycle->shm_zones;

    if (zones->elts == NULL
        && pc_array_init(zones, cf->pool, 4, sizeof(pc_shm_zone_t *)) != PC_OK)
    {
        return NULL;
    }
    zp = zones->elts;
    for (i = 0; i < zones->nelts; i++) {
        z = zp[i];
        if (!pc_str_eq(&z->name, name))
            continue;
        if (z->tag != tag) {
            pc_conf_error(cf, "shared memory zone \"%.*s\" is already "
                          "declared by another module", (int) name->len,
                          (const char *) name->data);
            return NULL;
        }
        /* Size 0 is a reference from a directive that uses the zone; the
         * declaring directive (which may come later) gives the size. */
        if (size != 0 && z->size != 0 && z->size != size) {
            pc_conf_error(cf, "shared memory zone \"%.*s\" is already "
                          "declared with a different size", (int) name->len,
                          (const char *) name->data);
            return NULL;
        }
        if (size != 0)
            z->size = size;
        return z;
    }

    z = pc_pcalloc(cf->pool, sizeof(*z));
    zp = pc_array_push(zones);
    if (z == NULL || zp == NULL)
        return NULL;
    z->name.data = pc_pstrdup(cf->pool, name->data, name->len);
    if (z->name.data == NULL)
        return NULL;
    z->name.len = name->len;
    z->size = size;
    z->tag = tag;
    *zp = z;
    return z;
}

/* The zone of old with z's name, size and tag that is mapped, or NULL. */
static pc_shm_zone_t *
old_zone(pc_cycle_t *old, const pc_shm_zone_t *z)
{
    pc_shm_zone_t **zp;
    uint32_t        i;

    if (old == NULL || old->shm_zones.elts == NULL)
        return NULL;
    zp = old->shm_zones.elts;
    for (i = 0; i < old->shm_zones.nelts; i++) {
        if (zp[i]->addr != NULL && pc_str_eq(&zp[i]->name, &z->name)
            && zp[i]->size == z->size && zp[i]->tag == z->tag)
        {
            return zp[i];
        }
    }
    return NULL;
}

/* Map zone z (new mapping or old's); registers the reference. */
static pc_rc_t
map_zone(pc_shm_zone_t *z, pc_shm_zone_t *prev)
{
    shm_map_t *m;
    void      *addr;

    if (prev != NULL && (m = map_find(prev->addr)) != NULL) {
        m->refs++;
        z->addr = prev->addr;
        z->refs = m->refs;
        return PC_OK;
    }
    m = malloc(sizeof(*m));
    if (m == NULL) {
        pc_log(PC_LOG_EMERG, errno, "no memory for zone \"%.*s\"",
               (int) z->name.len, (const char *) z->name.data);
        return PC_ERROR;
    }
    addr = mmap(NULL, page_round(z->size), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
        pc_log(PC_LOG_EMERG, errno, "mmap() of %zu bytes for zone \"%.*s\" "
               "failed", z->size, (int) z->name.len, (const char *) z->name.data);
        free(m);
        return PC_ERROR;
    }
    m->addr = addr;
    m->size = page_round(z->size);
    m->refs = 1;
    m->next = maps;
    maps = m;
    z->addr = addr;
    z->refs = 1;
    return PC_OK;
}

/* See pc_shm.h.  Master only, before forking.  On PC_ERROR the zones
 * mapped so far are released with the cycle. */
pc_rc_t
pc_shm_map(pc_cycle_t *cycle, pc_cycle_t *old)
{
    pc_shm_zone_t **zp, *z, *prev;
    uint32_t        i;

    zp = cycle->shm_zones.elts;
    for (i = 0; i < cycle->shm_zones.nelts; i++) {
        z = zp[i];
        if (z->size == 0) {
            pc_log(PC_LOG_EMERG, 0, "shared memory zone \"%.*s\" is used but "
                   "never declared with a size", (int) z->name.len,
                   (const char *) z->name.data);
            return PC_ERROR;
        }
        prev = old_zone(old, z);
        if (map_zone(z, prev) != PC_OK)
            return PC_ERROR;
        if (z->init != NULL && z->init(z, prev != NULL) != PC_OK) {
            pc_log(PC_LOG_EMERG, 0, "initialising zone \"%.*s\" failed",
                   (int) z->name.len, (const char *) z->name.data);
            return PC_ERROR;
        }
    }
    return PC_OK;
}

/* See pc_shm.h.  Drops this cycle's reference to each mapping; the
 * last reference unmaps it. */
void
pc_shm_unmap(pc_cycle_t *cycle)
{
    pc_shm_zone_t **zp;
    shm_map_t     **mp, *m;
    uint32_t        i;

    if (cycle->shm_zones.elts == NULL)
        return;
    zp = cycle->shm_zones.elts;
    for (i = 0; i < cycle->shm_zones.nelts; i++) {
        if (zp[i]->addr == NULL)
            continue;
        for (mp = &maps; (m = *mp) != NULL; mp = &m->next) {
            if (m->addr != zp[i]->addr)
                continue;
            if (--m->refs == 0) {
                munmap(m->addr, m->size);
                *mp = m->next;
                free(m);
            }
            break;
        }
        zp[i]->addr = NULL;
    }
}
