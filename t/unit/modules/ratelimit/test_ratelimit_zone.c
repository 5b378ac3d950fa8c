/*
 * test_ratelimit_zone.c -- the shared hash table of the ratelimit module
 * (modules/ratelimit/ratelimit_zone.c): layout and reuse checks, SipHash
 * vectors, GCRA state per key, LRU eviction, limit_conn counts, several
 * processes on one key, recovery from a worker that died holding a lock,
 * a flood of 10^6 keys into a small zone, and a micro-benchmark (10^6
 * decisions over 10^5 keys) printed as "# bench: ..." diag lines.
 *
 * The source is included (not linked) so the crash test can take a
 * stripe's lock directly, as a dying worker would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "ratelimit/ratelimit_zone.c"

#define SEC   PC_GCRA_NS_PER_SEC
#define MS    1000000LL

static const uint64_t seed[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };

static void *
shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

static void
key_of(pc_rlz_t *z, const char *text, pc_rlz_key_t *k)
{
    pc_rlz_key(z, (const u_char *) text, strlen(text), k);
}

static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return kib;
}

static void
test_siphash(void)
{
    /* vectors_sip128[0..2] of the reference implementation, key 00..0f,
     * message 00 01 .. (len - 1) */
    static const u_char want[3][16] = {
        { 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
          0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 },
        { 0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44,
          0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45 },
        { 0x81, 0x77, 0x22, 0x8d, 0xa4, 0xa4, 0x5d, 0xc7,
          0xfc, 0xa3, 0x8b, 0xde, 0xf6, 0x0a, 0xff, 0xe4 },
    };
    const uint64_t k[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
    u_char msg[2] = { 0, 1 }, got[16];
    uint64_t out[2];
    size_t len, i;

    for (len = 0; len < 3; len++) {
        pc_rlz_siphash128(k, msg, len, out);
        for (i = 0; i < 8; i++) {
            got[i] = (u_char) (out[0] >> (8 * i));
            got[8 + i] = (u_char) (out[1] >> (8 * i));
        }
        ok(memcmp(got, want[len], 16) == 0, "SipHash-2-4-128 reference vector %zu", len);
    }
}

static void
test_layout(void)
{
    static const size_t sizes[] = { 32 * 1024, 1024 * 1024, 10 * 1024 * 1024 };
    pc_rlz_t *z;
    void *mem;
    size_t i;

    mem = shared(10 * 1024 * 1024);
    ok(pc_rlz_format(mem, PC_RLZ_MIN_SIZE - 1, PC_RLZ_KIND_REQ, seed) == NULL,
       "below the minimum size: refused");
    ok(pc_rlz_attach(mem, PC_RLZ_MIN_SIZE, PC_RLZ_KIND_REQ) == NULL,
       "unformatted memory is not a zone");
    for (i = 0; i < pc_nelems(sizes); i++) {
        z = pc_rlz_format(mem, sizes[i], PC_RLZ_KIND_REQ, seed);
        ok(z != NULL && pc_rlz_capacity(z) > 0, "format %zuk", sizes[i] / 1024);
        if (z == NULL)
            continue;
        ok(z->nodes_off + (size_t) z->nstripes * z->per * sizeof(rlz_node_t) <= sizes[i],
           "%zuk: everything inside the zone", sizes[i] / 1024);
        diag("zone %zuk: %u keys in %u stripes, %.1f bytes of zone per key",
             sizes[i] / 1024, pc_rlz_capacity(z), z->nstripes,
             (double) sizes[i] / pc_rlz_capacity(z));
    }
    is_int(sizeof(rlz_node_t), 40, "a key's node is 40 bytes");
    ok(pc_rlz_attach(mem, 10 * 1024 * 1024, PC_RLZ_KIND_REQ) == mem,
       "reattach with the same size and kind");
    ok(pc_rlz_attach(mem, 10 * 1024 * 1024, PC_RLZ_KIND_CONN) == NULL,
       "another kind does not attach");
    ok(pc_rlz_attach(mem, 1024 * 1024, PC_RLZ_KIND_REQ) == NULL,
       "another size does not attach");
    z = pc_rlz_format(mem, 1024 * 1024, PC_RLZ_KIND_REQ, seed);
    ok(z != NULL && pc_rlz_used(z) == 0, "reformat: empty");
    munmap(mem, 10 * 1024 * 1024);
}

