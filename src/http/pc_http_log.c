/*
 * pc_http_log.c -- the access log (SPEC §6): log_format, access_log,
 * log_redact_args (which arguments: pc_http_log_redact.c), built-in
 * `combined` and `json` formats.
 *
 * Why it looks like this:
 * - Formats are compiled once at load time into segments (literal text or a
 *   variable getter), so a log line is a walk over an array, no parsing.
 * - Every variable value is escaped as it is copied (\xHH in text formats,
 *   JSON escapes in json ones): a client cannot forge or split a line.
 * - A line is rendered whole into a per-worker scratch area, then appended to
 *   the file's per-worker buffer, which is written with O_APPEND only ever in
 *   whole lines: lines from several workers never interleave, and a reopen
 *   (SIGUSR1) flushes first, so no line is lost or cut.
 * - Buffers are flushed at most `flush` after their first line (default 1s)
 *   so `tail -f` sees lines promptly.
 * - The values of a line share LOG_LINE_MAX bytes (the format's text comes
 *   on top): all of the built-ins' under the default header limits, even
 *   escaped.  Past that, render_fair keeps short, fixed-form values whole
 *   (status, sizes, times, ids) and shortens long free-form ones (URIs,
 *   header values) to an even share each, ending with "...".
 */
#include <errno.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "http/pc_http.h"
#include "http/pc_http_log.h"
#include "http/pc_http_log_redact.h"
#include "http/pc_http_conf.h"
#include "event/pc_worker.h"
#include "event/pc_process.h"

#define LOG_LINE_MAX     (256 * 1024)  /* bytes of values in a line: a 32
                                          KiB head escaped 6 bytes a byte */
#define LOG_LINE_SLACK   8             /* scratch bytes past the line's end:
                                          a short literal is stored as one
                                          8-byte word (render_line)        */
#define LOG_MARGIN       6             /* room left after a value proves it
                                          whole: escape_value stops <= 5 short */
#define LOG_SHORT        256           /* escaped values this short: whole  */
#define LOG_CUT_MARK     "..."         /* ends a shortened value           */
#define LOG_FLUSH_DFLT   1000          /* ms                               */

typedef enum { ESC_DEFAULT = 0, ESC_JSON, ESC_NONE } log_escape_e;

typedef struct {
    pc_str_t                   text;     /* literal, when var == NULL      */
    u_char                     lit[8];   /* text, zero-padded, if it fits  */
    const pc_http_variable_t  *var;
    uintptr_t                  data;
    pc_str_t                   suffix;   /* prefix variables ($http_x)     */
    unsigned                   uri:1;    /* carries a query: redactable    */
    unsigned                   raw:1;    /* json number: emitted unquoted  */
    unsigned                   plain:1;  /* never needs escaping (numbers,
                                            addresses, times): copied     */
    unsigned                   fixed:1;  /* short, fixed-form: never cut  */
    uint32_t                   tail;     /* literal bytes after this value */
    uint32_t                   fast;     /* room render_line's short path
                                            needs; UINT32_MAX: never      */
    uint8_t                    direct;   /* LOG_D_*: written in place     */
} log_seg_t;

/* Variables of the common formats that render_line writes straight into
 * the line, without the getter's copy into r->pool. */
enum {
    LOG_D_NONE = 0,     /* read through its getter (or no variable) */
    /* written in place (render_direct) */
    LOG_D_STATUS, LOG_D_BODY_BYTES, LOG_D_TIME_LOCAL, LOG_D_REMOTE_ADDR,
    /* values taken straight from the request (direct_value) */
    LOG_D_REQUEST, LOG_D_USER_AGENT, LOG_D_REFERER
};
#define LOG_D_ROOM  64   /* bytes any of them may take */

typedef struct {
    pc_str_t        name;
    log_escape_e    escape;
    log_seg_t      *segs;
    uint32_t        nsegs;
    uint32_t        nvars;     /* variable segments                        */
    size_t          reserve;   /* literal bytes + 1 ('\n'), on top of
                                  LOG_LINE_MAX: no value cuts them off     */
} log_format_t;

/* A distinct log destination; its runtime state lives in the worker. */
typedef struct {
    pc_str_t        path;      /* NUL-terminated; "stderr" for fd 2        */
    size_t          buffer;    /* 0: write every line at once              */
    pc_msec_t       flush;
    unsigned        is_stderr:1;
    const pc_conf_node_t *node; /* the first access_log naming it: errors */
} log_file_t;

typedef struct {
    uint32_t             file;    /* index into main conf files            */
    const log_format_t  *fmt;
    pc_http_template_t  *cond;    /* if=: skip when "" or "0"              */
} log_entry_t;

typedef struct {
    pc_array_t      formats;   /* log_format_t                             */
    pc_array_t      files;     /* log_file_t                               */
    pc_array_t     *dflt;      /* logs/access.log combined, when a conf has none */
} log_main_conf_t;

typedef struct {
    pc_array_t     *logs;      /* log_entry_t; empty array = off; NULL unset */
    pc_array_t     *redact;    /* pc_str_t arg names; NULL unset            */
} log_loc_conf_t;

/* Per-worker state of one file. */
typedef struct {
    int             fd;
    u_char         *buf;
    size_t          len;
    ev_timer        timer;
    const log_file_t *conf;
} log_wfile_t;

/* render_fair's per-variable work area, nvars of the longest format. */
typedef struct {
    pc_str_t        val;
    size_t          len;       /* escaped length                           */
    size_t          cap;       /* bytes it may take in the line            */
    bool            keep;      /* never shortened (while room allows)      */
} log_fair_t;

typedef struct {
    log_wfile_t    *files;
    uint32_t        nfiles;
    u_char         *scratch;   /* LOG_LINE_MAX + largest reserve + slack   */
    log_fair_t     *fair;
} log_worker_t;

static log_worker_t *log_worker;    /* this process's state (one worker)   */

static const char *log_combined =
    "$remote_addr - - [$time_local] \"$request\" $status $body_bytes_sent "
    "\"$http_referer\" \"$http_user_agent\"";

