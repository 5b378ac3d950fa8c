/*
 * regex.h -- private glue between the files of the regex module:
 * regex_conf.c (directives, compile, map blocks) and regex.c (matching,
 * capture variables, map lookups, rewrite).
 */
#ifndef PC_REGEX_H
#define PC_REGEX_H

#include "http/pc_http.h"
#include "regex/regex_pcre.h"
#include "regex/rewrite.h"

extern pc_module_t pc_regex_module;

/* The most location searches one request may go through (rewrite ...
 * last, URI changes): one more is a loop, answered with 500 (nginx: 10). */
#define PC_REGEX_MAX_CYCLES  10

typedef struct pc_regex_main_conf_s pc_regex_main_conf_t;

/* A named group of a compiled regex: which variable it feeds. */
typedef struct {
    uint32_t              group;
    uint32_t              var;         /* index in main conf names       */
} pc_regex_named_t;

/* What pc_http_regex_ops->compile hands out (cycle pool). */
typedef struct {
    pc_regex_t            re;
    pc_str_t              source;      /* as written, for logs           */
    pc_regex_named_t     *named;       /* re.nnames of them              */
    pc_regex_main_conf_t *mcf;
} pc_regex_compiled_t;

/* map $src $dst { ... } */
typedef struct {
    pc_str_t              key;         /* lowercased                     */
    pc_http_template_t   *value;
} pc_regex_map_exact_t;

typedef struct {
    pc_regex_compiled_t  *rx;
    pc_http_template_t   *value;
} pc_regex_map_rx_t;

typedef struct {
    pc_str_t              name;        /* $dst without '$'               */
    pc_http_template_t   *source;
    pc_regex_map_exact_t *exact;       /* sorted by key                  */
    uint32_t              nexact;
    pc_regex_map_rx_t    *regex;       /* config order                   */
    uint32_t              nregex;
    pc_http_template_t   *dflt;        /* NULL: empty                    */
    uint32_t              index;       /* slot in the request's cache    */
    pc_regex_main_conf_t *mcf;
} pc_regex_map_t;

/* rewrite RE REPLACEMENT [flag] */
typedef struct {
    pc_regex_compiled_t  *rx;
    pc_http_template_t   *replacement; /* the path: before the first '?' */
    pc_http_template_t   *args;        /* after it (NULL: none or empty) */
    pc_rewrite_flag_e     flag;
    unsigned              has_args:1;  /* a literal '?' (final one aside) */
    unsigned              drop_args:1; /* replacement ended with '?'     */
    unsigned              redirect:1;  /* flag, or an absolute URL       */
    const char           *file;
    uint32_t              line;
} pc_regex_rewrite_t;

struct pc_regex_main_conf_s {
    pc_array_t            names;       /* pc_str_t: named-capture variables */
    uint32_t              nmaps;
    uint32_t              max_pairs;   /* largest ncaptures + 1          */
};

/* SERVER and LOCATION scope: that block's own rewrites (not inherited:
 * the server's run before the location is chosen, as in nginx). */
typedef struct {
    pc_array_t           *rewrites;    /* pc_regex_rewrite_t, or NULL    */
} pc_regex_conf_t;

/* regex.c */
extern const pc_http_regex_ops_t pc_regex_ops;
extern const pc_http_variable_t pc_regex_variables[];
pc_rc_t pc_regex_named_var(pc_http_request_t *r, pc_str_t *out, uintptr_t data);
pc_rc_t pc_regex_map_var(pc_http_request_t *r, pc_str_t *out, uintptr_t data);
pc_rc_t pc_regex_rewrite_handler(pc_http_request_t *r);

/* regex_conf.c */
void *pc_regex_compile_op(pc_conf_t *cf, const pc_str_t *re, int caseless);

#endif /* PC_REGEX_H */
