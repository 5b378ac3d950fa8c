/*
 * regex_pcre.h -- a thin PCRE2 wrapper for the regex module: compile with
 * JIT, match with the process's match data and match context (limits set
 * so that a pathological pattern cannot hold a worker), walk the names of
 * named groups.  No HTTP here, so it can be unit-tested alone.
 */
#ifndef PC_REGEX_PCRE_H
#define PC_REGEX_PCRE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/pc_core.h"

/* Limits for every match (see doc/modules/regex.md).  match_limit bounds
 * backtracking steps (JIT and interpreter), depth and heap the
 * interpreter's recursion; the JIT stack bounds the JIT's. */
#define PC_REGEX_MATCH_LIMIT   100000
#define PC_REGEX_DEPTH_LIMIT   10000
#define PC_REGEX_HEAP_LIMIT_KB 4096
#define PC_REGEX_JIT_STACK_MIN (32 * 1024)
#define PC_REGEX_JIT_STACK_MAX (512 * 1024)

/* Most capture groups a pattern may have (PCRE2's own ceiling is 65535;
 * match data for every worker is sized by the largest pattern). */
#define PC_REGEX_MAX_CAPTURES  255

typedef struct {
    pcre2_code    *code;
    uint32_t       ncaptures;     /* groups, not counting the whole match */
    uint32_t       nnames;        /* named groups                          */
    uint32_t       name_size;     /* bytes per name table entry            */
    const u_char  *name_table;    /* PCRE2's: 2-byte group number + name   */
    unsigned       jit:1;         /* JIT-compiled                           */
} pc_regex_t;

/*
 * Compile pattern p[0..len) (bytes, not UTF; caseless when asked) and try
 * to JIT it.  On success PC_OK, re filled; its code must be released with
 * pc_regex_free.  On failure PC_ERROR with PCRE2's message in err (always
 * NUL-terminated) and the offset of the error in *offset; a pattern over
 * PC_REGEX_MAX_CAPTURES groups fails the same way.
 */
pc_rc_t pc_regex_compile(pc_regex_t *re, const u_char *p, size_t len, int caseless,
    char *err, size_t errlen, size_t *offset);

/* Release re's code (NULL code accepted).  Usable as a pool cleanup. */
void pc_regex_free(void *re);

/* Name and group number of named group i (0 <= i < re->nnames). */
void pc_regex_name(const pc_regex_t *re, uint32_t i, pc_str_t *name, uint32_t *group);

/*
 * Match s[0..len) against re with the process's match data (grown to fit
 * re when needed) and limits.  Returns the number of ovector pairs set
 * (>= 1) on a match with *ovector pointing at them (valid until the next
 * match in this process), 0 for no match, or a negative PCRE2 error code
 * (match limit, JIT stack limit, ENOMEM as PCRE2_ERROR_NOMEMORY).
 */
int pc_regex_exec(const pc_regex_t *re, const u_char *s, size_t len,
    const size_t **ovector);

/* PCRE2's text for a (negative) error code into buf (NUL-terminated). */
void pc_regex_strerror(int code, char *buf, size_t len);

/* Create this process's matcher (match context with limits, JIT stack,
 * match data for pairs ovector pairs).  Idempotent; pc_regex_exec calls
 * it lazily too.  PC_OK / PC_ERROR (ENOMEM). */
pc_rc_t pc_regex_matcher_init(uint32_t pairs);

/* Free this process's matcher (worker exit, tests). */
void pc_regex_matcher_free(void);

/* True when PCRE2 was built with JIT support. */
bool pc_regex_jit_available(void);

#endif /* PC_REGEX_PCRE_H */