/* SPEC §6 json fields: key, variable, emitted as a bare number. */
static const struct { const char *key, *var; int raw; } log_json_fields[] = {
    { "time", "time_iso8601_ms", 0 },
    { "remote_addr", "remote_addr", 0 },
    { "method", "request_method", 0 },
    { "uri", "request_uri", 0 },
    { "protocol", "server_protocol", 0 },
    { "status", "status", 1 },
    { "bytes_sent", "bytes_sent", 1 },
    { "request_time", "request_time", 1 },
    { "upstream_addr", "upstream_addr", 0 },
    { "upstream_status", "upstream_status", 0 },
    { "upstream_response_time", "upstream_response_time", 0 },
    { "upstream_reused", "upstream_reused", 0 },
    { "request_id", "request_id", 0 },
    { "trace_id", "trace_id", 0 },
    { "host", "host", 0 },
    { "user_agent", "http_user_agent", 0 },
    { "referer", "http_referer", 0 },
    { "ssl_protocol", "ssl_protocol", 0 },
    { "ssl_client_s_dn", "ssl_client_s_dn", 0 },
    { "ssl_client_verify", "ssl_client_verify", 0 },
    { "limit_req_status", "limit_req_status", 0 },
    { "geoip_country_code", "geoip_country_code", 0 },
};

pc_module_t pc_http_log_module;

/* ------------------------------------------------------------------ */
/* Variables this module adds                                          */

static pc_rc_t
var_time_iso8601_ms(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    /* "2026-11-23T19:27:00.123+00:00" from the cached second + ms */
    u_char *p;
    const pc_str_t *iso = &pc_time.iso8601;

    PC_UNUSED(data);
    if (iso->len < 19 || (p = pc_pnalloc(r->pool, iso->len + 4)) == NULL)
        return PC_ERROR;
    memcpy(p, iso->data, 19);
    p[19] = '.';
    p[20] = (u_char) ('0' + (pc_time.wall_ms % 1000) / 100);
    p[21] = (u_char) ('0' + (pc_time.wall_ms % 100) / 10);
    p[22] = (u_char) ('0' + pc_time.wall_ms % 10);
    memcpy(p + 23, iso->data + 19, iso->len - 19);
    out->data = p;
    out->len = iso->len + 4;
    return PC_OK;
}

static pc_rc_t
var_server_protocol(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    PC_UNUSED(data);
    if (r->http_version == 10)
        pc_str_set(out, "HTTP/1.0");
    else
        pc_str_set(out, "HTTP/1.1");
    return PC_OK;
}

static const pc_http_variable_t log_variables[] = {
    { "time_iso8601_ms", var_time_iso8601_ms, 0, PC_VAR_NOCACHE },
    { "server_protocol", var_server_protocol, 0, 0 },
    PC_VAR_END
};

/* ------------------------------------------------------------------ */
/* Format compilation                                                  */

static bool
is_var_char(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9') || ch == '_';
}

/* What the log knows of a variable, by its own (lower-case) name, v->name:
 * names are looked up ignoring case, so the format's spelling must not
 * decide ($REQUEST_URI is redacted too).  uri: carries a query (redacted);
 * fixed: short, fixed-form, never shortened (as PC_VAR_PLAIN ones are);
 * d: LOG_D_*.  Names of modules not built in are harmless. */
static const struct { const char *name; uint8_t d, uri, fixed; } log_var_info[] = {
    { "request", LOG_D_REQUEST, 1, 0 }, { "request_uri", 0, 1, 0 }, { "args", 0, 1, 0 },
    { "query_string", 0, 1, 0 },
    { "status", LOG_D_STATUS, 0, 1 }, { "body_bytes_sent", LOG_D_BODY_BYTES, 0, 1 },
    { "time_local", LOG_D_TIME_LOCAL, 0, 1 }, { "remote_addr", LOG_D_REMOTE_ADDR, 0, 1 },
    { "http_user_agent", LOG_D_USER_AGENT, 0, 0 }, { "http_referer", LOG_D_REFERER, 0, 0 },
    { "server_protocol", 0, 0, 1 }, { "time_iso8601_ms", 0, 0, 1 }, { "scheme", 0, 0, 1 },
    { "upstream_addr", 0, 0, 1 }, { "upstream_status", 0, 0, 1 }, { "request_id", 0, 0, 1 },
    { "upstream_connect_time", 0, 0, 1 }, { "upstream_header_time", 0, 0, 1 },
    { "upstream_response_time", 0, 0, 1 }, { "upstream_reused", 0, 0, 1 },
    { "trace_id", 0, 0, 1 }, { "span_id", 0, 0, 1 }, { "parent_id", 0, 0, 1 },
    { "ssl_protocol", 0, 0, 1 }, { "ssl_cipher", 0, 0, 1 }, { "ssl_client_verify", 0, 0, 1 },
    { "ssl_session_reused", 0, 0, 1 }, { "ssl_client_serial", 0, 0, 1 },
    { "ssl_client_fingerprint", 0, 0, 1 }, { "limit_req_status", 0, 0, 1 },
    { "limit_conn_status", 0, 0, 1 }, { "geoip_country_code", 0, 0, 1 },
    { "geoip_continent_code", 0, 0, 1 }, { "geoip_asn", 0, 0, 1 },
};

/* Append a variable segment for name; lenient: unknown → empty literal
 * (the built-in json format names variables of optional modules), else a
 * name not defined yet is a forward use (a map further down): it is read
 * as free-form text, escaped and shortened like any other, whatever the
 * name (log_var_info describes the variables built in, not a map that
 * happens to share a name). */
static const char *
add_var_seg(pc_conf_t *cf, pc_array_t *segs, const pc_str_t *name, int lenient,
    int raw)
{
    log_seg_t *sg;
    size_t i;
    pc_str_t suffix = pc_null_string;
    bool forward = false;
    const pc_http_variable_t *v = lenient ? pc_http_var_find(name, &suffix)
                                          : pc_http_var_use(cf, name, &suffix, &forward);

    if (v == NULL)
        return lenient ? PC_CONF_OK : PC_CONF_ERROR;
    if ((sg = pc_array_push(segs)) == NULL)
        return "out of memory";
    sg->var = v;
    sg->data = v->data;
    sg->raw = raw;
    sg->plain = (v->flags & PC_VAR_PLAIN) != 0;
    sg->fixed = sg->plain || raw;
    for (i = 0; !forward && !(v->flags & PC_VAR_PREFIX) && i < pc_nelems(log_var_info);
         i++) {
        if (strcmp(v->name, log_var_info[i].name) == 0) {
            sg->direct = log_var_info[i].d;
            sg->uri = log_var_info[i].uri;
            sg->fixed |= log_var_info[i].fixed;
            break;
        }
    }
    if (v->flags & PC_VAR_PREFIX) {
        sg->suffix.data = pc_pstrdup(cf->pool, suffix.data, suffix.len);
        sg->suffix.len = suffix.len;
    }
    return PC_CONF_OK;
}