static void
test_take(void)
{
    pc_rlz_t *z = pc_rlz_format(shared(64 * 1024), 64 * 1024, PC_RLZ_KIND_REQ, seed);
    pc_rlz_key_t a, b;
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    unsigned ev;
    int64_t now = 100 * SEC;

    pc_gcra_init(&g, 100 * MS, 1, 0, true);
    key_of(z, "10.0.0.1", &a);
    key_of(z, "10.0.0.2", &b);
    ok(a.h[0] != b.h[0] || a.h[1] != b.h[1], "two keys, two digests");
    ok(pc_rlz_take(z, &a, &g, now, &v, &ev) == PC_OK && v.decision == PC_GCRA_PASS
       && ev == 0, "a: first passes");
    is_int(pc_rlz_peek(z, &a), now + 100 * MS, "a: TAT stored");
    pc_rlz_take(z, &a, &g, now, &v, &ev);
    ok(v.decision == PC_GCRA_PASS && v.remaining == 0, "a: burst used");
    pc_rlz_take(z, &a, &g, now, &v, &ev);
    ok(v.decision == PC_GCRA_REJECT, "a: third rejected");
    is_int(pc_rlz_peek(z, &a), now + 200 * MS, "a: rejection leaves the TAT");
    pc_rlz_take(z, &b, &g, now, &v, &ev);
    ok(v.decision == PC_GCRA_PASS, "b is limited apart from a");
    is_int(pc_rlz_used(z), 2, "two keys in use");

    pc_rlz_refund(z, &a, &g);
    is_int(pc_rlz_peek(z, &a), now + 100 * MS, "refund gives one interval back");
    pc_rlz_take(z, &a, &g, now, &v, &ev);
    ok(v.decision == PC_GCRA_PASS, "a: the refunded slot is usable");

    ok(pc_rlz_merge(z, &b, now + 5 * SEC, now, &ev) == PC_OK
       && pc_rlz_peek(z, &b) == now + 5 * SEC, "merge: a later remote TAT wins");
    pc_rlz_merge(z, &b, now, now, &ev);
    is_int(pc_rlz_peek(z, &b), now + 5 * SEC, "merge: an earlier one changes nothing");
    key_of(z, "remote-only", &a);
    pc_rlz_merge(z, &a, now - SEC, now, &ev);
    ok(pc_rlz_peek(z, &a) == 0, "merge: a past TAT of an unknown key is not stored");
    pc_rlz_merge(z, &a, now + SEC, now, &ev);
    ok(pc_rlz_peek(z, &a) == now + SEC, "merge: a future one is");
}

/* Fill a zone with live keys; one active key keeps its limit meanwhile. */
static void
test_eviction(void)
{
    size_t size = 64 * 1024;
    pc_rlz_t *z = pc_rlz_format(shared(size), size, PC_RLZ_KIND_REQ, seed);
    pc_rlz_key_t k, active;
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    unsigned ev, evicted = 0, expired = 0, active_rejects = 0, cap = pc_rlz_capacity(z);
    int64_t now = 1000 * SEC;
    char text[32];
    unsigned i, over = 0;

    pc_gcra_init(&g, 60 * SEC, 0, 0, false);    /* 1r/m: state lives a minute */
    key_of(z, "active", &active);
    pc_rlz_take(z, &active, &g, now, &v, &ev);
    for (i = 0; i < 20 * cap; i++) {
        snprintf(text, sizeof(text), "flood-%u", i);
        key_of(z, text, &k);
        pc_rlz_take(z, &k, &g, now + i, &v, &ev);
        evicted += (ev & PC_RLZ_EV_EVICTED) != 0;
        expired += (ev & PC_RLZ_EV_EXPIRED) != 0;
        over += pc_rlz_used(z) > cap;
        if (i % 8 == 0) {
            pc_rlz_take(z, &active, &g, now + i, &v, &ev);
            active_rejects += v.decision == PC_GCRA_REJECT;
        }
    }
    is_int(over, 0, "never more keys than the capacity (%u)", cap);
    ok(pc_rlz_used(z) == cap, "the zone is full");
    ok(evicted >= 19 * cap - 20 * cap / 8 - 64, "live keys evicted: %u", evicted);
    is_int(expired, 0, "no key had expired");
    is_int(active_rejects, 20 * cap / 8, "the active key stayed limited throughout");

    /* Keys whose TAT passed are reclaimed as expired, not evicted. */
    evicted = expired = 0;
    for (i = 0; i < cap; i++) {
        snprintf(text, sizeof(text), "later-%u", i);
        key_of(z, text, &k);
        pc_rlz_take(z, &k, &g, now + 3600 * SEC, &v, &ev);
        evicted += (ev & PC_RLZ_EV_EVICTED) != 0;
        expired += (ev & PC_RLZ_EV_EXPIRED) != 0;
    }
    ok(expired > cap / 2 && evicted < cap / 2, "an hour later old keys expire "
       "(expired %u, evicted %u)", expired, evicted);
}

