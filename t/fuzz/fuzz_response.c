/*
 * fuzz_response.c -- libFuzzer target for pc_http_parse_response.
 *
 * The input is raw upstream response bytes.  Each input is parsed as the
 * answer to a GET and to a HEAD, with default and with tight limits; the
 * target asserts the parser's invariants (offsets inside the head, framing
 * consistent with the status and the request method, every error a 502) and
 * that feeding the bytes one at a time or split at pseudo-random points gives
 * exactly the head that feeding them at once gives.  After a complete 1xx
 * head it parses the next head from where the first ended, as a proxy does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_types.h"
#include "http/pc_http_parse.h"

#define NHDRS 64

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "invariant failed: %s at %s:%d\n", #c, __FILE__, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    pc_http_parser_t p;
    pc_http_head_t h;
    pc_http_header_t hdrs[NHDRS];
    pc_rc_t rc;
} run_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
start(run_t *r, const pc_http_limits_t *l, uint32_t cap)
{
    pc_http_parser_init(&r->p, &r->h, r->hdrs, cap, l);
    r->rc = PC_AGAIN;
}

static void
same_head(const run_t *ra, const run_t *rb)
{
    const pc_http_head_t *a = &ra->h, *b = &rb->h;
    uint32_t i;

#define SAME(f) CHECK(a->f == b->f)
    CHECK(ra->rc == rb->rc);
    SAME(status);
    SAME(reason_off);
    SAME(reason_len);
    SAME(version);
    SAME(body);
    SAME(content_length);
    SAME(conn_close);
    SAME(conn_keep_alive);
    SAME(conn_upgrade);
    SAME(has_upgrade);
    SAME(nheaders);
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
}

static void
check_head(const run_t *r, const uint8_t *d, size_t size, pc_http_method_e m)
{
    const pc_http_head_t *h = &r->h;
    uint32_t end = h->head_len, i;

    CHECK(r->rc == PC_OK || r->rc == PC_AGAIN || r->rc == PC_ERROR);
    if (r->rc == PC_ERROR) {
        CHECK(h->error != NULL && h->error_status == 502);
        return;
    }
    if (r->rc == PC_AGAIN) {
        return;
    }
    CHECK(end > 0 && end <= size && d[end - 1] == '\n');
    CHECK(h->status >= 100 && h->status <= 599);
    CHECK(h->version == 10 || h->version == 11);
    CHECK(h->reason_off + h->reason_len <= end);
    for (i = 0; i < h->nheaders; i++) {
        const pc_http_header_t *f = &h->headers[i];

        CHECK(f->name_len > 0 && f->name + f->name_len < end);
        CHECK(d[f->name + f->name_len] == ':');
        CHECK(f->value + f->value_len <= end);
    }
    if (h->status < 200 || h->status == 204 || h->status == 304 || m == PC_HTTP_HEAD) {
        CHECK(h->body == PC_HTTP_BODY_NONE);
    } else {
        CHECK(h->body != PC_HTTP_BODY_NONE);
    }
    CHECK(h->body != PC_HTTP_BODY_LENGTH || h->content_length >= 0);
    CHECK(h->body != PC_HTTP_BODY_CHUNKED || h->content_length == -1);
    CHECK(h->body != PC_HTTP_BODY_CLOSE || (h->conn_close && h->content_length == -1));
    CHECK(h->body != PC_HTTP_BODY_CHUNKED || h->version == 11);
}

static void
check_config(const uint8_t *d, size_t size, const pc_http_limits_t *l, uint32_t cap,
    pc_http_method_e m, uint64_t seed)
{
    static run_t whole, inc;
    size_t k, at;
    int round;

    start(&whole, l, cap);
    whole.rc = pc_http_parse_response(&whole.p, d, size, m);
    check_head(&whole, d, size, m);

    start(&inc, l, cap);
    for (k = 0; k <= size; k++) {
        inc.rc = pc_http_parse_response(&inc.p, d, k, m);
        if (inc.rc != PC_AGAIN) {
            break;
        }
    }
    same_head(&inc, &whole);

    for (round = 0; round < 3; round++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        at = size ? (size_t) (seed >> 33) % (size + 1) : 0;
        start(&inc, l, cap);
        inc.rc = pc_http_parse_response(&inc.p, d, at, m);
        if (inc.rc == PC_AGAIN) {
            inc.rc = pc_http_parse_response(&inc.p, d, size, m);
        }
        same_head(&inc, &whole);
    }

    /* an interim response is followed by the final one */
    if (whole.rc == PC_OK && whole.h.status < 200 && whole.h.status != 101) {
        size_t off = whole.h.head_len;

        start(&inc, l, cap);
        inc.rc = pc_http_parse_response(&inc.p, d + off, size - off, m);
        check_head(&inc, d + off, size - off, m);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const pc_http_limits_t tight = {40, 30, 160};
    uint64_t seed = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < size; i++) {
        seed = (seed ^ data[i]) * 1099511628211ULL;
    }
    check_config(data, size, NULL, NHDRS, PC_HTTP_GET, seed);
    check_config(data, size, NULL, NHDRS, PC_HTTP_HEAD, seed + 1);
    check_config(data, size, &tight, 6, PC_HTTP_GET, seed + 2);
    return 0;
}