static const char *
add_text_seg(pc_conf_t *cf, pc_array_t *segs, const u_char *p, size_t len)
{
    log_seg_t *sg;

    if (len == 0)
        return PC_CONF_OK;
    if ((sg = pc_array_push(segs)) == NULL)
        return "out of memory";
    sg->text.data = pc_pstrdup(cf->pool, p, len);
    sg->text.len = len;
    return sg->text.data ? PC_CONF_OK : "out of memory";
}

/* Fold each literal into the variable after it (a variable segment's text
 * is written before its value), halving the segments render_line walks;
 * then reserve, and the literal bytes after each segment (tail). */
static void
set_reserve(log_format_t *fmt)
{
    uint32_t i, k;

    for (i = 0, k = 0; i < fmt->nsegs; i++, k++) {
        if (fmt->segs[i].var == NULL && i + 1 < fmt->nsegs
            && fmt->segs[i + 1].var != NULL && fmt->segs[i + 1].text.len == 0)
        {
            fmt->segs[i + 1].text = fmt->segs[i].text;
            i++;
        }
        fmt->segs[k] = fmt->segs[i];
    }
    fmt->nsegs = k;
    for (i = 0; i < fmt->nsegs; i++) {
        log_seg_t *sg = &fmt->segs[i];

        if (sg->text.len > 0 && sg->text.len <= sizeof(sg->lit))
            memcpy(sg->lit, sg->text.data, sg->text.len);
    }
    fmt->reserve = 0;
    fmt->nvars = 0;
    for (i = fmt->nsegs; i-- > 0; ) {
        log_seg_t *sg = &fmt->segs[i];

        sg->tail = (uint32_t) fmt->reserve;
        sg->fast = sg->text.len <= sizeof(sg->lit) && sg->tail < LOG_LINE_MAX
                 ? LOG_D_ROOM + sizeof(sg->lit) + sg->tail : UINT32_MAX;
        fmt->reserve += sg->text.len;
        fmt->nvars += sg->var != NULL;
    }
    fmt->reserve++;                 /* the '\n' */
}

/* Compile "text $var ${var}text" into segments. */
static const char *
compile_format(pc_conf_t *cf, log_format_t *fmt, const pc_str_t *src, int lenient)
{
    pc_array_t segs;
    const u_char *p = src->data, *end = src->data + src->len, *lit = p;
    const char *rv;

    if (pc_array_init(&segs, cf->pool, 8, sizeof(log_seg_t)) != PC_OK)
        return "out of memory";
    while (p < end) {
        pc_str_t name;
        int braced;

        if (*p != '$') {
            p++;
            continue;
        }
        if ((rv = add_text_seg(cf, &segs, lit, (size_t) (p - lit))) != NULL)
            return rv;
        p++;
        braced = (p < end && *p == '{');
        p += braced;
        name.data = (u_char *) p;
        while (p < end && is_var_char(*p))
            p++;
        name.len = (size_t) (p - name.data);
        if (name.len == 0 || (braced && (p == end || *p != '}')))
            return pc_conf_error(cf, "invalid variable name in log format \"%.*s\"",
                (int) src->len, src->data);
        p += braced;
        if ((rv = add_var_seg(cf, &segs, &name, lenient, 0)) != NULL)
            return rv;
        lit = p;
    }
    if ((rv = add_text_seg(cf, &segs, lit, (size_t) (end - lit))) != NULL)
        return rv;
    fmt->segs = segs.elts;
    fmt->nsegs = segs.nelts;
    set_reserve(fmt);
    return PC_CONF_OK;
}

/* The built-in json format: one object, keys fixed by SPEC §6. */
static const char *
compile_json(pc_conf_t *cf, log_format_t *fmt)
{
    pc_array_t segs;
    size_t i;
    const char *rv;
    u_char key[64];

    if (pc_array_init(&segs, cf->pool, 64, sizeof(log_seg_t)) != PC_OK)
        return "out of memory";
    for (i = 0; i < pc_nelems(log_json_fields); i++) {
        pc_str_t name;
        int n = snprintf((char *) key, sizeof(key), "%s\"%s\":%s",
            i ? "," : "{", log_json_fields[i].key, log_json_fields[i].raw ? "" : "\"");

        if ((rv = add_text_seg(cf, &segs, key, (size_t) n)) != NULL)
            return rv;
        name.data = (u_char *) log_json_fields[i].var;
        name.len = strlen(log_json_fields[i].var);
        if ((rv = add_var_seg(cf, &segs, &name, 1, log_json_fields[i].raw)) != NULL)
            return rv;
        if (!log_json_fields[i].raw && (rv = add_text_seg(cf, &segs,
                (const u_char *) "\"", 1)) != NULL)
            return rv;
    }
    if ((rv = add_text_seg(cf, &segs, (const u_char *) "}", 1)) != NULL)
        return rv;
    fmt->segs = segs.elts;
    fmt->nsegs = segs.nelts;
    fmt->escape = ESC_JSON;
    set_reserve(fmt);
    return PC_CONF_OK;
}

