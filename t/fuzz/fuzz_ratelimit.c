/*
 * fuzz_ratelimit.c -- libFuzzer target for the ratelimit module's pure
 * parts: the rate parser (config input, SPEC §9), GCRA decisions under
 * adversarial parameters and clocks, and the shared hash table driven by an
 * arbitrary sequence of operations, checked against a model.
 *
 * The first byte picks the mode:
 *   0  rate string: pc_gcra_parse_rate must accept exactly "Nr/s" / "Nr/m"
 *      with N in 1..1e6 and give unit / N.
 *   1  GCRA: burst, delay, nodelay and a rate from the input, then steps
 *      of (time advance, count); invariants: a rejection leaves the TAT,
 *      delay <= tau, remaining <= burst, retry_after > 0, TAT never behind
 *      now after an admission.
 *   2  zone: operations on a 32k limit_conn zone and a 32k limit_req zone
 *      with keys from a small alphabet; limit_conn counts must match a
 *      model exactly (that zone never evicts), used <= capacity always.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Isrc -Imodules t/fuzz/fuzz_ratelimit.c modules/ratelimit/gcra.c \
 *     modules/ratelimit/ratelimit_zone.c -o fuzz_ratelimit
 *   ./fuzz_ratelimit t/fuzz/corpus/ratelimit
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_core.h"
#include "ratelimit/gcra.h"
#include "ratelimit/ratelimit_zone.h"

#include "check.h"

#define NKEYS  64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_rate(const uint8_t *p, size_t n)
{
    int64_t  t = -1, unit;
    uint64_t v = 0;
    size_t   i = 0;
    bool     want;

    while (i < n && p[i] >= '0' && p[i] <= '9' && v <= PC_GCRA_RATE_MAX)
        v = v * 10 + (uint64_t) (p[i++] - '0');
    want = i > 0 && v >= 1 && v <= PC_GCRA_RATE_MAX && n - i == 3 && p[i] == 'r'
           && p[i + 1] == '/' && (p[i + 2] == 's' || p[i + 2] == 'm');
    CHECK((pc_gcra_parse_rate(p, n, &t) == PC_OK) == want);
    if (want) {
        unit = p[i + 2] == 's' ? PC_GCRA_NS_PER_SEC : 60 * PC_GCRA_NS_PER_SEC;
        CHECK(t == unit / (int64_t) v && t > 0);
    } else {
        CHECK(t == -1);
    }
}

static uint32_t
take_u32(const uint8_t **p, const uint8_t *end)
{
    uint32_t v = 0;
    int      k;

    for (k = 0; k < 4 && *p < end; k++)
        v = v << 8 | *(*p)++;
    return v;
}

static void
fuzz_gcra(const uint8_t *p, const uint8_t *end)
{
    pc_gcra_t         g;
    pc_gcra_verdict_t v;
    int64_t           interval = (int64_t) (take_u32(&p, end) % 60000000) * 1000 + 1000;
    int64_t           burst = take_u32(&p, end) % (PC_GCRA_BURST_MAX + 1);
    int64_t           delay = take_u32(&p, end) % (PC_GCRA_BURST_MAX + 2);
    bool              nodelay = p < end && (*p++ & 1);
    int64_t           now = 1000 * PC_GCRA_NS_PER_SEC, tat = 0, q, w, before;

    CHECK(pc_gcra_init(&g, interval, burst, delay, nodelay) == PC_OK);
    pc_gcra_policy(&g, &q, &w);
    CHECK(w >= 1 && q >= burst + 1);
    while (p < end) {
        now += (int64_t) take_u32(&p, end) * 1000;
        before = tat;
        pc_gcra_decide(&g, &tat, now, &v);
        if (v.decision == PC_GCRA_REJECT) {
            CHECK(tat == before && v.retry_after > 0 && v.remaining == 0);
            CHECK(v.reset == before - now && v.reset > g.tau);
        } else {
            CHECK(tat > now && tat - now <= g.tau + g.interval);
            CHECK(v.delay >= 0 && v.delay <= g.tau - g.free + 0);
            CHECK((v.decision == PC_GCRA_DELAY) == (v.delay > 0));
            CHECK(v.remaining >= 0 && v.remaining <= burst);
            CHECK(v.reset == tat - now);
        }
    }
}

static void
fuzz_zone(const uint8_t *p, const uint8_t *end)
{
    static void      *mem_c, *mem_r;
    static const uint64_t seed[2] = { 1, 2 };
    pc_rlz_t         *zc, *zr;
    pc_rlz_key_t      k;
    pc_gcra_t         g;
    pc_gcra_verdict_t v;
    int64_t           model[NKEYS] = { 0 }, now = PC_GCRA_NS_PER_SEC;
    unsigned          ev;
    char              text[16];
    int               i, n;

    if (mem_c == NULL && ((mem_c = malloc(PC_RLZ_MIN_SIZE)) == NULL
                          || (mem_r = malloc(PC_RLZ_MIN_SIZE)) == NULL))
    {
        abort();
    }
    zc = pc_rlz_format(mem_c, PC_RLZ_MIN_SIZE, PC_RLZ_KIND_CONN, seed);
    zr = pc_rlz_format(mem_r, PC_RLZ_MIN_SIZE, PC_RLZ_KIND_REQ, seed);
    CHECK(zc != NULL && zr != NULL);
    pc_gcra_init(&g, PC_GCRA_NS_PER_SEC, 2, 0, false);
    while (p + 1 < end) {
        uint8_t op = *p++, arg = *p++;
        int key = arg % NKEYS;

        n = snprintf(text, sizeof(text), "key%d", key);
        pc_rlz_key(zc, (const u_char *) text, (size_t) n, &k);
        switch (op % 4) {
        case 0:
            if (pc_rlz_acquire(zc, &k, 3, &ev) == PC_OK)
                model[key]++;
            else
                CHECK(model[key] == 3 || pc_rlz_used(zc) == pc_rlz_capacity(zc));
            break;
        case 1:
            if (model[key] > 0)
                model[key]--;
            pc_rlz_release(zc, &k);
            break;
        case 2:
            CHECK(pc_rlz_take(zr, &k, &g, now, &v, &ev) == PC_OK);
            break;
        default:
            now += (int64_t) arg * 10000000;
            pc_rlz_merge(zr, &k, now + (int64_t) op * 1000000, now, &ev);
            break;
        }
        CHECK(pc_rlz_used(zc) <= pc_rlz_capacity(zc));
        CHECK(pc_rlz_used(zr) <= pc_rlz_capacity(zr));
    }
    for (i = 0; i < NKEYS; i++) {
        n = snprintf(text, sizeof(text), "key%d", i);
        pc_rlz_key(zc, (const u_char *) text, (size_t) n, &k);
        CHECK(pc_rlz_peek(zc, &k) == model[i]);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_rate(data + 1, size - 1);
        break;
    case 1:
        fuzz_gcra(data + 1, data + size);
        break;
    default:
        fuzz_zone(data + 1, data + size);
        break;
    }
    return 0;
}
