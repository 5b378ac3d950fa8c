/*
 * regex_pcre.c -- compile and match with PCRE2 (see regex_pcre.h).
 *
 * One match context, JIT stack and match data per process: a worker is
 * single-threaded and a match never outlives the call that made it, so
 * sharing them costs nothing and keeps allocation off the request path
 * (the match data only grows, once, when a bigger pattern shows up).
 */
#include "regex/regex_pcre.h"

static pcre2_match_context *mctx;
static pcre2_jit_stack     *jit_stack;
static pcre2_match_data    *mdata;
static uint32_t             mdata_pairs;

/* Contract: see regex_pcre.h. */
bool
pc_regex_jit_available(void)
{
    uint32_t jit = 0;

    return pcre2_config(PCRE2_CONFIG_JIT, &jit) >= 0 && jit == 1;
}

/* Contract: see regex_pcre.h. */
void
pc_regex_strerror(int code, char *buf, size_t len)
{
    if (len == 0)
        return;
    if (pcre2_get_error_message(code, (PCRE2_UCHAR *) buf, len) < 0)
        snprintf(buf, len, "PCRE2 error %d", code);
}

static void
fill_info(pc_regex_t *re)
{
    PCRE2_SPTR table = NULL;

    (void) pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->ncaptures);
    (void) pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &re->nnames);
    (void) pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &re->name_size);
    (void) pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    re->name_table = (const u_char *) table;
    if (re->name_table == NULL)
        re->nnames = 0;
}

/* Contract: see regex_pcre.h. */
pc_rc_t
pc_regex_compile(pc_regex_t *re, const u_char *p, size_t len, int caseless,
    char *err, size_t errlen, size_t *offset)
{
    PCRE2_SIZE erroff = 0;
    int errcode = 0;

    memset(re, 0, sizeof(*re));
    if (errlen > 0)
        err[0] = '\0';
    *offset = 0;
    re->code = pcre2_compile((PCRE2_SPTR) p, len, caseless ? PCRE2_CASELESS : 0,
                             &errcode, &erroff, NULL);
    if (re->code == NULL) {
        pc_regex_strerror(errcode, err, errlen);
        *offset = erroff;
        return PC_ERROR;
    }
    fill_info(re);
    if (re->ncaptures > PC_REGEX_MAX_CAPTURES) {
        snprintf(err, errlen, "too many capture groups (%u, at most %u)",
                 re->ncaptures, PC_REGEX_MAX_CAPTURES);
        pc_regex_free(re);
        return PC_ERROR;
    }
    /* Without JIT (not built in, or no executable memory) the
     * interpreter runs the same pattern, just slower. */
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    return PC_OK;
}

/* Contract: see regex_pcre.h. */
void
pc_regex_free(void *data)
{
    pc_regex_t *re = data;

    if (re != NULL && re->code != NULL) {
        pcre2_code_free(re->code);
        re->code = NULL;
    }
}

/* Contract: see regex_pcre.h. */
void
pc_regex_name(const pc_regex_t *re, uint32_t i, pc_str_t *name, uint32_t *group)
{
    const u_char *e = re->name_table + (size_t) i * re->name_size;

    *group = ((uint32_t) e[0] << 8) | e[1];
    name->data = (u_char *) e + 2;
    name->len = strnlen((const char *) e + 2, re->name_size - 2);
}

static pc_rc_t
grow_match_data(uint32_t pairs)
{
    pcre2_match_data *md;

    if (mdata != NULL && mdata_pairs >= pairs)
        return PC_OK;
    md = pcre2_match_data_create(pairs, NULL);
    if (md == NULL)
        return PC_ERROR;
    if (mdata != NULL)
        pcre2_match_data_free(mdata);
    mdata = md;
    mdata_pairs = pairs;
    return PC_OK;
}

/* Contract: see regex_pcre.h. */
pc_rc_t
pc_regex_matcher_init(uint32_t pairs)
{
    if (pairs < 10)
        pairs = 10;         /* $0..$9 for the common case: no regrowth */
    if (mctx == NULL) {
        mctx = pcre2_match_context_create(NULL);
        if (mctx == NULL)
            return PC_ERROR;
        pcre2_set_match_limit(mctx, PC_REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(mctx, PC_REGEX_DEPTH_LIMIT);
        pcre2_set_heap_limit(mctx, PC_REGEX_HEAP_LIMIT_KB);
        if (pc_regex_jit_available()) {
            jit_stack = pcre2_jit_stack_create(PC_REGEX_JIT_STACK_MIN,
                                               PC_REGEX_JIT_STACK_MAX, NULL);
            /* no stack: PCRE2 uses its 32 KiB machine-stack default */
            if (jit_stack != NULL)
                pcre2_jit_stack_assign(mctx, NULL, jit_stack);
        }
    }
    return grow_match_data(pairs);
}

/* Contract: see regex_pcre.h. */
void
pc_regex_matcher_free(void)
{
    if (mdata != NULL)
        pcre2_match_data_free(mdata);
    if (mctx != NULL)
        pcre2_match_context_free(mctx);
    if (jit_stack != NULL)
        pcre2_jit_stack_free(jit_stack);
    mdata = NULL;
    mctx = NULL;
    jit_stack = NULL;
    mdata_pairs = 0;
}

/* Contract: see regex_pcre.h. */
int
pc_regex_exec(const pc_regex_t *re, const u_char *s, size_t len,
    const size_t **ovector)
{
    int rc;

    if (re == NULL || re->code == NULL)
        return PCRE2_ERROR_NULL;
    if (pc_regex_matcher_init(re->ncaptures + 1) != PC_OK)
        return PCRE2_ERROR_NOMEMORY;
    if (s == NULL)
        s = (const u_char *) "";
    /* the JIT's own entry skips the interpreter's option checks */
    rc = re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR) s, len, 0, 0, mdata, mctx)
                 : pcre2_match(re->code, (PCRE2_SPTR) s, len, 0, 0, mdata, mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0)
        return rc;
    /* rc == 0 means the ovector was too small: it never is (sized above) */
    if (rc == 0)
        rc = (int) mdata_pairs;
    *ovector = pcre2_get_ovector_pointer(mdata);
    return rc;
}
