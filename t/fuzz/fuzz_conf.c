/*
 * fuzz_conf.c -- libFuzzer target for the configuration parser
 * (pc_conf_parse_buffer) and directive dispatch (pc_conf_dispatch with the
 * standard setters), linked with pc_pool.c pc_str.c pc_conf.c pc_conf_lex.c
 * only: the module list below stands in for modules/modules.c.
 *
 * Besides "no crash, no UB, no leak" it checks two invariants:
 *   - parse failed  <=> at least one error was recorded;
 *   - pc_conf_dump() of an accepted tree parses back to the same tree.
 *
 * Safety: cf.no_include is set, so "include /etc/..." never opens a host
 * file; ${VAR} reads the environment only (bounded by its size).  Two
 * variables are set so expansion paths are reached deterministically.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Isrc t/fuzz/fuzz_conf.c src/core/pc_pool.c src/core/pc_str.c \
 *     src/core/pc_conf.c src/core/pc_conf_lex.c -o fuzz_conf
 *   ./fuzz_conf t/fuzz/corpus/conf
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pc_conf.h"
#include "core/pc_module.h"
#include "core/pc_pool.h"
#include "core/pc_str.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int        flag;
    intptr_t   num;
    size_t     size;
    pc_msec_t  msec;
    pc_str_t   str;
    pc_str_t   path;
    intptr_t   mode;
} fz_conf_t;

static fz_conf_t *
fz_conf(pc_pool_t *pool)
{
    fz_conf_t *c = pc_pcalloc(pool, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->flag = -1;
    c->num = PC_INT_UNSET;
    c->size = PC_SIZE_UNSET;
    c->msec = PC_MSEC_UNSET;
    c->mode = PC_INT_UNSET;
    return c;
}

/* A block: a fresh conf, children walked in the context held in d->post. */
static const char *
set_block(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    void **confs = pc_palloc(cf->pool, sizeof(void *));

    (void) conf;
    if (confs == NULL || (confs[0] = fz_conf(cf->pool)) == NULL)
        return "out of memory";
    if (pc_conf_block(cf, (unsigned) (uintptr_t) d->post, PC_SCOPE_SERVER, confs,
                      confs[0]) != PC_OK)
        return PC_CONF_ERROR;
    return PC_CONF_OK;
}

static const char *
set_args(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    uint32_t i;

    (void) d;
    (void) conf;
    for (i = 0; i < cf->node->nargs; i++) {
        if (cf->node->args[i].len == 0)
            return pc_conf_error(cf, "empty argument %u", i + 1);
    }
    return cf->node->nargs > 3 ? "has too many values" : PC_CONF_OK;
}

static const pc_conf_enum_t modes[] = { { "json", 1 }, { "text", 2 }, { NULL, 0 } };

#define CTX(x)  ((const void *) (uintptr_t) (x))
#define OFF(f)  offsetof(fz_conf_t, f)

