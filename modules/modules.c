/*
 * modules.c -- the one explicit list of compiled-in modules, in order.
 * The order decides directive lookup, hook ties and filter ties.
 */
#include "core/pc_core.h"

extern pc_module_t pc_core_module;
extern pc_module_t pc_http_core_module;
extern pc_module_t pc_tls_module;
extern pc_module_t pc_hsts_module;
extern pc_module_t pc_http_proxy_module;
extern pc_module_t pc_regex_module;
extern pc_module_t pc_geoip_module;
extern pc_module_t pc_gzip_module;
extern pc_module_t pc_ratelimit_module;
extern pc_module_t pc_trace_module;
extern pc_module_t pc_status_module;
extern pc_module_t pc_http_log_module;

pc_module_t *pc_modules[] = {
    &pc_core_module,
    &pc_http_core_module,
    &pc_tls_module,             /* after http (default servers), before log */
    &pc_hsts_module,
    &pc_http_proxy_module,
    &pc_regex_module,
    &pc_geoip_module,
    &pc_gzip_module,
    &pc_ratelimit_module,
    &pc_trace_module,
    &pc_status_module,
    &pc_http_log_module,        /* after every module that adds variables */
    NULL
};

unsigned pc_modules_n;

void
pc_modules_init(void)
{
    unsigned i;

    for (i = 0; pc_modules[i] != NULL; i++)
        pc_modules[i]->index = i;
    pc_modules_n = i;
}
