/*
 * rewrite.h -- the pure parts of `rewrite`: flags, what counts as a
 * redirect, and how a replacement becomes the new URI and arguments
 * (nginx rules).  No request, no I/O: unit-tested alone.
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
 * Split a replacement as written in the configuration at its first '?'
 * (after a final '?' was taken off): *path is what comes before it, *args
 * what follows (pointing into repl).  Only a '?' written in the
 * replacement starts the arguments: one that a variable or a capture
 * brings at run time ($uri is percent-decoded, so a client's %3F) stays a
 * path byte, as in nginx.  A '?' cannot be part of a variable name, so the
 * first one in the text is always literal.  Returns true when there was a
 * '?' (*args then set, maybe empty), false otherwise (*path = *repl).
 */
bool pc_rewrite_split_template(const pc_str_t *repl, pc_str_t *path, pc_str_t *args);

/*
 * The request's new arguments from the evaluated args part of the
 * replacement (fresh; NULL when the replacement had no literal '?') and
 * its current args (old), by nginx rules:
 *   fresh NULL            → old            (nothing when drop_args)
 *   fresh "a=1"           → "a=1&" old     (just "a=1" when old is empty
 *                                           or drop_args)
 *   fresh ""              → old            (nothing when drop_args)
 * drop_args: the replacement ended with '?'.  *args points into fresh or
 * old, or is a new string from pool.  PC_OK, PC_ERROR on ENOMEM.
 */
pc_rc_t pc_rewrite_args(pc_pool_t *pool, const pc_str_t *fresh, const pc_str_t *old,
    bool drop_args, pc_str_t *args);

/* "uri" or "uri?args" into pool, for a Location field.  A '?' or '#' in
 * uri (only a variable or a capture can bring one) is written %3F / %23,
 * so that it stays in the path of the URL.  PC_OK / PC_ERROR (ENOMEM). */
pc_rc_t pc_rewrite_join(pc_pool_t *pool, const pc_str_t *uri, const pc_str_t *args,
    pc_str_t *out);

#endif /* PC_REWRITE_H */