static const pc_directive_t fz_directives[] = {
    { "events", PC_CTX_MAIN, 0, 0, PC_CONF_BLOCK, set_block, 0, 0, 0, CTX(PC_CTX_EVENTS) },
    { "http", PC_CTX_MAIN, 0, 0, PC_CONF_BLOCK, set_block, 0, 0, 0, CTX(PC_CTX_HTTP) },
    { "server", PC_CTX_HTTP, 0, 0, PC_CONF_BLOCK | PC_CONF_MULTI, set_block, 0, 0, 0,
      CTX(PC_CTX_SERVER) },
    { "location", PC_CTX_SERVER | PC_CTX_LOCATION, 1, 2, PC_CONF_BLOCK | PC_CONF_MULTI,
      set_block, 0, 0, 0, CTX(PC_CTX_LOCATION) },
    { "upstream", PC_CTX_HTTP, 1, 1, PC_CONF_BLOCK | PC_CONF_MULTI, set_block, 0, 0, 0,
      CTX(PC_CTX_UPSTREAM) },
    { "server", PC_CTX_UPSTREAM, 1, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_args, 0, 0, 0, NULL },
    { "listen", PC_CTX_SERVER, 1, 4, PC_CONF_MULTI, set_args, 0, 0, 0, NULL },
    { "worker_connections", PC_CTX_EVENTS, 1, 1, 0, pc_conf_set_num, OFF(num), 1, 65535, NULL },
    { "gzip", PC_CTX_ANY, 1, 1, 0, pc_conf_set_flag, OFF(flag), 0, 0, NULL },
    { "keepalive_requests", PC_CTX_ANY, 1, 1, 0, pc_conf_set_num, OFF(num), 0, 0, NULL },
    { "client_max_body_size", PC_CTX_ANY, 1, 1, 0, pc_conf_set_size, OFF(size), 0, 1 << 30,
      NULL },
    { "keepalive_timeout", PC_CTX_ANY, 1, 1, 0, pc_conf_set_msec, OFF(msec), 1, 86400000, NULL },
    { "server_name", PC_CTX_ANY, 1, 1, 0, pc_conf_set_str, OFF(str), 1, 64, NULL },
    { "error_log", PC_CTX_ANY, 1, 1, 0, pc_conf_set_path, OFF(path), 0, 0, NULL },
    { "error_format", PC_CTX_ANY, 1, 1, 0, pc_conf_set_enum, OFF(mode), 0, 0, modes },
    { "add_header", PC_CTX_ANY, 2, 3, PC_CONF_MULTI, set_args, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static pc_module_t fz_module = { .name = "fuzz", .directives = fz_directives };

pc_module_t *pc_modules[] = { &fz_module, NULL };
unsigned pc_modules_n = 1;

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

/* Dump root and parse the dump again: it must give the same tree. */
static void
check_round_trip(const pc_conf_node_t *root)
{
    pc_conf_node_t *again;
    pc_conf_t cf2;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    f = open_memstream(&out, &len);
    CHECK(f != NULL);
    pc_conf_dump(root, f);
    CHECK(fclose(f) == 0);
    memset(&cf2, 0, sizeof(cf2));
    cf2.pool = pc_pool_create(4096);
    cf2.no_include = 1;
    CHECK(cf2.pool != NULL);
    again = pc_conf_parse_buffer(&cf2, "dump.conf", (const u_char *) out, len);
    if (again == NULL) {
        fprintf(stderr, "dump does not parse: %s\n---\n%.*s\n---\n",
                cf2.nerrors ? cf2.errors[0] : "?", (int) len, out);
        abort();
    }
    CHECK(tree_eq(root->children, again->children));
    pc_pool_destroy(cf2.pool);
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    pc_conf_node_t *root;
    void *confs[1];
    pc_conf_t cf;

    if (!init) {
        /* Not LLVMFuzzerInitialize: t/fuzz/standalone.c does not call it. */
        setenv("FUZZ_A", "a b;{}\"'\\$", 1);
        setenv("FUZZ_EMPTY", "", 1);
        init = true;
    }
    memset(&cf, 0, sizeof(cf));
    cf.pool = pc_pool_create(4096);
    cf.temp_pool = pc_pool_create(1024);
    CHECK(cf.pool != NULL && cf.temp_pool != NULL);
    cf.no_include = 1;
    cf.prefix = "/fuzz/";

    root = pc_conf_parse_buffer(&cf, "fuzz.conf", data, size);
    CHECK((root == NULL) == (cf.nerrors != 0));
    if (root != NULL) {
        check_round_trip(root);
        confs[0] = fz_conf(cf.pool);
        CHECK(confs[0] != NULL);
        cf.ctx_confs = confs;
        pc_modules[0]->index = 0;
        CHECK((pc_conf_dispatch(&cf, root, PC_CTX_MAIN) == PC_OK) == (cf.nerrors == 0));
        CHECK(cf.node == NULL && cf.ctx_confs == confs && cf.block == NULL);
    }
    pc_pool_destroy(cf.temp_pool);
    pc_pool_destroy(cf.pool);
    return 0;
}
