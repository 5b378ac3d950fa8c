/*
 * metrics.h -- a writer of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), as pure
 * functions over caller-provided memory: no I/O, no allocation of its own,
 * no clock.  Unit-tested in t/unit/modules/status/test_metrics.c.
 *
 * What it guarantees, so that a strict parser accepts every scrape:
 *   - "# HELP name text" then "# TYPE name type" before the family's
 *     samples (HELP text escapes \ and newline);
 *   - label values escape \ " and newline (\\ \" \n), nothing else;
 *   - a histogram is written as cumulative _bucket lines with le in
 *     increasing order ending with le="+Inf", then _sum and _count, where
 *     _count is the +Inf bucket (both are computed from the same
 *     per-bucket counts, so they always agree);
 *   - every line ends with "\n".
 * Names and label names are the caller's (constants in the status module).
 */
#ifndef PC_STATUS_METRICS_H
#define PC_STATUS_METRICS_H

#include "core/pc_types.h"

typedef struct pc_status_prom_s pc_status_prom_t;

/* Give w a new output area with at least need free bytes (w->pos, w->end).
 * PC_OK, or PC_ERROR (the writer then stops: w->failed). */
typedef pc_rc_t (*pc_status_prom_more_pt)(pc_status_prom_t *w, size_t need);

struct pc_status_prom_s {
    u_char                 *pos;
    u_char                 *end;
    pc_status_prom_more_pt  more;      /* NULL: the first area is all there is */
    void                   *data;      /* the caller's                         */
    size_t                  total;     /* bytes written                        */
    unsigned                failed:1;  /* out of room: output is incomplete    */
};

typedef struct {
    const char  *name;                 /* a valid label name                   */
    pc_str_t     value;                /* any bytes; escaped here              */
} pc_status_label_t;

/* Longest value text the writer makes (sign, 20 digits, '.', fraction). */
#define PC_STATUS_PROM_NUM_MAX  48

/* Start writing into [p, end). */
void pc_status_prom_init(pc_status_prom_t *w, u_char *p, u_char *end,
    pc_status_prom_more_pt more, void *data);

/* Escape a label value (\ " newline) into dst, or only count when dst is
 * NULL; returns the escaped length. */
size_t pc_status_prom_escape_label(u_char *dst, const u_char *s, size_t len);

/* Escape HELP text (\ and newline) the same way. */
size_t pc_status_prom_escape_help(u_char *dst, const u_char *s, size_t len);

/* v / unit as a decimal without trailing zeros ("0.005", "2.5", "10"); at
 * most PC_STATUS_PROM_NUM_MAX bytes at p; returns the end.  unit ≥ 1. */
u_char *pc_status_prom_fixed(u_char *p, uint64_t v, uint64_t unit);

/* A signed integer in decimal at p; returns the end. */
u_char *pc_status_prom_int(u_char *p, int64_t v);

/* "# HELP name help\n# TYPE name type\n". */
void pc_status_prom_family(pc_status_prom_t *w, const pc_str_t *name, const char *type,
    const char *help);

/*
 * One sample line: name, suffix (e.g. "_bucket", or ""), the labels
 * labels[0 .. n) then extra (NULL for none; le for buckets), and the value
 * text value[0 .. vlen).  Labels with the braces only when there is one.
 */
void pc_status_prom_sample(pc_status_prom_t *w, const pc_str_t *name, const char *suffix,
    const pc_status_label_t *labels, uint32_t n, const pc_status_label_t *extra,
    const u_char *value, size_t vlen);

/* A sample whose value is an unsigned / signed integer. */
void pc_status_prom_sample_u(pc_status_prom_t *w, const pc_str_t *name,
    const pc_status_label_t *labels, uint32_t n, uint64_t v);
void pc_status_prom_sample_i(pc_status_prom_t *w, const pc_str_t *name,
    const pc_status_label_t *labels, uint32_t n, int64_t v);

/*
 * One histogram series: counts[0 .. nbounds] are NON-cumulative counts
 * (counts[nbounds]: above the last bound), bounds ascending, in units of
 * 1/unit; sum in the same units.  Writes nbounds + 1 cumulative _bucket
 * lines (the last le="+Inf"), _sum, and _count = the +Inf bucket.
 */
void pc_status_prom_histogram(pc_status_prom_t *w, const pc_str_t *name,
    const pc_status_label_t *labels, uint32_t n, const uint64_t *bounds,
    uint32_t nbounds, uint64_t unit, const uint64_t *counts, uint64_t sum);

#endif /* PC_STATUS_METRICS_H */
