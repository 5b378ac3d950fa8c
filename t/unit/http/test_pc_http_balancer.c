/*
 * test_pc_http_balancer.c -- unit tests for src/http/pc_http_balancer.c.
 */
#include <stdlib.h>
#include <stdio.h>

#include "test.h"
#include "http/pc_http_balancer.h"

#define NP 16

static pc_http_balancer_peer_t peers[NP];
static pc_http_balancer_t      bal;

static void
setup(pc_http_balance_e method, const int *weights, uint32_t n, uint32_t nprimary)
{
    uint32_t i;

    memset(peers, 0, sizeof(peers));
    memset(&bal, 0, sizeof(bal));
    for (i = 0; i < n; i++) {
        peers[i].weight = weights[i];
        peers[i].max_fails = 1;
        peers[i].fail_timeout = 10000;
        peers[i].backup = i >= nprimary;
    }
    bal.method = method;
    bal.peers = peers;
    bal.npeers = n;
    bal.nprimary = nprimary;
    bal.rng = 42;
    pc_http_balancer_init(&bal);
}

static void
test_swrr_sequence(void)
{
    static const int w[] = { 5, 1, 1 };
    char             seq[15];
    int              i, idx;

    setup(PC_HTTP_BALANCE_RR, w, 3, 3);
    for (i = 0; i < 14; i++) {
        idx = pc_http_balancer_pick(&bal, 0, NULL, 0);
        seq[i] = (char) ('a' + idx);
    }
    is_str(seq, 14, "aabacaaaabacaa", 14, "SWRR 5,1,1 is a a b a c a a, twice");
}

static void
test_rr_equal_and_tried(void)
{
    static const int w[] = { 1, 1, 1 };
    uint8_t          tried[1] = { 0 };
    int              counts[3] = { 0, 0, 0 }, i;

    setup(PC_HTTP_BALANCE_RR, w, 3, 3);
    for (i = 0; i < 300; i++) {
        counts[pc_http_balancer_pick(&bal, 0, NULL, 0)]++;
    }
    ok(counts[0] == 100 && counts[1] == 100 && counts[2] == 100,
       "equal weights split evenly (%d %d %d)", counts[0], counts[1], counts[2]);

    pc_http_balancer_tried_set(tried, 0);
    pc_http_balancer_tried_set(tried, 2);
    is_int(pc_http_balancer_pick(&bal, 0, tried, 0), 1, "tried peers are skipped");
    pc_http_balancer_tried_set(tried, 1);
    is_int(pc_http_balancer_pick(&bal, 0, tried, 0), PC_HTTP_BALANCER_NONE,
           "all tried: none");
}

static void
test_down_backup(void)
{
    static const int w[] = { 1, 1, 1 };
    int              i, ok_backup = 1;

    setup(PC_HTTP_BALANCE_RR, w, 3, 2);
    for (i = 0; i < 10; i++) {
        if (pc_http_balancer_pick(&bal, 0, NULL, 0) == 2) {
            ok_backup = 0;
        }
    }
    ok(ok_backup, "backup not used while primaries are up");
    peers[0].down = 1;
    for (i = 0; i < 10; i++) {
        if (pc_http_balancer_pick(&bal, 0, NULL, 0) != 1) {
            ok_backup = 0;
        }
    }
    ok(ok_backup, "down peer never chosen");
    peers[1].down = 1;
    is_int(pc_http_balancer_pick(&bal, 0, NULL, 0), 2,
           "backup used when every primary is down");
    peers[2].down = 1;
    is_int(pc_http_balancer_pick(&bal, 0, NULL, 0), PC_HTTP_BALANCER_NONE,
           "everything down: none (503)");
}

