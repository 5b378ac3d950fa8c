/*
 * Unit tests for src/http/pc_http_log_redact.c (log_redact_args): plain
 * arguments, repeated names, percent-encoded, '+', case and PHP-mangled
 * names, ';' separators, empty values, no '=', a name at the very end,
 * bytes >= 0x80 and NUL, an empty query, a very long one, and for every
 * vector that the output stays within PC_HTTP_LOG_REDACT_BOUND (a canary
 * just past the bound must survive).
 */
#include <stdlib.h>
#include <string.h>

#include "core/pc_types.h"
#include "http/pc_http_log_redact.h"
#include "test.h"

#define CANARY      0xA5
#define CANARY_LEN  16

/* The names most vectors use: "token" and "access_token". */
static const pc_str_t names2[] = { pc_string("token"), pc_string("access_token") };

/*
 * Redact q[0 .. qlen) with names into a heap buffer of exactly the bound
 * plus a canary; checks the canary and the bound, then returns the output
 * (caller frees) and its length in *olen.
 */
static u_char *
redact(const void *q, size_t qlen, const pc_str_t *names, size_t nn, size_t *olen)
{
    size_t bound = PC_HTTP_LOG_REDACT_BOUND(qlen), i;
    u_char *out = malloc(bound + CANARY_LEN), *end;
    const u_char *in = q;
    int canary = 1;

    if (out == NULL)
        abort();
    memset(out, CANARY, bound + CANARY_LEN);
    end = pc_http_log_redact_query(out, in, in + qlen, names, nn);
    for (i = 0; i < CANARY_LEN; i++)
        canary &= out[bound + i] == CANARY;
    if (!ok(end >= out && (size_t) (end - out) <= bound && canary,
            "within the bound (%zu of %zu bytes)", (size_t) (end - out), bound))
        diag("query of %zu bytes", qlen);
    *olen = (size_t) (end - out);
    return out;
}

/* Redacting the C string q with names gives want. */
static void
check_n(const char *q, const pc_str_t *names, size_t nn, const char *want)
{
    size_t olen;
    u_char *out = redact(q, strlen(q), names, nn, &olen);

    is_str(out, olen, want, strlen(want), "\"%s\" -> \"%s\"", q, want);
    free(out);
}

static void
check(const char *q, const char *want)
{
    check_n(q, names2, 2, want);
}

static void
test_plain(void)
{
    check("a=1&token=secret&b=2", "a=1&token=***&b=2");
    check("token=secret", "token=***");
    check("access_token=abc&x=y", "access_token=***&x=y");
    check("a=1&b=2", "a=1&b=2");
    check("token=1&token=2&token=3", "token=***&token=***&token=***");
    check("token=1&access_token=2", "token=***&access_token=***");
    check("a=token&b=token=x", "a=token&b=token=x");
    /* the name must be whole: a longer or shorter one is not the name */
    check("tokens=x&xtoken=x&toke=x&token_=x", "tokens=x&xtoken=x&toke=x&token_=x");
    check_n("token=x", names2, 0, "token=x");
}

static void
test_decoded_names(void)
{
    /* the audit's case: "%74oken" is "token" to the backend */
    check("%74oken=secret&a=1", "%74oken=***&a=1");
    check("%74%6F%6b%65%6E=s", "%74%6F%6b%65%6E=***");
    check("TOKEN=s&ToKeN=t", "TOKEN=***&ToKeN=***");
    check("%54OKEN=s", "%54OKEN=***");
    /* '+' and spaces, '.' and '[' as '_' (form decoding, PHP) */
    check("access+token=s", "access+token=***");
    check("access%20token=s", "access%20token=***");
    check("access.token=s&access[token=t", "access.token=***&access[token=***");
    check("access%2Etoken=s", "access%2Etoken=***");
    /* leading spaces dropped; arrays are the name */
    check("+token=s&%20%20token=t", "+token=***&%20%20token=***");
    check("token[]=s&token[a]=t&token%5B%5D=u", "token[]=***&token[a]=***&token%5B%5D=***");
    /* broken escapes are raw bytes */
    check("%7=s&%zzoken=t&token%=u&token%2=v", "%7=s&%zzoken=t&token%=u&token%2=v");
    /* an escape does not stand for '+' (only a raw '+' may be a space) */
    check("access%2Btoken=s", "access%2Btoken=s");
}

static void
test_separators(void)
{
    check("a=1;token=s;b=2&c=3", "a=1;token=***&c=3");
    check("token=s;b=2", "token=***");
    check("b=2;token=s", "b=2;token=***");
    check(";;&&token=s&&", ";;&&token=***&&");
    check("&", "&");
    check(";", ";");
}