static log_format_t *
find_format(log_main_conf_t *lmcf, const pc_str_t *name)
{
    log_format_t *f = lmcf->formats.elts;
    uint32_t i;

    for (i = 0; i < lmcf->formats.nelts; i++)
        if (pc_str_eq(&f[i].name, name))
            return &f[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Directives                                                          */

static const char *
set_log_format(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    log_main_conf_t *lmcf = pc_cycle_main_conf(cf->cycle, pc_http_log_module);
    pc_str_t *a = cf->node->args, src;
    log_format_t *fmt;
    uint32_t i = 1;
    size_t len = 0;
    u_char *p;

    PC_UNUSED(d);
    PC_UNUSED(conf);
    if (find_format(lmcf, &a[0]) != NULL)
        return pc_conf_error(cf, "duplicate log_format name \"%s\"", a[0].data);
    if ((fmt = pc_array_push(&lmcf->formats)) == NULL)
        return "out of memory";
    fmt->name = a[0];
    if (a[1].len > 7 && memcmp(a[1].data, "escape=", 7) == 0) {
        const char *e = (const char *) a[1].data + 7;

        fmt->escape = strcmp(e, "json") == 0 ? ESC_JSON
                    : strcmp(e, "none") == 0 ? ESC_NONE
                    : strcmp(e, "default") == 0 ? ESC_DEFAULT : -1;
        if ((int) fmt->escape == -1)
            return pc_conf_error(cf, "invalid escape \"%s\" (default, json or none)", e);
        i = 2;
    }
    if (i >= cf->node->nargs)
        return "needs a format string";
    /* `log_format main json;` names a built-in (SPEC §3 skeleton): alias it. */
    if (i + 1 == cf->node->nargs && memchr(a[i].data, '$', a[i].len) == NULL) {
        log_format_t *builtin = find_format(lmcf, &a[i]);

        if (builtin != NULL) {
            pc_str_t name = fmt->name;

            fmt = (log_format_t *) lmcf->formats.elts + (lmcf->formats.nelts - 1);
            builtin = find_format(lmcf, &a[i]);   /* the array may have moved */
            *fmt = *builtin;
            fmt->name = name;
            return PC_CONF_OK;
        }
    }
    /* Several strings concatenate (nginx style multi-line formats). */
    for (uint32_t j = i; j < cf->node->nargs; j++)
        len += a[j].len;
    if ((p = pc_pnalloc(cf->pool, len + 1)) == NULL)
        return "out of memory";
    src.data = p;
    for (; i < cf->node->nargs; i++)
        p = pc_cpymem(p, a[i].data, a[i].len);
    src.len = len;
    return compile_format(cf, fmt, &src, 0);
}

static uint32_t
find_or_add_file(pc_conf_t *cf, log_main_conf_t *lmcf, const pc_str_t *path,
    int is_stderr)
{
    log_file_t *f = lmcf->files.elts;
    uint32_t i;

    for (i = 0; i < lmcf->files.nelts; i++)
        if (pc_str_eq(&f[i].path, path))
            return i;
    if ((f = pc_array_push(&lmcf->files)) == NULL)
        return UINT32_MAX;
    f->path = *path;
    f->is_stderr = is_stderr;
    f->flush = PC_MSEC_UNSET;
    f->node = cf->node;
    return lmcf->files.nelts - 1;
}

/* buffer=SIZE flush=TIME if=$var */
static const char *
parse_log_option(pc_conf_t *cf, log_file_t *file, log_entry_t *e, const pc_str_t *a)
{
    pc_str_t v;

    if (a->len > 7 && memcmp(a->data, "buffer=", 7) == 0) {
        size_t sz;

        v.data = a->data + 7;
        v.len = a->len - 7;
        if (pc_conf_parse_size(&v, &sz) != PC_OK || sz < 256 || sz > 16 * 1024 * 1024)
            return pc_conf_error(cf, "invalid buffer size \"%s\" (256 .. 16m)", v.data);
        file->buffer = pc_max(file->buffer, sz);
        return PC_CONF_OK;
    }
    if (a->len > 6 && memcmp(a->data, "flush=", 6) == 0) {
        pc_msec_t ms;

        v.data = a->data + 6;
        v.len = a->len - 6;
        if (pc_conf_parse_msec(&v, &ms) != PC_OK || ms <= 0)
            return pc_conf_error(cf, "invalid flush time \"%s\"", v.data);
        if (file->flush == PC_MSEC_UNSET || ms < file->flush)
            file->flush = ms;
        return PC_CONF_OK;
    }
    if (a->len > 3 && memcmp(a->data, "if=", 3) == 0) {
        v.data = a->data + 3;
        v.len = a->len - 3;
        e->cond = pc_http_template_compile(cf, &v);
        return e->cond ? PC_CONF_OK : PC_CONF_ERROR;
    }
    return pc_conf_error(cf, "invalid parameter \"%s\"", a->data);
}

static const char *
set_access_log(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    log_loc_conf_t *llcf = conf;
    log_main_conf_t *lmcf = pc_cycle_main_conf(cf->cycle, pc_http_log_module);
    pc_str_t *a = cf->node->args, path, fname = pc_string("combined");
    log_entry_t *e;
    log_file_t *file;
    uint32_t i, fi;
    const char *rv;

    PC_UNUSED(d);
    if (llcf->logs == NULL) {
        if ((llcf->logs = pc_palloc(cf->pool, sizeof(pc_array_t))) == NULL
            || pc_array_init(llcf->logs, cf->pool, 2, sizeof(log_entry_t)) != PC_OK)
            return "out of memory";
    }
    if (pc_str_eq_c(&a[0], "off")) {
        if (cf->node->nargs != 1)
            return "takes no parameters after \"off\"";
        llcf->logs->nelts = 0;
        return PC_CONF_OK;
    }
    if (a[0].len == 0)
        return pc_conf_error(cf, "\"access_log\" directive invalid value \"\", "
            "empty file name (a file, \"stderr\" or \"off\")");
    if (pc_str_eq_c(&a[0], "stderr"))
        path = a[0];
    else if (pc_conf_full_path(cf, &a[0], &path) != PC_OK)
        return "out of memory";
    fi = find_or_add_file(cf, lmcf, &path, pc_str_eq_c(&a[0], "stderr"));
    if (fi == UINT32_MAX || (e = pc_array_push(llcf->logs)) == NULL)
        return "out of memory";
    e->file = fi;
    i = 1;
    if (cf->node->nargs > 1 && memchr(a[1].data, '=', a[1].len) == NULL) {
        fname = a[1];
        i = 2;
    }
    if ((e->fmt = find_format(lmcf, &fname)) == NULL)
        return pc_conf_error(cf, "unknown log format \"%.*s\"", (int) fname.len,
            fname.data);
    file = (log_file_t *) lmcf->files.elts + fi;
    for (; i < cf->node->nargs; i++)
        if ((rv = parse_log_option(cf, file, e, &a[i])) != NULL)
            return rv;
    return PC_CONF_OK;
}

static const char *
set_redact(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    log_loc_conf_t *llcf = conf;
    uint32_t i;

    PC_UNUSED(d);
    if (llcf->redact != NULL)
        return "is duplicate";
    if ((llcf->redact = pc_palloc(cf->pool, sizeof(pc_array_t))) == NULL
        || pc_array_init(llcf->redact, cf->pool, cf->node->nargs, sizeof(pc_str_t)) != PC_OK)
        return "out of memory";
    for (i = 0; i < cf->node->nargs; i++) {
        pc_str_t *s = pc_array_push(llcf->redact);

        if (s == NULL)
            return "out of memory";
        *s = cf->node->args[i];
    }
    return PC_CONF_OK;
}

static const pc_directive_t log_directives[] = {
    { "log_format", PC_CTX_HTTP, 2, PC_CONF_ARGS_ANY, PC_CONF_MULTI,
      set_log_format, 0, 0, 0, NULL },
    { "access_log", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1,
      PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_access_log, 0, 0, 0, NULL },
    { "log_redact_args", PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION, 1,
      PC_CONF_ARGS_ANY, 0, set_redact, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

/* ------------------------------------------------------------------ */
/* Conf lifecycle                                                      */

static void *
log_create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    if (scope == PC_SCOPE_MAIN) {
        log_main_conf_t *lmcf = pc_pcalloc(cf->pool, sizeof(*lmcf));
        log_format_t *f;
        pc_str_t src;

        if (lmcf == NULL
            || pc_array_init(&lmcf->formats, cf->pool, 4, sizeof(log_format_t)) != PC_OK
            || pc_array_init(&lmcf->files, cf->pool, 4, sizeof(log_file_t)) != PC_OK)
            return NULL;
        /* Built-ins are compiled when http {} starts (variables of every
         * module are known by then); see log_init_conf for the json one. */
        if ((f = pc_array_push(&lmcf->formats)) == NULL)
            return NULL;
        pc_str_set(&f->name, "combined");
        src.data = (u_char *) log_combined;
        src.len = strlen(log_combined);
        if (compile_format(cf, f, &src, 1) != PC_CONF_OK)
            return NULL;
        if ((f = pc_array_push(&lmcf->formats)) == NULL)
            return NULL;
        pc_str_set(&f->name, "json");
        if (compile_json(cf, f) != PC_CONF_OK)
            return NULL;
        return lmcf;
    }
    return pc_pcalloc(cf->pool, sizeof(log_loc_conf_t));
}

static pc_rc_t
log_merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    log_loc_conf_t *prev = parent, *conf = child;

    if (conf->logs == NULL)
        conf->logs = prev->logs;
    if (conf->redact == NULL)
        conf->redact = prev->redact;
    PC_UNUSED(cf);
    return PC_OK;
}

/* An http block without any access_log logs to logs/access.log combined
 * (nginx's default): the LOG hook falls back to lmcf->dflt when a conf has
 * none.  It lives in the cycle, so a failed reload cannot leave it dangling. */
static pc_array_t *
make_default(pc_conf_t *cf, log_main_conf_t *lmcf)
{
    pc_str_t rel = pc_string("logs/access.log"), path;
    pc_array_t *a;
    log_entry_t *e;
    uint32_t fi;

    if (pc_conf_full_path(cf, &rel, &path) != PC_OK
        || (fi = find_or_add_file(cf, lmcf, &path, 0)) == UINT32_MAX
        || (a = pc_palloc(cf->pool, sizeof(pc_array_t))) == NULL
        || pc_array_init(a, cf->pool, 1, sizeof(log_entry_t)) != PC_OK
        || (e = pc_array_push(a)) == NULL)
        return NULL;
    e->file = fi;
    e->fmt = lmcf->formats.elts;   /* combined */
    return a;
}

static pc_rc_t
log_init_conf(pc_conf_t *cf)
{
    log_main_conf_t *lmcf = pc_cycle_main_conf(cf->cycle, pc_http_log_module);
    pc_http_main_conf_t *hmcf = pc_cycle_main_conf(cf->cycle, pc_http_core_module);
    log_loc_conf_t *http_conf;
    log_file_t *f;
    uint32_t i;
    pc_rc_t rc = PC_OK;

    http_conf = (hmcf && hmcf->confs) ? hmcf->confs[pc_http_log_module.index] : NULL;
    if (http_conf != NULL && http_conf->logs == NULL
        && (lmcf->dflt = make_default(cf, lmcf)) == NULL)
        return PC_ERROR;
    f = lmcf->files.elts;

    /* Semantic check for -t: every log directory exists (all reported). */
    for (i = 0; i < lmcf->files.nelts; i++) {
        char *slash;
        struct stat st;

        if (f[i].flush == PC_MSEC_UNSET)
            f[i].flush = LOG_FLUSH_DFLT;
        if (f[i].is_stderr || (slash = strrchr((char *) f[i].path.data, '/')) == NULL)
            continue;
        *slash = '\0';
        if (stat((char *) f[i].path.data, &st) != 0 || !S_ISDIR(st.st_mode)) {
            pc_conf_error_at(cf, f[i].node, "access_log directory \"%s\" does not exist",
                             (char *) f[i].path.data);
            rc = PC_ERROR;
        }
        *slash = '/';
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/* Write len bytes (whole lines) with O_APPEND; retries short writes. */
static void
write_lines(log_wfile_t *wf, const u_char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(wf->fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            pc_log(PC_LOG_ALERT, errno, "write() to access log \"%s\" failed",
                (char *) wf->conf->path.data);
            return;
        }
        p += n;
        len -= (size_t) n;
    }
}

static void
flush_file(log_wfile_t *wf)
{
    if (wf->len > 0 && wf->fd >= 0)
        write_lines(wf, wf->buf, wf->len);
    wf->len = 0;
    if (pc_worker != NULL && pc_worker->loop != NULL)
        ev_timer_stop(pc_worker->loop, &wf->timer);
}

static void
on_flush_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    PC_UNUSED(loop);
    PC_UNUSED(revents);
    flush_file(w->data);
}

static void
append_line(log_wfile_t *wf, const u_char *line, size_t len)
{
    size_t cap = wf->conf->buffer;

    if (wf->fd < 0)
        return;
    if (cap == 0 || wf->buf == NULL) {
        write_lines(wf, line, len);
        return;
    }
    if (wf->len + len > cap)
        flush_file(wf);
    if (len > cap) {
        write_lines(wf, line, len);
        return;
    }
    memcpy(wf->buf + wf->len, line, len);
    if (wf->len == 0 && pc_worker != NULL && pc_worker->loop != NULL) {
        ev_timer_set(&wf->timer, (double) wf->conf->flush / 1000.0, 0.);
        ev_timer_start(pc_worker->loop, &wf->timer);
    }
    wf->len += len;
}

/* Length of the well-formed UTF-8 sequence at v (len bytes available):
 * 2 to 4, or 0 for a byte that does not start one (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t
utf8_len(const u_char *v, size_t len)
{
    uint32_t cp;
    size_t   n, i;

    if (v[0] < 0xc2 || v[0] > 0xf4)
        return 0;
    n = v[0] < 0xe0 ? 2 : v[0] < 0xf0 ? 3 : 4;
    if (len < n)
        return 0;
    cp = v[0] & (0x3fu >> (n - 1));
    for (i = 1; i < n; i++) {
        if ((v[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (v[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* Escape v into [p, end): returns the new p (never past end).  JSON: a
 * byte that is not part of well-formed UTF-8 becomes \u00HH, so a client
 * cannot make the line invalid JSON. */
/* Copy n bytes to p; the line buffer has room (callers bound n).  Log
 * pieces are short (" - - [", "200", an address): two overlapping 8-byte
 * moves beat a call to memcpy for each of them. */
static inline u_char *
log_copy(u_char *p, const u_char *src, size_t n)
{
    uint64_t a, b;
    uint32_t c, d;

    if (n > 16)
        return pc_cpymem(p, src, n);
    if (n >= 8) {
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(p, &a, 8);
        memcpy(p + n - 8, &b, 8);
    } else if (n >= 4) {
        memcpy(&c, src, 4);
        memcpy(&d, src + n - 4, 4);
        memcpy(p, &c, 4);
        memcpy(p + n - 4, &d, 4);
    } else if (n > 0) {
        p[0] = src[0];
        p[n / 2] = src[n / 2];
        p[n - 1] = src[n - 1];
    }
    return p + n;
}

/* Bytes every escape mode copies as they are: printable ASCII but '"'
 * and '\\'.  Filled once, when the worker starts (log_init_worker). */
static uint8_t log_plain[256];

static void
log_plain_init(void)
{
    unsigned ch;

    for (ch = 0x20; ch < 0x7f; ch++)
        log_plain[ch] = ch != '"' && ch != '\\';
}

static u_char *
escape_value(u_char *p, u_char *end, const u_char *v, size_t len, log_escape_e esc)
{
    static const u_char hex[] = "0123456789abcdef";
    size_t i, j, n, lim;

    if (esc == ESC_NONE) {
        n = pc_min(len, (size_t) (end - p));
        return log_copy(p, v, n);
    }
    for (i = 0; i < len && p < end; i++) {
        u_char ch;

        /* The run of bytes that need nothing, copied at once: most
         * values (addresses, paths, agents) are one such run. */
        lim = i + pc_min(len - i, (size_t) (end - p));
        j = i;
#ifdef __SSE2__
        /* 16 bytes a step: a byte needs escaping when it is below 0x20 or
         * at/above 0x7f (signed compare: both ends at once), or '"' or '\\'. */
        for ( ; j + 16 <= lim; j += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *) (v + j));
            __m128i bad = _mm_or_si128(
                _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))),
                _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));

            if (_mm_movemask_epi8(bad) != 0)
                break;
        }
