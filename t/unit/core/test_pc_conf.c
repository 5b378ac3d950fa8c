/*
 * test_pc_conf.c -- unit tests for src/core/pc_conf.c and pc_conf_lex.c:
 * syntax and its error messages (exact text and FILE:LINE), quotes and
 * escapes, ${ENV}, include globs in a temp dir, value parsers at their
 * boundaries, dispatch against a fake module table, standard setters, and
 * the -T dump (re-parsed to the same tree).
 *
 * Links with pc_pool.c, pc_str.c, pc_conf.c and pc_conf_lex.c only: the
 * module list is defined here.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pc_conf.h"
#include "core/pc_module.h"
#include "core/pc_pool.h"
#include "core/pc_str.h"
#include "test.h"

static size_t
slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* NUL-terminated string equality with the usual diagnostics. */
#define is_cstr(got, want, ...)                                             \
    is_str((got), slen(got), (want), strlen(want), __VA_ARGS__)

static pc_pool_t *pool;
static pc_conf_t  cf;

static void
fresh(void)
{
    pc_pool_destroy(pool);
    pool = pc_pool_create(4096);
    memset(&cf, 0, sizeof(cf));
    cf.pool = pool;
}

static pc_conf_node_t *
parse(const char *text)
{
    fresh();
    return pc_conf_parse_buffer(&cf, "t.conf", (const u_char *) text, strlen(text));
}

static const char *
err(uint32_t i)
{
    return i < cf.nerrors ? cf.errors[i] : "(no such error)";
}

/* The parse of text fails with exactly one error, msg. */
static void
syntax_error(const char *text, const char *msg)
{
    pc_conf_node_t *root = parse(text);

    ok(root == NULL && cf.nerrors == 1, "rejected: %s", msg);
    is_cstr(err(0), msg, "message: %s", msg);
}

static bool
arg_is(const pc_conf_node_t *n, uint32_t i, const char *s)
{
    return n != NULL && i < n->nargs && n->args[i].len == strlen(s)
           && memcmp(n->args[i].data, s, n->args[i].len) == 0
           && n->args[i].data[n->args[i].len] == '\0';
}

/* ------------------------------------------------------------- syntax */

