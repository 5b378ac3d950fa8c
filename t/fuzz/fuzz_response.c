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
#include <stdlib.h>
#include <string.h>

#include "core/pc_types.h"
#include "http/pc_http_parse.h"
#include "split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    static run_t whole, next;
    const split_cfg_t cfg = {l, cap, 1, m};

    split_whole(&whole, &cfg, d, size);
    check_head(&whole, d, size, m);
    split_check(&cfg, d, size, seed, 3, &whole);

    /* an interim response is followed by the final one */
    if (whole.rc == PC_OK && whole.h.status < 200 && whole.h.status != 101) {
        size_t off = whole.h.head_len;

        split_whole(&next, &cfg, d + off, size - off);
        check_head(&next, d + off, size - off, m);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const pc_http_limits_t tight = {40, 30, 160};
    uint64_t seed = split_seed(data, size);

    check_config(data, size, NULL, NHDRS, PC_HTTP_GET, seed);
    check_config(data, size, NULL, NHDRS, PC_HTTP_HEAD, seed + 1);
    check_config(data, size, &tight, 6, PC_HTTP_GET, seed + 2);
    return 0;
}
