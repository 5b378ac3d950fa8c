/*
 * rewrite.c -- the pure parts of `rewrite` (see rewrite.h).
 */
#include "regex/rewrite.h"

/* Contract: see rewrite.h. */
pc_rc_t
pc_rewrite_parse_flag(const pc_str_t *s, pc_rewrite_flag_e *flag)
{
    static const struct { const char *name; pc_rewrite_flag_e flag; } flags[] = {
        { "last", PC_REWRITE_LAST }, { "break", PC_REWRITE_BREAK },
        { "redirect", PC_REWRITE_REDIRECT }, { "permanent", PC_REWRITE_PERMANENT },
    };
    size_t i;

    for (i = 0; i < pc_nelems(flags); i++) {
        if (pc_str_eq_c(s, flags[i].name)) {
            *flag = flags[i].flag;
            return PC_OK;
        }
    }
    return PC_ERROR;
}

static bool
starts_with(const pc_str_t *s, const char *p)
{
    size_t n = strlen(p);

    return s->len >= n && memcmp(s->data, p, n) == 0;
}

/* Contract: see rewrite.h. */
bool
pc_rewrite_is_absolute(const pc_str_t *replacement)
{
    return starts_with(replacement, "http://") || starts_with(replacement, "https://")
           || starts_with(replacement, "$scheme");
}

/* Contract: see rewrite.h. */
bool
pc_rewrite_split_template(const pc_str_t *repl, pc_str_t *path, pc_str_t *args)
{
    const u_char *q = repl->len ? memchr(repl->data, '?', repl->len) : NULL;

    *path = *repl;
    *args = (pc_str_t) pc_null_string;
    if (q == NULL)
        return false;
    path->len = (size_t) (q - repl->data);
    args->data = (u_char *) q + 1;
    args->len = repl->len - path->len - 1;
    return true;
}

/* Contract: see rewrite.h. */
pc_rc_t
pc_rewrite_args(pc_pool_t *pool, const pc_str_t *fresh, const pc_str_t *old,
    bool drop_args, pc_str_t *args)
{
    u_char *p;

    if (fresh == NULL || fresh->len == 0) {
        *args = drop_args ? (pc_str_t) pc_null_string : *old;
        return PC_OK;
    }
    if (drop_args || old->len == 0) {
        *args = *fresh;
        return PC_OK;
    }
    p = pc_pnalloc(pool, fresh->len + 1 + old->len + 1);
    if (p == NULL)
        return PC_ERROR;
    args->data = p;
    p = pc_cpymem(p, fresh->data, fresh->len);
    *p++ = '&';
    p = pc_cpymem(p, old->data, old->len);
    *p = '\0';
    args->len = (size_t) (p - args->data);
    return PC_OK;
}

/* Contract: see rewrite.h. */
pc_rc_t
pc_rewrite_join(pc_pool_t *pool, const pc_str_t *uri, const pc_str_t *args,
    pc_str_t *out)
{
    size_t i, extra = 0;
    u_char *p;

    for (i = 0; i < uri->len; i++)
        if (uri->data[i] == '?' || uri->data[i] == '#')
            extra += 2;
    if (args->len == 0 && extra == 0) {
        *out = *uri;
        return PC_OK;
    }
    p = pc_pnalloc(pool, uri->len + extra + 1 + args->len + 1);
    if (p == NULL)
        return PC_ERROR;
    out->data = p;
    for (i = 0; i < uri->len; i++) {
        if (uri->data[i] == '?')
            p = pc_cpymem(p, "%3F", 3);
        else if (uri->data[i] == '#')
            p = pc_cpymem(p, "%23", 3);
        else
            *p++ = uri->data[i];
    }
    if (args->len) {
        *p++ = '?';
        p = pc_cpymem(p, args->data, args->len);
    }
    *p = '\0';
    out->len = (size_t) (p - out->data);
    return PC_OK;
}
