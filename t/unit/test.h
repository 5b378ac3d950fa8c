/*
 * test.h -- a tiny header-only TAP harness for the unit tests.
 *
 * Include it once per test program (it defines static state).  Typical use:
 *
 *     int main(void)
 *     {
 *         ok(1 + 1 == 2, "arithmetic");
 *         is_int(f(3), 9, "f(3)");
 *         is_str(buf, n, "abc", 3, "parsed name");
 *         return done_testing();
 *     }
 *
 * Output is TAP ("ok N - name", "not ok N - name", "# diag", "1..N"), so
 * `prove` and automake's TAP driver read it.  done_testing() (or
 * test_exit_code() after plan(N)) returns nonzero when any test failed or the
 * count does not match the plan, which main() returns.
 */
#ifndef PC_TEST_H
#define PC_TEST_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int test_run_;    /* tests run so far          */
static int test_failed_; /* of which failed           */
static int test_planned_ = -1;

#if defined(__GNUC__)
#define TEST_PRINTF_(f, a) __attribute__((format(printf, f, a)))
#define TEST_UNUSED_       __attribute__((unused))
#else
#define TEST_PRINTF_(f, a)
#define TEST_UNUSED_
#endif

/* "# ..." on stdout, to explain a failure. */
static TEST_UNUSED_ TEST_PRINTF_(1, 2) void diag(const char *fmt, ...)
{
    va_list ap;

    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputs("\n", stdout);
}

/* Announce how many tests will run (optional; see done_testing). */
static TEST_UNUSED_ void
plan(int n)
{
    test_planned_ = n;
    printf("1..%d\n", n);
}

static TEST_UNUSED_ TEST_PRINTF_(4, 0) int test_vok_(
    int pass, const char *file, int line, const char *fmt, va_list ap)
{
    test_run_++;
    printf("%s %d - ", pass ? "ok" : "not ok", test_run_);
    vprintf(fmt, ap);
    fputs("\n", stdout);
    if (!pass) {
        test_failed_++;
        printf("#   Failed test at %s line %d.\n", file, line);
    }
    fflush(stdout);
    return pass;
}

static TEST_UNUSED_ TEST_PRINTF_(4, 5) int test_ok_(
    int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = test_vok_(pass, file, line, fmt, ap);
    va_end(ap);
    return rc;
}

static TEST_UNUSED_ TEST_PRINTF_(5, 6) int test_is_int_(
    intmax_t got, intmax_t want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = test_vok_(got == want, file, line, fmt, ap);
    va_end(ap);
    if (!rc) {
        diag("       got: %jd", got);
        diag("  expected: %jd", want);
    }
    return rc;
}

/* Print a counted string for diag(), escaping what is not printable. */
static TEST_UNUSED_ void
test_show_str_(const char *label, const void *s, size_t n)
{
    const unsigned char *p = s;
    size_t i;

    printf("# %10s: ", label);
    if (p == NULL) {
        fputs("NULL\n", stdout);
        return;
    }
    putchar('"');
    for (i = 0; i < n && i < 200; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
            putchar(p[i]);
        } else {
            printf("\\x%02x", p[i]);
        }
    }
    printf("\"%s (%zu bytes)\n", i < n ? "..." : "", n);
}

static TEST_UNUSED_ TEST_PRINTF_(7, 8) int test_is_str_(const void *got, size_t glen,
    const void *want, size_t wlen, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int pass, rc;

    pass = glen == wlen
           && (glen == 0 || (got != NULL && want != NULL && memcmp(got, want, glen) == 0));
    va_start(ap, fmt);
    rc = test_vok_(pass, file, line, fmt, ap);
    va_end(ap);
    if (!rc) {
        test_show_str_("got", got, glen);
        test_show_str_("expected", want, wlen);
    }
    return rc;
}

/* ok(cond, fmt, ...): passes when cond is true. */
#define ok(cond, ...) test_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* is_int(got, want, fmt, ...): integer equality, both shown on failure. */
#define is_int(got, want, ...)                                                                     \
    test_is_int_((intmax_t) (got), (intmax_t) (want), __FILE__, __LINE__, __VA_ARGS__)

/* is_str(got, glen, want, wlen, fmt, ...): counted strings, byte-equal. */
#define is_str(got, glen, want, wlen, ...)                                                         \
    test_is_str_((got), (glen), (want), (wlen), __FILE__, __LINE__, __VA_ARGS__)

/* Exit code for main(): 0 only if every test passed and the plan held. */
static TEST_UNUSED_ int
test_exit_code(void)
{
    if (test_planned_ >= 0 && test_planned_ != test_run_) {
        diag("planned %d tests but ran %d", test_planned_, test_run_);
        return 255;
    }
    if (test_failed_) {
        diag("failed %d of %d tests", test_failed_, test_run_);
        return test_failed_ > 254 ? 254 : test_failed_;
    }
    return 0;
}

/* Print the plan after the fact (when plan() was not called), then the exit
 * code for main(). */
static TEST_UNUSED_ int
done_testing(void)
{
    if (test_planned_ < 0) {
        printf("1..%d\n", test_run_);
    }
    if (test_run_ == 0) {
        diag("no tests run");
        return 255;
    }
    return test_exit_code();
}

#endif /* PC_TEST_H */