static void
test_passive_health(void)
{
    static const int w[] = { 1, 1 };
    int              i, only1 = 1;

    setup(PC_HTTP_BALANCE_RR, w, 2, 2);
    peers[0].max_fails = 3;
    peers[0].fail_timeout = 10000;

    ok(!pc_http_balancer_fail(&bal, 0, 1000), "1st failure: not taken out");
    ok(!pc_http_balancer_fail(&bal, 0, 2000), "2nd failure: not taken out");
    ok(pc_http_balancer_usable(&peers[0], 2000), "2 of 3 failures: still usable");
    ok(pc_http_balancer_fail(&bal, 0, 3000), "3rd failure: reported as taking it out");
    ok(!pc_http_balancer_usable(&peers[0], 3000), "3 failures: out");
    ok(!pc_http_balancer_fail(&bal, 0, 3000), "a failure while out: not reported again");
    for (i = 0; i < 10; i++) {
        if (pc_http_balancer_pick(&bal, 5000, NULL, 0) != 1) {
            only1 = 0;
        }
    }
    ok(only1, "failed peer skipped during fail_timeout");
    ok(!pc_http_balancer_usable(&peers[0], 12999), "still out just before timeout");
    ok(pc_http_balancer_usable(&peers[0], 13000), "usable again after fail_timeout");
    ok(pc_http_balancer_fail(&bal, 0, 13000), "failed probe: reported as taking it out again");
    ok(!pc_http_balancer_usable(&peers[0], 13001), "failed probe: out again at once");
    ok(pc_http_balancer_usable(&peers[0], 23000), "probe again later");
    pc_http_balancer_success(&bal, 0);
    ok(pc_http_balancer_usable(&peers[0], 23000) && peers[0].fails == 0,
       "success resets the count");

    /* failures spread over more than fail_timeout never accumulate */
    pc_http_balancer_fail(&bal, 0, 30000);
    pc_http_balancer_fail(&bal, 0, 41000);
    pc_http_balancer_fail(&bal, 0, 52000);
    ok(pc_http_balancer_usable(&peers[0], 52000), "old failures expire");

    peers[1].max_fails = 0;
    for (i = 0; i < 100; i++) {
        pc_http_balancer_fail(&bal, 1, 60000);
    }
    ok(pc_http_balancer_usable(&peers[1], 60000), "max_fails=0: never out");
}

static void
test_least_conn(void)
{
    static const int w[] = { 1, 1, 2 };
    int              i, counts[3] = { 0, 0, 0 };

    setup(PC_HTTP_BALANCE_LEAST_CONN, w, 3, 3);
    peers[0].conns = 5;
    peers[1].conns = 2;
    peers[2].conns = 6;     /* 6/2 = 3 per weight */
    is_int(pc_http_balancer_pick(&bal, 0, NULL, 0), 1, "fewest conns per weight wins");
    peers[1].conns = 3;
    peers[0].conns = 9;
    /* 1 (3/1) ties with 2 (6/2): rr among them by weight 1:2 */
    for (i = 0; i < 300; i++) {
        counts[pc_http_balancer_pick(&bal, 0, NULL, 0)]++;
    }
    ok(counts[0] == 0 && counts[1] == 100 && counts[2] == 200,
       "ties broken by weighted rr (%d %d %d)", counts[0], counts[1], counts[2]);

    /* simulate a steady state where each pick holds a connection */
    setup(PC_HTTP_BALANCE_LEAST_CONN, w, 3, 3);
    for (i = 0; i < 400; i++) {
        peers[pc_http_balancer_pick(&bal, 0, NULL, 0)].conns++;
    }
    ok(peers[0].conns == 100 && peers[1].conns == 100 && peers[2].conns == 200,
       "load follows weights (%u %u %u)", peers[0].conns, peers[1].conns,
       peers[2].conns);
}

static void
test_random_two(void)
{
    static const int w[] = { 1, 1, 1, 1 };
    int              i, counts[4] = { 0, 0, 0, 0 }, idx;

    setup(PC_HTTP_BALANCE_RANDOM2, w, 4, 4);
    for (i = 0; i < 4000; i++) {
        idx = pc_http_balancer_pick(&bal, 0, NULL, 0);
        counts[idx]++;
    }
    ok(counts[0] > 700 && counts[1] > 700 && counts[2] > 700 && counts[3] > 700,
       "random two spreads (%d %d %d %d)", counts[0], counts[1], counts[2],
       counts[3]);

    peers[0].conns = 100;
    peers[1].conns = 100;
    peers[2].conns = 100;
    peers[3].conns = 0;
    memset(counts, 0, sizeof(counts));
    for (i = 0; i < 1000; i++) {
        counts[pc_http_balancer_pick(&bal, 0, NULL, 0)]++;
    }
    /* peer 3 wins whenever it is one of the two: 1 - (3/4 * 2/3) = 1/2 */
    ok(counts[3] > 400 && counts[3] < 600, "the idle peer wins its duels (%d)",
       counts[3]);

    peers[0].down = peers[1].down = peers[2].down = 1;
    is_int(pc_http_balancer_pick(&bal, 0, NULL, 0), 3, "one candidate left");
}

static uint32_t
key_hash(unsigned k)
{
    char buf[32];
    int  n = snprintf(buf, sizeof(buf), "key-%u", k);

    return pc_http_balancer_hash((const u_char *) buf, (size_t) n);
}

