/*
 * pc_http_log_redact.c -- log_redact_args: the values of chosen query
 * arguments hidden in log lines (API and bounds: pc_http_log_redact.h).
 *
 * Moved out of pc_http_log.c as is: a pure function of bytes, so that it
 * can be unit-tested (t/unit/http/test_pc_http_log_redact.c) and fuzzed
 * (t/fuzz/fuzz_log_redact.c) on its own.
 */
#include <string.h>

#include "core/pc_types.h"
#include "core/pc_str.h"
#include "http/pc_http_log_redact.h"

/*
 * Redaction (log_redact_args) has to hide what the backend will read, and
 * backends decode argument names in many ways; a name is redacted when any
 * plausible reading of it matches:
 * - %XX escapes decoded ("%74oken" is "token" to nearly every framework);
 * - '+' as itself or as a space (form decoding);
 * - letters in any case (nginx's $arg_NAME, ASP.NET);
 * - PHP's mangling: a space, '.' or '[' in a name becomes '_', leading
 *   spaces are dropped, and "name[...]" is an array called name (Rails and
 *   Express read it the same way).
 * Arguments are separated by '&' and, for older Python, Perl and Go
 * parsers, also by ';'; a matching argument's value is hidden up to the
 * next '&', so a value with a ';' in it is hidden whole whichever way the
 * backend splits.  Over-redacting a log line costs nothing; the opposite
 * leaks a credential.
 */

/* The next decoded byte of a raw argument name at *p (before e), moving *p
 * past it; a raw '+' comes back as REDACT_PLUS. */
#define REDACT_PLUS  0x100

static int
name_next(const u_char **p, const u_char *e)
{
    const u_char *s = *p;
    int hi, lo;

    if (s[0] == '%' && e - s >= 3 && (hi = pc_hexval(s[1])) >= 0
        && (lo = pc_hexval(s[2])) >= 0)
    {
        *p = s + 3;
        return hi << 4 | lo;
    }
    *p = s + 1;
    return s[0] == '+' ? REDACT_PLUS : s[0];
}

/* Could decoded byte c stand for byte w of a configured name? */
static bool
name_byte_is(int c, u_char w)
{
    if (c == REDACT_PLUS)
        return w == '+' || w == ' ' || w == '_';
    if (pc_tolower((u_char) c) == pc_tolower(w))
        return true;
    return w == '_' && (c == ' ' || c == '.' || c == '[');
}

/* Does the raw name [p, e) read as w under some decoding (see above)? */
static bool
name_reads_as(const u_char *p, const u_char *e, const pc_str_t *w)
{
    const u_char *q;
    size_t i = 0;
    int c;

    /* decoding never lengthens a name: too short a raw name cannot match */
    if ((size_t) (e - p) < w->len)
        return false;
    while (p < e) {                 /* leading spaces: PHP drops them */
        q = p;
        c = name_next(&q, e);
        if (c != ' ' && c != REDACT_PLUS)
            break;
        p = q;
    }
    while (p < e && i < w->len) {
        if (!name_byte_is(name_next(&p, e), w->data[i++]))
            return false;
    }
    if (i < w->len)
        return false;
    return p == e || name_next(&p, e) == '[';
}

/* Does the raw name [p, e) read as one of n[0 .. nn)? */
static bool
name_redacted(const u_char *p, const u_char *e, const pc_str_t *n, size_t nn)
{
    size_t i;

    for (i = 0; i < nn; i++) {
        /* the usual case first: the name as configured */
        if ((size_t) (e - p) == n[i].len && memcmp(p, n[i].data, n[i].len) == 0)
            return true;
        if (name_reads_as(p, e, &n[i]))
            return true;
    }
    return false;
}

/* The end of the argument at p: the next '&' or ';', or stop. */
static const u_char *
arg_end(const u_char *p, const u_char *stop)
{
    while (p < stop && *p != '&' && *p != ';')
        p++;
    return p;
}

/* Contract: see pc_http_log_redact.h.  The bound: every redacted argument
 * takes at least 2 bytes ("a=", eq > p) and grows by at most 3 ("***"). */
u_char *
pc_http_log_redact_query(u_char *o, const u_char *p, const u_char *stop,
    const pc_str_t *names, size_t nnames)
{
    const u_char *ae, *eq;

    while (p < stop) {
        ae = arg_end(p, stop);
        eq = memchr(p, '=', (size_t) (ae - p));
        if (eq != NULL && eq > p && name_redacted(p, eq, names, nnames)) {
            o = pc_cpymem(o, p, (size_t) (eq + 1 - p));
            o = pc_cpymem(o, "***", 3);
            p = memchr(eq, '&', (size_t) (stop - eq));
            if (p == NULL)
                p = stop;
        } else {
            o = pc_cpymem(o, p, (size_t) (ae - p));
            p = ae;
        }
        if (p < stop)
            *o++ = *p++;            /* the separator */
    }
    return o;
}