#endif
        for ( ; j + 4 <= lim && (log_plain[v[j]] & log_plain[v[j + 1]]
                                 & log_plain[v[j + 2]] & log_plain[v[j + 3]]); j += 4) { }
        while (j < lim && log_plain[v[j]])
            j++;
        p = log_copy(p, v + i, j - i);
        i = j;
        if (i >= len || p >= end)
            break;
        ch = v[i];

        if (esc == ESC_JSON) {
            if (ch >= 0x80 && (n = utf8_len(v + i, len - i)) > 0) {
                if ((size_t) (end - p) < n) break;
                p = pc_cpymem(p, v + i, n);
                i += n - 1;
            } else if (ch == '"' || ch == '\\') {
                if (end - p < 2) break;
                *p++ = '\\';
                *p++ = ch;
            } else if (ch < 0x20 || ch >= 0x7f) {
                if (end - p < 6) break;
                p = pc_cpymem(p, "\\u00", 4);
                *p++ = hex[ch >> 4];
                *p++ = hex[ch & 0xf];
            } else {
                *p++ = ch;
            }
        } else if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            if (end - p < 4) break;
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 0xf];
        } else {
            *p++ = ch;
        }
    }
    return p;
}

/* The bytes escape_value writes for v given room: its rules, counted. */
static size_t
escaped_len(const u_char *v, size_t len, log_escape_e esc)
{
    size_t i, n = 0, u;

    if (esc == ESC_NONE)
        return len;
    for (i = 0; i < len; i++) {
        u_char ch = v[i];

        if (log_plain[ch]) {
            n++;
        } else if (esc != ESC_JSON) {
            n += 4;                                 /* \xHH */
        } else if (ch >= 0x80 && (u = utf8_len(v + i, len - i)) > 0) {
            n += u;
            i += u - 1;
        } else if (ch == '"' || ch == '\\') {
            n += 2;
        } else {
            n += 6;                                 /* \u00HH */
        }
    }
    return n;
}