static void
test_conn(void)
{
    size_t size = PC_RLZ_MIN_SIZE;
    pc_rlz_t *z = pc_rlz_format(shared(size), size, PC_RLZ_KIND_CONN, seed);
    pc_rlz_key_t a, k;
    unsigned ev, i, filled = 0, cap = pc_rlz_capacity(z);
    char text[32];

    key_of(z, "client", &a);
    ok(pc_rlz_acquire(z, &a, 2, &ev) == PC_OK, "conn 1 of 2");
    ok(pc_rlz_acquire(z, &a, 2, &ev) == PC_OK, "conn 2 of 2");
    ok(pc_rlz_acquire(z, &a, 2, &ev) == PC_BUSY, "conn 3 of 2 refused");
    is_int(pc_rlz_peek(z, &a), 2, "count 2");
    pc_rlz_release(z, &a);
    ok(pc_rlz_acquire(z, &a, 2, &ev) == PC_OK, "a released slot is usable");
    pc_rlz_release(z, &a);
    pc_rlz_release(z, &a);
    ok(pc_rlz_peek(z, &a) == 0 && pc_rlz_used(z) == 0, "last release frees the key");
    pc_rlz_release(z, &a);
    ok(pc_rlz_used(z) == 0, "releasing an absent key is harmless");
    ok(pc_rlz_acquire(z, &a, 0, &ev) == PC_BUSY && pc_rlz_used(z) == 0, "max 0 refuses");

    /* Fill every stripe: new keys are refused, never evicted. */
    for (i = 0; i < 50 * cap; i++) {
        snprintf(text, sizeof(text), "c%u", i);
        key_of(z, text, &k);
        filled += pc_rlz_acquire(z, &k, 1, &ev) == PC_OK;
    }
    ok(filled == cap && pc_rlz_used(z) == cap, "full: %u keys of %u", filled, cap);
    snprintf(text, sizeof(text), "c%u", 0);
    key_of(z, text, &k);
    ok(pc_rlz_acquire(z, &k, 2, &ev) == PC_OK, "a known key may still grow");
    for (i = 0; i < 50 * cap; i++) {
        snprintf(text, sizeof(text), "new%u", i);
        key_of(z, text, &k);
        if (pc_rlz_acquire(z, &k, 1, &ev) != PC_DECLINED)
            break;
    }
    ok(i == 50 * cap, "a full zone refuses new keys (PC_DECLINED)");
    snprintf(text, sizeof(text), "c%u", 7);
    key_of(z, text, &k);
    pc_rlz_release(z, &k);
    is_int(pc_rlz_used(z), cap - 1, "a release makes room");
}

/* Four processes on one key: no admission and no count is lost. */
static void
test_processes(void)
{
    size_t size = 1024 * 1024;
    pc_rlz_t *z = pc_rlz_format(shared(size), size, PC_RLZ_KIND_REQ, seed);
    pc_rlz_t *zc = pc_rlz_format(shared(size), size, PC_RLZ_KIND_CONN, seed);
    pc_rlz_key_t k;
    pc_gcra_t g;
    int p, st, ok_children = 0;
    const int nproc = 4, each = 50000;
    int64_t now = 10 * SEC;

    pc_gcra_init(&g, 1000, PC_GCRA_BURST_MAX, 0, true);
    key_of(z, "shared-key", &k);
    for (p = 0; p < nproc; p++) {
        if (fork() == 0) {
            pc_gcra_verdict_t v;
            unsigned ev;
            int i, bad = 0;

            for (i = 0; i < each; i++) {
                bad += pc_rlz_take(z, &k, &g, now, &v, &ev) != PC_OK
                       || v.decision == PC_GCRA_REJECT;
                bad += pc_rlz_acquire(zc, &k, 1000, &ev) != PC_OK;
                pc_rlz_release(zc, &k);
            }
            _exit(bad != 0);
        }
    }
    for (p = 0; p < nproc; p++)
        ok_children += wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    is_int(ok_children, nproc, "every process got its answers");
    is_int(pc_rlz_peek(z, &k), now + (int64_t) nproc * each * 1000,
           "TAT moved by exactly %d admissions", nproc * each);
    ok(pc_rlz_peek(zc, &k) == 0 && pc_rlz_used(zc) == 0, "conn count back to 0");
}

