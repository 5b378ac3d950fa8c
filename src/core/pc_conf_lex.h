/*
 * pc_conf_lex.h -- the configuration lexer (private to src/core/pc_conf*.c).
 *
 * Turns one file's bytes into words and the punctuation ; { }.  It resolves
 * quotes, escapes and ${ENV} references, so a word is final when returned.
 * Syntax errors are recorded in cf->errors with FILE:LINE and end the file
 * (PC_TOK_ERROR); an unset ${VAR} is recorded but lexing goes on (failed
 * is set) so that one run reports every missing variable.
 *
 * Rules (SPEC §3, nginx-compatible where nginx defines them):
 *   - blanks are space, tab, CR, LF; '#' at the start of a token comments
 *     out the rest of the line ('#' inside a word is an ordinary byte);
 *   - a bare word ends at a blank, ';', '{' or '}'; a backslash in it keeps
 *     the next byte from ending the word; \" \' \\ \n \t \r are decoded
 *     and any other pair is kept as written, so regexes like \.php$ work;
 *   - a word opening with " or ' runs to the matching quote (newlines
 *     allowed); inside, only \" \' \\ \n \t \r \$ are valid escapes, and
 *     the closing quote must be followed by a blank, ';', '{' or '}';
 *   - ${NAME} and ${NAME:-default} are replaced by the environment value
 *     in any word, quoted or not, and the value is taken literally (never
 *     re-lexed or expanded again).  $name without braces is an nginx
 *     runtime variable and stays as written; a literal "${" is written
 *     "\${" inside quotes.  The default is taken literally up to the first
 *     '}' on the same line; it applies when NAME is unset or empty.
 *   - a NUL byte anywhere is an error (arguments are also C strings);
 *     the parser checks this once per file before lexing.
 */
#ifndef PC_CONF_LEX_H
#define PC_CONF_LEX_H

#include <stdarg.h>
#include "core/pc_conf.h"

typedef enum {
    PC_TOK_WORD = 0,   /* lx->word[0 .. lx->len), NUL-terminated         */
    PC_TOK_SEMI,
    PC_TOK_OPEN,
    PC_TOK_CLOSE,
    PC_TOK_EOF,
    PC_TOK_ERROR       /* recorded in cf->errors; stop reading this file  */
} pc_conf_tok_e;

typedef struct {
    pc_conf_t      *cf;
    const char     *file;     /* name used in messages and nodes          */
    size_t          dir_len;  /* file[0..dir_len) is the include base dir  */
    const u_char   *p;        /* cursor                                   */
    const u_char   *end;
    uint32_t        line;     /* line of the cursor, from 1               */
    u_char         *word;     /* malloc'ed scratch holding the last word  */
    size_t          len;
    size_t          cap;
    bool            failed;   /* a non-fatal error was recorded           */
} pc_conf_lexer_t;

/* Start lexing buf[0..len) (not copied: it must outlive the lexer). */
void pc_conf_lex_init(pc_conf_lexer_t *lx, pc_conf_t *cf, const char *file,
    const u_char *buf, size_t len);

/* Next token; *line is the line where it starts. */
pc_conf_tok_e pc_conf_lex_next(pc_conf_lexer_t *lx, uint32_t *line);

/* Release the scratch buffer. */
void pc_conf_lex_free(pc_conf_lexer_t *lx);

/* Record "MESSAGE in FILE:LINE" (no location when file is NULL) in
 * cf->errors; implemented in pc_conf.c.  Returns PC_CONF_ERROR. */
const char *pc_conf_verror_in(pc_conf_t *cf, const char *file, uint32_t line,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
const char *pc_conf_error_in(pc_conf_t *cf, const char *file, uint32_t line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Printable form of byte c for messages: "x", or "\x1f" for control and
 * non-ASCII bytes.  buf needs 5 bytes. */
const char *pc_conf_show_char(u_char c, char *buf);

#endif /* PC_CONF_LEX_H */