/* Copy a URI-bearing value with the values of redacted args replaced by
 * "***" (the rules: pc_http_log_redact.c).  The query starts after the first '?' (whole value for $args) and
 * ends at a space ("$request" ends with " HTTP/1.1"). */
static pc_str_t
redact_value(pc_pool_t *pool, pc_str_t v, const pc_array_t *names, int whole)
{
    const u_char *p = v.data, *end = v.data + v.len, *q, *stop = end;
    u_char *out, *o;

    q = whole ? p : memchr(p, '?', v.len);
    if (q == NULL)
        return v;
    if (!whole) {
        q++;
        if ((stop = memchr(q, ' ', (size_t) (end - q))) == NULL)
            stop = end;
    }
    if ((out = pc_pnalloc(pool, PC_HTTP_LOG_REDACT_BOUND(v.len))) == NULL)
        return v;
    o = pc_cpymem(out, p, (size_t) (q - p));
    o = pc_http_log_redact_query(o, q, stop, names->elts, names->nelts);
    o = pc_cpymem(o, stop, (size_t) (end - stop));
    v.data = out;
    v.len = (size_t) (o - out);
    return v;
}

/* Contract: see pc_http_log.h. */
pc_str_t
pc_http_log_redacted_request(pc_http_request_t *r)
{
    log_loc_conf_t *llcf;

    if (r->request_line.len == 0 || r->loc_conf == NULL)
        return r->request_line;
    llcf = pc_http_conf(r, pc_http_log_module);
    if (llcf == NULL || llcf->redact == NULL || llcf->redact->nelts == 0)
        return r->request_line;
    return redact_value(r->pool, r->request_line, llcf->redact, 0);
}

/* Write what the getter of direct variable d would give, at p (room for
 * LOG_D_ROOM bytes); NULL when it has no value here (the getter decides). */
