/*
 * pc_http.h -- the public HTTP API: what the request lifecycle, the core
 * http configuration and every module see of a request.
 *
 * Split of responsibilities:
 *   pc_http_request.c  connection read loop, head parsing, bodies, keep-alive,
 *                      pipelining, timeouts, response writer (pc_http_send_*)
 *   pc_http_phase.c    phase engine, header/body filter chains
 *   pc_http_error.c    SPEC §8 error responses (json|text)
 *   pc_http_conf.c     the "http" core module: http/server/location/listen/...
 *   pc_http_server.c   server_name and location matching
 *   pc_http_variables.c  variables (SPEC §5) and compiled templates
 *   pc_http_access.c   allow/deny, real_ip; pc_http_return.c return/add_header
 */
#ifndef PC_HTTP_H
#define PC_HTTP_H

#include <sys/socket.h>
#include "core/pc_core.h"
#include "core/pc_buf.h"
#include "core/pc_cycle.h"
#include "event/pc_conn.h"
#include "http/pc_http_parse.h"
#include "http/pc_http_chunked.h"

/* ---------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------- */

typedef struct pc_http_server_s    pc_http_server_t;
typedef struct pc_http_location_s  pc_http_location_t;
typedef struct pc_http_template_s  pc_http_template_t;

typedef enum {
    PC_HTTP_LOC_EXACT = 0,      /* location = /x   */
    PC_HTTP_LOC_PREFIX,         /* location /x     */
    PC_HTTP_LOC_PREFIX_STOP,    /* location ^~ /x  */
    PC_HTTP_LOC_REGEX,          /* location ~ re   */
    PC_HTTP_LOC_REGEX_CASELESS  /* location ~* re  */
} pc_http_loc_match_e;

struct pc_http_location_s {
    pc_str_t              name;
    pc_http_loc_match_e   match;
    void                 *regex;      /* from pc_http_regex_ops->compile      */
    void                **confs;      /* per-module LOCATION-scope confs      */
    pc_http_server_t     *server;
    const char           *file;
    uint32_t              line;
};

typedef enum {
    PC_HTTP_NAME_EXACT = 0,     /* api.example.com  */
    PC_HTTP_NAME_WILD_HEAD,     /* *.example.com    */
    PC_HTTP_NAME_WILD_TAIL,     /* example.*        */
    PC_HTTP_NAME_REGEX          /* ~^api\d+\.       */
} pc_http_name_kind_e;

typedef struct {
    pc_str_t              name;       /* lowercased; without "*." / ".*" / "~" */
    pc_http_name_kind_e   kind;
    void                 *regex;
} pc_http_server_name_t;

struct pc_http_server_s {
    pc_array_t            names;      /* pc_http_server_name_t                 */
    void                **confs;      /* per-module SERVER-scope confs          */
    pc_array_t            locations;  /* pc_http_location_t *, config order     */
    /* Built by init_conf for fast lookup: */
    pc_http_location_t  **exact;      /* sorted by name                        */
    uint32_t              nexact;
    pc_http_location_t  **prefix;     /* sorted by name (for longest match)    */
    uint32_t              nprefix;
    pc_http_location_t  **regex;      /* config order                          */
    uint32_t              nregex;
    unsigned              ssl:1;      /* has at least one ssl listen           */
    const char           *file;
    uint32_t              line;
    /* Built with prefix[] (pc_http_server.c): index in prefix[] of the
     * longest other prefix location that is a prefix of this one, or
     * UINT32_MAX; lets a binary search find the longest matching prefix. */
    uint32_t             *prefix_parent;
};

/* listening->data for http listeners: the servers bound to one address. */
typedef struct {
    pc_array_t            servers;    /* pc_http_server_t *, config order      */
    pc_http_server_t     *default_server;
    unsigned              ssl:1;
    /* Name lookup tables built by init_conf (pc_http_server.c); NULL means
     * "not built": pc_http_find_server then scans servers linearly. */
    struct pc_http_server_names_s *names;
} pc_http_addr_conf_t;

typedef enum { PC_HTTP_ERROR_JSON = 0, PC_HTTP_ERROR_TEXT = 1 } pc_http_error_format_e;

