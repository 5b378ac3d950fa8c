/*
 * pc_conf_lex.c -- the configuration lexer; the rules are in pc_conf_lex.h.
 *
 * Memory: the current word is built in a malloc'ed scratch buffer owned by
 * the lexer (escapes and ${ENV} change lengths, so words cannot point into
 * the file); the parser copies each word into the cycle pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_conf_lex.h"

/* Longest accepted environment variable name (a guard, not a POSIX rule). */
#define PC_CONF_ENV_NAME_MAX  255

static bool
is_blank(u_char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Bytes that end a bare word (and may follow a closing quote). */
static bool
ends_word(u_char c)
{
    return is_blank(c) || c == ';' || c == '{' || c == '}';
}

static bool
is_name_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}

/* Escapes decoded in both quoted and bare words: the decoded byte, or 0. */
static u_char
common_escape(u_char c)
{
    switch (c) {
    case '"':  return '"';
    case '\'': return '\'';
    case '\\': return '\\';
    case 'n':  return '\n';
    case 't':  return '\t';
    case 'r':  return '\r';
    default:   return 0;
    }
}

/* See pc_conf_lex.h. */
const char *
pc_conf_show_char(u_char c, char *buf)
{
    if (c >= 0x20 && c < 0x7f) {
        buf[0] = (char) c;
        buf[1] = '\0';
    } else {
        snprintf(buf, 5, "\\x%02x", c);
    }
    return buf;
}

static pc_conf_tok_e
lex_error(pc_conf_lexer_t *lx, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static pc_conf_tok_e
lex_error(pc_conf_lexer_t *lx, uint32_t line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pc_conf_verror_in(lx->cf, lx->file, line, fmt, ap);
    va_end(ap);
    return PC_TOK_ERROR;
}

/* See pc_conf_lex.h. */
void
pc_conf_lex_init(pc_conf_lexer_t *lx, pc_conf_t *cf, const char *file,
    const u_char *buf, size_t len)
{
    lx->cf = cf;
    lx->file = file;
    lx->dir_len = 0;
    /* A UTF-8 byte order mark (some Windows editors write one) is not part
     * of the first word; skip it in every file, included ones too. */
    if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) {
        buf += 3;
        len -= 3;
    }
    lx->p = buf;
    lx->end = buf + len;
    lx->line = 1;
    lx->word = NULL;
    lx->len = 0;
    lx->cap = 0;
    lx->failed = false;
}

/* See pc_conf_lex.h. */
void
pc_conf_lex_free(pc_conf_lexer_t *lx)
{
    free(lx->word);
    lx->word = NULL;
    lx->cap = 0;
}

/* Make room for n more bytes plus the terminating NUL. */
static pc_rc_t
reserve(pc_conf_lexer_t *lx, size_t n)
{
    size_t cap;
    u_char *w;

    if (lx->cap - lx->len > n)
        return PC_OK;
    if (n > SIZE_MAX / 2 - lx->len)
        return PC_ERROR;
    cap = pc_max(lx->cap * 2, pc_max(lx->len + n + 1, (size_t) 256));
    w = realloc(lx->word, cap);
    if (w == NULL)
        return PC_ERROR;
    lx->word = w;
    lx->cap = cap;
    return PC_OK;
}

static pc_rc_t
put(pc_conf_lexer_t *lx, const void *s, size_t n)
{
    if (reserve(lx, n) != PC_OK) {
        lex_error(lx, lx->line, "out of memory while reading a word");
        return PC_ERROR;
    }
    memcpy(lx->word + lx->len, s, n);
    lx->len += n;
    return PC_OK;
}

static pc_rc_t
put_byte(pc_conf_lexer_t *lx, u_char c)
{
    if (lx->cap - lx->len > 1) {          /* fast path: room for c and NUL */
        lx->word[lx->len++] = c;
        return PC_OK;
    }
    return put(lx, &c, 1);
}

/* Report a malformed "${" at lx->p, quoting at most one line of it. */
static pc_rc_t
bad_reference(pc_conf_lexer_t *lx)
{
    const u_char *p = lx->p, *stop;
    int n;

    stop = p + pc_min((size_t) (lx->end - p), (size_t) 64);
    for (n = 0; p + n < stop && p[n] != '\n' && p[n] != '\r'; n++) {
        if (p[n] == '}') {
            n++;
            break;
        }
    }
    lex_error(lx, lx->line, "invalid environment variable reference \"%.*s\", "
              "expected \"${NAME}\" or \"${NAME:-default}\"", n, (const char *) p);
    return PC_ERROR;
}

/* Append the value of the "${...}" at lx->p and move past its "}". */
static pc_rc_t
expand_env(pc_conf_lexer_t *lx)
{
    const u_char *name = lx->p + 2, *p = name, *dflt = NULL, *dend = NULL;
    char buf[PC_CONF_ENV_NAME_MAX + 1];
    const char *val;
    size_t nlen;

    while (p < lx->end && is_name_char(*p))
        p++;
    nlen = (size_t) (p - name);
    if (nlen == 0 || nlen > PC_CONF_ENV_NAME_MAX || (*name >= '0' && *name <= '9'))
        return bad_reference(lx);

    if (p < lx->end && *p == '}') {
        p++;
    } else if (lx->end - p >= 2 && p[0] == ':' && p[1] == '-') {
        dflt = p + 2;
        for (dend = dflt; dend < lx->end && *dend != '}' && *dend != '\n'; dend++)
            /* void */ ;
        if (dend == lx->end || *dend != '}')
            return bad_reference(lx);
        p = dend + 1;
    } else {
        return bad_reference(lx);
    }

    memcpy(buf, name, nlen);
    buf[nlen] = '\0';
    val = getenv(buf);
    lx->p = p;

    if (val != NULL && (dflt == NULL || *val != '\0'))
        return put(lx, val, strlen(val));
    if (dflt != NULL)
        return put(lx, dflt, (size_t) (dend - dflt));

    /* Recoverable: keep lexing so that every unset variable is reported. */
    pc_conf_error_in(lx->cf, lx->file, lx->line, "environment variable \"%s\" is "
                     "not set (use \"${%s:-default}\" to give a default)", buf, buf);
    lx->failed = true;
    return PC_OK;
}