static inline __attribute__((always_inline)) u_char *
render_direct(pc_http_request_t *r, unsigned d, u_char *p)
{
    int s;

    switch (d) {
    case LOG_D_STATUS:
        s = r->status < 0 || r->status > 999 ? 0 : r->status;
        p[0] = (u_char) ('0' + s / 100);
        p[1] = (u_char) ('0' + s / 10 % 10);
        p[2] = (u_char) ('0' + s % 10);
        return p + 3;
    case LOG_D_BODY_BYTES:
        return pc_u64toa(p, r->body_bytes_sent);
    case LOG_D_TIME_LOCAL:
        if (pc_time.log_local.len == 0 || pc_time.log_local.len > LOG_D_ROOM)
            return NULL;
        return log_copy(p, pc_time.log_local.data, pc_time.log_local.len);
    case LOG_D_REMOTE_ADDR:
        if (r->remote_addr.len == 0 || r->remote_addr.len > LOG_D_ROOM)
            return NULL;
        return log_copy(p, r->remote_addr.data, r->remote_addr.len);
    default:
        return NULL;
    }
}

static pc_rc_t
get_value(pc_http_request_t *r, const log_seg_t *sg, pc_str_t *v)
{
    return sg->var->get(r, v, sg->suffix.data ? (uintptr_t) &sg->suffix : sg->data);
}

/* The value of direct variable d (LOG_D_REQUEST and after) as its getter
 * would give it; false when the getter must decide (a repeated field). */
static bool
direct_value(pc_http_request_t *r, unsigned d, pc_str_t *v)
{
    if (d == LOG_D_REQUEST) {
        *v = r->request_line;
        if (v->data == NULL)
            v->len = 0;
        return true;
    }
    return pc_http_header_single(r, d == LOG_D_USER_AGENT ? PC_HTTP_H_USER_AGENT
                                                          : PC_HTTP_H_REFERER, v);
}

/* The value of sg for r, redacted when it carries a query; len 0: none. */
static inline __attribute__((always_inline)) void
seg_value(pc_http_request_t *r, const log_seg_t *sg, const pc_array_t *redact,
    pc_str_t *v)
{
    if (sg->direct >= LOG_D_REQUEST) {
        if (!direct_value(r, sg->direct, v) && get_value(r, sg, v) != PC_OK)
            v->len = 0;
    } else if (get_value(r, sg, v) != PC_OK) {
        v->len = 0;
    }
    if (v->len > 0 && sg->uri && redact != NULL && redact->nelts > 0)
        *v = redact_value(r->pool, *v, redact, v->data == r->args.data);
}

static inline log_escape_e
seg_escape(const log_format_t *fmt, const log_seg_t *sg)
{
    return sg->raw || sg->plain ? ESC_NONE : fmt->escape;
}

/* An empty value: "-" in text formats, "" in JSON ("0" for json numbers). */
static inline const char *
empty_value(const log_format_t *fmt, const log_seg_t *sg)
{
    return fmt->escape != ESC_JSON ? "-" : sg->raw ? "0" : "";
}

/* Sets f[i].cap, the bytes value i may take; the caps add up to at most
 * room.  Kept values are whole; the others share the rest evenly, a value
 * under its share whole and what it leaves shared again (max-min fairness).
 * Kept values are shared too only if they alone exceed room. */
static void
share_room(log_fair_t *f, uint32_t n, size_t room)
{
    size_t kept = 0, share;
    uint32_t i, open = 0;
    bool all, changed = true;

    for (i = 0; i < n; i++)
        kept += f[i].keep ? f[i].len : 0;
    all = kept > room;
    for (i = 0; i < n; i++) {
        f[i].cap = f[i].keep && !all ? f[i].len : SIZE_MAX;
        room -= f[i].cap == SIZE_MAX ? 0 : f[i].len;
        open += f[i].cap == SIZE_MAX;
    }
    while (open > 0 && changed) {
        share = room / open;
        changed = false;
        for (i = 0; i < n; i++) {
            if (f[i].cap == SIZE_MAX && f[i].len <= share) {
                f[i].cap = f[i].len;
                room -= f[i].len;
                open--;
                changed = true;
            }
        }
    }
    for (i = 0; i < n && open > 0; i++)
        if (f[i].cap == SIZE_MAX)
            f[i].cap = room / open;
}

/* Value f escaped in f->cap bytes at p: whole, or cut and LOG_CUT_MARK. */
static u_char *
put_fair(u_char *p, const log_fair_t *f, const char *empty, log_escape_e esc)
{
    size_t mark;

    if (f->val.len == 0)
        return f->cap >= f->len ? pc_cpymem(p, empty, f->len) : p;
    if (f->cap >= f->len)
        return escape_value(p, p + f->len, f->val.data, f->val.len, esc);
    mark = pc_min(f->cap, sizeof(LOG_CUT_MARK) - 1);
    p = escape_value(p, p + f->cap - mark, f->val.data, f->val.len, esc);
    return pc_cpymem(p, LOG_CUT_MARK, mark);
}

/* The line of fmt for r when its values may not fit in LOG_LINE_MAX (rare):
 * every value and its escaped length first, then the room shared
 * (share_room), then the line. */
static size_t
render_fair(pc_http_request_t *r, const log_format_t *fmt, const pc_array_t *redact,
    u_char *buf)
{
    log_fair_t *f = log_worker->fair;
    const log_seg_t *sg, *last = fmt->segs + fmt->nsegs;
    u_char *p = buf, *b, *q;
    uint32_t k = 0;

    for (sg = fmt->segs; sg < last; sg++) {
        if (sg->var == NULL)
            continue;
        if (sg->direct != LOG_D_NONE && sg->direct < LOG_D_REQUEST
            && (b = pc_pnalloc(r->pool, LOG_D_ROOM)) != NULL
            && (q = render_direct(r, sg->direct, b)) != NULL)
        {
            f[k].val.data = b;
            f[k].val.len = (size_t) (q - b);
        } else {
            seg_value(r, sg, redact, &f[k].val);
        }
        f[k].len = f[k].val.len == 0 ? strlen(empty_value(fmt, sg))
                 : escaped_len(f[k].val.data, f[k].val.len, seg_escape(fmt, sg));
        f[k].keep = sg->fixed || f[k].len <= LOG_SHORT;
        k++;
    }
    share_room(f, k, LOG_LINE_MAX);
    for (sg = fmt->segs, k = 0; sg < last; sg++) {
        p = pc_cpymem(p, sg->text.data, sg->text.len);
        if (sg->var == NULL)
            continue;
        p = put_fair(p, &f[k++], empty_value(fmt, sg), seg_escape(fmt, sg));
    }
    *p++ = '\n';
    return (size_t) (p - buf);
}

/* Render one line of fmt for r into buf (LOG_LINE_MAX + fmt->reserve +
 * LOG_LINE_SLACK); returns its length.  One pass: a value may use the room
 * up to the text that must follow it; one that leaves less than LOG_MARGIN
 * free may have been cut, and render_fair renders the line instead. */
