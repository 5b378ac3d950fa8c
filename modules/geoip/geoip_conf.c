/*
 * geoip_conf.c -- the geoip module's directives: geoip_database (opened
 * with libmaxminddb at load time, so -t and a reload see a missing or
 * corrupt file at once, and closed by a cycle pool cleanup), geoip_allow
 * and geoip_deny.  Lookups are in geoip.c.
 */
#include <errno.h>
#include <string.h>

#include "geoip/geoip.h"

#define CTX_HSL  (PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION)

/* ACCESS phase: after allow/deny (100), before the limits (300). */
#define ORDER_GEOIP  200

static void
close_db(void *data)
{
    pc_geoip_db_t *db = data;

    if (db->open) {
        MMDB_close(&db->mmdb);
        db->open = 0;
    }
}

/* A database is only useful if it maps IP addresses to records. */
static const char *
check_metadata(const MMDB_s *mmdb)
{
    const MMDB_metadata_s *m = &mmdb->metadata;

    if (m->ip_version != 4 && m->ip_version != 6)
        return "unsupported ip_version in its metadata";
    if (m->record_size != 24 && m->record_size != 28 && m->record_size != 32)
        return "unsupported record_size in its metadata";
    if (m->node_count == 0)
        return "an empty search tree";
    return NULL;
}

/* One lookup walks the search tree from its root: a file whose tree
 * points outside itself fails here, at load time, not on a request. */
static const char *
probe(MMDB_s *mmdb)
{
    MMDB_lookup_result_s res;
    int gai = 0, err = MMDB_SUCCESS;

    res = MMDB_lookup_string(mmdb, mmdb->metadata.ip_version == 6 ? "::1" : "127.0.0.1",
                             &gai, &err);
    if (gai != 0 || err != MMDB_SUCCESS)
        return err != MMDB_SUCCESS ? MMDB_strerror(err) : "lookup failed";
    if (res.found_entry) {
        MMDB_entry_data_list_s *list = NULL;

        err = MMDB_get_entry_data_list(&res.entry, &list);
        MMDB_free_entry_data_list(list);
        if (err != MMDB_SUCCESS)
            return MMDB_strerror(err);
    }
    return NULL;
}

static pc_rc_t
open_db(pc_conf_t *cf, pc_geoip_db_t *db, const pc_str_t *arg)
{
    const char *why;
    int rc;

    if (pc_conf_full_path(cf, arg, &db->path) != PC_OK) {
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    errno = 0;
    rc = MMDB_open((const char *) db->path.data, MMDB_MODE_MMAP, &db->mmdb);
    if (rc != MMDB_SUCCESS) {
        int err = errno;
        bool sys = (rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR) && err != 0;

        pc_conf_error(cf, "geoip_database \"%s\": %s%s%s", (const char *) db->path.data,
                      MMDB_strerror(rc), sys ? ": " : "", sys ? strerror(err) : "");
        return PC_ERROR;
    }
    db->open = 1;
    if (pc_pool_cleanup_add(cf->pool, close_db, db) != PC_OK) {
        close_db(db);
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    if ((why = check_metadata(&db->mmdb)) != NULL || (why = probe(&db->mmdb)) != NULL) {
        pc_conf_error(cf, "geoip_database \"%s\": %s", (const char *) db->path.data, why);
        return PC_ERROR;
    }
    return PC_OK;
}

static const char *
set_database(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_geoip_conf_t *gc = conf;
    uint32_t i;

    PC_UNUSED(d);
    if (gc->dbs == NULL) {
        gc->dbs = pc_pcalloc(cf->pool, PC_GEOIP_MAX_DBS * sizeof(pc_geoip_db_t));
        if (gc->dbs == NULL)
            return "out of memory";
    }
    if (gc->ndbs == PC_GEOIP_MAX_DBS)
        return pc_conf_error(cf, "too many geoip_database files (at most %d)",
                             PC_GEOIP_MAX_DBS);
    if (open_db(cf, &gc->dbs[gc->ndbs], &cf->node->args[0]) != PC_OK)
        return PC_CONF_ERROR;
    for (i = 0; i < gc->ndbs; i++)
        if (strcmp((const char *) gc->dbs[i].path.data,
                   (const char *) gc->dbs[gc->ndbs].path.data) == 0)
            return pc_conf_error(cf, "duplicate geoip_database \"%s\"",
                                 (const char *) gc->dbs[i].path.data);
    gc->ndbs++;
    return PC_CONF_OK;
}

/* geoip_allow / geoip_deny CC ...: codes accumulate over repeated
 * directives of one block. */
static const char *
set_rule(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_geoip_conf_t *gc = conf;
    pc_geoip_ccset_t **set = strcmp(d->name, "geoip_allow") == 0 ? &gc->allow : &gc->deny;
    uint32_t i;

    if (*set == NULL && (*set = pc_pcalloc(cf->pool, sizeof(pc_geoip_ccset_t))) == NULL)
        return "out of memory";
    if (gc->rule_node == NULL)
        gc->rule_node = cf->node;
    for (i = 0; i < cf->node->nargs; i++)
        if (pc_geoip_ccset_add(*set, &cf->node->args[i]) != PC_OK)
            return pc_conf_error(cf, "invalid country code \"%s\": expected two letters "
                                 "(ISO 3166-1 alpha-2) or \"unknown\"",
                                 (const char *) cf->node->args[i].data);
    return PC_CONF_OK;
}

static void *
create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    if (scope == PC_SCOPE_MAIN)
        return NULL;
    return pc_pcalloc(cf->pool, sizeof(pc_geoip_conf_t));
}

/* The databases come from the http block; a block with rules of its own
 * uses only those (like allow/deny), else it inherits its parent's. */
static pc_rc_t
merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    pc_geoip_conf_t *p = parent, *c = child;

    if (c->dbs == NULL) {
        c->dbs = p->dbs;
        c->ndbs = p->ndbs;
    }
    if (c->allow == NULL && c->deny == NULL) {
        c->allow = p->allow;
        c->deny = p->deny;
        c->rule_node = p->rule_node;
    }
    if ((c->allow != NULL || c->deny != NULL) && c->ndbs == 0) {
        pc_conf_error_at(cf, c->rule_node, "geoip_allow and geoip_deny need a "
                         "geoip_database in the http block");
        return PC_ERROR;
    }
    return PC_OK;
}

static const pc_directive_t geoip_directives[] = {
    { "geoip_database", PC_CTX_HTTP, 1, 1, PC_CONF_MULTI, set_database, 0, 0, 0, NULL },
    { "geoip_allow", CTX_HSL, 1, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_rule, 0, 0, 0, NULL },
    { "geoip_deny", CTX_HSL, 1, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_rule, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static const pc_http_hook_t geoip_hooks[] = {
    { PC_HTTP_PHASE_ACCESS, ORDER_GEOIP, pc_geoip_access_handler },
    PC_HOOK_END
};

pc_module_t pc_geoip_module = {
    .name         = "geoip",
    .directives   = geoip_directives,
    .hooks        = geoip_hooks,
    .create_conf  = create_conf,
    .merge_conf   = merge_conf,
    .variables    = pc_geoip_variables,
};