/* lx->p is at a backslash inside a quoted word.  Unknown pairs are kept as
 * written, as nginx does, so that quoted regexes ("^/api/(\d+)") read the
 * same as in an nginx config. */
static pc_rc_t
quoted_escape(pc_conf_lexer_t *lx)
{
    u_char c = lx->p[1], d;

    d = (c == '$') ? '$' : common_escape(c);
    lx->p += 2;
    if (d != 0)
        return put_byte(lx, d);
    if (c == '\n')
        lx->line++;
    return put(lx, "\\", 1) == PC_OK ? put_byte(lx, c) : PC_ERROR;
}

/* What may follow a closing quote: a blank, ; { } or the end. */
static pc_conf_tok_e
after_quote(pc_conf_lexer_t *lx)
{
    char show[5];

    if (lx->p == lx->end || ends_word(*lx->p))
        return PC_TOK_WORD;
    return lex_error(lx, lx->line, "unexpected \"%s\" after a quoted argument",
                     pc_conf_show_char(*lx->p, show));
}

static pc_conf_tok_e
lex_quoted(pc_conf_lexer_t *lx)
{
    u_char q = *lx->p++, c;
    uint32_t start = lx->line;
    pc_rc_t rc;

    while (lx->p < lx->end) {
        c = *lx->p;
        if (c == q) {
            lx->p++;
            return after_quote(lx);
        }
        if (c == '\\' && lx->end - lx->p >= 2) {
            rc = quoted_escape(lx);
        } else if (c == '$' && lx->end - lx->p >= 2 && lx->p[1] == '{') {
            rc = expand_env(lx);
        } else if (c == '\\') {
            break;                      /* backslash, then end of file */
        } else {
            if (c == '\n')
                lx->line++;
            lx->p++;
            rc = put_byte(lx, c);
        }
        if (rc != PC_OK)
            return PC_TOK_ERROR;
    }
    /* Reported where the quote opened: that is where the fix usually is. */
    return lex_error(lx, start, "unbalanced quote");
}

/* lx->p is at a backslash inside a bare word. */
static pc_rc_t
bare_escape(pc_conf_lexer_t *lx)
{
    u_char c, d;

    if (lx->end - lx->p < 2) {
        lx->p++;
        return put_byte(lx, '\\');
    }
    c = lx->p[1];
    lx->p += 2;
    d = common_escape(c);
    if (d != 0)
        return put_byte(lx, d);
    if (c == '\n')
        lx->line++;
    /* Unknown pair kept as written (nginx does the same): regexes. */
    return put(lx, "\\", 1) == PC_OK ? put_byte(lx, c) : PC_ERROR;
}

static pc_conf_tok_e
lex_bare(pc_conf_lexer_t *lx)
{
    u_char c;
    pc_rc_t rc;

    while (lx->p < lx->end) {
        c = *lx->p;
        if (ends_word(c))
            break;
        if (c == '\\') {
            rc = bare_escape(lx);
        } else if (c == '$' && lx->end - lx->p >= 2 && lx->p[1] == '{') {
            rc = expand_env(lx);
        } else {
            lx->p++;
            rc = put_byte(lx, c);
        }
        if (rc != PC_OK)
            return PC_TOK_ERROR;
    }
    return PC_TOK_WORD;
}

/* Skip blanks and comments, counting lines. */
static void
skip_blanks(pc_conf_lexer_t *lx)
{
    const u_char *nl;

    while (lx->p < lx->end) {
        if (*lx->p == '#') {
            nl = memchr(lx->p, '\n', (size_t) (lx->end - lx->p));
            lx->p = nl ? nl : lx->end;
            continue;
        }
        if (!is_blank(*lx->p))
            return;
        if (*lx->p == '\n')
            lx->line++;
        lx->p++;
    }
}

/* See pc_conf_lex.h. */
pc_conf_tok_e
pc_conf_lex_next(pc_conf_lexer_t *lx, uint32_t *line)
{
    pc_conf_tok_e tok;

    skip_blanks(lx);
    *line = lx->line;
    lx->len = 0;
    if (lx->p == lx->end)
        return PC_TOK_EOF;

    switch (*lx->p) {
    case ';':
        lx->p++;
        return PC_TOK_SEMI;
    case '{':
        lx->p++;
        return PC_TOK_OPEN;
    case '}':
        lx->p++;
        return PC_TOK_CLOSE;
    case '"':
    case '\'':
        tok = lex_quoted(lx);
        break;
    default:
        tok = lex_bare(lx);
        break;
    }
    if (tok != PC_TOK_WORD)
        return tok;
    /* An empty quoted word still needs its NUL. */
    if (reserve(lx, 0) != PC_OK)
        return lex_error(lx, lx->line, "out of memory while reading a word");
    lx->word[lx->len] = '\0';
    return PC_TOK_WORD;
}
