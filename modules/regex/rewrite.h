/*
 * rewrite.h -- the pure parts of `rewrite`: flags, what counts as a
 * redirect, and how the evaluated replacement becomes the new URI and
 * arguments (nginx rules).  No request, no I/O: unit-tested alone.
 */
#ifndef PC_REWRITE_H
#define PC_REWRITE_H

#include "core/pc_core.h"

typedef enum {
    PC_REWRITE_NONE = 0,    /* go on with the next rewrite               */
    PC_REWRITE_LAST,        /* stop, search the location for the new URI */
    PC_REWRITE_BREAK,       /* stop, stay in this location               */
    PC_REWRITE_REDIRECT,    /* 302 with Location                         */
    PC_REWRITE_PERMANENT    /* 301 with Location                         */
} pc_rewrite_flag_e;

/* The flag named s ("last", "break", "redirect", "permanent"); PC_OK, or
 * PC_ERROR for anything else. */
pc_rc_t pc_rewrite_parse_flag(const pc_str_t *s, pc_rewrite_flag_e *flag);

/* A replacement that starts with "http://", "https://" or "$scheme" is a
 * redirect even without a flag. */
bool pc_rewrite_is_absolute(const pc_str_t *replacement);

/*
 * Split the evaluated replacement at its first '?' into *uri and the new
 * arguments, then combine with the request's current args (old):
 *   no '?' in result   → args = old
 *   "new?a=1"          → args = "a=1&" old   (just "a=1" when old is empty)
 *   drop_args (the replacement ended with '?') → args = what follows '?'
 *                        in the result, old dropped
 * *uri points into result; *args into result or old, or a new string
 * from pool.  PC_OK, PC_ERROR on ENOMEM.
 */
pc_rc_t pc_rewrite_split(pc_pool_t *pool, const pc_str_t *result, const pc_str_t *old,
    bool drop_args, pc_str_t *uri, pc_str_t *args);

/* "uri" or "uri?args" into pool, for a Location field.  PC_OK / PC_ERROR. */
pc_rc_t pc_rewrite_join(pc_pool_t *pool, const pc_str_t *uri, const pc_str_t *args,
    pc_str_t *out);

#endif /* PC_REWRITE_H */
