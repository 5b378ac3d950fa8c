/*
 * geoip.h -- private glue of the geoip module: geoip_conf.c (directives,
 * opening the databases) and geoip.c (lookups, variables, ACCESS hook).
 */
#ifndef PC_GEOIP_H
#define PC_GEOIP_H

#include <maxminddb.h>

#include "http/pc_http.h"
#include "geoip/geoip_cc.h"

extern pc_module_t pc_geoip_module;

/* geoip_database may be given this many times (MaxMind ships country and
 * ASN data as separate files); lookups try them in order. */
#define PC_GEOIP_MAX_DBS  4

typedef struct {
    MMDB_s               mmdb;
    pc_str_t             path;         /* absolute, NUL-terminated       */
    unsigned             open:1;
    unsigned             warned:1;     /* a lookup error was logged      */
} pc_geoip_db_t;

/* One struct at HTTP, SERVER and LOCATION scope, merged downwards. */
typedef struct {
    pc_geoip_db_t       *dbs;          /* HTTP scope's, inherited        */
    uint32_t             ndbs;
    pc_geoip_ccset_t    *allow;        /* NULL: no geoip_allow here      */
    pc_geoip_ccset_t    *deny;
    const pc_conf_node_t *rule_node;   /* first rule, for errors         */
} pc_geoip_conf_t;

/* geoip.c */
extern const pc_http_variable_t pc_geoip_variables[];
pc_rc_t pc_geoip_access_handler(pc_http_request_t *r);

#endif /* PC_GEOIP_H */