typedef struct {
    pc_str_t              name;
    pc_http_template_t   *value;
    unsigned              always:1;
} pc_http_add_header_t;

typedef struct {
    struct sockaddr_storage addr;     /* network                                */
    uint8_t               prefix;     /* CIDR bits                              */
    unsigned              all:1;
    unsigned              deny:1;
} pc_http_cidr_t;

/*
 * The http core module's conf.  One struct type at HTTP, SERVER and
 * LOCATION scope, merged downwards, so r->loc_conf always has every value.
 */
typedef struct {
    pc_msec_t             client_header_timeout;
    pc_msec_t             client_body_timeout;
    size_t                client_body_min_rate;     /* bytes/s, 0 = off     */
    pc_msec_t             send_timeout;
    pc_msec_t             keepalive_timeout;
    intptr_t              keepalive_requests;
    size_t                client_max_body_size;     /* 0 = unlimited        */
    size_t                client_header_buffer_size;
    intptr_t              large_header_buffers_num;
    size_t                large_header_buffer_size;
    intptr_t              error_format;             /* pc_http_error_format_e */

    pc_array_t           *add_headers;              /* pc_http_add_header_t, merged by name */
    pc_array_t           *access;                   /* pc_http_cidr_t, first match wins */
    pc_str_t              real_ip_header;
    pc_array_t           *real_ip_from;             /* pc_http_cidr_t        */

    intptr_t              return_status;            /* PC_INT_UNSET: none   */
    pc_http_template_t   *return_text;              /* body or URL          */

    pc_http_location_t   *location;                 /* NULL at http/server scope */
    pc_http_server_t     *server;
} pc_http_core_conf_t;

extern pc_module_t pc_http_core_module;

/* Conf of module m in force for request r (location's, else server's). */
#define pc_http_conf(r, m)      ((r)->loc_conf[(m).index])
#define pc_http_core_conf(r)    ((pc_http_core_conf_t *) pc_http_conf(r, pc_http_core_module))

/* Regex support is provided by the regex module; the core has the slot. */
typedef struct {
    /* Compile re (caseless for ~*): NULL after pc_conf_error with the offset. */
    void *(*compile)(pc_conf_t *cf, const pc_str_t *re, int caseless);
    /* 1 = match (captures remembered in r for $1.. / $name), 0 = no match, <0 error. */
    int   (*match)(pc_http_request_t *r, void *re, const u_char *s, size_t len);
} pc_http_regex_ops_t;

/* NULL until a regex module installs itself (from its create_conf at MAIN scope). */
extern const pc_http_regex_ops_t *pc_http_regex_ops;

/* ---------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------- */

/* One response header field. */
typedef struct {
    pc_str_t              name;
    pc_str_t              value;
} pc_http_field_t;

typedef struct pc_http_conn_s pc_http_conn_t;   /* per client connection (request.c) */

typedef void (*pc_http_event_pt)(pc_http_request_t *r);

struct pc_http_request_s {
    pc_conn_t            *c;
    pc_http_conn_t       *hc;
    pc_pool_t            *pool;             /* reset when the request ends     */
    pc_http_server_t     *server;
    pc_http_location_t   *location;         /* NULL: no location matched       */
    void                **loc_conf;         /* confs in force                  */
    void                **ctx;              /* per-module request state        */

    /* the parsed head: offsets into head_buf */
    pc_http_head_t        head;
    u_char               *head_buf;
    pc_http_method_e      method;
    int                   http_version;     /* 10, 11                          */
    pc_str_t              method_name;
    pc_str_t              request_line;     /* "GET /x?y HTTP/1.1"             */
    pc_str_t              unparsed_uri;     /* $request_uri (raw target)       */
    pc_str_t              uri;              /* $uri: normalised path           */
    pc_str_t              args;             /* $args                           */
    pc_str_t              host;             /* $host: lowercased, no port      */
    unsigned              uri_changed:1;    /* uri/args rewritten (rewrite): the
                                               target is no longer unparsed_uri */
    unsigned              uri_break:1;      /* ... by a location's `break`: sent
                                               whole, proxy_pass's URI ignored */

    /* real client (after real_ip) */
    struct sockaddr_storage remote;
    socklen_t             remotelen;
    pc_str_t              remote_addr;      /* text, no port                   */
    uint16_t              remote_port;

