/*
 * hsts_conf.c -- the hsts module's directives (SPEC §4 hsts row):
 *
 *   hsts max-age=SECONDS [includeSubDomains] [preload] [override] | off;
 *   https_redirect on [port=N] | off;
 *
 * Both are allowed in http, server and location and inherited downwards.
 * The header value is composed once here, at load time.
 */
#include <string.h>

#include "hsts.h"

#define CTX_HSL   (PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION)
#define YEAR_S    31536000LL

static pc_str_t *
arg(pc_conf_t *cf, uint32_t i)
{
    return &cf->node->args[i];
}

static bool
has_prefix(const pc_str_t *s, const char *p)
{
    size_t n = strlen(p);

    return s->len >= n && pc_strncasecmp(s->data, (const u_char *) p, n) == 0;
}

/* RFC 6797 §6.1: directive names are case-insensitive. */
static bool
is_token(const pc_str_t *s, const char *name)
{
    size_t n = strlen(name);

    return s->len == n && pc_strncasecmp(s->data, (const u_char *) name, n) == 0;
}

/* "max-age=N; includeSubDomains; preload" into the cycle pool (always the
 * canonical spelling, whatever case the config used). */
static const char *
compose(pc_conf_t *cf, hsts_conf_t *h, bool sub, bool preload)
{
    u_char  buf[96], *p = buf;

    p = pc_cpymem(p, "max-age=", 8);
    p = pc_u64toa(p, (uint64_t) h->max_age);
    if (sub)
        p = pc_cpymem(p, "; includeSubDomains", 19);
    if (preload)
        p = pc_cpymem(p, "; preload", 9);
    h->value.len = (size_t) (p - buf);
    h->value.data = pc_pstrdup(cf->pool, buf, h->value.len);
    return h->value.data != NULL ? PC_CONF_OK : "out of memory";
}

static const char *
set_hsts(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    hsts_conf_t *h = conf;
    bool         sub = false, preload = false;
    uint64_t     v;
    uint32_t     i;

    PC_UNUSED(d);
    if (h == NULL)
        return "is not supported at this level";
    if (h->max_age != HSTS_UNSET)
        return "is duplicate";
    if (pc_str_eq_c(arg(cf, 0), "off")) {
        if (cf->node->nargs > 1)
            return pc_conf_error(cf, "\"off\" takes no other parameter");
        h->max_age = HSTS_OFF;
        return PC_CONF_OK;
    }
    if (!has_prefix(arg(cf, 0), "max-age=")
        || pc_parse_uint64(arg(cf, 0)->data + 8, arg(cf, 0)->len - 8, &v) != PC_OK
        || v > 100 * YEAR_S)
        return pc_conf_error(cf, "invalid max-age \"%s\": expected max-age=SECONDS "
                             "(0 .. 3153600000)", (const char *) arg(cf, 0)->data);
    h->max_age = (int64_t) v;
    h->override = 0;
    for (i = 1; i < cf->node->nargs; i++) {
        if (is_token(arg(cf, i), "includeSubDomains") && !sub)
            sub = true;
        else if (is_token(arg(cf, i), "preload") && !preload)
            preload = true;
        else if (is_token(arg(cf, i), "override") && !h->override)
            h->override = 1;
        else
            return pc_conf_error(cf, "invalid or repeated parameter \"%s\": expected "
                                 "includeSubDomains, preload or override",
                                 (const char *) arg(cf, i)->data);
    }
    /* hstspreload.org refuses such a header; say so rather than fail. */
    if (preload && (!sub || h->max_age < YEAR_S))
        pc_log(PC_LOG_WARN, 0, "hsts: \"preload\" needs includeSubDomains and a max-age "
               "of at least %lld to be accepted by browser preload lists in %s:%u",
               YEAR_S, cf->node->file, cf->node->line);
    return compose(cf, h, sub, preload);
}

static const char *
set_redirect(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    hsts_conf_t *h = conf;
    uint64_t     port;
    int          on;

    PC_UNUSED(d);
    if (h == NULL)
        return "is not supported at this level";
    if (h->redirect != -1)
        return "is duplicate";
    if (pc_conf_parse_flag(arg(cf, 0), &on) != PC_OK)
        return pc_conf_error(cf, "invalid value \"%s\": it must be \"on\" or \"off\"",
                             (const char *) arg(cf, 0)->data);
    h->redirect = on;
    if (cf->node->nargs == 1)
        return PC_CONF_OK;
    if (!on || !has_prefix(arg(cf, 1), "port=")
        || pc_parse_uint64(arg(cf, 1)->data + 5, arg(cf, 1)->len - 5, &port) != PC_OK
        || port < 1 || port > 65535)
        return pc_conf_error(cf, "invalid parameter \"%s\": expected port=1..65535 after "
                             "\"on\"", (const char *) arg(cf, 1)->data);
    h->redirect_port = (intptr_t) port;
    return PC_CONF_OK;
}

static const pc_directive_t hsts_directives[] = {
    { "hsts", CTX_HSL, 1, 4, 0, set_hsts, 0, 0, 0, NULL },
    { "https_redirect", CTX_HSL, 1, 2, 0, set_redirect, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static void *
hsts_create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    hsts_conf_t *h;

    if (scope == PC_SCOPE_MAIN)
        return NULL;
    h = pc_pcalloc(cf->pool, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->max_age = HSTS_UNSET;
    h->redirect = -1;
    h->redirect_port = PC_INT_UNSET;
    return h;
}

static pc_rc_t
hsts_merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    hsts_conf_t *p = parent, *c = child;

    PC_UNUSED(cf);
    if (p == NULL || c == NULL)
        return PC_OK;
    if (c->max_age == HSTS_UNSET) {
        c->max_age = p->max_age;
        c->value = p->value;
        c->override = p->override;
    }
    if (c->redirect == -1) {
        c->redirect = p->redirect;
        c->redirect_port = p->redirect_port;
    }
    PC_CONF_MERGE(c->redirect_port, p->redirect_port, PC_INT_UNSET, 443);
    return PC_OK;
}

static const pc_http_hook_t hsts_hooks[] = {
    { PC_HTTP_PHASE_REWRITE, PC_HSTS_ORDER_REDIRECT, pc_hsts_redirect_handler },
    PC_HOOK_END
};

pc_module_t pc_hsts_module = {
    .name           = "hsts",
    .directives     = hsts_directives,
    .hooks          = hsts_hooks,
    .create_conf    = hsts_create_conf,
    .merge_conf     = hsts_merge_conf,
    .header_filter  = pc_hsts_header_filter,
    .filter_order   = PC_HSTS_FILTER_ORDER,
};
