/*
 * pc_conf.c -- configuration parser (tree building, include), error
 * recording, directive dispatch, standard setters and the -T dump.  The
 * lexer is in pc_conf_lex.c.
 *
 * Memory: the tree, its words and file names live in cf->pool (the cycle
 * pool); error strings in cf->temp_pool (cf->pool when there is none).  File
 * contents, the statement being assembled and glob results are malloc'ed
 * scratch released before returning, on every path.
 *
 * This file uses only pc_conf_t fields, the pool and pc_modules[]: no log,
 * no cycle, so unit tests and the fuzzer link it with pool + str alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pc_conf.h"
#include "core/pc_conf_lex.h"
#include "core/pc_module.h"
#include "core/pc_str.h"

#define PC_CONF_MAX_FILE     ((size_t) 16 * 1024 * 1024)
#define PC_CONF_MAX_INCLUDE  16     /* nested include levels          */
#define PC_CONF_MAX_NESTING  64     /* nested { } blocks, across files */

typedef struct {
    dev_t  dev;
    ino_t  ino;
} file_id_t;

/* Where the next node of a block goes. */
typedef struct {
    pc_conf_node_t  **tail;
} node_list_t;

/* State shared by every file of one parse. */
typedef struct {
    pc_conf_t   *cf;
    pc_str_t    *words;       /* statement being read (data in cf->pool)  */
    uint32_t     nwords;
    uint32_t     wcap;
    uint32_t     wline;       /* line of words[0]                         */
    unsigned     nesting;     /* open blocks                              */
    file_id_t    open[PC_CONF_MAX_INCLUDE + 1];  /* files being read     */
    unsigned     nopen;
    unsigned     depth;       /* files (or buffers) being parsed          */
    bool         failed;      /* an error was recorded: no tree           */
} parser_t;

/* ---------------------------------------------------------------- errors */

/* See pc_conf_lex.h.  Allocation failures drop the message (the caller's
 * return code still says it failed). */
const char *
pc_conf_verror_in(pc_conf_t *cf, const char *file, uint32_t line,
    const char *fmt, va_list ap)
{
    pc_pool_t *pool = cf->temp_pool ? cf->temp_pool : cf->pool;
    char **grown, *msg;
    va_list aq;
    int n, m;

    va_copy(aq, ap);
    n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0)
        return PC_CONF_ERROR;
    m = file ? snprintf(NULL, 0, " in %s:%u", file, line) : 0;
    msg = pc_pnalloc(pool, (size_t) n + (size_t) m + 1);
    if (msg == NULL)
        return PC_CONF_ERROR;
    vsnprintf(msg, (size_t) n + 1, fmt, ap);
    if (file)
        snprintf(msg + n, (size_t) m + 1, " in %s:%u", file, line);

    if (cf->nerrors == cf->errors_cap) {
        if (cf->errors_cap > UINT32_MAX / 2)
            return PC_CONF_ERROR;
        m = cf->errors_cap ? (int) cf->errors_cap * 2 : 8;
        grown = pc_palloc(pool, (size_t) m * sizeof(char *));
        if (grown == NULL)
            return PC_CONF_ERROR;
        if (cf->nerrors)
            memcpy(grown, cf->errors, cf->nerrors * sizeof(char *));
        cf->errors = grown;
        cf->errors_cap = (uint32_t) m;
    }
    cf->errors[cf->nerrors++] = msg;
    return PC_CONF_ERROR;
}

/* See pc_conf_lex.h. */
const char *
pc_conf_error_in(pc_conf_t *cf, const char *file, uint32_t line,
    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pc_conf_verror_in(cf, file, line, fmt, ap);
    va_end(ap);
    return PC_CONF_ERROR;
}

/* Record fmt at cf->node's FILE:LINE (no location without a node). */
const char *
pc_conf_error(pc_conf_t *cf, const char *fmt, ...)
{
    const pc_conf_node_t *node = cf->node;
    va_list ap;

    va_start(ap, fmt);
    pc_conf_verror_in(cf, node ? node->file : NULL, node ? node->line : 0, fmt, ap);
    va_end(ap);
    return PC_CONF_ERROR;
}

/* Record fmt at node's FILE:LINE (cf->node's when node is NULL). */
const char *
pc_conf_error_at(pc_conf_t *cf, const pc_conf_node_t *node, const char *fmt, ...)
{
    va_list ap;

    if (node == NULL)
        node = cf->node;
    va_start(ap, fmt);
    pc_conf_verror_in(cf, node ? node->file : NULL, node ? node->line : 0, fmt, ap);
    va_end(ap);
    return PC_CONF_ERROR;
}

/* ---------------------------------------------------------------- parser */

static pc_rc_t parse_block(parser_t *ps, pc_conf_lexer_t *lx, node_list_t *list,
    bool top);
static pc_rc_t parse_file(parser_t *ps, node_list_t *list, const char *path,
    const char *from, uint32_t line);

