/*
 * metrics.c -- see metrics.h.
 *
 * Each line is measured first (escaped lengths included), then reserved
 * whole in the current area: a line never straddles two areas, so the
 * caller's areas can be sent as they are.
 */
#include "core/pc_core.h"
#include "status/metrics.h"

/* Contract: see metrics.h. */
void
pc_status_prom_init(pc_status_prom_t *w, u_char *p, u_char *end, pc_status_prom_more_pt more,
    void *data)
{
    w->pos = p;
    w->end = end;
    w->more = more;
    w->data = data;
    w->total = 0;
    w->failed = 0;
}

/* n contiguous bytes at w->pos, or NULL (w->failed) when there is no room. */
static u_char *
reserve(pc_status_prom_t *w, size_t n)
{
    if (w->failed)
        return NULL;
    if ((size_t) (w->end - w->pos) < n
        && (w->more == NULL || w->more(w, n) != PC_OK || (size_t) (w->end - w->pos) < n))
    {
        w->failed = 1;
        return NULL;
    }
    w->total += n;
    return w->pos;
}

static size_t
escape(u_char *dst, const u_char *s, size_t len, bool quote)
{
    size_t n = 0, i;
    u_char c;

    for (i = 0; i < len; i++) {
        c = s[i];
        if (c == '\\' || c == '\n' || (quote && c == '"')) {
            if (dst != NULL) {
                dst[n] = '\\';
                dst[n + 1] = c == '\n' ? 'n' : c;
            }
            n += 2;
        } else {
            if (dst != NULL)
                dst[n] = c;
            n++;
        }
    }
    return n;
}

/* Contract: see metrics.h. */
size_t
pc_status_prom_escape_label(u_char *dst, const u_char *s, size_t len)
{
    return escape(dst, s, len, true);
}

/* Contract: see metrics.h. */
size_t
pc_status_prom_escape_help(u_char *dst, const u_char *s, size_t len)
{
    return escape(dst, s, len, false);
}

/* Contract: see metrics.h. */
u_char *
pc_status_prom_fixed(u_char *p, uint64_t v, uint64_t unit)
{
    uint64_t frac, scale;

    if (unit <= 1)
        return pc_u64toa(p, v);
    p = pc_u64toa(p, v / unit);
    frac = v % unit;
    if (frac == 0)
        return p;
    *p++ = '.';
    /* digits of frac / unit, most significant first, until nothing is left */
    for (scale = unit; frac != 0 && scale > 1; ) {
        frac *= 10;
        *p++ = (u_char) ('0' + frac / unit);
        frac %= unit;
        scale /= 10;
    }
    return p;
}

/* Contract: see metrics.h. */
u_char *
pc_status_prom_int(u_char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return pc_u64toa(p, (uint64_t) -(v + 1) + 1);
    }
    return pc_u64toa(p, (uint64_t) v);
}

/* Contract: see metrics.h. */
void
pc_status_prom_family(pc_status_prom_t *w, const pc_str_t *name, const char *type,
    const char *help)
{
    size_t hlen = strlen(help), tlen = strlen(type);
    size_t elen = pc_status_prom_escape_help(NULL, (const u_char *) help, hlen);
    u_char *p = reserve(w, 2 * name->len + elen + tlen + sizeof("# HELP  \n# TYPE  \n") - 1);

    if (p == NULL)
        return;
    p = pc_cpymem(p, "# HELP ", 7);
    p = pc_cpymem(p, name->data, name->len);
    *p++ = ' ';
    p += pc_status_prom_escape_help(p, (const u_char *) help, hlen);
    p = pc_cpymem(p, "\n# TYPE ", 8);
    p = pc_cpymem(p, name->data, name->len);
    *p++ = ' ';
    p = pc_cpymem(p, type, tlen);
    *p++ = '\n';
    w->pos = p;
}

/* Bytes of `name="escaped value"` (no separator). */
static size_t
label_len(const pc_status_label_t *l)
{
    return strlen(l->name) + 3 + pc_status_prom_escape_label(NULL, l->value.data, l->value.len);
}

