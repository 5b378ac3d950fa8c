/*
 * regex_conf.c -- the regex module's configuration side: it installs the
 * core's regex slot (pc_http_regex_ops: `location ~`, `location ~*`,
 * `server_name ~`), compiles every pattern (JIT) and turns named groups
 * into variables, and parses `map` blocks and `rewrite`.
 *
 * Runtime code (matching, capture variables, map lookups, the REWRITE
 * hook) is in regex.c.
 */
#include <stdlib.h>

#include "event/pc_worker.h"
#include "regex/regex.h"

#define CTX_SL  (PC_CTX_SERVER | PC_CTX_LOCATION)

/* Rewrite runs before the access checks (ACCESS) and before `return`
 * (CONTENT), like nginx's rewrite phase. */
#define ORDER_REWRITE  100

static pc_regex_main_conf_t *
main_conf(pc_conf_t *cf)
{
    if (cf->cycle == NULL || cf->cycle->main_confs == NULL)
        return NULL;
    return cf->cycle->main_confs[pc_regex_module.index];
}

static bool
is_name_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}

/* ---------------------------------------------------------------------
 * Compiling (the core's pc_http_regex_ops->compile, map, rewrite)
 * ------------------------------------------------------------------- */

/* The variable of a named group: an existing named-capture variable is
 * shared by every pattern that uses the name; any other variable of that
 * name is a conflict.  A name only used so far (forward) is not a
 * variable yet: the group defines it. */