/* A process that dies holding a stripe lock costs that stripe, no more. */
static void
test_owner_died(void)
{
    size_t size = 64 * 1024;
    pc_rlz_t *z = pc_rlz_format(shared(size), size, PC_RLZ_KIND_REQ, seed);
    pc_rlz_key_t k, other;
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    rlz_view_t w;
    unsigned ev;
    int st;
    char text[32];
    int i;
    pid_t pid;

    pc_gcra_init(&g, 60 * SEC, 0, 0, false);
    key_of(z, "victim", &k);
    pc_rlz_take(z, &k, &g, SEC, &v, &ev);
    /* a key of another stripe */
    for (i = 0; ; i++) {
        snprintf(text, sizeof(text), "other-%d", i);
        key_of(z, text, &other);
        if ((other.h[1] & (z->nstripes - 1)) != (k.h[1] & (z->nstripes - 1)))
            break;
    }
    pc_rlz_take(z, &other, &g, SEC, &v, &ev);
    pid = fork();
    if (pid == 0) {
        view_of(z, k.h[1], &w);
        pthread_mutex_lock(&w.st->mu);
        _exit(0);                   /* dies inside the critical section */
    }
    waitpid(pid, &st, 0);
    ok(pc_rlz_take(z, &k, &g, SEC, &v, &ev) == PC_OK && (ev & PC_RLZ_EV_RECOVERED),
       "the next user recovers the lock");
    ok(v.decision == PC_GCRA_PASS, "the dead stripe's keys were forgotten");
    pc_rlz_take(z, &k, &g, SEC, &v, &ev);
    ok(v.decision == PC_GCRA_REJECT && ev == 0, "and the stripe works again");
    pc_rlz_take(z, &other, &g, SEC, &v, &ev);
    ok(v.decision == PC_GCRA_REJECT, "other stripes kept their state");
}

static void
test_counters(void)
{
    size_t size = PC_RLZ_MIN_SIZE;
    pc_rlz_t *z = pc_rlz_format(shared(size), size, PC_RLZ_KIND_REQ, seed);
    uint64_t c[PC_RLZ_COUNTERS];

    pc_rlz_count(z, 0, PC_RLZ_PASSED);
    pc_rlz_count(z, 1, PC_RLZ_PASSED);
    pc_rlz_count(z, 1 + PC_RLZ_SLOTS, PC_RLZ_REJECTED);   /* wraps onto slot 1 */
    pc_rlz_count(z, 5, PC_RLZ_COUNTERS);                  /* ignored */
    pc_rlz_counters(z, c);
    ok(c[PC_RLZ_PASSED] == 2 && c[PC_RLZ_REJECTED] == 1 && c[PC_RLZ_EVICTED] == 0,
       "counters sum over slots");
    ok(pc_rlz_warn_due(z, 10 * SEC, 5 * SEC), "first warning is due");
    ok(!pc_rlz_warn_due(z, 12 * SEC, 5 * SEC), "not again within 5 s");
    ok(pc_rlz_warn_due(z, 15 * SEC, 5 * SEC), "due again after 5 s");
}

