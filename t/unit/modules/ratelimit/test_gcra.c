/*
 * test_gcra.c -- GCRA decisions, rate parsing and policy numbers
 * (modules/ratelimit/gcra.c).  The decision tests replay the nginx
 * limit_req semantics (burst, nodelay, delay=N) on a synthetic clock.
 */
#include <string.h>

#include "test.h"
#include "core/pc_core.h"
#include "ratelimit/gcra.h"

#define SEC   PC_GCRA_NS_PER_SEC
#define MS    1000000LL

static pc_rc_t
rate(const char *s, int64_t *interval)
{
    return pc_gcra_parse_rate((const u_char *) s, strlen(s), interval);
}

static void
test_parse_rate(void)
{
    int64_t t = 0;
    static const char *bad[] = {
        "", "r/s", "0r/s", "10", "10r", "10r/", "10r/h", "10r/ss", "-1r/s",
        "+1r/s", " 1r/s", "1r/s ", "1.5r/s", "1000001r/s", "99999999999999999999r/s",
        "10R/s", "10r/S",
    };
    size_t i;

    ok(rate("10r/s", &t) == PC_OK && t == 100 * MS, "10r/s is 100 ms");
    ok(rate("1r/s", &t) == PC_OK && t == SEC, "1r/s is 1 s");
    ok(rate("1r/m", &t) == PC_OK && t == 60 * SEC, "1r/m is 60 s");
    ok(rate("30r/m", &t) == PC_OK && t == 2 * SEC, "30r/m is 2 s");
    ok(rate("3r/s", &t) == PC_OK && t == 333333333, "3r/s rounds down to ns");
    ok(rate("1000000r/s", &t) == PC_OK && t == 1000, "max rate 1e6 r/s");
    ok(rate("1000000r/m", &t) == PC_OK && t == 60000, "max rate 1e6 r/m");
    ok(rate("007r/s", &t) == PC_OK && t == SEC / 7, "leading zeros");
    for (i = 0; i < pc_nelems(bad); i++) {
        t = -5;
        ok(rate(bad[i], &t) == PC_ERROR && t == -5, "rejects \"%s\"", bad[i]);
    }
    ok(pc_gcra_parse_rate((const u_char *) "1r/s", 3, &t) == PC_ERROR, "1 byte short");
    ok(pc_gcra_parse_rate((const u_char *) "1r/s", 0, &t) == PC_ERROR, "empty span");
    ok(pc_gcra_parse_rate((const u_char *) "1r/s\0", 5, &t) == PC_ERROR, "trailing NUL");
    ok(pc_gcra_parse_rate((const u_char *) "1\0r/s", 5, &t) == PC_ERROR, "embedded NUL");
}

static void
test_init(void)
{
    pc_gcra_t g;

    ok(pc_gcra_init(&g, 100 * MS, 5, 0, false) == PC_OK && g.tau == 500 * MS
       && g.free == 0, "burst=5 delays from the first excess");
    ok(pc_gcra_init(&g, 100 * MS, 5, 0, true) == PC_OK && g.free == g.tau, "nodelay");
    ok(pc_gcra_init(&g, 100 * MS, 5, 2, false) == PC_OK && g.free == 200 * MS, "delay=2");
    ok(pc_gcra_init(&g, 100 * MS, 5, 9, false) == PC_OK && g.free == g.tau,
       "delay beyond burst is clamped to the burst");
    ok(pc_gcra_init(&g, 0, 5, 0, false) == PC_ERROR, "interval 0 rejected");
    ok(pc_gcra_init(&g, 61 * SEC, 5, 0, false) == PC_ERROR, "interval > 60 s rejected");
    ok(pc_gcra_init(&g, SEC, -1, 0, false) == PC_ERROR, "negative burst rejected");
    ok(pc_gcra_init(&g, 60 * SEC, PC_GCRA_BURST_MAX, 0, false) == PC_OK
       && g.tau == 60 * SEC * PC_GCRA_BURST_MAX, "largest tau fits");
    ok(pc_gcra_init(&g, SEC, PC_GCRA_BURST_MAX + 1, 0, false) == PC_ERROR,
       "burst over the maximum rejected");
    ok(pc_gcra_init(&g, SEC, 1, -1, false) == PC_ERROR, "negative delay rejected");
}

