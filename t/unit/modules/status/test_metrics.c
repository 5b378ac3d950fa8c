/*
 * test_metrics.c -- modules/status/metrics.c: the Prometheus text
 * exposition writer: HELP/TYPE lines, label and HELP escaping, number
 * formatting, histogram cumulative buckets, and lines never split across
 * output areas.
 */
#include <stdlib.h>

#include "test.h"
#include "core/pc_core.h"
#include "status/metrics.h"

static u_char area[65536];

static void
start(pc_status_prom_t *w)
{
    pc_status_prom_init(w, area, area + sizeof(area), NULL, NULL);
}

static int
out_is(const pc_status_prom_t *w, const char *expect)
{
    size_t n = (size_t) (w->pos - area);
    int    same = n == strlen(expect) && memcmp(area, expect, n) == 0 && w->total == n;

    if (!same)
        diag("got (%zu bytes, total %zu):\n%.*s\nexpected:\n%s", n, w->total, (int) n,
            (const char *) area, expect);
    return same;
}

static pc_str_t
S(const char *s)
{
    pc_str_t v = { strlen(s), (u_char *) s };

    return v;
}

static void
test_numbers(void)
{
    u_char  b[PC_STATUS_PROM_NUM_MAX];
    struct {
        uint64_t v, unit;
        const char *text;
    } cases[] = {
        { 0, 1000, "0" }, { 5, 1000, "0.005" }, { 10, 1000, "0.01" }, { 25, 1000, "0.025" },
        { 100, 1000, "0.1" }, { 1000, 1000, "1" }, { 2500, 1000, "2.5" },
        { 10000, 1000, "10" }, { 1234567, 1000, "1234.567" }, { 7, 1, "7" },
        { 1, 1000000, "0.000001" }, { UINT64_MAX, 1, "18446744073709551615" },
        { UINT64_MAX, 1000, "18446744073709551.615" },
    };
    size_t i;

    for (i = 0; i < pc_nelems(cases); i++) {
        u_char *e = pc_status_prom_fixed(b, cases[i].v, cases[i].unit);

        is_str((char *) b, (size_t) (e - b), cases[i].text, strlen(cases[i].text),
            "fixed(%" PRIu64 ", %" PRIu64 ")", cases[i].v, cases[i].unit);
    }
    is_str((char *) b, (size_t) (pc_status_prom_int(b, -42) - b), "-42", 3, "negative int");
    is_str((char *) b, (size_t) (pc_status_prom_int(b, INT64_MIN) - b),
        "-9223372036854775808", 20, "INT64_MIN");
    is_str((char *) b, (size_t) (pc_status_prom_int(b, 0) - b), "0", 1, "zero");
}

static void
test_escaping(void)
{
    u_char b[64];
    size_t n;

    n = pc_status_prom_escape_label(b, (const u_char *) "a\\b\"c\nd\te", 9);
    is_str((char *) b, n, "a\\\\b\\\"c\\nd\te", 12, "label: \\ \" newline escaped, tab kept");
    is_int((int) pc_status_prom_escape_label(NULL, (const u_char *) "\\\"\n", 3), 6,
        "label: length counted without writing");
    n = pc_status_prom_escape_help(b, (const u_char *) "a\\b\"c\nd", 7);
    is_str((char *) b, n, "a\\\\b\"c\\nd", 9, "help: \\ and newline escaped, quote kept");
    n = pc_status_prom_escape_label(b, (const u_char *) "caf\xc3\xa9", 5);
    is_str((char *) b, n, "caf\xc3\xa9", 5, "UTF-8 passes through");
}

static void
test_family_and_samples(void)
{
    pc_status_prom_t  w;
    pc_str_t          name = S("portcullis_requests_total");
    pc_status_label_t l[2] = { { "server", S("a\"b") }, { "status_class", S("2xx") } };

    start(&w);
    pc_status_prom_family(&w, &name, "counter", "Requests\nanswered \\ all.");
    pc_status_prom_sample_u(&w, &name, l, 2, 42);
    pc_status_prom_sample_u(&w, &name, NULL, 0, 0);
    ok(out_is(&w, "# HELP portcullis_requests_total Requests\\nanswered \\\\ all.\n"
                  "# TYPE portcullis_requests_total counter\n"
                  "portcullis_requests_total{server=\"a\\\"b\",status_class=\"2xx\"} 42\n"
                  "portcullis_requests_total 0\n"),
        "family header, labelled and bare samples");

    start(&w);
    name = S("portcullis_connections");
    l[0] = (pc_status_label_t) { "state", S("x\ny\\") };
    pc_status_prom_sample_i(&w, &name, l, 1, -3);
    ok(out_is(&w, "portcullis_connections{state=\"x\\ny\\\\\"} -3\n"), "gauge, escapes");
    ok(!w.failed, "no failure");
}