static pc_http_ring_point_t *
make_ring(uint32_t n, pc_str_t *names, char store[][32])
{
    pc_http_ring_point_t *ring;
    uint32_t              i;

    for (i = 0; i < n; i++) {
        names[i].len = (size_t) snprintf(store[i], 32, "10.0.0.%u:80", i + 1);
        names[i].data = (u_char *) store[i];
    }
    ring = malloc(pc_http_ring_size(peers, n) * sizeof(*ring));
    pc_http_ring_build(ring, peers, names, n);
    bal.ring = ring;
    bal.nring = (uint32_t) pc_http_ring_size(peers, n);
    return ring;
}

static void
test_consistent_hash(void)
{
    static const int      w[] = { 1, 1, 1, 1, 1 };
    static int            before[10000];
    pc_http_ring_point_t *ring;
    pc_str_t              names[5];
    char                  store[5][32];
    int                   counts[5] = { 0 }, moved = 0, moved_wrong = 0, i, idx;
    uint8_t               tried[1] = { 0 };

    setup(PC_HTTP_BALANCE_CHASH, w, 4, 4);
    ring = make_ring(4, names, store);
    is_int(bal.nring, 4 * PC_HTTP_RING_POINTS, "160 points per weight unit");
    for (i = 0; i < 10000; i++) {
        before[i] = pc_http_balancer_pick(&bal, 0, NULL, key_hash((unsigned) i));
        counts[before[i]]++;
    }
    ok(counts[0] > 1900 && counts[1] > 1900 && counts[2] > 1900 && counts[3] > 1900,
       "ring spreads keys (%d %d %d %d)", counts[0], counts[1], counts[2], counts[3]);
    is_int(pc_http_balancer_pick(&bal, 0, NULL, key_hash(7)), before[7],
           "same key, same peer");
    free(ring);

    /* add a fifth peer: about 1/5 of the keys move, all of them to it */
    setup(PC_HTTP_BALANCE_CHASH, w, 5, 5);
    ring = make_ring(5, names, store);
    for (i = 0; i < 10000; i++) {
        idx = pc_http_balancer_pick(&bal, 0, NULL, key_hash((unsigned) i));
        if (idx != before[i]) {
            moved++;
            if (idx != 4) {
                moved_wrong++;
            }
        }
    }
    ok(moved > 1500 && moved < 2500, "adding 1 of 5 peers moves ~1/5 keys (%d)",
       moved);
    is_int(moved_wrong, 0, "moved keys only go to the new peer");

    /* a down or tried peer: its keys go to the next point's peer */
    idx = pc_http_balancer_pick(&bal, 0, NULL, key_hash(3));
    pc_http_balancer_tried_set(tried, (uint32_t) idx);
    ok(pc_http_balancer_pick(&bal, 0, tried, key_hash(3)) != idx,
       "tried peer skipped on the ring");
    peers[idx].down = 1;
    i = pc_http_balancer_pick(&bal, 0, NULL, key_hash(3));
    ok(i >= 0 && i != idx, "down peer skipped on the ring");
    free(ring);
}

static void
test_plain_hash(void)
{
    static const int w[] = { 1, 2, 1 };
    int              counts[3] = { 0, 0, 0 }, i, a, b;

    setup(PC_HTTP_BALANCE_HASH, w, 3, 3);
    for (i = 0; i < 8000; i++) {
        counts[pc_http_balancer_pick(&bal, 0, NULL, key_hash((unsigned) i))]++;
    }
    ok(counts[1] > 3600 && counts[1] < 4400 && counts[0] > 1700 && counts[2] > 1700,
       "weighted hash (%d %d %d)", counts[0], counts[1], counts[2]);
    a = pc_http_balancer_pick(&bal, 0, NULL, key_hash(99));
    b = pc_http_balancer_pick(&bal, 0, NULL, key_hash(99));
    is_int(a, b, "hash is stable");
    peers[a].down = 1;
    b = pc_http_balancer_pick(&bal, 0, NULL, key_hash(99));
    ok(b >= 0 && b != a, "rehash away from a down peer");
}

static void
test_hash_function(void)
{
    uint32_t a = pc_http_balancer_hash((const u_char *) "abc", 3);
    uint32_t b = pc_http_balancer_hash((const u_char *) "abd", 3);

    ok(a != b, "hash differs for close keys");
    is_int(pc_http_balancer_hash((const u_char *) "", 0),
           pc_http_balancer_hash((const u_char *) "x", 0), "empty key is stable");
}

int
main(void)
{
    test_swrr_sequence();
    test_rr_equal_and_tried();
    test_down_backup();
    test_passive_health();
    test_least_conn();
    test_random_two();
    test_consistent_hash();
    test_plain_hash();
    test_hash_function();
    return done_testing();
}