/* 10r/s without burst: one request per 100 ms, whatever the pressure. */
static void
test_no_burst(void)
{
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    int64_t tat = 0, now = 1000 * SEC, t;
    int admitted = 0;

    pc_gcra_init(&g, 100 * MS, 0, 0, false);
    pc_gcra_decide(&g, &tat, now, &v);
    ok(v.decision == PC_GCRA_PASS && tat == now + 100 * MS && v.remaining == 0
       && v.reset == 100 * MS, "first request passes, nothing left");
    pc_gcra_decide(&g, &tat, now + 10 * MS, &v);
    ok(v.decision == PC_GCRA_REJECT && tat == now + 100 * MS, "second at +10ms "
       "rejected, state unchanged");
    is_int(v.retry_after, 90 * MS, "retry after 90 ms");
    is_int(v.reset, 90 * MS, "reset in 90 ms");
    pc_gcra_decide(&g, &tat, now + 100 * MS, &v);
    ok(v.decision == PC_GCRA_PASS, "passes exactly at the TAT");

    /* 1000 requests spread over one second: 10 admitted */
    tat = 0;
    for (t = 0; t < 1000; t++) {
        pc_gcra_decide(&g, &tat, now + t * MS, &v);
        admitted += v.decision == PC_GCRA_PASS;
    }
    is_int(admitted, 10, "a second of 1 request per ms admits 10");
}

/* burst=5: 1 + 5 admitted at once, the 5 excess ones delayed 100..500 ms. */
static void
test_burst_delay(void)
{
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    int64_t tat = 0, now = 50 * SEC;
    int i;

    pc_gcra_init(&g, 100 * MS, 5, 0, false);
    for (i = 0; i < 6; i++) {
        pc_gcra_decide(&g, &tat, now, &v);
        ok(v.decision == (i == 0 ? PC_GCRA_PASS : PC_GCRA_DELAY)
           && v.delay == i * 100 * MS && v.remaining == 5 - i,
           "burst request %d: delay %d ms, %d left", i, i * 100, 5 - i);
    }
    pc_gcra_decide(&g, &tat, now, &v);
    ok(v.decision == PC_GCRA_REJECT && v.retry_after == 100 * MS
       && v.reset == 600 * MS, "7th rejected, retry in 100 ms");
    /* after 250 ms, 2.5 slots came back: 2 more fit */
    pc_gcra_decide(&g, &tat, now + 250 * MS, &v);
    ok(v.decision == PC_GCRA_DELAY && v.delay == 350 * MS, "after 250 ms: "
       "delayed 350 ms");
    pc_gcra_decide(&g, &tat, now + 250 * MS, &v);
    ok(v.decision == PC_GCRA_DELAY && v.delay == 450 * MS && v.remaining == 0,
       "then 450 ms, none left");
    pc_gcra_decide(&g, &tat, now + 250 * MS, &v);
    ok(v.decision == PC_GCRA_REJECT, "then rejected");
}