static void
test_syntax_errors(void)
{
    syntax_error("}", "unexpected \"}\" in t.conf:1");
    syntax_error("a;\n\n}\n", "unexpected \"}\" in t.conf:3");
    syntax_error(";", "unexpected \";\" in t.conf:1");
    syntax_error("a;\n {", "unexpected \"{\" in t.conf:2");
    syntax_error("a b", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1");
    syntax_error("http {\n  a b;\n", "unexpected end of file, expecting \"}\" in t.conf:3");
    syntax_error("http {\n  a b\n}\n", "directive \"a\" is not terminated by \";\" in t.conf:2");
    syntax_error("a {\n b {\n c;\n }\n", "unexpected end of file, expecting \"}\" in t.conf:5");
    syntax_error("a 'b;\n", "unbalanced quote in t.conf:1");
    syntax_error("a;\nb \"c\nd\ne;\n", "unbalanced quote in t.conf:2");
    syntax_error("a \"b\\", "unbalanced quote in t.conf:1");
    syntax_error("a \"b\"c;", "unexpected \"c\" after a quoted argument in t.conf:1");
    syntax_error("a \"b\"\"c\";", "unexpected \"\"\" after a quoted argument in t.conf:1");
    syntax_error("a \"b\"#c\n;", "unexpected \"#\" after a quoted argument in t.conf:1");
    /* Unknown escapes in quotes are kept as written (nginx): quoted regexes. */
    {
        pc_conf_node_t *root = parse("a \"^/(\\d+)\\.x\";\n");

        ok(root != NULL && arg_is(root->children, 0, "^/(\\d+)\\.x"),
           "quoted unknown escape kept as written");
        root = parse("a '\\\x01';");
        ok(root != NULL && root->children->args[0].len == 2,
           "quoted backslash + control byte kept");
    }
    syntax_error("include a {", "directive \"include\" is not terminated by \";\" in t.conf:1");
}

static void
test_nul_and_nesting(void)
{
    static const char nul[] = "a;\nb\0;\n";
    char deep[64 * 3 + 8];
    pc_conf_node_t *root;
    int i;

    fresh();
    root = pc_conf_parse_buffer(&cf, "t.conf", (const u_char *) nul, sizeof(nul) - 1);
    ok(root == NULL, "NUL byte rejected");
    is_cstr(err(0), "unexpected NUL byte in t.conf:2", "NUL byte message names its line");

    for (i = 0; i < 64; i++)
        memcpy(deep + i * 2, "a{", 2);
    for (i = 0; i < 64; i++)
        deep[128 + i] = '}';
    deep[192] = '\0';
    ok(parse(deep) != NULL, "64 nested blocks accepted");
    memmove(deep + 2, deep, 193);
    memcpy(deep, "a{", 2);
    memcpy(deep + 194, "}", 2);
    ok(parse(deep) == NULL, "65 nested blocks rejected");
    is_cstr(err(0), "blocks nested too deeply (the limit is 64 levels) in t.conf:1",
            "nesting limit message");
}

/* Every 1-byte file: no crash, and failure always comes with a message. */
static void
test_one_byte(void)
{
    bool consistent = true;
    pc_conf_node_t *root;
    u_char c;
    int i;

    for (i = 0; i < 256; i++) {
        c = (u_char) i;
        fresh();
        root = pc_conf_parse_buffer(&cf, "t.conf", &c, 1);
        consistent &= (root == NULL) == (cf.nerrors == 1);
    }
    ok(consistent, "all 256 one-byte files: NULL exactly when one error is recorded");
    ok(parse(" ") != NULL && parse("#") != NULL && parse("\n") != NULL, "blank, #, newline");
    syntax_error("a", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1");
    syntax_error("\\", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1");
    syntax_error("\"", "unbalanced quote in t.conf:1");
    syntax_error("{", "unexpected \"{\" in t.conf:1");
    root = parse("a\rb;\rc;");
    ok(root && root->children && arg_is(root->children, 0, "b") && root->children->next
       && root->children->next->line == 1, "bare CR is a blank and does not count a line");
}

static void
test_structure(void)
{
    pc_conf_node_t *root, *n, *s;

    root = parse("# head\nworker_processes  4 ;  # four\nhttp {\n"
                 "    server {\n        listen 80;\n    }\n    a{b;}\n}\n#tail");
    ok(root != NULL && cf.nerrors == 0, "nested config parsed");
    if (root == NULL)
        return;
    ok(root->block && root->name.len == 0 && root->line == 0, "root is a pseudo-block");
    is_cstr(root->file, "t.conf", "root names the buffer");
    n = root->children;
    ok(n && pc_str_eq_c(&n->name, "worker_processes") && n->nargs == 1 && arg_is(n, 0, "4")
       && !n->block && n->line == 2, "worker_processes 4 at line 2");
    is_cstr(n->file, "t.conf", "node file");
    n = n->next;
    ok(n && pc_str_eq_c(&n->name, "http") && n->block && n->nargs == 0 && n->line == 3
       && n->next == NULL, "http block at line 3, last top-level node");
    s = n->children;
    ok(s && pc_str_eq_c(&s->name, "server") && s->block && s->line == 4, "server at line 4");
    ok(s->children && pc_str_eq_c(&s->children->name, "listen") && arg_is(s->children, 0, "80")
       && s->children->line == 5, "listen 80 at line 5");
    s = s->next;
    ok(s && pc_str_eq_c(&s->name, "a") && s->block && s->children
       && pc_str_eq_c(&s->children->name, "b") && s->line == 7, "compact a{b;} at line 7");
    root = parse("");
    ok(root != NULL && root->children == NULL, "empty file is an empty tree");
    root = parse("  \n# only a comment");
    ok(root != NULL && root->children == NULL, "comment-only file");
    root = parse("a {}\n");
    ok(root && root->children->block && root->children->children == NULL, "empty block");
}

static void
test_words(void)
{
    pc_conf_node_t *n;

    n = parse("a b#c 'x y' \"p;q\" \"\" '' a\"b \\.php$ ~*\\.(gif|jpg)$;")->children;
    ok(arg_is(n, 0, "b#c"), "# inside a word is literal");
    ok(arg_is(n, 1, "x y") && arg_is(n, 2, "p;q"), "single and double quotes");
    ok(arg_is(n, 3, "") && arg_is(n, 4, ""), "empty quoted arguments");
    ok(arg_is(n, 5, "a\"b"), "quote inside a bare word is literal");
    ok(arg_is(n, 6, "\\.php$") && arg_is(n, 7, "~*\\.(gif|jpg)$"),
       "unknown escapes in bare words are kept (regexes)");
    n = parse("a \"\\\"\\'\\\\\\n\\t\\r\\$\" '\\'';")->children;
    ok(arg_is(n, 0, "\"'\\\n\t\r$"), "escapes in double quotes");
    ok(arg_is(n, 1, "'"), "escaped quote in single quotes");
    n = parse("a x\\\"y \\\\ a\\nb \\; c\\ d\\{;")->children;
    ok(arg_is(n, 0, "x\"y") && arg_is(n, 1, "\\") && arg_is(n, 2, "a\nb"),
       "known escapes decoded in bare words");
    ok(arg_is(n, 3, "\\;") && arg_is(n, 4, "c\\ d\\{") && n->nargs == 5,
       "escaped ; space { do not end a bare word");
    n = parse("a \"x\ny\";\nb;")->children;
    ok(arg_is(n, 0, "x\ny") && n->next->line == 3, "newline inside quotes counts a line");
    ok(parse("a $host ${ $;") == NULL, "a lone \"${\" is an error");
    n = parse("a $host $1 \"$x{\" $;")->children;
    ok(arg_is(n, 0, "$host") && arg_is(n, 1, "$1") && arg_is(n, 2, "$x{") && arg_is(n, 3, "$"),
       "$name without braces is left alone");
    n = parse("\"quoted name\" x;\r\nb;\r\n")->children;
    ok(n && pc_str_eq_c(&n->name, "quoted name") && n->next && n->next->line == 2,
       "quoted directive name, CRLF line ends");
}

/* ---------------------------------------------------------------- env */

static void
test_env(void)
{
    pc_conf_node_t *n;

    setenv("PC_T_A", "val ue", 1);
    setenv("PC_T_EMPTY", "", 1);
    unsetenv("PC_T_UNSET");
    unsetenv("PC_T_UNSET2");
    n = parse("a ${PC_T_A} x${PC_T_A}y \"<${PC_T_A}>\" '${PC_T_A}' ${PC_T_UNSET:-def} "
              "${PC_T_EMPTY:-d2} ${PC_T_EMPTY} ${PC_T_UNSET:-} \"\\${PC_T_A}\" "
              "${PC_T_UNSET:-a b;c\"};")->children;
    ok(n != NULL && n->nargs == 10, "env references expanded");
    ok(arg_is(n, 0, "val ue") && arg_is(n, 1, "xval uey"), "bare ${NAME}");
    ok(arg_is(n, 2, "<val ue>") && arg_is(n, 3, "val ue"), "quoted ${NAME}");
    ok(arg_is(n, 4, "def") && arg_is(n, 5, "d2"), "default when unset or empty");
    ok(arg_is(n, 6, "") && arg_is(n, 7, ""), "empty value, empty default");
    ok(arg_is(n, 8, "${PC_T_A}"), "\\$ in quotes prevents expansion");
    ok(arg_is(n, 9, "a b;c\""), "default is literal up to }");
    n = parse("${PC_T_A}x;")->children;
    ok(n && pc_str_eq_c(&n->name, "val uex"), "expansion in a directive name");

    ok(parse("a ${PC_T_UNSET};\nb ${PC_T_UNSET2} ${PC_T_A};") == NULL, "unset variable fails");
    is_int(cf.nerrors, 2, "every unset variable is reported");
    is_cstr(err(0), "environment variable \"PC_T_UNSET\" is not set (use "
            "\"${PC_T_UNSET:-default}\" to give a default) in t.conf:1", "unset message");
    is_cstr(err(1), "environment variable \"PC_T_UNSET2\" is not set (use "
            "\"${PC_T_UNSET2:-default}\" to give a default) in t.conf:2", "second unset message");
    syntax_error("a ${1X};", "invalid environment variable reference \"${1X}\", "
                 "expected \"${NAME}\" or \"${NAME:-default}\" in t.conf:1");
    syntax_error("a ${X", "invalid environment variable reference \"${X\", "
                 "expected \"${NAME}\" or \"${NAME:-default}\" in t.conf:1");
    syntax_error("a ${X:-abc\n};", "invalid environment variable reference \"${X:-abc\", "
                 "expected \"${NAME}\" or \"${NAME:-default}\" in t.conf:1");
    syntax_error("a ${X-y};", "invalid environment variable reference \"${X-y}\", "
                 "expected \"${NAME}\" or \"${NAME:-default}\" in t.conf:1");
}

/* ------------------------------------------------------------ include */

static char tmp[256];

/* tmp/rel as a static string (two in rotation, for messages). */
static const char *
at(const char *rel)
{
    static char buf[4][PATH_MAX];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, rel);
    return buf[i];
}

static void
wr(const char *rel, const char *text)
{
    FILE *f = fopen(at(rel), "w");

    if (f == NULL) {
        diag("cannot write %s: %s", at(rel), strerror(errno));
        return;
    }
    fputs(text, f);
    fclose(f);
}

static pc_conf_node_t *
parse_path(const char *rel)
{
    fresh();
    return pc_conf_parse_file(&cf, at(rel));
}

static void
test_include_glob(void)
{
    char cwd[PATH_MAX];
    pc_conf_node_t *root, *n;

    mkdir(at("sub"), 0700);
    wr("main.conf", "a 1;\ninclude sub/*.conf;\nb 2;\n");
    wr("sub/b.conf", "x b;\n");
    wr("sub/a.conf", "x a;\ninclude inner.inc;\n");
    wr("sub/inner.inc", "\ny inner;");
    wr("sub/c.txt", "bad {");
    if (getcwd(cwd, sizeof(cwd)) == NULL || chdir("/") != 0)
        diag("chdir failed");
    root = parse_path("main.conf");
    ok(root != NULL && cf.nerrors == 0, "include glob parsed (cwd is /)");
    n = root ? root->children : NULL;
    ok(n && pc_str_eq_c(&n->name, "a"), "directive before the include");
    n = n ? n->next : NULL;
    ok(n && arg_is(n, 0, "a") && n->line == 1, "sorted: a.conf first");
    is_cstr(n ? n->file : NULL, at("sub/a.conf"), "node file is the resolved include path");
    n = n ? n->next : NULL;
    ok(n && pc_str_eq_c(&n->name, "y") && n->line == 2, "nested include relative to its file");
    is_cstr(n ? n->file : NULL, at("sub/inner.inc"), "nested include file name");
    n = n ? n->next : NULL;
    ok(n && arg_is(n, 0, "b"), "then b.conf (c.txt not matched)");
    n = n ? n->next : NULL;
    ok(n && pc_str_eq_c(&n->name, "b") && n->line == 3 && n->next == NULL,
       "directive after the include keeps its line");
    is_cstr(n ? n->file : NULL, at("main.conf"), "and its file");

    wr("blk.conf", "http {\n include sub/b.conf;\n}\n");
    root = parse_path("blk.conf");
    ok(root && root->children->children && arg_is(root->children->children, 0, "b"),
       "include inside a block splices into the block");

    setenv("PC_T_DIR", "sub", 1);
    wr("env.conf", "include ${PC_T_DIR}/b.conf;");
    root = parse_path("env.conf");
    ok(root && root->children && arg_is(root->children, 0, "b"), "${ENV} in an include path");
    if (chdir(tmp) == 0) {
        root = parse("include sub/b.conf;");
        ok(root && root->children && arg_is(root->children, 0, "b"),
           "parse_buffer includes relative to the cwd");
        is_cstr(root && root->children ? root->children->file : NULL, "sub/b.conf",
                "file name as resolved");
    }
    if (chdir(cwd) != 0)
        diag("chdir back failed");
}

static void
test_include_errors(void)
{
    char msg[2 * PATH_MAX];

    wr("miss.conf", "a;\ninclude nope.conf;\ninclude none/*.conf;\ninclude nope2.conf;\n");
    ok(parse_path("miss.conf") == NULL, "missing include fails");
    is_int(cf.nerrors, 2, "both missing files reported, the empty glob is fine");
    snprintf(msg, sizeof(msg), "open() \"%s\" failed (No such file or directory) in %s:2",
             at("nope.conf"), at("miss.conf"));
    is_cstr(err(0), msg, "missing include message");
    snprintf(msg, sizeof(msg), "open() \"%s\" failed (No such file or directory) in %s:4",
             at("nope2.conf"), at("miss.conf"));
    is_cstr(err(1), msg, "second missing include message");

    ok(parse_path("missing.conf") == NULL, "missing main file fails");
    snprintf(msg, sizeof(msg), "open() \"%s\" failed (No such file or directory)",
             at("missing.conf"));
    is_cstr(err(0), msg, "main file error has no location");

    wr("self.conf", "a;\ninclude self.conf;\n");
    ok(parse_path("self.conf") == NULL, "self-include fails");
    snprintf(msg, sizeof(msg), "include cycle: \"%s\" is already being read in %s:2",
             at("self.conf"), at("self.conf"));
    is_cstr(err(0), msg, "self-include message");
    wr("c1.conf", "include c2.conf;\n");
    wr("c2.conf", "\ninclude ./c1.conf;\n");
    ok(parse_path("c1.conf") == NULL, "two-file include cycle fails");
    snprintf(msg, sizeof(msg), "include cycle: \"%s\" is already being read in %s:2",
             at("./c1.conf"), at("c2.conf"));
    is_cstr(err(0), msg, "cycle message names the file and the include");

    ok(parse("include a b;") == NULL, "include with two arguments");
    is_cstr(err(0), "invalid number of arguments in \"include\" directive in t.conf:1",
            "include argument count message");
    ok(parse("include;") == NULL && cf.nerrors == 1, "include without arguments");
    ok(parse("include \"\";") == NULL, "include of an empty name");
    is_cstr(err(0), "\"include\" directive needs a file name in t.conf:1", "empty include");
    fresh();
    cf.no_include = 1;
    ok(pc_conf_parse_buffer(&cf, "t.conf", (const u_char *) "\ninclude /etc/passwd;", 21)
       == NULL, "no_include refuses include");
    is_cstr(err(0), "\"include\" directive is not allowed here in t.conf:2", "no_include message");
}

static void
test_include_depth(void)
{
    char name[32], text[64], msg[2 * PATH_MAX];
    int i;

    for (i = 0; i <= 17; i++) {
        snprintf(name, sizeof(name), "d%d.conf", i);
        snprintf(text, sizeof(text), i == 16 ? "leaf;\n" : "include d%d.conf;\n", i + 1);
        wr(name, text);
    }
    ok(parse_path("d0.conf") != NULL, "16 levels of include are fine");
    wr("d16.conf", "include d17.conf;\n");
    wr("d17.conf", "leaf;\n");
    ok(parse_path("d0.conf") == NULL, "17 levels are refused");
    snprintf(msg, sizeof(msg), "include nesting too deep at \"%s\" (the limit is 16 levels) "
             "in %s:1", at("d17.conf"), at("d16.conf"));
    is_cstr(err(0), msg, "depth message");
}

static void
test_include_files(void)
{
    char msg[2 * PATH_MAX];
    pc_conf_node_t *root;
    int fd;

    mkdir(at("dirs"), 0700);
    mkdir(at("dirs/x.conf"), 0700);
    wr("dir.conf", "include dirs/*.conf;\n");
    ok(parse_path("dir.conf") == NULL, "a directory matched by a glob fails");
    snprintf(msg, sizeof(msg), "read() \"%s\" failed (Is a directory) in %s:1",
             at("dirs/x.conf"), at("dir.conf"));
    is_cstr(err(0), msg, "directory message");

    fd = open(at("big.conf"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ok(fd >= 0 && ftruncate(fd, 16 * 1024 * 1024 + 1) == 0, "16 MiB + 1 file made");
    close(fd);
    ok(parse_path("big.conf") == NULL, "a file over 16 MiB is refused");
    snprintf(msg, sizeof(msg), "file \"%s\" is too large (the limit is 16 MiB)", at("big.conf"));
    is_cstr(err(0), msg, "too large message");

    fd = open(at("max.conf"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ok(fd >= 0 && ftruncate(fd, 16 * 1024 * 1024) == 0 && pwrite(fd, "a;\n#", 4, 0) == 4,
       "16 MiB file made");
    close(fd);
    ok(parse_path("max.conf") == NULL, "16 MiB file is read (then fails on its NUL bytes)");
    snprintf(msg, sizeof(msg), "unexpected NUL byte in %s:2", at("max.conf"));
    is_cstr(err(0), msg, "exactly 16 MiB is not too large");

    mkdir(at("we[ird]*dir"), 0700);
    mkdir(at("we[ird]*dir/parts"), 0700);
    wr("we[ird]*dir/inc.conf", "include parts/*.conf;\n");
    wr("we[ird]*dir/parts/p.conf", "p;\n");
    root = parse_path("we[ird]*dir/inc.conf");
    ok(root && root->children && pc_str_eq_c(&root->children->name, "p"),
       "glob characters in the including file's directory are escaped");
}

/* ------------------------------------------------------ value parsers */

static pc_rc_t
size_of(const char *s, size_t *v)
{
    pc_str_t str = { strlen(s), (u_char *) s };

    return pc_conf_parse_size(&str, v);
}

static pc_rc_t
msec_of(const char *s, pc_msec_t *v)
{
    pc_str_t str = { strlen(s), (u_char *) s };

    return pc_conf_parse_msec(&str, v);
}

static void
test_parse_size(void)
{
    static const char *bad[] = { "", "k", "K", "1kb", "1t", "-1", "+1", " 1", "1 ", "1.5k",
        "9223372036854775808", "8589934592g", "8796093022208m", "9007199254740992k",
        "0x10", "1kk" };
    size_t v, i;

    ok(size_of("0", &v) == PC_OK && v == 0, "size 0");
    ok(size_of("0k", &v) == PC_OK && v == 0, "size 0k");
    ok(size_of("512", &v) == PC_OK && v == 512, "size 512");
    ok(size_of("16k", &v) == PC_OK && v == 16384, "size 16k");
    ok(size_of("16K", &v) == PC_OK && v == 16384, "size 16K");
    ok(size_of("10m", &v) == PC_OK && v == 10485760, "size 10m");
    ok(size_of("10M", &v) == PC_OK && v == 10485760, "size 10M");
    ok(size_of("1g", &v) == PC_OK && v == 1073741824, "size 1g");
    ok(size_of("1G", &v) == PC_OK && v == 1073741824, "size 1G");
    ok(size_of("9223372036854775807", &v) == PC_OK && v == (size_t) INT64_MAX, "size max");
    ok(size_of("8589934591g", &v) == PC_OK && v == (size_t) 8589934591 << 30,
       "largest size in g");
    ok(size_of("9007199254740991k", &v) == PC_OK, "largest size in k");
    for (i = 0; i < pc_nelems(bad); i++)
        is_int(size_of(bad[i], &v), PC_ERROR, "size \"%s\" rejected", bad[i]);
}

static void
test_parse_msec(void)
{
    static const char *bad[] = { "", "ms", "s", "m", "1M", "1S", "1H", "1D", "-1s", "+1s",
        "1m30s", "1w", "1y", "1.5s", " 1s", "1s ", "9223372036854775808ms",
        "9223372036854776s", "153722867280913m", "2562047788016h", "106751991168d",
        "9223372036854775808" };
    pc_msec_t v;
    size_t i;

    ok(msec_of("0", &v) == PC_OK && v == 0, "msec 0");
    ok(msec_of("0ms", &v) == PC_OK && v == 0, "msec 0ms");
    ok(msec_of("500ms", &v) == PC_OK && v == 500, "500ms");
    ok(msec_of("10s", &v) == PC_OK && v == 10000, "10s");
    ok(msec_of("5m", &v) == PC_OK && v == 300000, "5m");
    ok(msec_of("1h", &v) == PC_OK && v == 3600000, "1h");
    ok(msec_of("1d", &v) == PC_OK && v == 86400000, "1d");
    ok(msec_of("10", &v) == PC_OK && v == 10000, "bare number is seconds");
    ok(msec_of("9223372036854775807ms", &v) == PC_OK && v == INT64_MAX, "max in ms");
    ok(msec_of("9223372036854775s", &v) == PC_OK && v == 9223372036854775000, "max in s");
    ok(msec_of("106751991167d", &v) == PC_OK, "max in d");
    for (i = 0; i < pc_nelems(bad); i++)
        is_int(msec_of(bad[i], &v), PC_ERROR, "duration \"%s\" rejected", bad[i]);
}

static void
test_parse_misc(void)
{
    pc_str_t s, out;
    int64_t n;
    int f;

    pc_str_set(&s, "9223372036854775807");
    ok(pc_conf_parse_int(&s, &n) == PC_OK && n == INT64_MAX, "int max");
    pc_str_set(&s, "9223372036854775808");
    is_int(pc_conf_parse_int(&s, &n), PC_ERROR, "int overflow");
    pc_str_set(&s, "-5");
    is_int(pc_conf_parse_int(&s, &n), PC_ERROR, "int sign");
    pc_str_set(&s, "on");
    ok(pc_conf_parse_flag(&s, &f) == PC_OK && f == 1, "flag on");
    pc_str_set(&s, "OFF");
    ok(pc_conf_parse_flag(&s, &f) == PC_OK && f == 0, "flag OFF");
    pc_str_set(&s, "onn");
    is_int(pc_conf_parse_flag(&s, &f), PC_ERROR, "flag onn");
    pc_str_set(&s, "1");
    is_int(pc_conf_parse_flag(&s, &f), PC_ERROR, "flag 1");

    fresh();
    cf.prefix = "/opt/pc/";
    pc_str_set(&s, "logs/a.log");
    ok(pc_conf_full_path(&cf, &s, &out) == PC_OK, "relative path resolved");
    is_str(out.data, out.len + 1, "/opt/pc/logs/a.log", 19, "prefix + path, NUL-terminated");
    cf.prefix = "/opt/pc";
    ok(pc_conf_full_path(&cf, &s, &out) == PC_OK, "prefix without trailing slash");
    is_str(out.data, out.len, "/opt/pc/logs/a.log", 18, "a slash is added");
    pc_str_set(&s, "/var/log/x");
    ok(pc_conf_full_path(&cf, &s, &out) == PC_OK, "absolute path");
    is_str(out.data, out.len, "/var/log/x", 10, "absolute path unchanged");
    cf.prefix = NULL;
    pc_str_set(&s, "rel");
    ok(pc_conf_full_path(&cf, &s, &out) == PC_OK && pc_str_eq_c(&out, "rel"), "no prefix");
    pc_str_set(&s, "");
    is_int(pc_conf_full_path(&cf, &s, &out), PC_ERROR, "empty path rejected");
}

/* ----------------------------------------------------------- dispatch */

typedef struct {
    int        flag;
    intptr_t   num;
    size_t     size;
    pc_msec_t  msec;
    pc_str_t   str;
    pc_str_t   path;
    intptr_t   mode;
    intptr_t   other;
    unsigned   servers;      /* "server" lines of an upstream block */
} tconf_t;

static tconf_t *
tconf_new(pc_pool_t *p)
{
    tconf_t *c = pc_pcalloc(p, sizeof(*c));

    c->flag = -1;
    c->num = PC_INT_UNSET;
    c->size = PC_SIZE_UNSET;
    c->msec = PC_MSEC_UNSET;
    c->mode = PC_INT_UNSET;
    c->other = PC_INT_UNSET;
    return c;
}

static tconf_t *blocks[16];      /* confs of the blocks entered, in order */
static unsigned nblocks;

/* A block directive: a fresh conf per module, walked in d->post's context. */
static const char *
set_block(pc_conf_t *c, const pc_directive_t *d, void *conf)
{
    void **confs = pc_palloc(c->pool, 3 * sizeof(void *));
    tconf_t *mine = tconf_new(c->pool);

    PC_UNUSED(conf);
    confs[0] = mine;                  /* indexed by module->index */
    confs[1] = NULL;
    confs[2] = tconf_new(c->pool);
    if (nblocks < 16)
        blocks[nblocks++] = mine;
    if (pc_conf_block(c, (unsigned) (uintptr_t) d->post, PC_SCOPE_SERVER, confs, mine) != PC_OK)
        return PC_CONF_ERROR;
    return PC_CONF_OK;
}

/* "server ADDR ...;" inside upstream: counts into the block object. */
static const char *
set_up_server(pc_conf_t *c, const pc_directive_t *d, void *conf)
{
    PC_UNUSED(d);
    PC_UNUSED(conf);
    ((tconf_t *) c->block)->servers++;
    return PC_CONF_OK;
}

static const char *
set_msg(pc_conf_t *c, const pc_directive_t *d, void *conf)
{
    PC_UNUSED(c);
    PC_UNUSED(d);
    PC_UNUSED(conf);
    return "invalid value \"1y\"";
}

static const char *
set_err(pc_conf_t *c, const pc_directive_t *d, void *conf)
{
    PC_UNUSED(d);
    PC_UNUSED(conf);
    return pc_conf_error(c, "custom error \"%s\"", "boom");
}

static const char *
set_silent(pc_conf_t *c, const pc_directive_t *d, void *conf)
{
    PC_UNUSED(c);
    PC_UNUSED(d);
    PC_UNUSED(conf);
    return PC_CONF_ERROR;                 /* a setter bug: nothing recorded */
}

/* A setter bug: walks a block for a directive declared without one. */
static const char *
set_not_block(pc_conf_t *c, const pc_directive_t *d, void *conf)
{
    PC_UNUSED(d);
    PC_UNUSED(conf);
    return pc_conf_block(c, PC_CTX_SERVER, PC_SCOPE_SERVER, NULL, NULL) == PC_OK
           ? PC_CONF_OK : PC_CONF_ERROR;
}

static const pc_conf_enum_t modes[] = {
    { "fast", 1 }, { "safe", 2 }, { "slow", 3 }, { NULL, 0 }
};

#define CTX(x)  ((const void *) (uintptr_t) (x))
#define OFF(f)  offsetof(tconf_t, f)

static const pc_directive_t ta_directives[] = {
    { "events", PC_CTX_MAIN, 0, 0, PC_CONF_BLOCK, set_block, 0, 0, 0, CTX(PC_CTX_EVENTS) },
    { "http", PC_CTX_MAIN, 0, 0, PC_CONF_BLOCK, set_block, 0, 0, 0, CTX(PC_CTX_HTTP) },
    { "server", PC_CTX_HTTP, 0, 0, PC_CONF_BLOCK | PC_CONF_MULTI, set_block, 0, 0, 0,
      CTX(PC_CTX_SERVER) },
    { "upstream", PC_CTX_HTTP, 1, 1, PC_CONF_BLOCK | PC_CONF_MULTI, set_block, 0, 0, 0,
      CTX(PC_CTX_UPSTREAM) },
    { "server", PC_CTX_UPSTREAM, 1, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_up_server, 0, 0, 0,
      NULL },
    { "listen", PC_CTX_SERVER, 1, 3, PC_CONF_MULTI, NULL, 0, 0, 0, NULL },
    { "worker_connections", PC_CTX_EVENTS, 1, 1, 0, pc_conf_set_num, OFF(num), 1, 65535, NULL },
    { "flag", PC_CTX_ANY, 1, 1, 0, pc_conf_set_flag, OFF(flag), 0, 0, NULL },
    { "num", PC_CTX_ANY, 1, 1, 0, pc_conf_set_num, OFF(num), 1, 100, NULL },
    { "bignum", PC_CTX_ANY, 1, 1, 0, pc_conf_set_num, OFF(num), 0, 0, NULL },
    { "size", PC_CTX_ANY, 1, 1, 0, pc_conf_set_size, OFF(size), 1024, 1048576, NULL },
    { "bigsize", PC_CTX_ANY, 1, 1, 0, pc_conf_set_size, OFF(size), 0, 0, NULL },
    { "msec", PC_CTX_ANY, 1, 1, 0, pc_conf_set_msec, OFF(msec), 1, 86400000, NULL },
    { "str", PC_CTX_ANY, 1, 1, 0, pc_conf_set_str, OFF(str), 0, 0, NULL },
    { "shortstr", PC_CTX_ANY, 1, 1, 0, pc_conf_set_str, OFF(str), 1, 3, NULL },
    { "path", PC_CTX_ANY, 1, 1, 0, pc_conf_set_path, OFF(path), 0, 0, NULL },
    { "mode", PC_CTX_ANY, 1, 1, 0, pc_conf_set_enum, OFF(mode), 0, 0, modes },
    { "multi", PC_CTX_ANY, 0, PC_CONF_ARGS_ANY, PC_CONF_MULTI, NULL, 0, 0, 0, NULL },
    { "msg", PC_CTX_ANY, 0, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_msg, 0, 0, 0, NULL },
    { "err", PC_CTX_ANY, 0, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_err, 0, 0, 0, NULL },
    { "silent", PC_CTX_ANY, 0, 0, 0, set_silent, 0, 0, 0, NULL },
    { "notblock", PC_CTX_ANY, 0, 0, 0, set_not_block, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static const pc_directive_t tb_directives[] = {
    { "other", PC_CTX_MAIN | PC_CTX_HTTP, 1, 1, 0, pc_conf_set_num, OFF(other), 0, 0, NULL },
    PC_DIRECTIVE_END
};

static pc_module_t ta_module = { .name = "ta", .directives = ta_directives };
static pc_module_t tb_module = { .name = "tb", .directives = tb_directives };
static pc_module_t tc_module = { .name = "tc" };          /* no directives */

pc_module_t *pc_modules[] = { &ta_module, &tc_module, &tb_module, NULL };
unsigned pc_modules_n = 3;

static void *main_confs[3];
static pc_conf_node_t *sentinel_node;

/* Parse and dispatch text at the main level; -99 when it does not parse. */
static pc_rc_t
run(const char *text)
{
    static pc_conf_node_t sentinel;
    pc_conf_node_t *root = parse(text);

    if (root == NULL)
        return -99;
    main_confs[0] = tconf_new(pool);
    main_confs[1] = NULL;
    main_confs[2] = tconf_new(pool);
    cf.ctx_confs = main_confs;
    cf.prefix = "/opt/pc/";
    cf.node = sentinel_node = &sentinel;
    cf.ctx = 0x1234;
    nblocks = 0;
    return pc_conf_dispatch(&cf, root, PC_CTX_MAIN);
}

#define MAIN_A  ((tconf_t *) main_confs[0])
#define MAIN_B  ((tconf_t *) main_confs[2])

/* run(text) fails with exactly one error, msg. */
static void
dispatch_error(const char *text, const char *msg)
{
    is_int(run(text), PC_ERROR, "dispatch fails: %s", msg);
    is_int(cf.nerrors, 1, "one error: %s", msg);
    is_cstr(err(0), msg, "message: %s", msg);
}

static void
test_dispatch_errors(void)
{
    dispatch_error("nope;", "unknown directive \"nope\" in t.conf:1");
    dispatch_error("\nlisten 80;", "\"listen\" directive is not allowed here in t.conf:2");
    dispatch_error("flag;", "invalid number of arguments in \"flag\" directive in t.conf:1");
    dispatch_error("flag on off;", "invalid number of arguments in \"flag\" directive in t.conf:1");
    dispatch_error("http;", "directive \"http\" has no opening \"{\" in t.conf:1");
    dispatch_error("flag on { }", "directive \"flag\" is not terminated by \";\" in t.conf:1");
    dispatch_error("num 1;\n\nnum 2;", "\"num\" directive is duplicate in t.conf:3");
    dispatch_error("msg;", "\"msg\" directive invalid value \"1y\" in t.conf:1");
    dispatch_error("err;", "custom error \"boom\" in t.conf:1");
    dispatch_error("silent;", "\"silent\" directive failed in t.conf:1");
    dispatch_error("notblock;", "internal error: pc_conf_block() called outside a block "
                   "directive in t.conf:1");
    dispatch_error("http x {\n nope;\n}", "invalid number of arguments in \"http\" directive "
                   "in t.conf:1");
    is_int(nblocks, 0, "a block whose directive failed is not entered");
    dispatch_error("http {\n upstream u {\n  listen 80;\n }\n}",
                   "\"listen\" directive is not allowed here in t.conf:3");
    dispatch_error("other 1;\nhttp {\n other 2;\n other x;\n}",
                   "\"other\" directive is duplicate in t.conf:4");
    is_int(MAIN_B->other, 1, "second module's conf reached through its index");
    main_confs[0] = NULL;
    fresh();
}

static void
test_dispatch_keeps_going(void)
{
    static const char *want[] = {
        "unknown directive \"nope\" in t.conf:1",
        "\"flag\" directive invalid value \"maybe\", it must be \"on\" or \"off\" in t.conf:2",
        "\"num\" directive is duplicate in t.conf:4",
        "unknown directive \"bad1\" in t.conf:6",
        "unknown directive \"bad2\" in t.conf:8",
        "unknown directive \"last\" in t.conf:11",
    };
    char text[256];
    size_t i;

    is_int(run("nope;\nflag maybe;\nnum 1;\nnum 2;\nhttp {\n  bad1;\n  server {\n    bad2;\n"
               "  }\n}\nlast;"), PC_ERROR, "several errors");
    is_int(cf.nerrors, pc_nelems(want), "every error is reported");
    for (i = 0; i < pc_nelems(want); i++)
        is_cstr(err((uint32_t) i), want[i], "error %zu in order", i + 1);
    ok(cf.node == sentinel_node && cf.ctx == 0x1234 && cf.ctx_confs == main_confs,
       "cf->node, ctx and confs restored after dispatch");

    for (i = 0; i < 20; i++)
        memcpy(text + i * 3, "x;\n", 3);
    text[60] = '\0';
    is_int(run(text), PC_ERROR, "20 unknown directives");
    is_int(cf.nerrors, 20, "error list grows past its first allocation");
    is_cstr(err(19), "unknown directive \"x\" in t.conf:20", "twentieth error");
}

static void
test_dispatch_ok(void)
{
    const char *text = "flag ON;\nnum 5;\nsize 16k;\nmsec 500ms;\nstr \"hello world\";\n"
        "path logs/x.log;\nmode SAFE;\nother 7;\nmulti;\nmulti a b c;\n"
        "events { worker_connections 1024; }\n"
        "http {\n upstream u {\n  server a weight=1;\n  server b;\n }\n"
        " server {\n  listen 80;\n  listen 81;\n  flag off;\n }\n server { }\n}\n";

    is_int(run(text), PC_OK, "valid configuration dispatched");
    is_int(cf.nerrors, 0, "no errors");
    is_int(MAIN_A->flag, 1, "flag ON");
    is_int(MAIN_A->num, 5, "num 5");
    is_int(MAIN_A->size, 16384, "size 16k");
    is_int(MAIN_A->msec, 500, "msec 500ms");
    is_str(MAIN_A->str.data, MAIN_A->str.len, "hello world", 11, "str");
    is_cstr((const char *) MAIN_A->path.data, "/opt/pc/logs/x.log", "path resolved");
    is_int(MAIN_A->mode, 2, "enum, any case");
    is_int(MAIN_B->other, 7, "directive of the second module");
    is_int(nblocks, 5, "events, http, upstream and two servers entered");
    is_int(blocks[0]->num, 1024, "events conf got worker_connections");
    is_int(blocks[2]->servers, 2, "upstream's server lines resolved by context");
    is_int(blocks[3]->flag, 0, "server's flag in the server conf");
    ok(cf.block == NULL && cf.scope == PC_SCOPE_MAIN, "block and scope restored");
    cf.ctx_confs = NULL;
    is_int(pc_conf_dispatch(&cf, NULL, PC_CTX_MAIN), PC_OK, "NULL block is a no-op");
}

/* value → expected message (NULL: accepted) for one directive. */
static void
value_case(const char *text, const char *msg)
{
    pc_rc_t rc = run(text);

    if (msg == NULL) {
        ok(rc == PC_OK && cf.nerrors == 0, "accepted: %s", text);
        return;
    }
    ok(rc == PC_ERROR && cf.nerrors == 1, "rejected: %s", text);
    is_cstr(err(0), msg, "message for %s", text);
}

static void
test_setters(void)
{
    value_case("num 0;", "\"num\" directive invalid value \"0\", it must be between 1 and 100 "
               "in t.conf:1");
    value_case("num 1;", NULL);
    value_case("num 100;", NULL);
    value_case("num 101;", "\"num\" directive invalid value \"101\", it must be between 1 and "
               "100 in t.conf:1");
    value_case("num -1;", "\"num\" directive invalid value \"-1\", it must be a non-negative "
               "integer in t.conf:1");
    value_case("bignum 0;", NULL);
    value_case("bignum 9223372036854775807;", NULL);
    value_case("bignum 9223372036854775808;", "\"bignum\" directive invalid value "
               "\"9223372036854775808\", it must be a non-negative integer in t.conf:1");
    value_case("size 1023;", "\"size\" directive invalid value \"1023\", it must be between "
               "1k and 1m in t.conf:1");
    value_case("size 1k;", NULL);
    value_case("size 1m;", NULL);
    value_case("size 1025k;", "\"size\" directive invalid value \"1025k\", it must be between "
               "1k and 1m in t.conf:1");
    value_case("size 1x;", "\"size\" directive invalid value \"1x\", it must be a size like "
               "512, 16k, 10m or 1g in t.conf:1");
    value_case("bigsize 8589934591g;", NULL);
    value_case("msec 0;", "\"msec\" directive invalid value \"0\", it must be between 1ms and "
               "1d in t.conf:1");
    value_case("msec 1ms;", NULL);
    value_case("msec 1d;", NULL);
    value_case("msec 86401s;", "\"msec\" directive invalid value \"86401s\", it must be between "
               "1ms and 1d in t.conf:1");
    value_case("msec 1y;", "\"msec\" directive invalid value \"1y\", it must be a duration like "
               "500ms, 10s, 5m, 1h or 1d in t.conf:1");
    value_case("flag Off;", NULL);
    value_case("flag yes;", "\"flag\" directive invalid value \"yes\", it must be \"on\" or "
               "\"off\" in t.conf:1");
    value_case("mode bogus;", "\"mode\" directive invalid value \"bogus\", it must be \"fast\", "
               "\"safe\" or \"slow\" in t.conf:1");
    value_case("shortstr abc;", NULL);
    value_case("shortstr abcd;", "\"shortstr\" directive invalid value \"abcd\", its length must "
               "be between 1 and 3 bytes in t.conf:1");
    value_case("path '';", "\"path\" directive invalid value \"\", it must not be empty in "
               "t.conf:1");
    value_case("path /var/x;", NULL);
    is_cstr((const char *) MAIN_A->path.data, "/var/x", "absolute path kept");
}

static void
test_setter_direct(void)
{
    const pc_directive_t *d = &ta_directives[7];     /* flag */
    pc_conf_node_t *root;
    size_t before;
    tconf_t *c;
    int i;

    root = parse("flag on;\nnum x;");
    c = tconf_new(pool);
    cf.node = root->children;
    ok(pc_conf_set_flag(&cf, d, c) == PC_CONF_OK && c->flag == 1, "set_flag called directly");
    is_cstr(pc_conf_set_flag(&cf, d, c), "is duplicate", "set_flag detects a duplicate");
    is_cstr(pc_conf_set_flag(&cf, d, NULL), "is not supported at this level",
            "a setter without a conf does not crash");
    cf.node = root->children->next;
    ok(pc_conf_set_num(&cf, &ta_directives[8], c) == PC_CONF_ERROR,
       "a bad value is reported by the setter itself");
    is_cstr(err(0), "\"num\" directive invalid value \"x\", it must be a non-negative integer "
            "in t.conf:2", "at the node's FILE:LINE");
    cf.node = NULL;
    ok(pc_conf_error(&cf, "plain %d", 1) == PC_CONF_ERROR, "pc_conf_error returns PC_CONF_ERROR");
    is_cstr(err(1), "plain 1", "no node: no location");
    pc_conf_error_at(&cf, root->children, "at %s", "node");
    is_cstr(err(2), "at node in t.conf:1", "pc_conf_error_at uses the given node");
    cf.temp_pool = pc_pool_create(1024);
    before = pc_pool_size(pool);
    for (i = 0; i < 50; i++)
        pc_conf_error_at(&cf, root->children, "temp %d", i);
    is_cstr(err(52), "temp 49 in t.conf:1", "errors recorded with a temp pool");
    is_int(pc_pool_size(pool), before, "error strings and list live in the temp pool");
    pc_pool_destroy(cf.temp_pool);
    cf.temp_pool = NULL;
    cf.errors = NULL;
    cf.nerrors = cf.errors_cap = 0;
}

/* --------------------------------------------------------------- dump */

static bool
tree_eq(const pc_conf_node_t *a, const pc_conf_node_t *b)
{
    uint32_t i;

    for (; a != NULL && b != NULL; a = a->next, b = b->next) {
        if (!pc_str_eq(&a->name, &b->name) || a->nargs != b->nargs || a->block != b->block)
            return false;
        for (i = 0; i < a->nargs; i++) {
            if (!pc_str_eq(&a->args[i], &b->args[i]))
                return false;
        }
        if (!tree_eq(a->children, b->children))
            return false;
    }
    return a == NULL && b == NULL;
}

static char *
dump(const pc_conf_node_t *root, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);

    pc_conf_dump(root, f);
    fclose(f);
    return buf;
}

static void
test_dump(void)
{
    const char *text = "a \"x y\" b\\.c \"\" \"\\${NOT}\" q\"q '\\\\' \"a\\nb\" '#h' \"{\" $host "
        "x\\\\d \"tab\\there\";\nhttp {\n  server { listen 80; }\n  e { }\n}\n";
    const char *want = "a \"x y\" b\\.c \"\" \"\\${NOT}\" q\"q \"\\\\\" \"a\\nb\" \"#h\" \"{\" $host "
        "x\\d \"tab\\there\";\nhttp {\n    server {\n        listen 80;\n    }\n"
        "    e {\n    }\n}\n";
    pc_conf_node_t *root, *again;
    pc_pool_t *keep;
    size_t len;
    char *out;

    root = parse(text);
    ok(root != NULL, "dump input parsed");
    keep = pool;
    pool = NULL;                                 /* keep the first tree alive */
    out = dump(root, &len);
    is_str(out, len, want, strlen(want), "dump re-serialises with 4-space indent and quoting");
    again = parse(out);
    ok(again != NULL && tree_eq(root->children, again->children),
       "parsing the dump gives back the same tree");
    free(out);
    pc_pool_destroy(keep);
    out = dump(NULL, &len);
    is_int(len, 0, "dump(NULL) prints nothing");
    free(out);
}

/* -------------------------------------------------------------- main */

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    PC_UNUSED(st);
    PC_UNUSED(type);
    PC_UNUSED(ftw);
    return remove(path);
}

int
main(void)
{
    unsigned i;

    for (i = 0; pc_modules[i] != NULL; i++)
        pc_modules[i]->index = i;
    snprintf(tmp, sizeof(tmp), "/tmp/pc_conf_test.XXXXXX");
    if (mkdtemp(tmp) == NULL) {
        diag("mkdtemp: %s", strerror(errno));
        return 1;
    }
    test_syntax_errors();
    test_nul_and_nesting();
    test_one_byte();
    test_structure();
    test_words();
    test_env();
    test_include_glob();
    test_include_errors();
    test_include_depth();
    test_include_files();
    test_parse_size();
    test_parse_msec();
    test_parse_misc();
    test_dispatch_errors();
    test_dispatch_keeps_going();
    test_dispatch_ok();
    test_setters();
    test_setter_direct();
    test_dump();
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    pc_pool_destroy(pool);
    return done_testing();
}
