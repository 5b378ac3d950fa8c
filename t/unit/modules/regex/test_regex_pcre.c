/*
 * test_regex_pcre.c -- modules/regex/regex_pcre.c: compile errors with
 * their offset, captures, caseless matching, named groups, the match
 * limits (a pathological pattern fails fast instead of holding the
 * worker), and the lazily grown match data.
 */
#include <time.h>

#include "test.h"
#include "regex/regex_pcre.h"

static int
exec_str(pc_regex_t *re, const char *s, const size_t **ov)
{
    return pc_regex_exec(re, (const u_char *) s, strlen(s), ov);
}

static pc_rc_t
comp(pc_regex_t *re, const char *p, int caseless, char *err, size_t *off)
{
    return pc_regex_compile(re, (const u_char *) p, strlen(p), caseless, err, 256, off);
}

static void
test_compile_errors(void)
{
    pc_regex_t re;
    char err[256];
    size_t off = 99;

    is_int(comp(&re, "^/a(b", 0, err, &off), PC_ERROR, "unbalanced ( fails");
    ok(strstr(err, "missing closing parenthesis") != NULL, "message: %s", err);
    is_int((int) off, 5, "offset at the end of the pattern");
    ok(re.code == NULL, "no code on failure");
    is_int(comp(&re, "a[", 0, err, &off), PC_ERROR, "unterminated class fails");
    is_int((int) off, 2, "offset 2");
    is_int(comp(&re, "*a", 0, err, &off), PC_ERROR, "nothing to repeat");
    is_int((int) off, 0, "offset 0");
    is_int(comp(&re, "(?<n>a)(?<n>b)", 0, err, &off), PC_ERROR, "duplicate group name");
    ok(err[0] != '\0', "has a message");
    is_int(pc_regex_compile(&re, (const u_char *) "", 0, 0, err, sizeof(err), &off), PC_OK,
           "empty pattern compiles");
    pc_regex_free(&re);
    ok(re.code == NULL, "free clears the code");
    pc_regex_free(&re);
    pc_regex_free(NULL);
    ok(1, "free twice and free(NULL) are harmless");
}

static void
test_too_many_groups(void)
{
    char pat[2048], err[256];
    size_t off, n = 0;
    pc_regex_t re;
    int i;

    for (i = 0; i < PC_REGEX_MAX_CAPTURES + 1; i++)
        n += (size_t) snprintf(pat + n, sizeof(pat) - n, "(a)");
    is_int(comp(&re, pat, 0, err, &off), PC_ERROR, "more than %d groups rejected",
           PC_REGEX_MAX_CAPTURES);
    ok(strstr(err, "too many capture groups") != NULL, "message: %s", err);
    n = 0;
    for (i = 0; i < PC_REGEX_MAX_CAPTURES; i++)
        n += (size_t) snprintf(pat + n, sizeof(pat) - n, "(a)");
    is_int(comp(&re, pat, 0, err, &off), PC_OK, "exactly %d groups accepted",
           PC_REGEX_MAX_CAPTURES);
    is_int((int) re.ncaptures, PC_REGEX_MAX_CAPTURES, "ncaptures");
    pc_regex_free(&re);
}