static void
test_nodelay_and_delay_n(void)
{
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    int64_t tat = 0, now = 7 * SEC;
    int i;

    pc_gcra_init(&g, 100 * MS, 5, 0, true);
    for (i = 0; i < 6; i++) {
        pc_gcra_decide(&g, &tat, now, &v);
        ok(v.decision == PC_GCRA_PASS && v.delay == 0, "nodelay: request %d at once", i);
    }
    pc_gcra_decide(&g, &tat, now, &v);
    ok(v.decision == PC_GCRA_REJECT, "nodelay: 7th rejected");

    /* delay=2: the first 3 (excess 0, 1, 2) at once, then 100, 200, 300 ms */
    tat = 0;
    pc_gcra_init(&g, 100 * MS, 5, 2, false);
    for (i = 0; i < 6; i++) {
        pc_gcra_decide(&g, &tat, now, &v);
        ok(v.delay == (i <= 2 ? 0 : (i - 2) * 100 * MS)
           && v.decision == (i <= 2 ? PC_GCRA_PASS : PC_GCRA_DELAY),
           "delay=2: request %d waits %d ms", i, i <= 2 ? 0 : (i - 2) * 100);
    }
    pc_gcra_decide(&g, &tat, now, &v);
    ok(v.decision == PC_GCRA_REJECT, "delay=2: 7th rejected");
}

/* The nginx equivalence: excess in requests = (TAT - now) / T. */
static void
test_nginx_excess(void)
{
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    int64_t tat = 0, now = 3 * SEC;

    pc_gcra_init(&g, SEC, 2, 0, false);          /* 1r/s burst=2 */
    pc_gcra_decide(&g, &tat, now, &v);           /* excess 0 */
    pc_gcra_decide(&g, &tat, now + 500 * MS, &v);  /* nginx: 0 - 0.5 + 1 = 0.5 */
    is_int(v.delay, 500 * MS, "excess 0.5 → 500 ms at 1r/s");
    pc_gcra_decide(&g, &tat, now + 500 * MS, &v);  /* 1.5 */
    is_int(v.delay, 1500 * MS, "excess 1.5");
    pc_gcra_decide(&g, &tat, now + 500 * MS, &v);  /* 2.5 > 2 */
    ok(v.decision == PC_GCRA_REJECT && v.retry_after == 500 * MS, "excess 2.5 > burst 2");
    /* long idle: back to a full bucket */
    pc_gcra_decide(&g, &tat, now + 3600 * SEC, &v);
    ok(v.decision == PC_GCRA_PASS && v.remaining == 2, "idle key has its whole burst");
}

static void
test_policy(void)
{
    pc_gcra_t g;
    int64_t q, w;

    pc_gcra_init(&g, 100 * MS, 0, 0, false);
    pc_gcra_policy(&g, &q, &w);
    ok(q == 10 && w == 1, "10r/s → q=10 w=1 (got q=%lld w=%lld)", (long long) q,
       (long long) w);
    pc_gcra_init(&g, 100 * MS, 50, 0, true);
    pc_gcra_policy(&g, &q, &w);
    ok(q == 60 && w == 6, "10r/s burst=50 → q=60 w=6 (got %lld %lld)", (long long) q,
       (long long) w);
    pc_gcra_init(&g, 60 * SEC, 2, 0, false);
    pc_gcra_policy(&g, &q, &w);
    ok(q == 3 && w == 180, "1r/m burst=2 → q=3 w=180");
    pc_gcra_init(&g, 10 * SEC, 0, 0, false);
    pc_gcra_policy(&g, &q, &w);
    ok(q == 1 && w == 10, "6r/m → q=1 w=10");
    pc_gcra_init(&g, 1000, 0, 0, false);
    pc_gcra_policy(&g, &q, &w);
    ok(q == 1000000 && w == 1, "1e6 r/s → q=1000000 w=1");

    is_int(pc_gcra_ceil_sec(0), 0, "ceil 0");
    is_int(pc_gcra_ceil_sec(-5), 0, "ceil negative");
    is_int(pc_gcra_ceil_sec(1), 1, "ceil 1 ns");
    is_int(pc_gcra_ceil_sec(SEC), 1, "ceil 1 s");
    is_int(pc_gcra_ceil_sec(SEC + 1), 2, "ceil 1 s + 1 ns");
}

int
main(void)
{
    test_parse_rate();
    test_init();
    test_no_burst();
    test_burst_delay();
    test_nodelay_and_delay_n();
    test_nginx_excess();
    test_policy();
    return done_testing();
}
