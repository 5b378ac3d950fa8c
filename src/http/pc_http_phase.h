/*
 * pc_http_phase.h -- the phase engine and the filter chains (private to the
 * http runtime; modules only see pc_module.h's hooks and pc_http.h).
 *
 * Order of a request:
 *   POST_READ hooks           (server chosen from Host; realip, trace ids)
 *   location lookup           (r->location, r->loc_conf; Content-Length over
 *                              client_max_body_size → 413)
 *   REWRITE, ACCESS, CONTENT  hooks
 *   nothing produced          → 404 ("no matching location" / "not found")
 *   LOG hooks                 once the response is written (pc_http_phase_log)
 *
 * Hooks of all modules are sorted by phase, then order, then module index;
 * filters by filter_order, then module index.  Handler results:
 *   PC_OK, PC_DECLINED   next hook
 *   PC_AGAIN             parked; pc_http_phase_resume() continues with the
 *                        NEXT hook (r->hook already points past the parked
 *                        one; a handler that wants to run again does r->hook--
 *                        before resuming)
 *   PC_DONE              response produced (finalized if the handler did not)
 *   PC_ERROR             500
 *   >= 100               that status as a SPEC §8 error response
 */
#ifndef PC_HTTP_PHASE_H
#define PC_HTTP_PHASE_H

#include "http/pc_http.h"

/*
 * Build the sorted hook and filter tables for cycle in its pool and store
 * them in cycle->http_phases.  Idempotent; called lazily on the first
 * request of a cycle, or earlier (init_conf) so that workers share them.
 * PC_OK / PC_ERROR (ENOMEM).
 */
pc_rc_t pc_http_phase_init(pc_cycle_t *cycle);

/* Run r's phases from r->phase / r->hook until a handler parks the request
 * or the request is finalized.  The caller holds the re-entrancy guard. */
void pc_http_phase_run(pc_http_request_t *r);

/* Run every LOG hook (return values ignored). */
void pc_http_phase_log(pc_http_request_t *r);

/* Header filters in order; the first result other than PC_OK stops the
 * chain and is returned (PC_ERROR). */
pc_rc_t pc_http_run_header_filters(pc_http_request_t *r);

/* Body filters in order over *chain (replaced by each filter's output). */
pc_rc_t pc_http_run_body_filters(pc_http_request_t *r, pc_chain_t **chain,
    int last);

#endif /* PC_HTTP_PHASE_H */
