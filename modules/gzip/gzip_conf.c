/*
 * gzip_conf.c -- the gzip module's directives (SPEC §4 gzip):
 *   gzip on|off                  (off)
 *   gzip_types MIME ... | *      (text/html, which is always included)
 *   gzip_min_length SIZE         (20; against Content-Length when known)
 *   gzip_comp_level 1..9         (6)
 *   gzip_vary on|off             (off)
 *   gzip_proxied any|off         (off: not for requests that came through
 *                                 a proxy, i.e. carry Via — nginx's sense)
 * The filters are in gzip.c.
 */
#include "gzip/gzip.h"

#define CTX_HSL   (PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION)
#define OFF(f)    offsetof(pc_gzip_conf_t, f)

/* After add_header (200), so a Cache-Control: no-transform it adds counts. */
#define FILTER_ORDER_GZIP  300

#define DEFAULT_MIN_LENGTH  20
#define DEFAULT_COMP_LEVEL  6

static bool
is_tchar(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* type "/" subtype, both tokens. */
static bool
valid_media_type(const pc_str_t *s)
{
    const u_char *slash = memchr(s->data, '/', s->len);
    size_t i;

    if (slash == NULL || slash == s->data || slash == s->data + s->len - 1
        || s->len > PC_GZIP_TYPE_MAX)
        return false;
    for (i = 0; i < s->len; i++)
        if (s->data + i != slash && !is_tchar(s->data[i]))
            return false;
    return true;
}

static const char *
push_type(pc_conf_t *cf, pc_gzip_conf_t *gc, const u_char *p, size_t len)
{
    pc_str_t *t = pc_array_push(gc->types);

    if (t == NULL || (t->data = pc_pnalloc(cf->pool, len + 1)) == NULL)
        return "out of memory";
    pc_strlow(t->data, p, len);
    t->data[len] = '\0';
    t->len = len;
    return PC_CONF_OK;
}

static const char *
set_types(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_gzip_conf_t *gc = conf;
    const pc_str_t *a;
    const char *err;
    uint32_t i;

    PC_UNUSED(d);
    gc->types = pc_palloc(cf->pool, sizeof(pc_array_t));
    if (gc->types == NULL
        || pc_array_init(gc->types, cf->pool, cf->node->nargs + 1, sizeof(pc_str_t)) != PC_OK)
        return "out of memory";
    gc->types_any = 0;
    /* like nginx: text/html is always compressed when gzip is on */
    if ((err = push_type(cf, gc, (const u_char *) "text/html", 9)) != PC_CONF_OK)
        return err;
    for (i = 0; i < cf->node->nargs; i++) {
        a = &cf->node->args[i];
        if (pc_str_eq_c(a, "*")) {
            gc->types_any = 1;
            continue;
        }
        if (!valid_media_type(a))
            return pc_conf_error(cf, "invalid MIME type \"%s\": expected type/subtype or *",
                                 (const char *) a->data);
        if ((err = push_type(cf, gc, a->data, a->len)) != PC_CONF_OK)
            return err;
    }
    return PC_CONF_OK;
}

static void *
create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    pc_gzip_conf_t *gc;

    if (scope == PC_SCOPE_MAIN)
        return NULL;
    gc = pc_pcalloc(cf->pool, sizeof(*gc));
    if (gc == NULL)
        return NULL;
    gc->enable = -1;
    gc->vary = -1;
    gc->types_any = -1;
    gc->min_length = PC_SIZE_UNSET;
    gc->comp_level = PC_INT_UNSET;
    gc->proxied = PC_INT_UNSET;
    return gc;
}

static pc_rc_t
merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    pc_gzip_conf_t *p = parent, *c = child;

    PC_CONF_MERGE(c->enable, p->enable, -1, 0);
    PC_CONF_MERGE(c->vary, p->vary, -1, 0);
    PC_CONF_MERGE(c->min_length, p->min_length, PC_SIZE_UNSET, DEFAULT_MIN_LENGTH);
    PC_CONF_MERGE(c->comp_level, p->comp_level, PC_INT_UNSET, DEFAULT_COMP_LEVEL);
    PC_CONF_MERGE(c->proxied, p->proxied, PC_INT_UNSET, PC_GZIP_PROXIED_OFF);
    if (c->types == NULL) {
        c->types = p->types;
        c->types_any = p->types_any;
    }
    if (c->types == NULL) {
        /* neither set gzip_types: the default list, shared by the parent */
        p->types = pc_palloc(cf->pool, sizeof(pc_array_t));
        if (p->types == NULL || pc_array_init(p->types, cf->pool, 1, sizeof(pc_str_t)) != PC_OK
            || push_type(cf, p, (const u_char *) "text/html", 9) != PC_CONF_OK)
        {
            pc_conf_error(cf, "out of memory");
            return PC_ERROR;
        }
        p->types_any = 0;
        c->types = p->types;
        c->types_any = 0;
    }
    return PC_OK;
}

static const pc_conf_enum_t proxied_values[] = {
    { "off", PC_GZIP_PROXIED_OFF }, { "any", PC_GZIP_PROXIED_ANY }, { NULL, 0 }
};

static const pc_directive_t gzip_directives[] = {
    { "gzip", CTX_HSL, 1, 1, 0, pc_conf_set_flag, OFF(enable), 0, 0, NULL },
    { "gzip_types", CTX_HSL, 1, PC_CONF_ARGS_ANY, 0, set_types, 0, 0, 0, NULL },
    { "gzip_min_length", CTX_HSL, 1, 1, 0, pc_conf_set_size, OFF(min_length),
      0, 1LL << 40, NULL },
    { "gzip_comp_level", CTX_HSL, 1, 1, 0, pc_conf_set_num, OFF(comp_level), 1, 9, NULL },
    { "gzip_vary", CTX_HSL, 1, 1, 0, pc_conf_set_flag, OFF(vary), 0, 0, NULL },
    { "gzip_proxied", CTX_HSL, 1, 1, 0, pc_conf_set_enum, OFF(proxied), 0, 0,
      proxied_values },
    PC_DIRECTIVE_END
};

pc_module_t pc_gzip_module = {
    .name           = "gzip",
    .directives     = gzip_directives,
    .create_conf    = create_conf,
    .merge_conf     = merge_conf,
    .exit_worker    = pc_gzip_exit_worker,
    .header_filter  = pc_gzip_header_filter,
    .body_filter    = pc_gzip_body_filter,
    .filter_order   = FILTER_ORDER_GZIP,
};
