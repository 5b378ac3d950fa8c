/*
 * fuzz_log_redact.c -- libFuzzer target for src/http/pc_http_log_redact.c:
 * pc_http_log_redact_query over any query string and configured names.
 *
 * Input: byte 0 gives the number of extra names (its low 2 bits), each
 * taken from the input as a length byte (at most 16) and that many bytes;
 * the rest is the query.  The names are always "token" and "access_token"
 * plus the extra ones.
 *
 * Invariants:
 * - the output fits PC_HTTP_LOG_REDACT_BOUND (the buffer is exactly that
 *   long, so ASan sees one byte more) and, with no names, is the query;
 * - the decision is per argument and by its name alone: the output is
 *   each argument copied, or its "name=" followed by "***" with the value
 *   dropped up to the next '&', where a name is redacted iff "name=x" on
 *   its own comes out as "name=***"; adding names never un-redacts one;
 * - a configured name (see plain_name) written as is, in other case, or
 *   fully percent-encoded, appended as "&NAME=secret", always comes out as
 *   "&NAME=***" at the end: its value never reaches the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_types.h"
#include "http/pc_http_log_redact.h"

#include "check.h"

#define MAX_NAMES  6
#define MAX_EXTRA  16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    pc_str_t  n[MAX_NAMES];
    size_t    nn;
} names_t;

/* Redact [q, q + len) into a fresh buffer of exactly the bound. */
static u_char *
run(const u_char *q, size_t len, const names_t *nm, size_t nn, size_t *olen)
{
    size_t bound = PC_HTTP_LOG_REDACT_BOUND(len);
    u_char *out = malloc(bound), *end;

    CHECK(out != NULL);
    end = pc_http_log_redact_query(out, q, q + len, nm->n, nn);
    CHECK(end >= out && (size_t) (end - out) <= bound);
    *olen = (size_t) (end - out);
    return out;
}

/* Is the argument name [p, p + len) redacted by the first nn names, asked
 * on its own as "name=x"? */
static int
probe(const u_char *p, size_t len, const names_t *nm, size_t nn)
{
    u_char *q = malloc(len + 2), *out;
    size_t olen;
    int red;

    CHECK(q != NULL);
    memcpy(q, p, len);
    memcpy(q + len, "=x", 2);
    out = run(q, len + 2, nm, nn, &olen);
    red = olen == len + 4 && memcmp(out, q, len + 1) == 0 && memcmp(out + len + 1, "***", 3) == 0;
    CHECK(red || (olen == len + 2 && memcmp(out, q, len + 2) == 0));
    free(out);
    free(q);
    return red;
}

/* The output as the per-argument rule says it must be (see the top). */
static void
check_composed(const u_char *q, size_t len, const names_t *nm, const u_char *out, size_t olen)
{
    const u_char *p = q, *stop = q + len, *ae, *eq;
    size_t j = 0, k;

    while (p < stop) {
        for (ae = p; ae < stop && *ae != '&' && *ae != ';'; ae++) {
        }
        eq = memchr(p, '=', (size_t) (ae - p));
        if (eq != NULL && eq > p && probe(p, (size_t) (eq - p), nm, nm->nn)) {
            k = (size_t) (eq + 1 - p);
            CHECK(olen - j >= k + 3 && memcmp(out + j, p, k) == 0);
            CHECK(memcmp(out + j + k, "***", 3) == 0);
            j += k + 3;
            for (p = eq; p < stop && *p != '&'; p++) {
            }
        } else {
            if (eq != NULL && eq > p && nm->nn > 2) {
                /* fewer names never redact more */
                CHECK(!probe(p, (size_t) (eq - p), nm, 2));
            }
            k = (size_t) (ae - p);
            CHECK(olen - j >= k && memcmp(out + j, p, k) == 0);
            j += k;
            p = ae;
        }
        if (p < stop) {
            CHECK(j < olen && out[j] == *p);
            j++;
            p++;
        }
    }
    CHECK(j == olen);
}

/* Append "&" + name (as spelt by how: 0 as is, 1 case flipped, 2 every
 * byte %XX) + "=secret" to the query; the output must end "&name=***". */
static void
check_appended(const u_char *q, size_t len, const names_t *nm, const pc_str_t *w, int how)
{
    static const char hex[] = "0123456789ABCDEF";
    u_char *buf = malloc(len + 3 * w->len + 16), *p, *out, *name;
    size_t i, olen, nlen;

    CHECK(buf != NULL);
    p = buf;
    memcpy(p, q, len);
    p += len;
    *p++ = '&';
    name = p;
    for (i = 0; i < w->len; i++) {
        u_char c = w->data[i];

        if (how == 2) {
            *p++ = '%';
            *p++ = (u_char) hex[c >> 4];
            *p++ = (u_char) hex[c & 0xf];
        } else {
            if (how == 1 && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
                c ^= 0x20;
            *p++ = c;
        }
    }
    nlen = (size_t) (p - name);
    memcpy(p, "=secret", 7);
    p += 7;
    out = run(buf, (size_t) (p - buf), nm, nm->nn, &olen);
    CHECK(olen >= nlen + 5);
    CHECK(out[olen - nlen - 5] == '&');
    CHECK(memcmp(out + olen - nlen - 4, name, nlen) == 0);
    CHECK(memcmp(out + olen - 4, "=***", 4) == 0);
    free(out);
    free(buf);
}

/*
 * A name the appended check may use: non-empty, no separator or '=' (it
 * would be another argument), no '%' (flipping the case of an escape in a
 * configured name changes what it reads as), not starting with ' ' or '+'
 * (leading spaces are dropped: " a" configured matches only as spelt).
 */
static int
plain_name(const pc_str_t *w)
{
    size_t i;

    if (w->len == 0 || w->data[0] == ' ' || w->data[0] == '+')
        return 0;
    for (i = 0; i < w->len; i++) {
        if (w->data[i] == '&' || w->data[i] == ';' || w->data[i] == '=' || w->data[i] == '%')
            return 0;
    }
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    names_t nm = { { pc_string("token"), pc_string("access_token") }, 2 };
    const u_char *q = data;
    size_t len = size, olen, i, k;
    u_char *out;
    int how;

    if (len > 0) {
        k = q[0] & 3;
        q++;
        len--;
        for (i = 0; i < k && len > 0 && nm.nn < MAX_NAMES; i++) {
            size_t n = q[0] % (MAX_EXTRA + 1);

            if (n > len - 1)
                n = len - 1;
            nm.n[nm.nn].data = (u_char *) q + 1;
            nm.n[nm.nn].len = n;
            nm.nn++;
            q += n + 1;
            len -= n + 1;
        }
    }

    out = run(q, len, &nm, 0, &olen);
    CHECK(olen == len && (len == 0 || memcmp(out, q, len) == 0));
    free(out);

    out = run(q, len, &nm, nm.nn, &olen);
    check_composed(q, len, &nm, out, olen);
    free(out);

    for (i = 0; i < nm.nn; i++) {
        if (!plain_name(&nm.n[i]))
            continue;
        for (how = 0; how < 3; how++)
            check_appended(q, len, &nm, &nm.n[i], how);
    }
    return 0;
}