    /* response */
    int                   status;
    pc_str_t              reason;           /* the upstream's reason phrase,
                                               used while status is still
                                               reason_status (len 0: ours)   */
    int                   reason_status;
    pc_http_field_t      *out;              /* response header fields          */
    uint32_t              nout, out_cap;
    int64_t               out_content_length;  /* -1: unknown → chunked or close */
    unsigned              header_sent:1;
    unsigned              header_only:1;    /* HEAD, 204, 304: no body         */
    unsigned              chunked_out:1;
    unsigned              keepalive:1;      /* connection may be reused after  */
    unsigned              done:1;
    unsigned              logged:1;
    unsigned              internal_error:1;

    /* request body */
    int64_t               body_received;    /* payload bytes read so far       */
    unsigned              body_done:1;
    unsigned              discard_body:1;
    unsigned              expect_sent:1;    /* 100 Continue written            */

    /* phase engine */
    pc_http_phase_e       phase;
    uint32_t              hook;             /* next hook index within phase    */

    /* accounting (log variables) */
    pc_msec_t             start_mono_ms;
    int64_t               start_wall_ms;
    uint64_t              request_length;   /* head + body bytes received      */
    uint64_t              bytes_sent;
    uint64_t              body_bytes_sent;
    uint64_t              connection_requests;
    const char           *error_reason;     /* for the error body and the log  */

    /* resume hooks for modules that park a request (PC_AGAIN) */
    pc_http_event_pt      read_event_handler;
    pc_http_event_pt      write_event_handler;

    /* Fields for the upstream request head, set by modules (trace) with
     * pc_http_upstream_header_set: pc_http_field_t in r->pool; NULL: none. */
    pc_array_t           *upstream_headers;
};

/*
 * Set a field of the request head the proxy sends upstream (pc_http_proxy_
 * head.c): it replaces every client field of that name (case-insensitive),
 * and an empty value only removes them.  A proxy_set_header of the same
 * name wins over it.  A second call for the same name replaces the first.
 * name and value are referenced, not copied: they must live as long as r
 * (static text or r->pool).  PC_OK / PC_ERROR (ENOMEM).
 */
pc_rc_t pc_http_upstream_header_set(pc_http_request_t *r, const pc_str_t *name,
    const pc_str_t *value);

/* The request field the parser tagged id (pc_http_hdr_e) when there is at
 * most one: true with *out its value (len 0: absent); false when several
 * (their value is the list $http_NAME joins). */
bool pc_http_header_single(pc_http_request_t *r, pc_http_hdr_e id, pc_str_t *out);

/* Value of the first request header named name (case-insensitive); NULL-data when absent. */
pc_str_t pc_http_header_in(pc_http_request_t *r, const char *name, size_t len);

/* Response header list (r->out) editing; values are copied into r->pool. */
pc_rc_t pc_http_header_out_add(pc_http_request_t *r, const pc_str_t *name, const pc_str_t *value);
/* The same without copies: name and value must live as long as r (r->pool,
 * static text). */
pc_rc_t pc_http_header_out_push(pc_http_request_t *r, const pc_str_t *name,
    const pc_str_t *value);
pc_rc_t pc_http_header_out_set(pc_http_request_t *r, const pc_str_t *name, const pc_str_t *value);
void    pc_http_header_out_remove(pc_http_request_t *r, const pc_str_t *name);
pc_http_field_t *pc_http_header_out_find(pc_http_request_t *r, const pc_str_t *name);

/*
 * Send the response head: runs the header filters, then serialises the
 * status line, r->out, Date/Server, Content-Length or chunked (never chunked
 * to an HTTP/1.0 client: close-delimited instead), Connection.  The bytes are
 * queued and written together with the first body bytes (one writev).
 */
pc_rc_t pc_http_send_header(pc_http_request_t *r);

/*
 * Send body bytes (runs body filters, adds chunk framing when needed).
 * Returns PC_OK when everything was written or queued within the connection's
 * output limit, PC_AGAIN when the client is slow: the caller must stop
 * producing until r->write_event_handler is called.  last = end of body.
 */
pc_rc_t pc_http_send_body(pc_http_request_t *r, pc_chain_t *in, int last);

