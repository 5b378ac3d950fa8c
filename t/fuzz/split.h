/*
 * split.h -- the split-feeding harness of the HTTP head fuzzers
 * (fuzz_request.c, fuzz_response.c).
 *
 * The parsers are incremental: a connection hands them whatever each read
 * returned, so a head must parse the same however its bytes were cut.  The
 * harness parses an input whole, then one byte at a time and split at
 * pseudo-random points, and aborts unless every way of feeding gives
 * exactly the same head.  Only the target's own invariants (check_head)
 * stay in the target.
 */
#ifndef PC_FUZZ_SPLIT_H
#define PC_FUZZ_SPLIT_H

#include <stdio.h>
#include <stdlib.h>

#include "core/pc_types.h"
#include "http/pc_http_parse.h"

#define NHDRS 64

#include "check.h"

/* One parse: the head, its header array and the last return code. */
typedef struct {
    pc_http_parser_t p;
    pc_http_head_t h;
    pc_http_header_t hdrs[NHDRS];
    pc_rc_t rc;
} run_t;

/* What one configuration parses: requests, or responses to req_method. */
typedef struct {
    const pc_http_limits_t *limits; /* NULL: the defaults */
    uint32_t cap;                   /* header slots, at most NHDRS */
    int response;
    pc_http_method_e req_method;
} split_cfg_t;

static inline void
split_start(run_t *r, const split_cfg_t *cfg)
{
    pc_http_parser_init(&r->p, &r->h, r->hdrs, cfg->cap, cfg->limits);
    r->rc = PC_AGAIN;
}

/* Offer the parser the first len bytes (it resumes where it stopped). */
static inline pc_rc_t
split_feed(run_t *r, const split_cfg_t *cfg, const uint8_t *d, size_t len)
{
    r->rc = cfg->response ? pc_http_parse_response(&r->p, d, len, cfg->req_method)
                          : pc_http_parse_request(&r->p, d, len);
    return r->rc;
}

static inline void
split_whole(run_t *r, const split_cfg_t *cfg, const uint8_t *d, size_t len)
{
    split_start(r, cfg);
    split_feed(r, cfg, d, len);
}

/*
 * NULL when a and b describe the same head, else the first field that
 * differs.  Request-only fields stay zero in a response head, so one list
 * serves both parsers.
 */
static inline const char *
split_head_diff(const run_t *ra, const run_t *rb)
{
    const pc_http_head_t *a = &ra->h, *b = &rb->h;
    uint32_t i;

#define SAME(f)                                                                                    \
    if (a->f != b->f)                                                                              \
    return #f
    if (ra->rc != rb->rc)
        return "rc";
    SAME(method);
    SAME(method_off);
    SAME(method_len);
    SAME(target_off);
    SAME(target_len);
    SAME(path_off);
    SAME(path_len);
    SAME(query_off);
    SAME(query_len);
    SAME(host_off);
    SAME(host_len);
    SAME(status);
    SAME(reason_off);
    SAME(reason_len);
    SAME(version);
    SAME(body);
    SAME(content_length);
    SAME(has_query);
    SAME(absolute_form);
    SAME(has_host);
    SAME(conn_close);
    SAME(conn_keep_alive);
    SAME(conn_upgrade);
    SAME(has_upgrade);
    SAME(expect_continue);
    SAME(nheaders);
    SAME(headers_cap);
    SAME(head_len);
    SAME(error_status);
    SAME(error);
    for (i = 0; i < PC_HTTP_H__COUNT; i++) {
        SAME(idx[i]);
    }
    for (i = 0; i < a->nheaders; i++) {
        SAME(headers[i].name);
        SAME(headers[i].name_len);
        SAME(headers[i].value);
        SAME(headers[i].value_len);
        SAME(headers[i].id);
    }
#undef SAME
    return NULL;
}

static inline void
split_same_head(const run_t *inc, const run_t *whole, const char *how, size_t at)
{
    const char *field = split_head_diff(inc, whole);

    if (field != NULL) {
        fprintf(stderr, "fed %s (at %zu), %s differs from the whole parse\n", how, at, field);
        abort();
    }
}

/*
 * The seed of the split points: a hash of the input (FNV-1a), not a clock
 * or a counter, so that replaying a crashing input cuts it the same way.
 */
static inline uint64_t
split_seed(const uint8_t *d, size_t size)
{
    uint64_t seed = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < size; i++) {
        seed = (seed ^ d[i]) * 1099511628211ULL;
    }
    return seed;
}

/*
 * Feed d[0..size) one byte at a time, then `rounds` times in three pieces
 * cut at a pseudo-random point and halfway through the rest (drawn from
 * seed, so a crash replays), and compare each head with whole.
 */
static inline void
split_check(const split_cfg_t *cfg, const uint8_t *d, size_t size, uint64_t seed, int rounds,
    const run_t *whole)
{
    static run_t inc;
    size_t k, at;
    int round;

    split_start(&inc, cfg);
    for (k = 0; k <= size; k++) {
        if (split_feed(&inc, cfg, d, k) != PC_AGAIN) {
            break;
        }
    }
    split_same_head(&inc, whole, "a byte at a time", k <= size ? k : size);

    for (round = 0; round < rounds; round++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        at = size ? (size_t) (seed >> 33) % (size + 1) : 0;
        split_start(&inc, cfg);
        if (split_feed(&inc, cfg, d, at) == PC_AGAIN) {
            if (split_feed(&inc, cfg, d, at + (size - at) / 2) == PC_AGAIN) {
                split_feed(&inc, cfg, d, size);
            }
        }
        split_same_head(&inc, whole, "split", at);
    }
}

#endif /* PC_FUZZ_SPLIT_H */
