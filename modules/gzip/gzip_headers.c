/*
 * gzip_headers.c -- Accept-Encoding, Cache-Control, Vary and Content-Type
 * as the gzip filter reads them (see gzip_headers.h).
 *
 * The lists are RFC 9110 #rules: elements separated by commas with
 * optional whitespace, empty elements allowed.  Quoted strings (which may
 * hold commas) are skipped as a whole.
 */
#include "gzip/gzip_headers.h"

static bool
is_ows(u_char c)
{
    return c == ' ' || c == '\t';
}

/* End of the list element starting at p: the next comma outside a quoted
 * string, or last. */
static const u_char *
element_end(const u_char *p, const u_char *last)
{
    bool quoted = false;

    for (; p < last; p++) {
        if (quoted) {
            if (*p == '\\' && p + 1 < last)
                p++;
            else if (*p == '"')
                quoted = false;
        } else if (*p == '"') {
            quoted = true;
        } else if (*p == ',') {
            break;
        }
    }
    return p;
}

/* [p, e) without leading and trailing whitespace. */
static void
trim(const u_char **p, const u_char **e)
{
    while (*p < *e && is_ows(**p))
        (*p)++;
    while (*e > *p && is_ows((*e)[-1]))
        (*e)--;
}

static bool
word_is(const u_char *p, const u_char *e, const char *w)
{
    size_t n = strlen(w);

    return (size_t) (e - p) == n && pc_strncasecmp(p, (const u_char *) w, n) == 0;
}

/* RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"].  1 for q > 0,
 * 0 for q = 0, -1 when malformed. */
static int
qvalue(const u_char *p, const u_char *e)
{
    bool one, nonzero;
    int n = 0;

    if (p == e || (*p != '0' && *p != '1'))
        return -1;
    one = nonzero = *p++ == '1';
    if (p < e) {
        if (*p++ != '.')
            return -1;
        for (; p < e; p++, n++) {
            if (n == 3 || *p < '0' || *p > '9' || (one && *p != '0'))
                return -1;
            if (*p != '0')
                nonzero = true;
        }
    }
    return nonzero ? 1 : 0;
}

/* The weight of one element's parameters (";q=0.5;x=y"): 1 when absent. */
static int
weight(const u_char *p, const u_char *e)
{
    const u_char *name, *eq, *ne;
    int q = 1;

    while (p < e) {
        /* p is at ';' */
        p++;
        name = p;
        while (p < e && *p != ';')
            p++;
        ne = p;
        trim(&name, &ne);
        eq = memchr(name, '=', (size_t) (ne - name));
        if (eq != NULL) {
            const u_char *ke = eq, *v = eq + 1;

            trim(&name, &ke);
            trim(&v, &ne);
            if (word_is(name, ke, "q"))
                q = qvalue(v, ne) == 1 ? 1 : 0;
        }
    }
    return q;
}

/* Contract: see gzip_headers.h. */
void
pc_gzip_ae_parse(pc_gzip_ae_t *state, const u_char *p, size_t len)
{
    const u_char *last = p + len, *e, *name, *ne;
    int q;

    while (p < last) {
        e = element_end(p, last);
        name = p;
        for (ne = name; ne < e && *ne != ';'; ne++) { }
        q = weight(ne, e);
        trim(&name, &ne);
        if (word_is(name, ne, "gzip") || word_is(name, ne, "x-gzip")) {
            if (state->gzip < q)     /* any acceptable spelling wins */
                state->gzip = (int8_t) q;
        } else if (word_is(name, ne, "*")) {
            if (state->star < q)
                state->star = (int8_t) q;
        }
        p = e < last ? e + 1 : e;
    }
}

/* Contract: see gzip_headers.h. */
bool
pc_gzip_ae_accepts(const pc_gzip_ae_t *state)
{
    if (state->gzip >= 0)
        return state->gzip > 0;
    return state->star > 0;
}

/* Is some element of the list, up to its '=' or ';', the word w (or w2)? */
static bool
list_has(const u_char *p, size_t len, const char *w, const char *w2)
{
    const u_char *last = p + len, *e, *name, *ne;

    while (p < last) {
        e = element_end(p, last);
        name = p;
        for (ne = name; ne < e && *ne != '=' && *ne != ';'; ne++) { }
        trim(&name, &ne);
        if (word_is(name, ne, w) || (w2 != NULL && word_is(name, ne, w2)))
            return true;
        p = e < last ? e + 1 : e;
    }
    return false;
}

/* Contract: see gzip_headers.h. */
bool
pc_gzip_no_transform(const u_char *p, size_t len)
{
    return list_has(p, len, "no-transform", NULL);
}

/* Contract: see gzip_headers.h. */
bool
pc_gzip_vary_has(const u_char *p, size_t len)
{
    return list_has(p, len, "accept-encoding", "*");
}

/* Contract: see gzip_headers.h. */
size_t
pc_gzip_media_type(const u_char *p, size_t len, u_char *buf, size_t size)
{
    const u_char *e = p + len, *s;

    for (s = p; s < e && *s != ';'; s++) { }
    e = s;
    trim(&p, &e);
    if (p == e || (size_t) (e - p) > size)
        return 0;
    pc_strlow(buf, p, (size_t) (e - p));
    return (size_t) (e - p);
}