static void
test_edges(void)
{
    check("", "");
    check("token=", "token=***");
    check("token=&a=1", "token=***&a=1");
    check("token&a=1", "token&a=1");
    check("token", "token");
    check("a=1&token", "a=1&token");
    check("a=1&token=", "a=1&token=***");
    check("token=s&", "token=***&");
    check("=token&=s", "=token&=s");
    check("token==s", "token=***");
    check("a=b=token", "a=b=token");
}

static void
test_high_bytes(void)
{
    static const pc_str_t high[] = { { 2, (u_char *) "\xc3\xa9" } };
    static const char q1[] = "\xff\xfe=\x80&token=\xc3\xa9\xff&\x80token=x";
    static const char q2[] = "tok\0en=x&token=a\0b&c=\0";
    static const char w2[] = "tok\0en=x&token=***&c=\0";
    size_t olen;
    u_char *out;

    check(q1, "\xff\xfe=\x80&token=***&\x80token=x");
    check_n("\xc3\xa9=x&%C3%A9=y&%c3%a9=z&\xc3\x89=w", high, 1,
        "\xc3\xa9=***&%C3%A9=***&%c3%a9=***&\xc3\x89=w");
    out = redact(q2, sizeof(q2) - 1, names2, 2, &olen);
    is_str(out, olen, w2, sizeof(w2) - 1, "NUL bytes: copied, never a name's end");
    free(out);
}

/* An empty configured name matches the names that read as empty. */
static void
test_empty_name(void)
{
    static const pc_str_t empty[] = { { 0, (u_char *) "" } };

    check_n("a=1&+=2&[x]=3&=4", empty, 1, "a=1&+=***&[x]=***&=4");
}

/* Long queries: many arguments, a long value, the bound's worst case. */
static void
test_long(void)
{
    static const pc_str_t t[] = { pc_string("t") };
    size_t n = 200000, i, olen, wlen;
    u_char *q = malloc(n), *want = malloc(2 * n + 8), *out;

    if (q == NULL || want == NULL)
        abort();

    /* "t=&t=&...": every 3 bytes become 6, the most growth there is */
    for (i = 0; i < n; i++)
        q[i] = "t=&"[i % 3];
    for (i = 0, wlen = 0; i < n; i++) {
        if (q[i] == '=') {
            memcpy(want + wlen, "=***", 4);
            wlen += 4;
        } else {
            want[wlen++] = q[i];
        }
    }
    out = redact(q, n, t, 1, &olen);
    is_str(out, olen, want, wlen, "%zu bytes of \"t=&\": every value redacted", n);
    free(out);

    /* "t=" at the end: 2 bytes, 5 out */
    out = redact("t=", 2, t, 1, &olen);
    is_str(out, olen, "t=***", 5, "\"t=\": 5 bytes");
    free(out);

    /* one long value, then an argument that stays */
    memcpy(q, "token=", 6);
    memset(q + 6, 'v', n - 12);
    memcpy(q + n - 6, "&a=bcd", 6);
    out = redact(q, n, names2, 2, &olen);
    is_str(out, olen, "token=***&a=bcd", 15, "a %zu-byte value: redacted whole", n - 12);
    free(out);

    /* a long name that is not configured: copied */
    memset(q, '%', n);
    q[n - 2] = '=';
    out = redact(q, n, names2, 2, &olen);
    is_str(out, olen, q, n, "a %zu-byte name of '%%': copied", n - 2);
    free(out);

    free(q);
    free(want);
}

/* Without a matching name the query is copied byte for byte, every byte
 * value included; no prefix of a tricky query overruns the bound (redact
 * checks it for each). */
static void
test_identity_and_prefixes(void)
{
    static const char q[] = "a=1;token=x&%74oken=&tok&=&access+token[]=y;z&t";
    u_char all[256];
    size_t i, olen;
    u_char *out;

    for (i = 0; i < sizeof(all); i++)
        all[i] = (u_char) i;
    out = redact(all, sizeof(all), names2, 2, &olen);
    is_str(out, olen, all, sizeof(all), "bytes 0x00..0xff, no name: copied");
    free(out);

    for (i = 0; i <= sizeof(q) - 1; i++) {
        out = redact(q, i, names2, 2, &olen);
        free(out);
    }
}

int
main(void)
{
    test_plain();
    test_decoded_names();
    test_separators();
    test_edges();
    test_high_bytes();
    test_empty_name();
    test_long();
    test_identity_and_prefixes();
    return done_testing();
}
