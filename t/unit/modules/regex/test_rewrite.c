/*
 * test_rewrite.c -- modules/regex/rewrite.c: flags, absolute
 * replacements, and how a rewritten target splits into URI and args.
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
check_split(pc_pool_t *pool, const char *result, const char *old, bool drop,
    const char *want_uri, const char *want_args)
{
    pc_str_t res = S(result), o = S(old), uri, args;

    is_int(pc_rewrite_split(pool, &res, &o, drop, &uri, &args), PC_OK, "split \"%s\" + \"%s\"%s",
           result, old, drop ? " (drop)" : "");
    is_str(uri.data, uri.len, want_uri, strlen(want_uri), "  uri");
    is_str(args.data, args.len, want_args, strlen(want_args), "  args");
}

static void
test_split(pc_pool_t *pool)
{
    check_split(pool, "/new", "a=1", false, "/new", "a=1");
    check_split(pool, "/new", "", false, "/new", "");
    check_split(pool, "/new?x=2", "a=1", false, "/new", "x=2&a=1");
    check_split(pool, "/new?x=2", "", false, "/new", "x=2");
    check_split(pool, "/new", "a=1", true, "/new", "");
    check_split(pool, "/new?x=2", "a=1", true, "/new", "x=2");
    check_split(pool, "/new?", "a=1", false, "/new", "a=1");
    check_split(pool, "?x", "a", false, "", "x&a");
    check_split(pool, "", "a", false, "", "a");
    check_split(pool, "/a?b?c", "", false, "/a", "b?c");
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
}

int
main(void)
{
    pc_pool_t *pool = pc_pool_create(4096);

    test_flags();
    test_absolute();
    test_split(pool);
    test_join(pool);
    pc_pool_destroy(pool);
    return done_testing();
}
