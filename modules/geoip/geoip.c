/*
 * geoip.c -- GeoIP lookups at request time: the $geoip_* variables and
 * the geoip_allow / geoip_deny ACCESS hook.
 *
 * The address is the real client's (r->remote: after real_ip), looked up
 * once per request and database; the values point into the database's
 * mapping, which lives as long as the cycle.  A field the database does
 * not have is an empty variable, never an error.
 */
#include <netinet/in.h>

#include "geoip/geoip.h"

typedef struct {
    uint8_t              state[PC_GEOIP_MAX_DBS];   /* 0 todo, 1 found, 2 none */
    MMDB_entry_s         entry[PC_GEOIP_MAX_DBS];
    struct sockaddr_in   v4;                        /* unmapped ::ffff:a.b.c.d */
} geoip_ctx_t;

typedef enum {
    F_COUNTRY_CODE = 0,
    F_COUNTRY_NAME,
    F_CONTINENT_CODE,
    F_ASN,
    F_ASN_ORG
} field_e;

static const char *const *const field_paths[] = {
    (const char *const[]) { "country", "iso_code", NULL },
    (const char *const[]) { "country", "names", "en", NULL },
    (const char *const[]) { "continent", "code", NULL },
    (const char *const[]) { "autonomous_system_number", NULL },
    (const char *const[]) { "autonomous_system_organization", NULL },
};

static pc_geoip_conf_t *
conf_of(pc_http_request_t *r)
{
    if (r->loc_conf == NULL)
        return NULL;
    return r->loc_conf[pc_geoip_module.index];
}

/* The client address as libmaxminddb wants it: IPv4-mapped IPv6 as IPv4,
 * so an IPv4 database answers for it. */
static const struct sockaddr *
client_addr(pc_http_request_t *r, geoip_ctx_t *ctx)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) &r->remote;

    if (r->remote.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        memset(&ctx->v4, 0, sizeof(ctx->v4));
        ctx->v4.sin_family = AF_INET;
        memcpy(&ctx->v4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
        return (const struct sockaddr *) &ctx->v4;
    }
    if (r->remote.ss_family != AF_INET && r->remote.ss_family != AF_INET6)
        return NULL;
    return (const struct sockaddr *) &r->remote;
}

/* The record of database i for r's client; NULL when it has none. */
static const MMDB_entry_s *
lookup(pc_http_request_t *r, geoip_ctx_t *ctx, pc_geoip_db_t *db, uint32_t i)
{
    const struct sockaddr *sa;
    MMDB_lookup_result_s res;
    int err = MMDB_SUCCESS;

    if (ctx->state[i] == 0) {
        ctx->state[i] = 2;
        sa = client_addr(r, ctx);
        if (sa != NULL) {
            res = MMDB_lookup_sockaddr(&db->mmdb, sa, &err);
            if (err == MMDB_SUCCESS && res.found_entry) {
                ctx->entry[i] = res.entry;
                ctx->state[i] = 1;
            } else if (err != MMDB_SUCCESS
                       && err != MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR && !db->warned)
            {
                /* a broken file: say so once per worker, not per request */
                db->warned = 1;
                pc_log(PC_LOG_ERR, 0, "geoip: lookup in \"%s\" failed: %s",
                       (const char *) db->path.data, MMDB_strerror(err));
            }
        }
    }
    return ctx->state[i] == 1 ? &ctx->entry[i] : NULL;
}

static geoip_ctx_t *
get_ctx(pc_http_request_t *r)
{
    geoip_ctx_t *ctx = r->ctx[pc_geoip_module.index];

    if (ctx == NULL) {
        ctx = pc_pcalloc(r->pool, sizeof(*ctx));
        r->ctx[pc_geoip_module.index] = ctx;
    }
    return ctx;
}

/* A string or unsigned number field as text; false when absent or of
 * another type (the database is input, not trusted). */
static bool
field_value(pc_http_request_t *r, const MMDB_entry_data_s *d, pc_str_t *out)
{
    uint64_t n;
    u_char *p;

    if (!d->has_data)
        return false;
    switch (d->type) {
    case MMDB_DATA_TYPE_UTF8_STRING:
        out->data = (u_char *) d->utf8_string;
        out->len = d->data_size;
        return true;
    case MMDB_DATA_TYPE_UINT16:
        n = d->uint16;
        break;
    case MMDB_DATA_TYPE_UINT32:
        n = d->uint32;
        break;
    case MMDB_DATA_TYPE_UINT64:
        n = d->uint64;
        break;
    default:
        return false;
    }
    if ((p = pc_pnalloc(r->pool, 20)) == NULL)
        return false;
    out->data = p;
    out->len = (size_t) (pc_u64toa(p, n) - p);
    return true;
}

/* The field from the first database that has it for r's client. */
static pc_rc_t
get_field(pc_http_request_t *r, field_e f, pc_str_t *out)
{
    pc_geoip_conf_t *gc = conf_of(r);
    const MMDB_entry_s *e;
    MMDB_entry_data_s d;
    MMDB_entry_s entry;
    geoip_ctx_t *ctx;
    uint32_t i;

    if (gc == NULL || gc->ndbs == 0)
        return PC_DECLINED;
    if ((ctx = get_ctx(r)) == NULL)
        return PC_ERROR;
    for (i = 0; i < gc->ndbs; i++) {
        if ((e = lookup(r, ctx, &gc->dbs[i], i)) == NULL)
            continue;
        entry = *e;
        if (MMDB_aget_value(&entry, &d, field_paths[f]) == MMDB_SUCCESS
            && field_value(r, &d, out))
            return PC_OK;
    }
    return PC_DECLINED;
}

static pc_rc_t
var_geoip(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    return get_field(r, (field_e) data, out);
}

const pc_http_variable_t pc_geoip_variables[] = {
    { "geoip_country_code",   var_geoip, F_COUNTRY_CODE,   0 },
    { "geoip_country_name",   var_geoip, F_COUNTRY_NAME,   0 },
    { "geoip_continent_code", var_geoip, F_CONTINENT_CODE, 0 },
    { "geoip_asn",            var_geoip, F_ASN,            0 },
    { "geoip_asn_org",        var_geoip, F_ASN_ORG,        0 },
    PC_VAR_END
};

/*
 * Contract: ACCESS hook for geoip_allow / geoip_deny in force for r: a
 * client whose country is in the deny set, or not in a present allow set
 * ("unknown" when the databases have no country for it), gets 403.
 * PC_DECLINED otherwise (and when no rule applies).
 */
pc_rc_t
pc_geoip_access_handler(pc_http_request_t *r)
{
    pc_geoip_conf_t *gc = conf_of(r);
    pc_str_t cc = pc_null_string;
    int idx;
    pc_rc_t rc;

    if (gc == NULL || (gc->allow == NULL && gc->deny == NULL))
        return PC_DECLINED;
    rc = get_field(r, F_COUNTRY_CODE, &cc);
    if (rc == PC_ERROR)
        return PC_ERROR;
    idx = rc == PC_OK ? pc_geoip_cc_index(cc.data, cc.len, false) : -1;
    if (idx < 0)
        idx = PC_GEOIP_CC_UNKNOWN;
    if ((gc->deny != NULL && pc_geoip_ccset_has(gc->deny, idx))
        || (gc->allow != NULL && !pc_geoip_ccset_has(gc->allow, idx)))
    {
        r->error_reason = "access forbidden by geoip";
        return 403;
    }
    return PC_DECLINED;
}
