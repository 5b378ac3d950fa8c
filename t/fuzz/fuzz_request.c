/*
 * fuzz_request.c -- libFuzzer target for pc_http_parse_request (and
 * pc_http_normalize_path on every path it accepts).
 *
 * The input is raw request bytes.  Each input is parsed with the default
 * limits and with tight ones, and besides "no crash, no UB" the target
 * asserts the parser's invariants: every offset lies inside the head, the
 * framing fields agree with each other, errors carry a known status, and
 * feeding the bytes one at a time or split at pseudo-random points gives
 * exactly the head that feeding them at once gives.
 */
#include <stdlib.h>
#include <string.h>

#include "core/pc_types.h"
#include "http/pc_http_parse.h"
#include "split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Properties of a normalised path: what location matching relies on. */
static void
check_normalize(const uint8_t *path, size_t len)
{
    static u_char dst[70000];
    size_t n = 0, i;

    if (len > sizeof(dst) || pc_http_normalize_path(path, len, dst, &n) != PC_OK) {
        return;
    }
    CHECK(n >= 1 && n <= len && dst[0] == '/');
    for (i = 0; i < n; i++) {
        CHECK(dst[i] != '\0');
        if (dst[i] != '/') {
            continue;
        }
        CHECK(i + 1 == n || dst[i + 1] != '/');
        CHECK(!(i + 2 == n && dst[i + 1] == '.'));
        CHECK(!(i + 2 < n && dst[i + 1] == '.' && dst[i + 2] == '/'));
        CHECK(!(i + 3 == n && dst[i + 1] == '.' && dst[i + 2] == '.'));
        CHECK(!(i + 3 < n && dst[i + 1] == '.' && dst[i + 2] == '.' && dst[i + 3] == '/'));
    }
}

static void
check_head(const run_t *r, const uint8_t *d, size_t size, const pc_http_limits_t *l, uint32_t cap)
{
    const pc_http_head_t *h = &r->h;
    uint32_t end = h->head_len, i;

    CHECK(r->rc == PC_OK || r->rc == PC_AGAIN || r->rc == PC_ERROR);
    if (r->rc == PC_ERROR) {
        CHECK(h->error != NULL);
        CHECK(h->error_status == 400 || h->error_status == 414 || h->error_status == 431
              || h->error_status == 501 || h->error_status == 505);
        return;
    }
    if (r->rc == PC_AGAIN) {
        CHECK(size < (l && l->max_head ? l->max_head : 65536));
        return;
    }
    CHECK(end > 0 && end <= size && d[end - 1] == '\n');
    CHECK(!l || !l->max_head || end <= l->max_head);
    CHECK(h->error_status == 0 && h->error == NULL);
    CHECK(h->version == 10 || h->version == 11);
    CHECK(h->method_len > 0 && h->method_off + h->method_len <= end);
    CHECK(h->target_len > 0 && h->target_off + h->target_len <= end);
    CHECK(h->path_off + h->path_len <= h->target_off + h->target_len);
    CHECK(h->path_off >= h->target_off);
    CHECK(!h->has_query || h->query_off + h->query_len == h->target_off + h->target_len);
    CHECK(h->host_off + h->host_len <= end);
    CHECK(h->version == 10 || h->has_host);
    CHECK(!h->has_host || h->host_len > 0);
    for (i = 0; i < h->host_len; i++) {
        CHECK(d[h->host_off + i] > ' ' && d[h->host_off + i] != '@' && d[h->host_off + i] < 0x7f);
    }
    for (i = 0; i < h->target_len; i++) {
        CHECK(d[h->target_off + i] > ' ' && d[h->target_off + i] < 0x7f);
    }
    CHECK(h->nheaders <= cap);
    for (i = 0; i < h->nheaders; i++) {
        const pc_http_header_t *f = &h->headers[i];
        uint32_t k;

        CHECK(f->name_len > 0 && f->name + f->name_len < end);
        CHECK(d[f->name + f->name_len] == ':');
        CHECK(f->value >= f->name + f->name_len + 1);
        CHECK(f->value + f->value_len <= end);
        CHECK(
            f->value_len == 0 || (!is_ows(d[f->value]) && !is_ows(d[f->value + f->value_len - 1])));
        for (k = 0; k < f->value_len; k++) {
            uint8_t c = d[f->value + k];

            CHECK(c == '\t' || (c >= ' ' && c != 0x7f));
        }
        CHECK(f->id < PC_HTTP_H__COUNT);
        CHECK(f->id == PC_HTTP_H_OTHER || h->idx[f->id] <= i + 1);
    }
    for (i = 1; i < PC_HTTP_H__COUNT; i++) {
        CHECK(h->idx[i] <= h->nheaders);
        CHECK(h->idx[i] == 0 || h->headers[h->idx[i] - 1].id == i);
    }
    switch (h->body) {
    case PC_HTTP_BODY_NONE:
    case PC_HTTP_BODY_CHUNKED:
        CHECK(h->content_length == -1);
        CHECK(h->body == PC_HTTP_BODY_NONE || h->version == 11);
        break;
    case PC_HTTP_BODY_LENGTH:
        CHECK(h->content_length >= 0 && h->content_length <= (int64_t) 1 << 62);
        break;
    default:
        CHECK(0);
    }
    CHECK(h->version == 11 || h->conn_close || h->conn_keep_alive);
    if (h->method != PC_HTTP_CONNECT && h->path_len > 0 && d[h->path_off] == '/') {
        check_normalize(d + h->path_off, h->path_len);
    }
}

/* Whole, one byte at a time, and split at a few pseudo-random points. */
static void
check_config(const uint8_t *d, size_t size, const pc_http_limits_t *l, uint32_t cap, uint64_t seed)
{
    static run_t whole;
    const split_cfg_t cfg = {l, cap, 0, PC_HTTP_GET};

    split_whole(&whole, &cfg, d, size);
    check_head(&whole, d, size, l, cap);
    split_check(&cfg, d, size, seed, 4, &whole);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const pc_http_limits_t tight = {40, 30, 160};
    uint64_t seed = split_seed(data, size);

    check_config(data, size, NULL, NHDRS, seed);
    check_config(data, size, &tight, 6, seed ^ 0x9e3779b97f4a7c15ULL);
    return 0;
}
