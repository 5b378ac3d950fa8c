/*
 * pc_conf.h -- the configuration language (SPEC §3) and directive dispatch.
 *
 * Two steps, kept apart so each can be tested and fuzzed alone:
 *
 *   1. pc_conf_parse_file(): lexer + parser build a tree of pc_conf_node_t
 *      with `include` globs expanded, ${ENV} / ${ENV:-default} substituted,
 *      quotes and escapes resolved.  Every node knows its FILE:LINE.
 *   2. pc_conf_dispatch(): walks the tree, finds each directive in the
 *      directive tables that modules declare (pc_module.h), checks context,
 *      argument count and duplicates, and calls the directive's setter.
 *
 * Errors never stop at the first one when they need not: every error is
 * recorded as "MESSAGE in FILE:LINE" in cf->errors, and the caller prints
 * them ("portcullis: [emerg] ...") or logs them on reload.
 */
#ifndef PC_CONF_H
#define PC_CONF_H

#include <stdio.h>
#include "core/pc_types.h"
#include "core/pc_pool.h"

/* Where a directive may appear (bit mask). */
#define PC_CTX_MAIN      0x0001
#define PC_CTX_EVENTS    0x0002
#define PC_CTX_HTTP      0x0004
#define PC_CTX_SERVER    0x0008
#define PC_CTX_LOCATION  0x0010
#define PC_CTX_UPSTREAM  0x0020
#define PC_CTX_MAP       0x0040   /* body of a map { } block (regex module) */
#define PC_CTX_ANY       0x00ff

/* Scopes at which modules keep a configuration struct (merged downwards). */
typedef enum {
    PC_SCOPE_MAIN = 0,    /* one per cycle: main + events directives */
    PC_SCOPE_HTTP,
    PC_SCOPE_SERVER,
    PC_SCOPE_LOCATION,
    PC_SCOPE__COUNT
} pc_scope_e;

/* One directive or block as written in the file (after include expansion). */
struct pc_conf_node_s {
    pc_str_t         name;
    pc_str_t        *args;        /* args[0 .. nargs), each NUL-terminated too */
    uint32_t         nargs;
    unsigned         block:1;     /* written with { }                          */
    pc_conf_node_t  *children;    /* first child of a block                    */
    pc_conf_node_t  *next;        /* next sibling                              */
    const char      *file;        /* NUL-terminated path as resolved           */
    uint32_t         line;
};

typedef const char *(*pc_conf_set_pt)(pc_conf_t *cf, const pc_directive_t *d,
    void *conf);

/* Directive flags */
#define PC_CONF_BLOCK    0x01   /* must be written with a { } block           */
#define PC_CONF_MULTI    0x02   /* may repeat in one context (no duplicate check) */
#define PC_CONF_ARGS_ANY -1     /* max_args: no upper bound                   */

/*
 * One row of a directive table.  Bounds and defaults live here (Redis
 * static_configs style) so the standard setters can validate values.
 */
struct pc_directive_s {
    const char      *name;
    unsigned         contexts;    /* PC_CTX_* mask                          */
    int              min_args;
    int              max_args;    /* or PC_CONF_ARGS_ANY                    */
    unsigned         flags;       /* PC_CONF_*                              */
    pc_conf_set_pt   set;
    size_t           offset;      /* field offset in the module conf struct */
    int64_t          min;         /* numeric bounds for standard setters    */
    int64_t          max;         /*   (0, 0 = unbounded)                   */
    const void      *post;        /* setter-specific (e.g. pc_conf_enum_t[]) */
};

#define PC_DIRECTIVE_END  { NULL, 0, 0, 0, 0, NULL, 0, 0, 0, NULL }

/* Name → value table for pc_conf_set_enum, ended by { NULL, 0 }. */
typedef struct {
    const char *name;
    intptr_t    value;
} pc_conf_enum_t;

/* The dispatch context handed to setters, create_conf and merge_conf. */
struct pc_conf_s {
    pc_cycle_t      *cycle;
    pc_pool_t       *pool;        /* the cycle pool                             */
    pc_pool_t       *temp_pool;   /* freed after loading                        */
    pc_conf_node_t  *node;        /* directive being processed (args, FILE:LINE) */
    unsigned         ctx;         /* PC_CTX_* of the block being walked         */
    pc_scope_e       scope;       /* scope whose confs ctx_confs holds          */
    void           **ctx_confs;   /* per-module confs of the current block, indexed by module->index */
    void            *block;       /* object of the enclosing block (upstream being defined, map, ...) */
    const char      *prefix;      /* -p PREFIX, with a trailing '/'             */
    char           **errors;      /* "MESSAGE in FILE:LINE" strings (temp_pool) */
    uint32_t         nerrors;
    uint32_t         errors_cap;
    unsigned         no_include:1; /* "include" is an error and no file is opened
                                      (the fuzzer: never read host files) */
};

