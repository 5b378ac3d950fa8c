/*
 * idgen.h -- the per-worker generator of trace, span and request ids.
 *
 * A ChaCha20 keystream (RFC 8439 block function) keyed from getrandom(2),
 * the OS CSPRNG, in the "fast key erasure" construction: each refill makes
 * IDGEN_BLOCKS blocks, the first 32 bytes become the next key and the rest
 * are handed out (and wiped as they are), so ids already issued cannot be
 * recomputed from the state and the next ones cannot be predicted from
 * the ids a client sees.  Fresh getrandom() bytes are mixed into the key
 * every PC_TRACE_IDGEN_RESEED refills.  rand() is never used.
 *
 * One generator per process (the worker's), seeded in init_worker, after
 * fork(): workers never share a state.  Cost: one ChaCha20 block per 64
 * bytes of ids, no system call on the request path (but one per reseed).
 */
#ifndef PC_TRACE_IDGEN_H
#define PC_TRACE_IDGEN_H

#include "core/pc_types.h"

#define PC_TRACE_IDGEN_BLOCKS  8          /* blocks per refill            */
#define PC_TRACE_IDGEN_RESEED  4096       /* refills between getrandom()s */

typedef struct {
    uint32_t  key[8];
    u_char    buf[PC_TRACE_IDGEN_BLOCKS * 64];
    uint32_t  pos;            /* next unused byte of buf               */
    uint32_t  refills;        /* since the last getrandom()            */
    unsigned  seeded:1;
} pc_trace_idgen_t;

/*
 * The ChaCha20 block function of RFC 8439 §2.3: key (8 words), block
 * counter, nonce (3 words) → 64 bytes of keystream at out.  Pure.
 */
void pc_trace_chacha20_block(const uint32_t key[8], uint32_t counter,
    const uint32_t nonce[3], u_char out[64]);

/* Key g from seed[0 .. 32) (tests; pc_trace_idgen_reseed for real use).
 * Deterministic: the same seed gives the same bytes. */
void pc_trace_idgen_seed(pc_trace_idgen_t *g, const u_char seed[32]);

/* Mix 32 bytes from getrandom(2) into g's key (seeding it the first time).
 * PC_OK, or PC_ERROR when getrandom fails (g keeps its key; an unseeded g
 * is then seeded from what the kernel gave plus time and pid, and is
 * logged by the caller). */
pc_rc_t pc_trace_idgen_reseed(pc_trace_idgen_t *g);

/* n bytes of output at out (any n).  Seeds g first if it never was. */
void pc_trace_idgen_bytes(pc_trace_idgen_t *g, u_char *out, size_t n);

/* n bytes that are not all zero (W3C: an all-zero id is invalid). */
void pc_trace_idgen_nonzero(pc_trace_idgen_t *g, u_char *out, size_t n);

#endif /* PC_TRACE_IDGEN_H */
