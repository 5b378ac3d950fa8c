/*
 * pc_http_log.h -- the access log module (SPEC §6).
 */
#ifndef PC_HTTP_LOG_H
#define PC_HTTP_LOG_H

#include "core/pc_module.h"

/* Directives log_format, access_log, log_redact_args; LOG-phase hook. */
extern pc_module_t pc_http_log_module;

#endif /* PC_HTTP_LOG_H */
