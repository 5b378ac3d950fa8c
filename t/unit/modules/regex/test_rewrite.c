/*
 * test_rewrite.c -- modules/regex/rewrite.c: flags, absolute
 * replacements, where a replacement splits into path and args, how the
 * new args are made, and the Location of a redirect.
 */
#include "test.h"
#include "regex/rewrite.h"

static pc_str_t
S(const char *s)
{
    pc_str_t r = { strlen(s), (u_char *) s };

    return r;
}

static void
test_flags(void)
{
    pc_rewrite_flag_e f = PC_REWRITE_NONE;
    pc_str_t s;

    s = S("last");
    is_int(pc_rewrite_parse_flag(&s, &f), PC_OK, "last");
    is_int(f, PC_REWRITE_LAST, "= LAST");
    s = S("break");
    is_int(pc_rewrite_parse_flag(&s, &f), PC_OK, "break");
    is_int(f, PC_REWRITE_BREAK, "= BREAK");
    s = S("redirect");
    is_int(pc_rewrite_parse_flag(&s, &f), PC_OK, "redirect");
    is_int(f, PC_REWRITE_REDIRECT, "= REDIRECT");
    s = S("permanent");
    is_int(pc_rewrite_parse_flag(&s, &f), PC_OK, "permanent");
    is_int(f, PC_REWRITE_PERMANENT, "= PERMANENT");
    s = S("Last");
    is_int(pc_rewrite_parse_flag(&s, &f), PC_ERROR, "flags are case-sensitive");
    s = S("");
    is_int(pc_rewrite_parse_flag(&s, &f), PC_ERROR, "empty");
    s = S("lastx");
    is_int(pc_rewrite_parse_flag(&s, &f), PC_ERROR, "longer word");
    s = S("las");
    is_int(pc_rewrite_parse_flag(&s, &f), PC_ERROR, "prefix of a flag");
}

static void
test_absolute(void)
{
    pc_str_t s;

    s = S("http://example.com/");
    ok(pc_rewrite_is_absolute(&s), "http://");
    s = S("https://x");
    ok(pc_rewrite_is_absolute(&s), "https://");
    s = S("$scheme://$host/x");
    ok(pc_rewrite_is_absolute(&s), "$scheme");
    s = S("/local");
    ok(!pc_rewrite_is_absolute(&s), "a path is internal");
    s = S("http:/x");
    ok(!pc_rewrite_is_absolute(&s), "http:/ is not");
    s = S("");
    ok(!pc_rewrite_is_absolute(&s), "empty");
}

static void
check_template(const char *repl, bool want_q, const char *want_path, const char *want_args)
{
    pc_str_t r = S(repl), path, args;

    is_int(pc_rewrite_split_template(&r, &path, &args), want_q, "template \"%s\": '?' %s",
           repl, want_q ? "found" : "absent");
    is_str(path.data, path.len, want_path, strlen(want_path), "  path");
    is_str(args.data, args.len, want_args, strlen(want_args), "  args");
}

static void
test_template(void)
{
    check_template("/new", false, "/new", "");
    check_template("", false, "", "");
    check_template("?", true, "", "");
    check_template("/new?x=1", true, "/new", "x=1");
    check_template("/e/$1?n=$arg_a", true, "/e/$1", "n=$arg_a");
    check_template("?x", true, "", "x");
    check_template("/a?b?c", true, "/a", "b?c");
    check_template("/a?", true, "/a", "");
}

static void
check_args(pc_pool_t *pool, const char *fresh, const char *old, bool drop,
    const char *want)
{
    pc_str_t f = S(fresh ? fresh : ""), o = S(old), args;

    is_int(pc_rewrite_args(pool, fresh ? &f : NULL, &o, drop, &args), PC_OK,
           "args %s%s%s + \"%s\"%s", fresh ? "\"" : "", fresh ? fresh : "(no ?)",
           fresh ? "\"" : "", old, drop ? " (drop)" : "");
    is_str(args.data, args.len, want, strlen(want), "  = \"%s\"", want);
}

static void
test_args(pc_pool_t *pool)
{
    check_args(pool, NULL, "a=1", false, "a=1");
    check_args(pool, NULL, "", false, "");
    check_args(pool, "x=2", "a=1", false, "x=2&a=1");
    check_args(pool, "x=2", "", false, "x=2");
    check_args(pool, NULL, "a=1", true, "");
    check_args(pool, "x=2", "a=1", true, "x=2");
    check_args(pool, "", "a=1", false, "a=1");
    check_args(pool, "", "a=1", true, "");
    check_args(pool, "x", "a", false, "x&a");
    /* what a capture brings into the args part is taken as it is */
    check_args(pool, "q=1?r", "a", false, "q=1?r&a");
}

static void
test_join(pc_pool_t *pool)
{
    pc_str_t u = S("/t"), a = S("x=1"), e = S(""), out;

    is_int(pc_rewrite_join(pool, &u, &a, &out), PC_OK, "join");
    is_str(out.data, out.len, "/t?x=1", 6, "uri?args");
    is_int(pc_rewrite_join(pool, &u, &e, &out), PC_OK, "join without args");
    is_str(out.data, out.len, "/t", 2, "just the uri");
    is_int(pc_rewrite_join(pool, &e, &a, &out), PC_OK, "empty uri");
    is_str(out.data, out.len, "?x=1", 4, "?args");
    u = S("/a?b#c");
    is_int(pc_rewrite_join(pool, &u, &a, &out), PC_OK, "a ? and a # in the uri");
    is_str(out.data, out.len, "/a%3Fb%23c?x=1", 14, "escaped, args after");
    is_int(pc_rewrite_join(pool, &u, &e, &out), PC_OK, "the same without args");
    is_str(out.data, out.len, "/a%3Fb%23c", 10, "escaped");
}

int
main(void)
{
    pc_pool_t *pool = pc_pool_create(4096);

    test_flags();
    test_absolute();
    test_template();
    test_args(pool);
    test_join(pool);
    pc_pool_destroy(pool);
    return done_testing();
}