static u_char *
label_put(u_char *p, const pc_status_label_t *l)
{
    p = pc_cpymem(p, l->name, strlen(l->name));
    *p++ = '=';
    *p++ = '"';
    p += pc_status_prom_escape_label(p, l->value.data, l->value.len);
    *p++ = '"';
    return p;
}

/* Contract: see metrics.h. */
void
pc_status_prom_sample(pc_status_prom_t *w, const pc_str_t *name, const char *suffix,
    const pc_status_label_t *labels, uint32_t n, const pc_status_label_t *extra,
    const u_char *value, size_t vlen)
{
    size_t   slen = strlen(suffix), len = name->len + slen + vlen + 2;
    uint32_t i, nl = n + (extra != NULL);
    u_char  *p;

    for (i = 0; i < n; i++)
        len += label_len(&labels[i]) + 1;
    if (extra != NULL)
        len += label_len(extra) + 1;
    len += nl > 0 ? 1 : 0;       /* the braces; commas counted above, one too many */
    if ((p = reserve(w, len)) == NULL)
        return;
    p = pc_cpymem(p, name->data, name->len);
    p = pc_cpymem(p, suffix, slen);
    if (nl > 0) {
        *p++ = '{';
        for (i = 0; i < n; i++) {
            p = label_put(p, &labels[i]);
            *p++ = ',';
        }
        if (extra != NULL)
            p = label_put(p, extra);
        else
            p--;                 /* the last comma */
        *p++ = '}';
    }
    *p++ = ' ';
    p = pc_cpymem(p, value, vlen);
    *p++ = '\n';
    w->total -= len - (size_t) (p - w->pos);
    w->pos = p;
}

/* Contract: see metrics.h. */
void
pc_status_prom_sample_u(pc_status_prom_t *w, const pc_str_t *name,
    const pc_status_label_t *labels, uint32_t n, uint64_t v)
{
    u_char num[PC_STATUS_PROM_NUM_MAX];

    pc_status_prom_sample(w, name, "", labels, n, NULL, num,
        (size_t) (pc_u64toa(num, v) - num));
}

/* Contract: see metrics.h. */
void
pc_status_prom_sample_i(pc_status_prom_t *w, const pc_str_t *name,
    const pc_status_label_t *labels, uint32_t n, int64_t v)
{
    u_char num[PC_STATUS_PROM_NUM_MAX];

    pc_status_prom_sample(w, name, "", labels, n, NULL, num,
        (size_t) (pc_status_prom_int(num, v) - num));
}

/* Contract: see metrics.h. */
void
pc_status_prom_histogram(pc_status_prom_t *w, const pc_str_t *name,
    const pc_status_label_t *labels, uint32_t n, const uint64_t *bounds, uint32_t nbounds,
    uint64_t unit, const uint64_t *counts, uint64_t sum)
{
    pc_status_label_t le = { "le", pc_null_string };
    u_char            lebuf[PC_STATUS_PROM_NUM_MAX], num[PC_STATUS_PROM_NUM_MAX];
    uint64_t          cum = 0;
    uint32_t          i;

    for (i = 0; i <= nbounds; i++) {
        cum += counts[i];
        if (i < nbounds) {
            le.value.data = lebuf;
            le.value.len = (size_t) (pc_status_prom_fixed(lebuf, bounds[i], unit) - lebuf);
        } else {
            pc_str_set(&le.value, "+Inf");
        }
        pc_status_prom_sample(w, name, "_bucket", labels, n, &le, num,
            (size_t) (pc_u64toa(num, cum) - num));
    }
    pc_status_prom_sample(w, name, "_sum", labels, n, NULL, num,
        (size_t) (pc_status_prom_fixed(num, sum, unit) - num));
    pc_status_prom_sample(w, name, "_count", labels, n, NULL, num,
        (size_t) (pc_u64toa(num, cum) - num));
}