/* A whole small response: status, optional content type and body. */
pc_rc_t pc_http_send_simple(pc_http_request_t *r, int status,
    const pc_str_t *content_type, const pc_str_t *body);

/* A SPEC §8 error response (json or text per error_format, request_id
 * included when known); reason goes into the body and r->error_reason. */
pc_rc_t pc_http_send_error(pc_http_request_t *r, int status, const char *reason);

/*
 * The request is over from the handler's point of view (rc: PC_DONE/PC_OK
 * after a response, PC_ERROR, or an HTTP status to send as an error).  Runs
 * the LOG phase once the response is fully written, then keeps the
 * connection alive (next pipelined request) or closes it.
 */
void pc_http_finalize(pc_http_request_t *r, pc_rc_t rc);

/* Continue a request parked with PC_AGAIN from its current hook. */
void pc_http_phase_resume(pc_http_request_t *r);

/*
 * Re-entrancy guard for modules that drive a parked request from their own
 * events (the proxy's upstream watchers and timers): between enter and
 * leave nothing frees r or closes its connection, even if a call made in
 * between (pc_http_send_body failing, pc_http_finalize) ends the request;
 * leave performs what was deferred, so r may be gone after it.  The
 * runtime already holds the guard when it calls a phase handler or
 * r->read_event_handler / r->write_event_handler.  (Same declarations as
 * in pc_http_request.h, made public for modules.)
 */
void pc_http_req_enter(pc_http_conn_t *hc);
void pc_http_req_leave(pc_http_conn_t *hc);

/*
 * Request-body streaming for content handlers (the proxy):
 * pc_http_body_read() gives the next span of body payload already decoded
 * (chunked framing removed) without copying; returns PC_OK with *data and *len
 * (len may be 0), PC_AGAIN when nothing is buffered (r->read_event_handler
 * will be called when more arrives), PC_DONE at the end of the body, or an
 * HTTP status (400, 408, 413) on error.  Consumed bytes are released with
 * pc_http_body_consumed().  Sends 100 Continue on first call when expected.
 */
pc_rc_t pc_http_body_read(pc_http_request_t *r, const u_char **data, size_t *len);
void    pc_http_body_consumed(pc_http_request_t *r, size_t len);

/* Read and throw away the request body (return/error responses on a
 * keep-alive connection).  The connection is reused once it is drained. */
void pc_http_body_discard(pc_http_request_t *r);

/*
 * Learn that the client went away (EOF, reset) while the request waits on
 * something else, as the proxy waits on its upstream: handler runs once,
 * from the runtime's read event and under its guard, with errno set (0 for
 * EOF).  Meaningful once the body is read in full.  Bytes from the client
 * (a pipelined request, a TLS record) say nothing and end the watch for
 * this request.  The connection's own read watcher does the watching, so
 * asking costs no system call.  handler NULL: stop asking.
 */
void pc_http_watch_client(pc_http_request_t *r, pc_http_event_pt handler);

/* Every server { } block of cycle's http { }, in config order (pc_http_
 * server_t *); *n gets the count.  NULL with *n = 0 when there is no http
 * block.  For modules that keep per-server state (status metrics). */
pc_http_server_t **pc_http_servers(pc_cycle_t *cycle, uint32_t *n);

/* Client connections of the calling worker by state (pc_http_request.c),
 * for the status module: active = every accepted client connection;
 * reading = reading a request head; writing = a request in progress
 * (phases, body, response); idle = keep-alive, waiting for a request.
 * (A connection the http runtime does not own yet, e.g. in a TLS
 * handshake, counts as reading.) */
typedef struct {
    uint32_t              active;
    uint32_t              reading;
    uint32_t              writing;
    uint32_t              idle;
} pc_http_conn_stats_t;

void pc_http_conn_stats(pc_http_conn_stats_t *st);

/* Server and location lookup (pc_http_server.c).  Host is r->host. */
/*
 * s's first server_name as the configuration wrote it -- "*.example.com",
 * "example.*", "~regex" whole, a leading-dot ".example.com" without its
 * dot -- in pool, NUL-terminated; "" when s has none.  The one spelling of
 * a server in labels ($server_name, the metrics' server and server_name
 * labels, TLS warnings).  PC_ERROR on ENOMEM.
 */