/* 10^6 distinct keys into a 64k zone: bounded, no crash, limits hold. */
static void
test_flood(void)
{
    size_t size = 64 * 1024;
    pc_rlz_t *z = pc_rlz_format(shared(size), size, PC_RLZ_KIND_REQ, seed);
    pc_rlz_key_t k, active;
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    unsigned ev, i, active_passed = 0, over = 0, cap = pc_rlz_capacity(z);
    int64_t now = pc_rlz_now(), t0;
    long rss0 = rss_kib(), rss1;
    char text[32];
    uint64_t c[PC_RLZ_COUNTERS];

    pc_gcra_init(&g, SEC, 0, 0, false);             /* 1r/s */
    key_of(z, "active", &active);
    t0 = pc_rlz_now();
    for (i = 0; i < 1000000; i++) {
        int n = snprintf(text, sizeof(text), "%u.%u.%u.%u", i >> 24, (i >> 16) & 255,
                         (i >> 8) & 255, i & 255);

        pc_rlz_key(z, (const u_char *) text, (size_t) n, &k);
        pc_rlz_take(z, &k, &g, now, &v, &ev);
        if (ev & PC_RLZ_EV_EVICTED)
            pc_rlz_count(z, 0, PC_RLZ_EVICTED);
        if (i % 64 == 0) {
            pc_rlz_take(z, &active, &g, now, &v, &ev);
            active_passed += v.decision != PC_GCRA_REJECT;
            over += pc_rlz_used(z) > cap;
        }
    }
    rss1 = rss_kib();
    pc_rlz_counters(z, c);
    is_int(over, 0, "10^6 keys: never over capacity");
    is_int(active_passed, 1, "10^6 keys: the active key passed once, then stayed limited");
    ok(c[PC_RLZ_EVICTED] >= 1000000 - cap, "evictions counted: %llu",
       (unsigned long long) c[PC_RLZ_EVICTED]);
    ok(rss0 > 0 && rss1 - rss0 < 4096, "RSS grew by %ld KiB (zone %zu KiB)",
       rss1 - rss0, size / 1024);
    diag("flood: 10^6 keys in %.0f ms", (double) (pc_rlz_now() - t0) / MS);
}

/* CPU time of this process in ns: the machine may be shared, and time
 * spent preempted is not the cost of a decision. */
static int64_t
cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * SEC + ts.tv_nsec;
}

/* The key text of decision i: "10.1.134.160", from a fixed LCG. */
static int
bench_key(uint32_t *x, unsigned keys, char *text, size_t size)
{
    uint32_t n;

    *x = *x * 1103515245u + 12345u;
    n = (*x >> 8) % keys;
    return snprintf(text, size, "10.%u.%u.%u", n >> 16, (n >> 8) & 255, n & 255);
}

static void
test_bench(void)
{
    size_t size = 8 * 1024 * 1024;
    pc_rlz_t *z = pc_rlz_format(shared(size), size, PC_RLZ_KIND_REQ, seed);
    pc_gcra_t g;
    pc_gcra_verdict_t v;
    pc_rlz_key_t k;
    unsigned ev, i, rejected = 0;
    uint32_t x = 12345;
    int64_t c0, c1, w0, w1, text_ns;
    char text[32];
    const unsigned decisions = 1000000, keys = 100000;

    pc_gcra_init(&g, 100 * MS, 10, 0, true);       /* 10r/s burst=10 */
    ok(pc_rlz_capacity(z) >= keys, "8m holds 10^5 keys (%u)", pc_rlz_capacity(z));
    c0 = cpu_ns();
    for (i = 0; i < decisions; i++)
        bench_key(&x, keys, text, sizeof(text));
    text_ns = cpu_ns() - c0;            /* making the key text alone */
    x = 12345;
    w0 = pc_rlz_now();
    c0 = cpu_ns();
    for (i = 0; i < decisions; i++) {
        int len = bench_key(&x, keys, text, sizeof(text));

        pc_rlz_key(z, (const u_char *) text, (size_t) len, &k);
        pc_rlz_take(z, &k, &g, pc_rlz_now(), &v, &ev);
        rejected += v.decision == PC_GCRA_REJECT;
    }
    c1 = cpu_ns();
    w1 = pc_rlz_now();
    ok(pc_rlz_used(z) <= keys && pc_rlz_used(z) > keys * 9 / 10, "%u keys in use",
       pc_rlz_used(z));
    diag("bench: %.1f ns per limit decision (CPU time; 10^6 decisions over 10^5 "
         "keys: SipHash + clock + lock + lookup + GCRA + unlock; key text "
         "formatting excluded; wall %.1f ns), %u rejected",
         (double) (c1 - c0 - text_ns) / decisions,
         (double) (w1 - w0 - text_ns) / decisions, rejected);
    diag("bench: %.1f bytes of zone memory per key (8m zone, %u keys)",
         (double) size / pc_rlz_capacity(z), pc_rlz_capacity(z));
}

int
main(void)
{
    test_siphash();
    test_layout();
    test_take();
    test_eviction();
    test_conn();
    test_processes();
    test_owner_died();
    test_counters();
    test_flood();
    test_bench();
    return done_testing();
}