static void
test_match(void)
{
    const size_t *ov = NULL;
    pc_regex_t re;
    char err[256];
    size_t off;
    int rc;

    is_int(comp(&re, "^/u/(\\d+)/(\\w+)?$", 0, err, &off), PC_OK, "compile");
    is_int((int) re.ncaptures, 2, "two groups");
    ok(re.jit == pc_regex_jit_available(), "JIT used when available");
    rc = exec_str(&re, "/u/42/bob", &ov);
    is_int(rc, 3, "three pairs set");
    is_int((int) ov[2], 3, "$1 start");
    is_int((int) ov[3], 5, "$1 end");
    is_int((int) ov[4], 6, "$2 start");
    is_int(exec_str(&re, "/u/42/", &ov), 2, "unset trailing group: two pairs");
    is_int(exec_str(&re, "/u/x/bob", &ov), 0, "no match");
    is_int(exec_str(&re, "/U/42/bob", &ov), 0, "case-sensitive");
    is_int(pc_regex_exec(&re, NULL, 0, &ov), 0, "NULL subject is empty: no match");
    /* subject is not NUL-terminated: only len bytes count */
    is_int(pc_regex_exec(&re, (const u_char *) "/u/42/bobXXX", 9, &ov), 3,
           "length bounds the subject");
    pc_regex_free(&re);
    is_int(pc_regex_exec(&re, (const u_char *) "x", 1, &ov) < 0, 1, "freed regex: error");

    is_int(comp(&re, "\\.PHP$", 1, err, &off), PC_OK, "caseless compile");
    is_int(exec_str(&re, "/index.php", &ov), 1, "caseless match");
    pc_regex_free(&re);
    /* a NUL byte inside the subject is data, not the end */
    is_int(comp(&re, "a\\x00b", 0, err, &off), PC_OK, "pattern with NUL");
    is_int(pc_regex_exec(&re, (const u_char *) "a\0b", 3, &ov), 1, "matches across NUL");
    pc_regex_free(&re);
}

static void
test_names(void)
{
    pc_regex_t re;
    char err[256];
    size_t off;
    pc_str_t name;
    uint32_t group;

    is_int(comp(&re, "^(?<sub>[a-z]+)\\.(x)\\.(?<tld>com|org)$", 0, err, &off), PC_OK,
           "compile named");
    is_int((int) re.nnames, 2, "two names");
    pc_regex_name(&re, 0, &name, &group);
    is_str(name.data, name.len, "sub", 3, "first name (table is sorted)");
    is_int((int) group, 1, "group 1");
    pc_regex_name(&re, 1, &name, &group);
    is_str(name.data, name.len, "tld", 3, "second name");
    is_int((int) group, 3, "group 3");
    pc_regex_free(&re);
    is_int(comp(&re, "plain", 0, err, &off), PC_OK, "no names");
    is_int((int) re.nnames, 0, "nnames 0");
    pc_regex_free(&re);
}

static void
test_limits(void)
{
    const size_t *ov = NULL;
    char err[256], subject[64];
    struct timespec t0, t1;
    pc_regex_t re;
    size_t off;
    double ms;
    int rc;

    memset(subject, 'a', 40);
    subject[40] = 'b';
    subject[41] = '\0';
    is_int(comp(&re, "^(a+)+$", 0, err, &off), PC_OK, "catastrophic pattern compiles");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = exec_str(&re, subject, &ov);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
    ok(rc < 0, "backtracking bomb hits a limit (rc %d)", rc);
    pc_regex_strerror(rc, err, sizeof(err));
    ok(strstr(err, "limit") != NULL, "error text names a limit: %s", err);
    ok(ms < 500, "and gives up fast (%.1f ms)", ms);
    is_int(exec_str(&re, "aaaa", &ov), 2, "the same pattern still matches normal input");
    pc_regex_free(&re);
}

static void
test_matcher_growth(void)
{
    const size_t *ov = NULL;
    char pat[512], err[256];
    size_t off, n = 0;
    pc_regex_t re;
    int i;

    pc_regex_matcher_free();
    is_int(pc_regex_matcher_init(1), PC_OK, "matcher init");
    for (i = 0; i < 40; i++)
        n += (size_t) snprintf(pat + n, sizeof(pat) - n, "(.)");
    is_int(comp(&re, pat, 0, err, &off), PC_OK, "40-group pattern");
    memset(pat, 'z', 40);
    is_int(pc_regex_exec(&re, (const u_char *) pat, 40, &ov), 41,
           "match data grows to 41 pairs on demand");
    is_int((int) ov[80], 39, "last group start");
    pc_regex_free(&re);
    pc_regex_matcher_free();
    pc_regex_matcher_free();
    ok(1, "matcher free twice");
    pc_regex_strerror(PCRE2_ERROR_MATCHLIMIT, err, 0);
    ok(1, "strerror with an empty buffer");
}

int
main(void)
{
    test_compile_errors();
    test_too_many_groups();
    test_match();
    test_names();
    test_limits();
    test_matcher_growth();
    pc_regex_matcher_free();
    return done_testing();
}