static void
test_histogram(void)
{
    pc_status_prom_t        w;
    pc_str_t                name = S("portcullis_request_duration_seconds");
    pc_status_label_t       l[1] = { { "server", S("_") } };
    static const uint64_t   bounds[] = { 5, 100, 2500 };
    static const uint64_t   counts[] = { 1, 0, 3, 2 };      /* non-cumulative */

    start(&w);
    pc_status_prom_histogram(&w, &name, l, 1, bounds, 3, 1000, counts, 12345);
    ok(out_is(&w,
        "portcullis_request_duration_seconds_bucket{server=\"_\",le=\"0.005\"} 1\n"
        "portcullis_request_duration_seconds_bucket{server=\"_\",le=\"0.1\"} 1\n"
        "portcullis_request_duration_seconds_bucket{server=\"_\",le=\"2.5\"} 4\n"
        "portcullis_request_duration_seconds_bucket{server=\"_\",le=\"+Inf\"} 6\n"
        "portcullis_request_duration_seconds_sum{server=\"_\"} 12.345\n"
        "portcullis_request_duration_seconds_count{server=\"_\"} 6\n"),
        "cumulative buckets, +Inf last, _count equals the +Inf bucket");

    start(&w);
    pc_status_prom_histogram(&w, &name, NULL, 0, bounds, 0, 1000, counts, 0);
    ok(out_is(&w,
        "portcullis_request_duration_seconds_bucket{le=\"+Inf\"} 1\n"
        "portcullis_request_duration_seconds_sum 0\n"
        "portcullis_request_duration_seconds_count 1\n"),
        "no bounds, no labels: only +Inf");
}

/* Areas of 100 bytes: lines are never split, and the callback is told
 * how much room a line needs. */
typedef struct {
    u_char  mem[8][100];
    u_char *ends[8];
    int     n;
} areas_t;

static pc_rc_t
more(pc_status_prom_t *w, size_t need)
{
    areas_t *a = w->data;

    if (a->n > 0)
        a->ends[a->n - 1] = w->pos;
    if (a->n == 8 || need > 100)
        return PC_ERROR;
    w->pos = a->mem[a->n];
    w->end = a->mem[a->n] + 100;
    a->n++;
    return PC_OK;
}

static void
test_areas(void)
{
    static areas_t    a;
    pc_status_prom_t  w;
    pc_str_t          name = S("portcullis_x_total");
    pc_status_label_t l[1] = { { "k", S("0123456789012345678901234567890123456789") } };
    int               i, whole = 1;
    size_t            sum = 0;

    pc_status_prom_init(&w, NULL, NULL, more, &a);
    ok(more(&w, 0) == PC_OK, "first area");
    for (i = 0; i < 6; i++)
        pc_status_prom_sample_u(&w, &name, l, 1, (uint64_t) i);
    a.ends[a.n - 1] = w.pos;
    ok(!w.failed, "six 63-byte lines fit in 100-byte areas");
    is_int(a.n, 6, "one line per area (two never fit)");
    for (i = 0; i < a.n; i++) {
        size_t len = (size_t) (a.ends[i] - a.mem[i]);

        sum += len;
        if (len == 0 || a.mem[i][len - 1] != '\n' || memchr(a.mem[i], '\n', len) != a.mem[i] + len - 1)
            whole = 0;
    }
    ok(whole, "every area holds whole lines");
    is_int((int) sum, (int) w.total, "total counts every byte");

    l[0].value = S("a value far too long to fit in any of the hundred-byte areas we hand "
                   "out, so this must fail");
    pc_status_prom_sample_u(&w, &name, l, 1, 1);
    ok(w.failed, "a line larger than any area fails");
    pc_status_prom_sample_u(&w, &name, NULL, 0, 1);
    ok(w.failed, "and stays failed");

    pc_status_prom_init(&w, area, area + 10, NULL, NULL);
    pc_status_prom_sample_u(&w, &name, NULL, 0, 1);
    ok(w.failed && w.pos == area, "no more(): a full area fails without writing");
}

int
main(void)
{
    test_numbers();
    test_escaping();
    test_family_and_samples();
    test_histogram();
    test_areas();
    return done_testing();
}