static pc_rc_t
parse_error(parser_t *ps, const char *file, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record a parse error; always PC_ERROR so callers can return it. */
static pc_rc_t
parse_error(parser_t *ps, const char *file, uint32_t line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pc_conf_verror_in(ps->cf, file, line, fmt, ap);
    va_end(ap);
    ps->failed = true;
    return PC_ERROR;
}

/* Copy the lexer's word into the pool and append it to the statement. */
static pc_rc_t
push_word(parser_t *ps, pc_conf_lexer_t *lx, uint32_t line)
{
    pc_str_t *w;
    uint32_t cap;

    if (ps->nwords == ps->wcap) {
        if (ps->wcap > UINT32_MAX / 2)
            return parse_error(ps, lx->file, line, "too many arguments");
        cap = ps->wcap ? ps->wcap * 2 : 16;
        w = realloc(ps->words, cap * sizeof(pc_str_t));
        if (w == NULL)
            return parse_error(ps, lx->file, line, "out of memory");
        ps->words = w;
        ps->wcap = cap;
    }
    w = &ps->words[ps->nwords];
    w->data = pc_pstrdup(ps->cf->pool, lx->word, lx->len);
    if (w->data == NULL)
        return parse_error(ps, lx->file, line, "out of memory");
    w->len = lx->len;
    if (ps->nwords++ == 0)
        ps->wline = line;
    return PC_OK;
}

/* Turn the statement into a node appended to list; clears the statement. */
static pc_conf_node_t *
make_node(parser_t *ps, pc_conf_lexer_t *lx, node_list_t *list, bool block)
{
    pc_conf_node_t *n;

    n = pc_pcalloc(ps->cf->pool, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->nargs = ps->nwords - 1;
    if (n->nargs != 0) {
        n->args = pc_palloc(ps->cf->pool, n->nargs * sizeof(pc_str_t));
        if (n->args == NULL)
            return NULL;
        memcpy(n->args, ps->words + 1, n->nargs * sizeof(pc_str_t));
    }
    n->name = ps->words[0];
    n->block = block;
    n->file = lx->file;
    n->line = ps->wline;
    *list->tail = n;
    list->tail = &n->next;
    ps->nwords = 0;
    return n;
}

/* The directory part of path, "" for a bare file name (the cwd). */
static size_t
dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? (size_t) (slash - path) + 1 : 0;
}

/* dir + pattern into a malloc'ed string; with escape, the glob specials of
 * dir are backslash-escaped so only the operator's pattern is a glob. */
static char *
join_path(const char *dir, size_t dlen, const pc_str_t *pat, bool escape)
{
    char *s, *p;
    size_t i;

    if (pat->data[0] == '/')
        dlen = 0;
    s = malloc(2 * dlen + pat->len + 1);
    if (s == NULL)
        return NULL;
    for (p = s, i = 0; i < dlen; i++) {
        if (escape && strchr("*?[\\", dir[i]) != NULL)
            *p++ = '\\';
        *p++ = dir[i];
    }
    memcpy(p, pat->data, pat->len + 1);
    return s;
}

/* Parse every file matched by a wildcard pattern, in sorted order; a
 * pattern that matches nothing is fine (an empty conf.d/). */
static pc_rc_t
include_glob(parser_t *ps, node_list_t *list, const char *pattern,
    const char *file, uint32_t line)
{
    glob_t gl;
    pc_rc_t rc = PC_OK;
    size_t i;
    int g;

    g = glob(pattern, 0, NULL, &gl);
    if (g == GLOB_NOMATCH)
        return PC_OK;
    if (g != 0) {
        parse_error(ps, file, line, "glob() \"%s\" failed (%s)", pattern,
                    g == GLOB_NOSPACE ? "out of memory" : "read error");
        return PC_OK;
    }
    for (i = 0; i < gl.gl_pathc && rc == PC_OK; i++)
        rc = parse_file(ps, list, gl.gl_pathv[i], file, line);
    globfree(&gl);
    return rc;
}

/*
 * "include PATTERN;" at lx->file:ps->wline: splice the matched files'
 * directives into the current block, where the include stood.  PC_ERROR only
 * for syntax errors inside an included file; a missing file is recorded
 * and parsing goes on, so one -t run reports every broken include.
 */
static pc_rc_t
include(parser_t *ps, pc_conf_lexer_t *lx, node_list_t *list)
{
    const char *file = lx->file;
    uint32_t line = ps->wline;
    pc_str_t *pat = &ps->words[1];
    uint32_t nwords;
    bool wild;
    char *path;
    pc_rc_t rc;

    if (ps->cf->no_include) {
        ps->nwords = 0;
        parse_error(ps, file, line, "\"include\" directive is not allowed here");
        return PC_OK;
    }
    nwords = ps->nwords;
    ps->nwords = 0;
    if (nwords != 2) {
        parse_error(ps, file, line, "invalid number of arguments in \"include\" "
                    "directive");
        return PC_OK;
    }
    if (pat->len == 0) {
        parse_error(ps, file, line, "\"include\" directive needs a file name");
        return PC_OK;
    }
    wild = strpbrk((const char *) pat->data, "*?[") != NULL;
    path = join_path(file, lx->dir_len, pat, wild);
    if (path == NULL)
        return parse_error(ps, file, line, "out of memory");
    rc = wild ? include_glob(ps, list, path, file, line)
              : parse_file(ps, list, path, file, line);
    free(path);
    return rc;
}

/* "NAME ARGS... ;" */
static pc_rc_t
end_statement(parser_t *ps, pc_conf_lexer_t *lx, node_list_t *list, uint32_t line)
{
    if (ps->nwords == 0)
        return parse_error(ps, lx->file, line, "unexpected \";\"");
    if (pc_str_eq_c(&ps->words[0], "include"))
        return include(ps, lx, list);
    if (make_node(ps, lx, list, false) == NULL)
        return parse_error(ps, lx->file, line, "out of memory");
    return PC_OK;
}

/* "NAME ARGS... {": parse the block's body up to its "}". */
static pc_rc_t
open_block(parser_t *ps, pc_conf_lexer_t *lx, node_list_t *list, uint32_t line)
{
    node_list_t children;
    pc_conf_node_t *n;
    pc_rc_t rc;

    if (ps->nwords == 0)
        return parse_error(ps, lx->file, line, "unexpected \"{\"");
    if (pc_str_eq_c(&ps->words[0], "include"))
        return parse_error(ps, lx->file, ps->wline,
                           "directive \"include\" is not terminated by \";\"");
    /* Bounds the recursion: "a{a{a{..." must not exhaust the stack. */
    if (ps->nesting == PC_CONF_MAX_NESTING)
        return parse_error(ps, lx->file, line, "blocks nested too deeply (the "
                           "limit is %d levels)", PC_CONF_MAX_NESTING);
    n = make_node(ps, lx, list, true);
    if (n == NULL)
        return parse_error(ps, lx->file, line, "out of memory");
    children.tail = &n->children;
    ps->nesting++;
    rc = parse_block(ps, lx, &children, false);
    ps->nesting--;
    return rc;
}

/* "}" ends a block, or is an error at a file's top level. */
static pc_rc_t
close_block(parser_t *ps, pc_conf_lexer_t *lx, uint32_t line, bool top)
{
    if (ps->nwords != 0)
        return parse_error(ps, lx->file, ps->wline, "directive \"%s\" is not "
                           "terminated by \";\"", (const char *) ps->words[0].data);
    if (top)
        return parse_error(ps, lx->file, line, "unexpected \"}\"");
    return PC_DONE;
}

static pc_rc_t
at_eof(parser_t *ps, pc_conf_lexer_t *lx, uint32_t line, bool top)
{
    if (ps->nwords != 0)
        return parse_error(ps, lx->file, line, "unexpected end of file, "
                           "expecting \";\" or \"}\"");
    if (!top)
        return parse_error(ps, lx->file, line, "unexpected end of file, "
                           "expecting \"}\"");
    return PC_OK;
}

/*
 * Statements up to the block's "}" (or, at a file's top level, its end),
 * appended to list.  PC_ERROR after a syntax error: the position of the
 * rest of the file is unknown, so nothing after it is trusted.
 */
static pc_rc_t
parse_block(parser_t *ps, pc_conf_lexer_t *lx, node_list_t *list, bool top)
{
    pc_conf_tok_e tok;
    uint32_t line;
    pc_rc_t rc;

    for (;;) {
        tok = pc_conf_lex_next(lx, &line);
        switch (tok) {
        case PC_TOK_WORD:
            rc = push_word(ps, lx, line);
            break;
        case PC_TOK_SEMI:
            rc = end_statement(ps, lx, list, line);
            break;
        case PC_TOK_OPEN:
            rc = open_block(ps, lx, list, line);
            break;
        case PC_TOK_CLOSE:
            rc = close_block(ps, lx, line, top);
            return rc == PC_DONE ? PC_OK : rc;
        case PC_TOK_EOF:
            return at_eof(ps, lx, line, top);
        default:
            ps->failed = true;
            return PC_ERROR;
        }
        if (rc != PC_OK)
            return rc;
    }
}

/* Parse buf as the file named file, at the top level of list; includes
 * are relative to file[0..dlen). */
static pc_rc_t
parse_text(parser_t *ps, const char *file, size_t dlen, const u_char *buf,
    size_t len, node_list_t *list)
{
    pc_conf_lexer_t lx;
    const u_char *z;
    uint32_t line = 1;
    pc_rc_t rc;

    /* A NUL would silently cut C-string uses of an argument short. */
    z = memchr(buf, '\0', len);
    if (z != NULL) {
        for (; buf < z; buf++)
            line += (*buf == '\n');
        return parse_error(ps, file, line, "unexpected NUL byte");
    }
    pc_conf_lex_init(&lx, ps->cf, file, buf, len);
    lx.dir_len = dlen;
    ps->depth++;
    rc = parse_block(ps, &lx, list, true);
    ps->depth--;
    if (lx.failed)
        ps->failed = true;
    pc_conf_lex_free(&lx);
    return rc;
}

/* Read all of fd (any file type) into a malloc'ed buffer of at most
 * PC_CONF_MAX_FILE bytes.  Returns 0, EFBIG, or an errno. */
static int
read_all(int fd, const struct stat *st, u_char **out, size_t *outlen)
{
    size_t cap, len = 0;
    u_char *buf = NULL, *nb;
    ssize_t n;
    int err = 0;

    if (S_ISREG(st->st_mode) && (uintmax_t) st->st_size > PC_CONF_MAX_FILE)
        return EFBIG;
    /* One spare byte: reading a regular file to EOF needs no regrow. */
    cap = S_ISREG(st->st_mode) ? (size_t) st->st_size + 1 : 65536;
    for (;;) {
        if (buf == NULL || len == cap) {
            if (len > PC_CONF_MAX_FILE) {
                err = EFBIG;
                break;
            }
            if (buf != NULL)
                cap = pc_min(cap * 2, PC_CONF_MAX_FILE + 1);
            nb = realloc(buf, cap);
            if (nb == NULL) {
                err = ENOMEM;
                break;
            }
            buf = nb;
        }
        n = read(fd, buf + len, cap - len);
        if (n > 0)
            len += (size_t) n;
        else if (n == 0)
            break;
        else if (errno != EINTR) {
            err = errno;
            break;
        }
    }
    if (err != 0) {
        free(buf);
        return err;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

static pc_rc_t parse_fd(parser_t *ps, node_list_t *list, int fd, const char *path,
    const char *from, uint32_t line);

/*
 * Read and parse path into list; from:line is the include that names it
 * (NULL for the main file, whose errors carry no location).  Unreadable
 * files are recorded and PC_OK returned; PC_ERROR means a syntax error.
 */
static pc_rc_t
parse_file(parser_t *ps, node_list_t *list, const char *path, const char *from,
    uint32_t line)
{
    pc_rc_t rc;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        parse_error(ps, from, line, "open() \"%s\" failed (%s)", path, strerror(errno));
        return PC_OK;
    }
    rc = parse_fd(ps, list, fd, path, from, line);
    close(fd);
    return rc;
}

/* Is this file already being read (an include cycle)?  Compared by device
 * and inode, so symlinks and "./" spellings cannot hide a cycle. */
static bool
is_open(const parser_t *ps, const struct stat *st)
{
    unsigned i;

    for (i = 0; i < ps->nopen; i++) {
        if (ps->open[i].dev == st->st_dev && ps->open[i].ino == st->st_ino)
            return true;
    }
    return false;
}

/* Check, read and parse one open file (see parse_file). */
static pc_rc_t
parse_fd(parser_t *ps, node_list_t *list, int fd, const char *path,
    const char *from, uint32_t line)
{
    struct stat st;
    u_char *buf = NULL;
    size_t len = 0;
    const char *file;
    pc_rc_t rc;
    int err;

    if (fstat(fd, &st) != 0) {
        parse_error(ps, from, line, "fstat() \"%s\" failed (%s)", path, strerror(errno));
        return PC_OK;
    }
    if (is_open(ps, &st)) {
        parse_error(ps, from, line, "include cycle: \"%s\" is already being read", path);
        return PC_OK;
    }
    if (ps->depth > PC_CONF_MAX_INCLUDE) {
        parse_error(ps, from, line, "include nesting too deep at \"%s\" (the limit "
                    "is %d levels)", path, PC_CONF_MAX_INCLUDE);
        return PC_OK;
    }
    err = read_all(fd, &st, &buf, &len);
    if (err != 0) {
        if (err == EFBIG)
            parse_error(ps, from, line, "file \"%s\" is too large (the limit is "
                        "16 MiB)", path);
        else
            parse_error(ps, from, line, "read() \"%s\" failed (%s)", path, strerror(err));
        return PC_OK;
    }
    file = (const char *) pc_pstrdup(ps->cf->pool, (const u_char *) path, strlen(path));
    if (file == NULL) {
        free(buf);
        return parse_error(ps, from, line, "out of memory");
    }
    ps->open[ps->nopen].dev = st.st_dev;
    ps->open[ps->nopen].ino = st.st_ino;
    ps->nopen++;
    rc = parse_text(ps, file, dir_len(file), buf, len, list);
    ps->nopen--;
    free(buf);
    return rc;
}

/* The pseudo-block standing for a whole file: name "", line 0. */
static pc_conf_node_t *
make_root(parser_t *ps, pc_conf_t *cf, const char *name)
{
    pc_conf_node_t *root;

    memset(ps, 0, sizeof(*ps));
    ps->cf = cf;
    root = pc_pcalloc(cf->pool, sizeof(*root));
    if (root == NULL)
        return NULL;
    root->file = (const char *) pc_pstrdup(cf->pool, (const u_char *) name, strlen(name));
    if (root->file == NULL)
        return NULL;
    pc_str_set(&root->name, "");
    root->block = 1;
    return root;
}

static pc_conf_node_t *
parse_done(parser_t *ps, pc_conf_node_t *root, pc_rc_t rc)
{
    free(ps->words);
    return (rc != PC_OK || ps->failed) ? NULL : root;
}

/* See pc_conf.h.  The main file's own open/read errors carry no location. */
pc_conf_node_t *
pc_conf_parse_file(pc_conf_t *cf, const char *path)
{
    pc_conf_node_t *root;
    node_list_t list;
    parser_t ps;
    pc_rc_t rc;

    root = make_root(&ps, cf, path);
    if (root == NULL) {
        pc_conf_error_in(cf, NULL, 0, "out of memory");
        return NULL;
    }
    list.tail = &root->children;
    rc = parse_file(&ps, &list, path, NULL, 0);
    return parse_done(&ps, root, rc);
}

/* See pc_conf.h.  buf needs no NUL terminator and is not retained. */
pc_conf_node_t *
pc_conf_parse_buffer(pc_conf_t *cf, const char *name, const u_char *buf, size_t len)
{
    pc_conf_node_t *root;
    node_list_t list;
    parser_t ps;
    pc_rc_t rc;

    if (len > PC_CONF_MAX_FILE) {
        pc_conf_error_in(cf, NULL, 0, "file \"%s\" is too large (the limit is 16 MiB)",
                         name);
        return NULL;
    }
    root = make_root(&ps, cf, name);
    if (root == NULL) {
        pc_conf_error_in(cf, NULL, 0, "out of memory");
        return NULL;
    }
    list.tail = &root->children;
    rc = parse_text(&ps, root->file, 0, buf, len, &list);
    return parse_done(&ps, root, rc);
}

/* -------------------------------------------------------------- dispatch */

/*
 * The first directive called name that ctx allows, in module order; a name
 * may mean different things in different contexts ("server" in http and in
 * upstream).  *known tells whether the name exists at all.  A linear scan:
 * a few hundred rows times a few thousand nodes is well under a
 * millisecond, and it needs no index to build, invalidate or free.
 */
static const pc_directive_t *
find_directive(const pc_str_t *name, unsigned ctx, const pc_module_t **module,
    bool *known)
{
    const pc_directive_t *d;
    unsigned i;

    *known = false;
    for (i = 0; pc_modules[i] != NULL; i++) {
        if (pc_modules[i]->directives == NULL)
            continue;
        for (d = pc_modules[i]->directives; d->name != NULL; d++) {
            if (!pc_str_eq_c(name, d->name))
                continue;
            *known = true;
            if (d->contexts & ctx) {
                *module = pc_modules[i];
                return d;
            }
        }
    }
    return NULL;
}

/* Was a sibling with node's name written before it in the same block? */
static bool
is_duplicate(const pc_conf_node_t *first, const pc_conf_node_t *node)
{
    const pc_conf_node_t *n;

    for (n = first; n != node; n = n->next) {
        if (pc_str_eq(&n->name, &node->name))
            return true;
    }
    return false;
}

/* The checks every directive gets before its setter: PC_ERROR (recorded)
 * or PC_OK with *dp / *mp set. */
static pc_rc_t
check_node(pc_conf_t *cf, const pc_conf_node_t *first, const pc_conf_node_t *node,
    unsigned ctx, const pc_directive_t **dp, const pc_module_t **mp)
{
    const char *name = (const char *) node->name.data;
    const pc_directive_t *d;
    bool known;

    d = find_directive(&node->name, ctx, mp, &known);
    if (d == NULL) {
        if (known)
            pc_conf_error_at(cf, node, "\"%s\" directive is not allowed here", name);
        else
            pc_conf_error_at(cf, node, "unknown directive \"%s\"", name);
        return PC_ERROR;
    }
    if ((d->flags & PC_CONF_BLOCK) && !node->block)
        pc_conf_error_at(cf, node, "directive \"%s\" has no opening \"{\"", name);
    else if (!(d->flags & PC_CONF_BLOCK) && node->block)
        pc_conf_error_at(cf, node, "directive \"%s\" is not terminated by \";\"", name);
    else if ((int64_t) node->nargs < d->min_args
             || (d->max_args != PC_CONF_ARGS_ANY && (int64_t) node->nargs > d->max_args))
        pc_conf_error_at(cf, node, "invalid number of arguments in \"%s\" directive", name);
    else if (!(d->flags & PC_CONF_MULTI) && is_duplicate(first, node))
        pc_conf_error_at(cf, node, "\"%s\" directive is duplicate", name);
    else {
        *dp = d;
        return PC_OK;
    }
    return PC_ERROR;
}

/* Check one node and run its setter; PC_ERROR when anything was reported. */
static pc_rc_t
dispatch_node(pc_conf_t *cf, pc_conf_node_t *first, pc_conf_node_t *node, unsigned ctx)
{
    const pc_directive_t *d = NULL;
    const pc_module_t *m = NULL;
    const char *rv;
    uint32_t before;
    void *conf;

    if (check_node(cf, first, node, ctx, &d, &m) != PC_OK)
        return PC_ERROR;
    if (d->set == NULL)
        return PC_OK;
    conf = cf->ctx_confs ? cf->ctx_confs[m->index] : NULL;
    cf->node = node;
    before = cf->nerrors;
    rv = d->set(cf, d, conf);
    if (rv == PC_CONF_OK)
        return PC_OK;
    if (rv != PC_CONF_ERROR)
        pc_conf_error_at(cf, node, "\"%s\" directive %s", (const char *) node->name.data, rv);
    else if (cf->nerrors == before)      /* never let -t fail without a word */
        pc_conf_error_at(cf, node, "\"%s\" directive failed", (const char *) node->name.data);
    return PC_ERROR;
}

/* See pc_conf.h.  Goes on after an error so that -t reports them all; a
 * block whose directive failed its checks is not entered. */
pc_rc_t
pc_conf_dispatch(pc_conf_t *cf, pc_conf_node_t *block, unsigned ctx)
{
    pc_conf_node_t *saved_node = cf->node, *n;
    unsigned saved_ctx = cf->ctx;
    uint32_t before = cf->nerrors;
    bool failed = false;

    if (block == NULL)
        return PC_OK;
    cf->ctx = ctx;
    for (n = block->children; n != NULL; n = n->next) {
        if (dispatch_node(cf, block->children, n, ctx) != PC_OK)
            failed = true;
    }
    cf->node = saved_node;
    cf->ctx = saved_ctx;
    return (failed || cf->nerrors != before) ? PC_ERROR : PC_OK;
}

/* See pc_conf.h. */
pc_rc_t
pc_conf_block(pc_conf_t *cf, unsigned ctx, pc_scope_e scope, void **confs, void *block)
{
    pc_conf_node_t *node = cf->node;
    pc_scope_e saved_scope = cf->scope;
    void **saved_confs = cf->ctx_confs;
    void *saved_block = cf->block;
    unsigned saved_ctx = cf->ctx;
    pc_rc_t rc;

    if (node == NULL || !node->block) {
        /* A directive table bug (block setter without PC_CONF_BLOCK). */
        pc_conf_error(cf, "internal error: pc_conf_block() called outside a block directive");
        return PC_ERROR;
    }
    cf->scope = scope;
    cf->ctx_confs = confs;
    cf->block = block;
    rc = pc_conf_dispatch(cf, node, ctx);
    cf->node = node;
    cf->ctx = saved_ctx;
    cf->scope = saved_scope;
    cf->ctx_confs = saved_confs;
    cf->block = saved_block;
    return rc;
}

/* ------------------------------------------------------- value parsers */

/* See pc_conf.h: 1*DIGIT [kKmMgG], at most INT64_MAX bytes. */
pc_rc_t
pc_conf_parse_size(const pc_str_t *s, size_t *out)
{
    uint64_t v, mul = 1;
    size_t len = s->len;

    if (len == 0)
        return PC_ERROR;
    switch (s->data[len - 1]) {
    case 'k': case 'K': mul = (uint64_t) 1 << 10; len--; break;
    case 'm': case 'M': mul = (uint64_t) 1 << 20; len--; break;
    case 'g': case 'G': mul = (uint64_t) 1 << 30; len--; break;
    default: break;
    }
    if (pc_parse_uint64(s->data, len, &v) != PC_OK || v > INT64_MAX / mul)
        return PC_ERROR;
    v *= mul;
    if (v >= SIZE_MAX)                   /* SIZE_MAX is PC_SIZE_UNSET */
        return PC_ERROR;
    *out = (size_t) v;
    return PC_OK;
}

/* See pc_conf.h: 1*DIGIT (ms|s|m|h|d)?, bare = seconds, at most INT64_MAX
 * milliseconds.  Units are lowercase only: nginx reads "M" as months. */
pc_rc_t
pc_conf_parse_msec(const pc_str_t *s, pc_msec_t *out)
{
    uint64_t v, mul = 1000;
    size_t len = s->len;

    if (len >= 2 && s->data[len - 2] == 'm' && s->data[len - 1] == 's') {
        mul = 1;
        len -= 2;
    } else if (len >= 1) {
        switch (s->data[len - 1]) {
        case 's': mul = 1000; len--; break;
        case 'm': mul = 60 * 1000; len--; break;
        case 'h': mul = 3600 * 1000; len--; break;
        case 'd': mul = 86400 * 1000; len--; break;
        default: break;
        }
    }
    if (pc_parse_uint64(s->data, len, &v) != PC_OK || v > INT64_MAX / mul)
        return PC_ERROR;
    *out = (pc_msec_t) (v * mul);
    return PC_OK;
}

/* See pc_conf.h. */
pc_rc_t
pc_conf_parse_int(const pc_str_t *s, int64_t *out)
{
    uint64_t v;

    if (pc_parse_uint64(s->data, s->len, &v) != PC_OK)
        return PC_ERROR;
    *out = (int64_t) v;
    return PC_OK;
}

/* See pc_conf.h: "on" → 1, "off" → 0, any ASCII case (as nginx). */
pc_rc_t
pc_conf_parse_flag(const pc_str_t *s, int *out)
{
    if (s->len == 2 && pc_strncasecmp(s->data, (const u_char *) "on", 2) == 0)
        *out = 1;
    else if (s->len == 3 && pc_strncasecmp(s->data, (const u_char *) "off", 3) == 0)
        *out = 0;
    else
        return PC_ERROR;
    return PC_OK;
}

/* See pc_conf.h.  An absolute path (or no prefix) is copied as is; an
 * empty path is PC_ERROR.  The result is NUL-terminated, in cf->pool. */
pc_rc_t
pc_conf_full_path(pc_conf_t *cf, const pc_str_t *in, pc_str_t *out)
{
    size_t plen = 0;
    bool slash = false;
    u_char *p;

    if (in->len == 0)
        return PC_ERROR;
    if (in->data[0] != '/' && cf->prefix != NULL) {
        plen = strlen(cf->prefix);
        slash = plen != 0 && cf->prefix[plen - 1] != '/';
    }
    if (in->len > SIZE_MAX - plen - 2)
        return PC_ERROR;
    p = pc_pnalloc(cf->pool, plen + slash + in->len + 1);
    if (p == NULL)
        return PC_ERROR;
    out->data = p;
    if (plen != 0)
        p = pc_cpymem(p, cf->prefix, plen);
    if (slash)
        *p++ = '/';
    p = pc_cpymem(p, in->data, in->len);
    *p = '\0';
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

/* ----------------------------------------------------- standard setters */

/* The directive's first argument, or NULL (a table allowing 0 args). */
static const pc_str_t *
first_arg(const pc_conf_t *cf)
{
    return (cf->node != NULL && cf->node->nargs != 0) ? &cf->node->args[0] : NULL;
}

static bool
bounded(const pc_directive_t *d)
{
    return d->min != 0 || d->max != 0;
}

static const char *
invalid(pc_conf_t *cf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report `"NAME" directive invalid value "ARG", WHY`. */
static const char *
invalid(pc_conf_t *cf, const char *fmt, ...)
{
    char why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return pc_conf_error(cf, "\"%s\" directive invalid value \"%s\", %s",
                         (const char *) cf->node->name.data,
                         (const char *) cf->node->args[0].data, why);
}

/* A size for messages, in the largest unit that divides it ("16k"). */
static const char *
show_size(uint64_t v, char *buf, size_t n)
{
    static const char units[] = "gmk";
    int shift, i;

    for (i = 0, shift = 30; i < 3; i++, shift -= 10) {
        if (v != 0 && v % ((uint64_t) 1 << shift) == 0) {
            snprintf(buf, n, "%" PRIu64 "%c", v >> shift, units[i]);
            return buf;
        }
    }
    snprintf(buf, n, "%" PRIu64, v);
    return buf;
}

/* A duration for messages, in the largest unit that divides it ("10s"). */
static const char *
show_msec(int64_t v, char *buf, size_t n)
{
    static const struct { int64_t ms; const char *unit; } units[] = {
        { 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }
    };
    size_t i;

    for (i = 0; i < pc_nelems(units); i++) {
        if (v != 0 && v % units[i].ms == 0) {
            snprintf(buf, n, "%" PRId64 "%s", v / units[i].ms, units[i].unit);
            return buf;
        }
    }
    snprintf(buf, n, "%" PRId64 "ms", v);
    return buf;
}

#define PC_CONF_FIELD(type, conf, d)  ((type *) (void *) ((u_char *) (conf) + (d)->offset))

/* Shared preamble: NULL when the setter may go on, else its result. */
static const char *
setter_start(pc_conf_t *cf, void *conf, bool set)
{
    if (conf == NULL)
        return "is not supported at this level";    /* a module table bug */
    if (first_arg(cf) == NULL)
        return "needs a value";
    return set ? "is duplicate" : NULL;
}

/* See pc_conf.h: int field, -1 when unset. */
const char *
pc_conf_set_flag(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    const char *rv;
    int v;

    rv = setter_start(cf, conf, conf && *PC_CONF_FIELD(int, conf, d) != -1);
    if (rv != NULL)
        return rv;
    if (pc_conf_parse_flag(first_arg(cf), &v) != PC_OK)
        return invalid(cf, "it must be \"on\" or \"off\"");
    *PC_CONF_FIELD(int, conf, d) = v;
    return PC_CONF_OK;
}

/* See pc_conf.h: intptr_t field, PC_INT_UNSET when unset; d->min/max. */
const char *
pc_conf_set_num(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    const char *rv;
    int64_t v;

    rv = setter_start(cf, conf, conf && *PC_CONF_FIELD(intptr_t, conf, d) != PC_INT_UNSET);
    if (rv != NULL)
        return rv;
    if (pc_conf_parse_int(first_arg(cf), &v) != PC_OK || (uint64_t) v > INTPTR_MAX)
        return invalid(cf, "it must be a non-negative integer");
    if (bounded(d) && (v < d->min || v > d->max))
        return invalid(cf, "it must be between %" PRId64 " and %" PRId64, d->min, d->max);
    *PC_CONF_FIELD(intptr_t, conf, d) = (intptr_t) v;
    return PC_CONF_OK;
}

/* See pc_conf.h: size_t field, PC_SIZE_UNSET when unset; d->min/max bytes. */
const char *
pc_conf_set_size(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    char lo[32], hi[32];
    const char *rv;
    size_t v;

    rv = setter_start(cf, conf, conf && *PC_CONF_FIELD(size_t, conf, d) != PC_SIZE_UNSET);
    if (rv != NULL)
        return rv;
    if (pc_conf_parse_size(first_arg(cf), &v) != PC_OK)
        return invalid(cf, "it must be a size like 512, 16k, 10m or 1g");
    if (bounded(d) && ((int64_t) v < d->min || (int64_t) v > d->max))
        return invalid(cf, "it must be between %s and %s",
                       show_size((uint64_t) pc_max(d->min, 0), lo, sizeof(lo)),
                       show_size((uint64_t) pc_max(d->max, 0), hi, sizeof(hi)));
    *PC_CONF_FIELD(size_t, conf, d) = v;
    return PC_CONF_OK;
}

/* See pc_conf.h: pc_msec_t field, PC_MSEC_UNSET when unset; d->min/max ms. */
const char *
pc_conf_set_msec(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    char lo[32], hi[32];
    const char *rv;
    pc_msec_t v;

    rv = setter_start(cf, conf, conf && *PC_CONF_FIELD(pc_msec_t, conf, d) != PC_MSEC_UNSET);
    if (rv != NULL)
        return rv;
    if (pc_conf_parse_msec(first_arg(cf), &v) != PC_OK)
        return invalid(cf, "it must be a duration like 500ms, 10s, 5m, 1h or 1d");
    if (bounded(d) && (v < d->min || v > d->max))
        return invalid(cf, "it must be between %s and %s",
                       show_msec(d->min, lo, sizeof(lo)), show_msec(d->max, hi, sizeof(hi)));
    *PC_CONF_FIELD(pc_msec_t, conf, d) = v;
    return PC_CONF_OK;
}

/* See pc_conf.h: pc_str_t field, data NULL when unset; d->min/max bound
 * the length in bytes.  The value points into the tree (cycle pool). */
const char *
pc_conf_set_str(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    const pc_str_t *v;
    const char *rv;

    rv = setter_start(cf, conf, conf && PC_CONF_FIELD(pc_str_t, conf, d)->data != NULL);
    if (rv != NULL)
        return rv;
    v = first_arg(cf);
    if (bounded(d) && ((int64_t) v->len < d->min || (int64_t) v->len > d->max))
        return invalid(cf, "its length must be between %" PRId64 " and %" PRId64
                       " bytes", d->min, d->max);
    *PC_CONF_FIELD(pc_str_t, conf, d) = *v;
    return PC_CONF_OK;
}

/* See pc_conf.h: like pc_conf_set_str, resolved with pc_conf_full_path. */
const char *
pc_conf_set_path(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    const char *rv;

    rv = setter_start(cf, conf, conf && PC_CONF_FIELD(pc_str_t, conf, d)->data != NULL);
    if (rv != NULL)
        return rv;
    if (first_arg(cf)->len == 0)
        return invalid(cf, "it must not be empty");
    if (pc_conf_full_path(cf, first_arg(cf), PC_CONF_FIELD(pc_str_t, conf, d)) != PC_OK)
        return "failed: out of memory";
    return PC_CONF_OK;
}

/* `"a", "b" or "c"` from an enum table, in cf's error pool. */
static const char *
enum_names(pc_conf_t *cf, const pc_conf_enum_t *e)
{
    pc_pool_t *pool = cf->temp_pool ? cf->temp_pool : cf->pool;
    size_t n = 1, i, count;
    u_char *s, *p;

    for (count = 0; e[count].name != NULL; count++)
        n += strlen(e[count].name) + 6;
    s = p = pc_pnalloc(pool, n);
    if (s == NULL)
        return "one of its documented values";
    for (i = 0; i < count; i++) {
        if (i != 0)
            p = pc_cpymem(p, i + 1 == count ? " or " : ", ", i + 1 == count ? 4 : 2);
        *p++ = '"';
        p = pc_cpymem(p, e[i].name, strlen(e[i].name));
        *p++ = '"';
    }
    *p = '\0';
    return (const char *) s;
}

/* See pc_conf.h: intptr_t field (PC_INT_UNSET when unset) set from the
 * pc_conf_enum_t table in d->post; names match in any ASCII case. */
const char *
pc_conf_set_enum(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    const pc_conf_enum_t *e = d->post;
    const pc_str_t *v;
    const char *rv;

    rv = setter_start(cf, conf, conf && *PC_CONF_FIELD(intptr_t, conf, d) != PC_INT_UNSET);
    if (rv != NULL)
        return rv;
    v = first_arg(cf);
    for (; e != NULL && e->name != NULL; e++) {
        if (strlen(e->name) == v->len
            && pc_strncasecmp(v->data, (const u_char *) e->name, v->len) == 0) {
            *PC_CONF_FIELD(intptr_t, conf, d) = e->value;
            return PC_CONF_OK;
        }
    }
    if (d->post == NULL)
        return "has no values (module table bug)";
    return invalid(cf, "it must be %s", enum_names(cf, d->post));
}

/* ------------------------------------------------------------------ dump */

/* Escapes a bare word decodes: such a backslash pair must be quoted. */
static bool
bare_decodes(u_char c)
{
    return c == '"' || c == '\'' || c == '\\' || c == 'n' || c == 't' || c == 'r';
}

/* Would w read back differently if written bare? */
static bool
needs_quotes(const pc_str_t *w)
{
    size_t i;
    u_char c;

    if (w->len == 0 || w->data[0] == '"' || w->data[0] == '\'' || w->data[0] == '#')
        return true;
    for (i = 0; i < w->len; i++) {
        c = w->data[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{'
            || c == '}')
            return true;
        if (c == '\\') {
            if (i + 1 == w->len || bare_decodes(w->data[i + 1]))
                return true;
            i++;                      /* the pair reads back as written */
        }
    }
    return false;
}

/* Write w so that the lexer reads back exactly w (no ${} re-expansion). */
static void
put_word(const pc_str_t *w, FILE *out)
{
    size_t i;
    u_char c;

    if (!needs_quotes(w)) {
        fwrite(w->data, 1, w->len, out);
        return;
    }
    fputc('"', out);
    for (i = 0; i < w->len; i++) {
        c = w->data[i];
        switch (c) {
        case '"':  fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        case '$':
            fputs(i + 1 < w->len && w->data[i + 1] == '{' ? "\\$" : "$", out);
            break;
        default:   fputc(c, out); break;
        }
    }
    fputc('"', out);
}

static void
dump_nodes(const pc_conf_node_t *n, FILE *out, unsigned depth)
{
    uint32_t i;

    for (; n != NULL; n = n->next) {
        fprintf(out, "%*s", (int) depth * 4, "");
        put_word(&n->name, out);
        for (i = 0; i < n->nargs; i++) {
            fputc(' ', out);
            put_word(&n->args[i], out);
        }
        if (!n->block) {
            fputs(";\n", out);
            continue;
        }
        fputs(" {\n", out);
        dump_nodes(n->children, out, depth + 1);
        fprintf(out, "%*s}\n", (int) depth * 4, "");
    }
}

/* See pc_conf.h.  Parsing the output gives back the same tree (names,
 * arguments, nesting); the fuzzer checks this. */
void
pc_conf_dump(const pc_conf_node_t *root, FILE *out)
{
    if (root != NULL)
        dump_nodes(root->children, out, 0);
}
