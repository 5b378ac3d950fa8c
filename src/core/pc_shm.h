/*
 * pc_shm.h -- named shared-memory zones (ARCHITECTURE §3).
 *
 * Modules declare zones while the configuration is loaded (init_conf or a
 * setter); the master maps them (mmap MAP_SHARED|MAP_ANONYMOUS) before
 * forking workers.  On reload a zone with the same name, size and tag as one
 * in the old cycle is the same mapping, so its state survives; init() is told
 * which case it is in.
 */
#ifndef PC_SHM_H
#define PC_SHM_H

#include "core/pc_types.h"

typedef pc_rc_t (*pc_shm_init_pt)(pc_shm_zone_t *zone, int reused);

struct pc_shm_zone_s {
    pc_str_t         name;
    size_t           size;
    const void      *tag;      /* the declaring module: same name, other tag = conflict */
    void            *addr;     /* mapping (after pc_shm_map)                      */
    pc_shm_init_pt   init;     /* called after mapping: reused=1 when inherited   */
    void            *data;     /* module's own pointer (config side)              */
    unsigned         refs;     /* cycles using this mapping                       */
};

/*
 * Declare (or find, when name and tag match) a zone in cf's cycle.  A second
 * declaration with another size or tag is a config error (NULL + recorded).
 */
pc_shm_zone_t *pc_shm_zone_add(pc_conf_t *cf, const pc_str_t *name, size_t size,
    const void *tag);

/* Map every zone of cycle, reusing old's mappings where name/size/tag match,
 * then call each zone's init.  PC_OK / PC_ERROR (logged). */
pc_rc_t pc_shm_map(pc_cycle_t *cycle, pc_cycle_t *old);

/* Unmap zones of cycle that no newer cycle reuses. */
void pc_shm_unmap(pc_cycle_t *cycle);

#endif /* PC_SHM_H */