pc_rc_t pc_http_server_name_text(pc_pool_t *pool, const pc_http_server_t *s, pc_str_t *out);

pc_http_server_t *pc_http_find_server(pc_http_addr_conf_t *addr, const pc_str_t *host,
    pc_http_request_t *r);
pc_http_location_t *pc_http_find_location(pc_http_server_t *s, const pc_str_t *uri,
    pc_http_request_t *r);

/* ---------------------------------------------------------------------
 * Variables and templates (pc_http_variables.c)
 * ------------------------------------------------------------------- */

/* Find a variable (module tables + core) by name without '$'; for prefix
 * variables *suffix gets the rest ("http_user_agent" → "user_agent"). */
const pc_http_variable_t *pc_http_var_find(const pc_str_t *name, pc_str_t *suffix);

/* Compile "text $var ${var}text" into a template (cycle pool).  A
 * variable not known yet is a forward use (pc_http_var_use).  NULL after
 * pc_conf_error. */
pc_http_template_t *pc_http_template_compile(pc_conf_t *cf, const pc_str_t *src);

/* Evaluate into r->pool (or return the constant text without copying). */
pc_rc_t pc_http_template_eval(pc_http_request_t *r, const pc_http_template_t *t,
    pc_str_t *out);

/* True when the template has no variables (its text is in *text). */
bool pc_http_template_const(const pc_http_template_t *t, pc_str_t *text);

/*
 * Variables defined by the configuration itself (a map's $dst, a regex's
 * named captures): they live in the cycle being loaded (cf->pool) and are
 * found by pc_http_var_find after every module's static table.  Define a
 * name only after checking that pc_http_var_find does not know it yet (a
 * name only used so far is not known: the definition fills its forward
 * entry, see pc_http_var_use).  Returns the row (cycle pool), or NULL on
 * ENOMEM.
 */
const pc_http_variable_t *pc_http_var_define(pc_conf_t *cf, const pc_str_t *name,
    pc_http_var_get_pt get, uintptr_t data, unsigned flags);

/*
 * A use of variable name by the configuration (templates, log formats):
 * as pc_http_var_find, but a name nobody knows yet is a forward use, as in
 * nginx: it is recorded (first use: cf->node) and answered with a
 * stand-in row (*forward true) whose getter calls whatever is defined
 * under that name later, through one indirection.  Nothing about such a
 * value is known when the use is compiled: its flags are PC_VAR_NOCACHE
 * only (free-form text, never PC_VAR_PLAIN, never a prefix).  NULL only
 * after pc_conf_error (ENOMEM).  Lenient lookups use pc_http_var_find.
 */
const pc_http_variable_t *pc_http_var_use(pc_conf_t *cf, const pc_str_t *name,
    pc_str_t *suffix, bool *forward);

/* At the end of the http block: every name used but never defined is a
 * config error `unknown variable "$NAME"` at its first use, each name
 * once.  PC_OK, or PC_ERROR when something was reported. */
pc_rc_t pc_http_var_check_forward(pc_conf_t *cf);

/* Forget the variables an earlier configuration defined, so that a new
 * load starts from the static tables only.  Idempotent for one cycle;
 * every module that defines variables calls it from its create_conf at
 * PC_SCOPE_MAIN (pc_http_var_define calls it too).  PC_OK / PC_ERROR. */
pc_rc_t pc_http_var_begin(pc_conf_t *cf);

/* Evaluate a single named variable for request r (slow path, by name). */
pc_rc_t pc_http_var_value(pc_http_request_t *r, const pc_str_t *name, pc_str_t *out);

/* Reason phrase for a status ("Not Found"); "" when unknown. */
const char *pc_http_status_text(int status);

/* Address helpers (pc_http_access.c): does addr fall in cidr. */
bool pc_http_cidr_match(const pc_http_cidr_t *cidr, const struct sockaddr *addr);
/* Parse "10.0.0.0/8", "::1", "all" (all only when allow_all). */
pc_rc_t pc_http_cidr_parse(const pc_str_t *s, pc_http_cidr_t *out, int allow_all);

#endif /* PC_HTTP_H */
