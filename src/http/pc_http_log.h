/*
 * pc_http_log.h -- the access log module (SPEC §6).
 */
#ifndef PC_HTTP_LOG_H
#define PC_HTTP_LOG_H

#include "core/pc_module.h"
#include "core/pc_types.h"

/* Directives log_format, access_log, log_redact_args; LOG-phase hook. */
extern pc_module_t pc_http_log_module;

/*
 * The request line of r as the access log shows it: the values of the
 * query arguments named by the log_redact_args in force for r replaced by
 * "***" (names matched after percent-decoding, see pc_http_log_redact.h).  For
 * error-log lines that quote the request.  Returns r->request_line itself
 * when nothing is redacted (or memory runs out), else a copy in r->pool.
 */
pc_str_t pc_http_log_redacted_request(pc_http_request_t *r);

#endif /* PC_HTTP_LOG_H */