static size_t
render_line(pc_http_request_t *r, const log_format_t *fmt, const pc_array_t *redact,
    u_char *buf)
{
    u_char *p = buf, *end = buf + LOG_LINE_MAX + fmt->reserve - 1, *vend, *q;
    const log_seg_t *sg = fmt->segs, *last = sg + fmt->nsegs;

    for ( ; sg < last; sg++) {
        pc_str_t v;

        /* The literal (its room is reserved): one 8-byte store when it is
         * short and the line has room for it, a value written in place and
         * all that must follow (the scratch area's slack takes what lies
         * past its length). */
        if ((size_t) (end - p) > sg->fast) {
            memcpy(p, sg->lit, sizeof(sg->lit));
            p += sg->text.len;
        } else {
            p = log_copy(p, sg->text.data, sg->text.len);
        }
        if (sg->var == NULL)
            continue;
        vend = end - sg->tail;
        if (vend - p < LOG_MARGIN)
            return render_fair(r, fmt, redact, buf);
        /* A value written in place may use LOG_D_ROOM bytes of the line. */
        if (sg->direct != LOG_D_NONE && sg->direct < LOG_D_REQUEST
            && vend - p > LOG_D_ROOM
            && (q = render_direct(r, sg->direct, p)) != NULL)
        {
            p = q;
            continue;
        }
        seg_value(r, sg, redact, &v);
        if (v.len == 0) {
            if (fmt->escape != ESC_JSON)
                *p++ = '-';
            else if (sg->raw)
                *p++ = '0';
            continue;
        }
        p = escape_value(p, vend, v.data, v.len, seg_escape(fmt, sg));
        if (vend - p < LOG_MARGIN)
            return render_fair(r, fmt, redact, buf);
    }
    *p++ = '\n';
    return (size_t) (p - buf);
}

static pc_rc_t
log_handler(pc_http_request_t *r)
{
    log_loc_conf_t *llcf = pc_http_conf(r, pc_http_log_module);
    log_main_conf_t *lmcf = pc_cycle_main_conf(r->c->cycle, pc_http_log_module);
    const pc_array_t *logs = llcf->logs ? llcf->logs : lmcf->dflt;
    const log_entry_t *e;
    uint32_t i;

    if (log_worker == NULL || logs == NULL)
        return PC_OK;
    e = logs->elts;
    for (i = 0; i < logs->nelts; i++) {
        size_t len;

        if (e[i].cond != NULL) {
            pc_str_t v;

            if (pc_http_template_eval(r, e[i].cond, &v) != PC_OK || v.len == 0
                || (v.len == 1 && v.data[0] == '0'))
                continue;
        }
        if (e[i].file >= log_worker->nfiles)
            continue;
        len = render_line(r, e[i].fmt, llcf->redact, log_worker->scratch);
        append_line(&log_worker->files[e[i].file], log_worker->scratch, len);
    }
    return PC_OK;
}

/* ------------------------------------------------------------------ */
/* Worker lifecycle                                                    */

static int
open_log(const log_file_t *f)
{
    int fd;

    if (f->is_stderr)
        return STDERR_FILENO;
    fd = open((const char *) f->path.data, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
        0644);
    if (fd < 0)
        pc_log(PC_LOG_ALERT, errno, "open() access log \"%s\" failed",
            (const char *) f->path.data);
    return fd;
}

/* SIGUSR1: flush what is buffered to the old file, then reopen. */
static void
log_reopen(void)
{
    uint32_t i;

    if (log_worker == NULL)
        return;
    for (i = 0; i < log_worker->nfiles; i++) {
        log_wfile_t *wf = &log_worker->files[i];
        int fd;

        flush_file(wf);
        if (wf->conf->is_stderr || (fd = open_log(wf->conf)) < 0)
            continue;
        if (wf->fd >= 0)
            close(wf->fd);
        wf->fd = fd;
    }
}

static pc_rc_t
log_init_worker(pc_worker_t *wk)
{
    log_main_conf_t *lmcf = pc_cycle_main_conf(wk->cycle, pc_http_log_module);
    const log_file_t *f = lmcf->files.elts;
    const log_format_t *fmt = lmcf->formats.elts;
    size_t reserve = 0;
    uint32_t i, nvars = 0;

    /* room for any format's line, and render_fair's for its variables */
    for (i = 0; i < lmcf->formats.nelts; i++) {
        reserve = pc_max(reserve, fmt[i].reserve);
        nvars = pc_max(nvars, fmt[i].nvars);
    }
    if ((log_worker = calloc(1, sizeof(*log_worker))) == NULL
        || (log_worker->scratch = malloc(LOG_LINE_MAX + reserve + LOG_LINE_SLACK)) == NULL
        || (log_worker->fair = calloc(nvars + 1, sizeof(log_fair_t))) == NULL
        || (log_worker->files = calloc(lmcf->files.nelts + 1, sizeof(log_wfile_t))) == NULL)
        return PC_ERROR;
    log_worker->nfiles = lmcf->files.nelts;
    log_plain_init();
    for (i = 0; i < lmcf->files.nelts; i++) {
        log_wfile_t *wf = &log_worker->files[i];

        wf->conf = &f[i];
        wf->fd = open_log(&f[i]);
        if (f[i].buffer > 0 && (wf->buf = malloc(f[i].buffer)) == NULL)
            return PC_ERROR;
        ev_timer_init(&wf->timer, on_flush_timer, 0., 0.);
        wf->timer.data = wf;
    }
    pc_process_on_reopen(log_reopen);
    return PC_OK;
}

static void
log_exit_worker(pc_worker_t *wk)
{
    uint32_t i;

    PC_UNUSED(wk);
    if (log_worker == NULL)
        return;
    for (i = 0; i < log_worker->nfiles; i++) {
        log_wfile_t *wf = &log_worker->files[i];

        flush_file(wf);
        if (wf->fd > STDERR_FILENO)
            close(wf->fd);
        free(wf->buf);
    }
    free(log_worker->files);
    free(log_worker->fair);
    free(log_worker->scratch);
    free(log_worker);
    log_worker = NULL;
}

static const pc_http_hook_t log_hooks[] = {
    { PC_HTTP_PHASE_LOG, 100, log_handler },
    PC_HOOK_END
};

pc_module_t pc_http_log_module = {
    "access_log",
    0,
    log_directives,
    log_hooks,
    log_create_conf,
    log_merge_conf,
    log_init_conf,
    log_init_worker,
    log_exit_worker,
    NULL,
    NULL,
    0,
    log_variables,
};