/* A setter returns NULL on success, a short static message on failure (the
 * core adds the directive name and FILE:LINE), or PC_CONF_ERROR when it has
 * already reported the problem with pc_conf_error(). */
#define PC_CONF_OK     NULL
#define PC_CONF_ERROR  ((const char *) -1)

/*
 * Parse the file at path (and everything it includes) into a tree allocated
 * from cf->pool.  Returns the root (a pseudo-block whose children are the
 * top-level directives) or NULL after recording the errors in cf.
 * Rejects: unbalanced braces, a missing ';', an unterminated quote, a bad
 * escape, an unset ${VAR} without default, an include glob that matches
 * nothing when it has no wildcard, include nesting deeper than 16, a file
 * over 16 MiB.
 */
pc_conf_node_t *pc_conf_parse_file(pc_conf_t *cf, const char *path);

/* Same, from a memory buffer (name is used in error messages).  For tests
 * and the fuzzer; include globs are resolved relative to the cwd. */
pc_conf_node_t *pc_conf_parse_buffer(pc_conf_t *cf, const char *name,
    const u_char *buf, size_t len);

/*
 * Dispatch the children of block in context ctx: each child is looked up in
 * every registered module's directive table; context, argument count and
 * duplicates (unless PC_CONF_MULTI) are checked, then the setter is called
 * with conf = cf->ctx_confs[module->index] (or NULL when ctx_confs is NULL).
 * Saves and restores cf->node.  Returns PC_OK or PC_ERROR (errors recorded).
 */
pc_rc_t pc_conf_dispatch(pc_conf_t *cf, pc_conf_node_t *block, unsigned ctx);

/*
 * Helper for block setters: walk cf->node's children in context ctx with
 * scope/confs/block set as given, restoring every cf field afterwards.
 */
pc_rc_t pc_conf_block(pc_conf_t *cf, unsigned ctx, pc_scope_e scope,
    void **confs, void *block);

/* Record an error at cf->node's FILE:LINE (or "in FILE:LINE" of node when
 * given). Returns PC_CONF_ERROR so setters can `return pc_conf_error(...)`. */
const char *pc_conf_error(pc_conf_t *cf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *pc_conf_error_at(pc_conf_t *cf, const pc_conf_node_t *node,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print the effective configuration (includes expanded) for -T. */
void pc_conf_dump(const pc_conf_node_t *root, FILE *out);

/* Standard setters (use with the offset/min/max/post of the directive). */
const char *pc_conf_set_flag(pc_conf_t *cf, const pc_directive_t *d, void *conf);  /* int: on|off      */
const char *pc_conf_set_num(pc_conf_t *cf, const pc_directive_t *d, void *conf);   /* intptr_t         */
const char *pc_conf_set_size(pc_conf_t *cf, const pc_directive_t *d, void *conf);  /* size_t: 16k 10m  */
const char *pc_conf_set_msec(pc_conf_t *cf, const pc_directive_t *d, void *conf);  /* pc_msec_t: 500ms 10s */
const char *pc_conf_set_str(pc_conf_t *cf, const pc_directive_t *d, void *conf);   /* pc_str_t         */
const char *pc_conf_set_path(pc_conf_t *cf, const pc_directive_t *d, void *conf);  /* pc_str_t, resolved against the prefix */
const char *pc_conf_set_enum(pc_conf_t *cf, const pc_directive_t *d, void *conf);  /* intptr_t from post */

/* Value parsers shared by custom setters.  PC_OK / PC_ERROR. */
pc_rc_t pc_conf_parse_size(const pc_str_t *s, size_t *out);       /* 512 16k 10m 1g     */
pc_rc_t pc_conf_parse_msec(const pc_str_t *s, pc_msec_t *out);    /* 500ms 10s 5m 1h 1d; bare = seconds */
pc_rc_t pc_conf_parse_int(const pc_str_t *s, int64_t *out);       /* decimal, no sign   */
pc_rc_t pc_conf_parse_flag(const pc_str_t *s, int *out);          /* on / off           */

/* Resolve a relative path against cf->prefix into the cycle pool (NUL-terminated). */
pc_rc_t pc_conf_full_path(pc_conf_t *cf, const pc_str_t *in, pc_str_t *out);

/* Merge helpers for merge_conf: keep the child's value, else the parent's, else the default. */
#define PC_CONF_MERGE(conf, prev, unset, dflt)                          \
    do {                                                                \
        if ((conf) == (unset)) (conf) = ((prev) == (unset)) ? (dflt) : (prev); \
    } while (0)
#define PC_CONF_MERGE_STR(conf, prev, dflt)                             \
    do {                                                                \
        if ((conf).data == NULL) {                                      \
            if ((prev).data) (conf) = (prev);                           \
            else pc_str_set(&(conf), dflt);                             \
        }                                                               \
    } while (0)

#endif /* PC_CONF_H */