static pc_rc_t
name_var(pc_conf_t *cf, pc_regex_main_conf_t *mcf, const pc_str_t *name,
    const pc_str_t *src, uint32_t *index)
{
    const pc_http_variable_t *v = pc_http_var_find(name, NULL);
    pc_str_t *slot;

    if (v != NULL && v->get == pc_regex_named_var) {
        *index = (uint32_t) v->data;
        return PC_OK;
    }
    if (v != NULL || (name->len > 0 && name->data[0] >= '0' && name->data[0] <= '9')) {
        pc_conf_error(cf, "named group \"%.*s\" in \"%.*s\" clashes with the variable \"$%.*s\"",
                      (int) name->len, (const char *) name->data, (int) src->len,
                      (const char *) src->data, (int) name->len, (const char *) name->data);
        return PC_ERROR;
    }
    *index = mcf->names.nelts;
    slot = pc_array_push(&mcf->names);
    if (slot == NULL)
        return PC_ERROR;
    slot->data = pc_pstrdup(cf->pool, name->data, name->len);
    slot->len = name->len;
    if (slot->data == NULL
        || pc_http_var_define(cf, name, pc_regex_named_var, *index, PC_VAR_NOCACHE) == NULL)
    {
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    return PC_OK;
}

static pc_rc_t
bind_names(pc_conf_t *cf, pc_regex_main_conf_t *mcf, pc_regex_compiled_t *rx)
{
    pc_str_t name;
    uint32_t i;

    if (rx->re.nnames == 0)
        return PC_OK;
    rx->named = pc_palloc(cf->pool, rx->re.nnames * sizeof(pc_regex_named_t));
    if (rx->named == NULL) {
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    for (i = 0; i < rx->re.nnames; i++) {
        pc_regex_name(&rx->re, i, &name, &rx->named[i].group);
        if (name_var(cf, mcf, &name, &rx->source, &rx->named[i].var) != PC_OK)
            return PC_ERROR;
    }
    return PC_OK;
}

/*
 * Contract: pc_http_regex_ops->compile.  Compiles re (caseless for ~*)
 * into the cycle pool with its code released by a pool cleanup, and
 * defines a variable per named group.  NULL after pc_conf_error, e.g.
 * `pcre2_compile() failed: missing closing parenthesis in "(a" at offset 2`.
 */
void *
pc_regex_compile_op(pc_conf_t *cf, const pc_str_t *re, int caseless)
{
    pc_regex_main_conf_t *mcf = main_conf(cf);
    pc_regex_compiled_t *rx;
    char err[256];
    size_t off;

    rx = pc_pcalloc(cf->pool, sizeof(*rx));
    if (mcf == NULL || rx == NULL) {
        pc_conf_error(cf, "out of memory");
        return NULL;
    }
    rx->mcf = mcf;
    rx->source.data = pc_pstrdup(cf->pool, re->data, re->len);
    rx->source.len = re->len;
    if (rx->source.data == NULL) {
        pc_conf_error(cf, "out of memory");
        return NULL;
    }
    if (pc_regex_compile(&rx->re, re->data, re->len, caseless, err, sizeof(err), &off)
        != PC_OK)
    {
        pc_conf_error(cf, "pcre2_compile() failed: %s in \"%.*s\" at offset %zu", err,
                      (int) re->len, (const char *) re->data, off);
        return NULL;
    }
    if (pc_pool_cleanup_add(cf->pool, pc_regex_free, &rx->re) != PC_OK) {
        pc_regex_free(&rx->re);
        pc_conf_error(cf, "out of memory");
        return NULL;
    }
    if (rx->re.ncaptures + 1 > mcf->max_pairs)
        mcf->max_pairs = rx->re.ncaptures + 1;
    return bind_names(cf, mcf, rx) == PC_OK ? rx : NULL;
}

/* ---------------------------------------------------------------------
 * map $src $dst { KEY VALUE; ~RE VALUE; ~*RE VALUE; default VALUE; }
 * ------------------------------------------------------------------- */

static int
exact_cmp(const void *a, const void *b)
{
    const pc_regex_map_exact_t *x = a, *y = b;
    int rc = memcmp(x->key.data, y->key.data, pc_min(x->key.len, y->key.len));

    if (rc != 0)
        return rc;
    return (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* One entry of the block.  The lexer already took quotes off, so a key
 * that must start with '~' literally is written with a backslash. */
static pc_rc_t
map_entry(pc_conf_t *cf, pc_regex_map_t *map, pc_array_t *exact, pc_array_t *regex,
    const pc_conf_node_t *e)
{
    pc_http_template_t *value;
    pc_regex_map_exact_t *x;
    pc_regex_map_rx_t *rx;
    pc_str_t key = e->name;
    int caseless;

    if (e->block || e->nargs != 1) {
        pc_conf_error(cf, "invalid map entry \"%.*s\": expected KEY VALUE;",
                         (int) key.len, (const char *) key.data);
        return PC_ERROR;
    }
    if (key.len > 1 && key.data[0] == '~') {
        /* the pattern first: its named groups may appear in the value */
        caseless = key.len > 2 && key.data[1] == '*';
        key.data += caseless ? 2 : 1;
        key.len -= caseless ? 2 : 1;
        if ((rx = pc_array_push(regex)) == NULL)
            return PC_ERROR;
        rx->rx = pc_regex_compile_op(cf, &key, caseless);
        rx->value = rx->rx != NULL ? pc_http_template_compile(cf, &e->args[0]) : NULL;
        return rx->value != NULL ? PC_OK : PC_ERROR;
    }
    value = pc_http_template_compile(cf, &e->args[0]);
    if (value == NULL)
        return PC_ERROR;
    if (pc_str_eq_c(&key, "default")) {
        if (map->dflt != NULL) {
            pc_conf_error(cf, "duplicate default in map $%.*s", (int) map->name.len,
                             (const char *) map->name.data);
            return PC_ERROR;
        }
        map->dflt = value;
        return PC_OK;
    }
    if (key.len > 1 && key.data[0] == '\\') {
        key.data++;
        key.len--;
    }
    if ((x = pc_array_push(exact)) == NULL
        || (x->key.data = pc_pnalloc(cf->pool, key.len + 1)) == NULL)
        return PC_ERROR;
    pc_strlow(x->key.data, key.data, key.len);
    x->key.data[key.len] = '\0';
    x->key.len = key.len;
    x->value = value;
    return PC_OK;
}

/* Sort the exact keys and reject duplicates (nginx does too). */
static pc_rc_t
map_finish(pc_conf_t *cf, pc_regex_map_t *map, pc_array_t *exact, pc_array_t *regex)
{
    uint32_t i;

    map->exact = exact->elts;
    map->nexact = exact->nelts;
    map->regex = regex->elts;
    map->nregex = regex->nelts;
    if (map->nexact > 1)
        qsort(map->exact, map->nexact, sizeof(*map->exact), exact_cmp);
    for (i = 1; i < map->nexact; i++) {
        if (exact_cmp(&map->exact[i - 1], &map->exact[i]) == 0) {
            pc_conf_error(cf, "duplicate key \"%.*s\" in map $%.*s",
                          (int) map->exact[i].key.len, (const char *) map->exact[i].key.data,
                          (int) map->name.len, (const char *) map->name.data);
            return PC_ERROR;
        }
    }
    return PC_OK;
}

/* $dst: a new variable name.  A name only used so far (a `return $dst`
 * above the map) is not known to pc_http_var_find: the map defines it,
 * filling the forward entry; a second map of that name is refused. */
static const char *
map_target(pc_conf_t *cf, pc_regex_map_t *map)
{
    const pc_str_t *a = &cf->node->args[1];
    size_t i;

    if (a->len < 2 || a->data[0] != '$')
        return pc_conf_error(cf, "invalid map target \"%s\": expected $name",
                             (const char *) a->data);
    for (i = 1; i < a->len; i++)
        if (!is_name_char(a->data[i]))
            return pc_conf_error(cf, "invalid map target \"%s\": expected $name",
                                 (const char *) a->data);
    map->name.data = a->data + 1;
    map->name.len = a->len - 1;
    if (pc_http_var_find(&map->name, NULL) != NULL)
        return pc_conf_error(cf, "map target \"%s\": the variable already exists",
                             (const char *) a->data);
    return PC_CONF_OK;
}

static const char *
set_map(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_regex_main_conf_t *mcf = main_conf(cf);
    pc_array_t exact, regex;
    const pc_conf_node_t *e;
    pc_conf_node_t *node;
    pc_regex_map_t *map;
    const char *err;
    pc_rc_t rc = PC_OK;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    map = pc_pcalloc(cf->pool, sizeof(*map));
    if (mcf == NULL || map == NULL
        || pc_array_init(&exact, cf->pool, 8, sizeof(pc_regex_map_exact_t)) != PC_OK
        || pc_array_init(&regex, cf->pool, 4, sizeof(pc_regex_map_rx_t)) != PC_OK)
        return "out of memory";
    if (cf->node->args[0].len < 2 || memchr(cf->node->args[0].data, '$',
                                            cf->node->args[0].len) == NULL)
        return pc_conf_error(cf, "invalid map source \"%s\": expected variables",
                             (const char *) cf->node->args[0].data);
    if ((map->source = pc_http_template_compile(cf, &cf->node->args[0])) == NULL)
        return PC_CONF_ERROR;
    if ((err = map_target(cf, map)) != PC_CONF_OK)
        return err;
    node = cf->node;
    for (e = node->children; e != NULL; e = e->next) {
        /* errors in an entry point at the entry's own line */
        cf->node = (pc_conf_node_t *) e;
        if (map_entry(cf, map, &exact, &regex, e) != PC_OK)
            rc = PC_ERROR;
    }
    cf->node = node;
    if (rc == PC_OK)
        rc = map_finish(cf, map, &exact, &regex);
    /* $dst is defined even when an entry was rejected (reported above; the
     * load fails, so the map never runs): its uses, before or after this
     * block, need no second error.  Defined only now, after the entries,
     * so that a value naming $dst itself is a forward use, whose cycle
     * fwd_get catches at run time (nginx: "cycle while evaluating"). */
    map->index = mcf->nmaps++;
    map->mcf = mcf;
    map->name.data = pc_pstrdup(cf->pool, map->name.data, map->name.len);
    if (map->name.data == NULL
        || pc_http_var_define(cf, &map->name, pc_regex_map_var, (uintptr_t) map,
                              PC_VAR_NOCACHE) == NULL)
        return "out of memory";
    return rc == PC_OK ? PC_CONF_OK : PC_CONF_ERROR;
}

/* ---------------------------------------------------------------------
 * rewrite RE REPLACEMENT [last|break|redirect|permanent]
 * ------------------------------------------------------------------- */

static const char *
set_rewrite(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_regex_conf_t *rc = conf;
    pc_regex_rewrite_t *rw;
    pc_str_t repl = cf->node->args[1], path, args;

    PC_UNUSED(d);
    if (rc == NULL)
        return "has no configuration here (internal error)";
    if (rc->rewrites == NULL) {
        rc->rewrites = pc_palloc(cf->pool, sizeof(pc_array_t));
        if (rc->rewrites == NULL
            || pc_array_init(rc->rewrites, cf->pool, 4, sizeof(*rw)) != PC_OK)
            return "out of memory";
    }
    if ((rw = pc_array_push(rc->rewrites)) == NULL)
        return "out of memory";
    rw->file = cf->node->file;
    rw->line = cf->node->line;
    if (cf->node->nargs == 3
        && pc_rewrite_parse_flag(&cf->node->args[2], &rw->flag) != PC_OK)
        return pc_conf_error(cf, "invalid flag \"%s\": expected last, break, redirect "
                             "or permanent", (const char *) cf->node->args[2].data);
    rw->redirect = rw->flag == PC_REWRITE_REDIRECT || rw->flag == PC_REWRITE_PERMANENT
                   || pc_rewrite_is_absolute(&repl);
    if (repl.len > 0 && repl.data[repl.len - 1] == '?') {
        rw->drop_args = 1;
        repl.len--;
    }
    if (repl.len == 0)
        return pc_conf_error(cf, "empty replacement");
    if ((rw->rx = pc_regex_compile_op(cf, &cf->node->args[0], 0)) == NULL)
        return PC_CONF_ERROR;
    /* split where the text says, not where the evaluated result has a '?' */
    rw->has_args = pc_rewrite_split_template(&repl, &path, &args);
    if (path.len > 0 && (rw->replacement = pc_http_template_compile(cf, &path)) == NULL)
        return PC_CONF_ERROR;
    if (args.len > 0 && (rw->args = pc_http_template_compile(cf, &args)) == NULL)
        return PC_CONF_ERROR;
    return PC_CONF_OK;
}

/* ---------------------------------------------------------------------
 * Module hooks
 * ------------------------------------------------------------------- */

static void *
create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    pc_regex_main_conf_t *mcf;

    if (scope == PC_SCOPE_MAIN) {
        /* Every load starts from a clean slate: this module's patterns
         * are compiled by whoever parses `location ~` from now on. */
        pc_http_regex_ops = &pc_regex_ops;
        mcf = pc_pcalloc(cf->pool, sizeof(*mcf));
        if (mcf == NULL || pc_http_var_begin(cf) != PC_OK
            || pc_array_init(&mcf->names, cf->pool, 4, sizeof(pc_str_t)) != PC_OK)
            return NULL;
        mcf->max_pairs = 1;
        return mcf;
    }
    if (scope == PC_SCOPE_SERVER || scope == PC_SCOPE_LOCATION)
        return pc_pcalloc(cf->pool, sizeof(pc_regex_conf_t));
    return NULL;
}

/* Size this process's match data for the largest pattern up front, so
 * that no request pays for growing it. */
static pc_rc_t
init_worker(pc_worker_t *wk)
{
    pc_regex_main_conf_t *mcf = wk->cycle->main_confs[pc_regex_module.index];

    if (pc_regex_matcher_init(mcf != NULL ? mcf->max_pairs : 1) != PC_OK) {
        pc_log(PC_LOG_ALERT, 0, "regex: cannot create the PCRE2 match data (ENOMEM)");
        return PC_ERROR;
    }
    return PC_OK;
}

static void
exit_worker(pc_worker_t *wk)
{
    PC_UNUSED(wk);
    pc_regex_matcher_free();
}

static const pc_directive_t regex_directives[] = {
    { "map", PC_CTX_HTTP, 2, 2, PC_CONF_BLOCK | PC_CONF_MULTI, set_map, 0, 0, 0, NULL },
    { "rewrite", CTX_SL, 2, 3, PC_CONF_MULTI, set_rewrite, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static const pc_http_hook_t regex_hooks[] = {
    { PC_HTTP_PHASE_REWRITE, ORDER_REWRITE, pc_regex_rewrite_handler },
    PC_HOOK_END
};

pc_module_t pc_regex_module = {
    .name         = "regex",
    .directives   = regex_directives,
    .hooks        = regex_hooks,
    .create_conf  = create_conf,
    .init_worker  = init_worker,
    .exit_worker  = exit_worker,
    .variables    = pc_regex_variables,
};
