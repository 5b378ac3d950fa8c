/*
 * fuzz_chunked.c -- libFuzzer target for pc_http_chunked_decode.
 *
 * The input is a raw chunked body (plus whatever follows it).  It is decoded
 * with the default limits and with tight ones; the target asserts that every
 * payload span lies inside the bytes consumed by that call and follows the
 * previous one, that the payload never exceeds the input, that ctx->total
 * counts it, and that feeding the bytes one at a time or split at
 * pseudo-random points gives the same payload, return code, end position and
 * error as feeding them at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_types.h"
#include "http/pc_http_chunked.h"

#include "check.h"

typedef struct {
    pc_rc_t rc;
    size_t consumed;
    size_t npayload;
    uint64_t hash; /* FNV-1a of the payload bytes, in order */
    uint64_t total;
    const char *error;
} out_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode in[from .. to) until more input is needed or decoding stops. */
static size_t
drive(pc_http_chunked_t *ctx, const uint8_t *in, size_t from, size_t to, out_t *o)
{
    const u_char *pos = in + from, *data, *last_end = in + from;
    size_t len;

    for (;;) {
        const u_char *before = pos;
        size_t k;

        o->rc = pc_http_chunked_decode(ctx, &pos, in + to, &data, &len);
        CHECK(pos >= before && pos <= in + to);
        CHECK(o->rc == PC_OK || o->rc == PC_AGAIN || o->rc == PC_DONE || o->rc == PC_ERROR);
        CHECK(o->rc != PC_AGAIN || pos == in + to);
        CHECK(o->rc != PC_ERROR || ctx->error != NULL);
        if (len > 0) {
            CHECK(o->rc == PC_OK);
            CHECK(data >= before && data >= last_end && data + len <= pos);
            last_end = data + len;
            for (k = 0; k < len; k++) {
                o->hash = (o->hash ^ data[k]) * 1099511628211ULL;
            }
            o->npayload += len;
        } else {
            CHECK(o->rc != PC_OK || pos > before);
        }
        if (o->rc != PC_OK) {
            break;
        }
    }
    return (size_t) (pos - in);
}

static void
finish(const pc_http_chunked_t *ctx, out_t *o, size_t pos, size_t size)
{
    o->consumed = pos;
    o->total = ctx->total;
    o->error = ctx->error;
    CHECK(o->npayload <= o->consumed && o->consumed <= size);
    CHECK(o->total == o->npayload);
}

static void
same(const out_t *a, const out_t *b)
{
    CHECK(a->rc == b->rc);
    CHECK(a->consumed == b->consumed);
    CHECK(a->npayload == b->npayload);
    CHECK(a->hash == b->hash);
    CHECK(a->total == b->total);
    CHECK(a->error == b->error);
}

static void
check_config(const uint8_t *d, size_t size, uint32_t ml, uint32_t mt, uint64_t seed)
{
    pc_http_chunked_t ctx;
    out_t whole, o;
    size_t pos, k, at;
    int round;

    memset(&whole, 0, sizeof(whole));
    pc_http_chunked_init(&ctx, ml, mt);
    finish(&ctx, &whole, drive(&ctx, d, 0, size, &whole), size);

    memset(&o, 0, sizeof(o));
    pc_http_chunked_init(&ctx, ml, mt);
    pos = drive(&ctx, d, 0, 0, &o);
    for (k = 1; k <= size && o.rc == PC_AGAIN; k++) {
        pos = drive(&ctx, d, pos, k, &o);
    }
    finish(&ctx, &o, pos, size);
    same(&o, &whole);

    for (round = 0; round < 4; round++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        at = size ? (size_t) (seed >> 33) % (size + 1) : 0;
        memset(&o, 0, sizeof(o));
        pc_http_chunked_init(&ctx, ml, mt);
        pos = drive(&ctx, d, 0, at, &o);
        if (o.rc == PC_AGAIN) {
            pos = drive(&ctx, d, pos, size, &o);
        }
        finish(&ctx, &o, pos, size);
        same(&o, &whole);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < size; i++) {
        seed = (seed ^ data[i]) * 1099511628211ULL;
    }
    check_config(data, size, 0, 0, seed);
    check_config(data, size, 12, 24, seed + 1);
    return 0;
}
