/*
 * test_pc_http_server.c -- unit tests for src/http/pc_http_server.c
 * (location and server_name matching), with the structures built by hand
 * and through the configuration (src/http/pc_http_conf.c), which also
 * checks the errors a bad `location`, `listen`, `server_name`, `return`,
 * `add_header`... gives, with FILE:LINE.
 *
 * Regex locations and names use a fake pc_http_regex_ops ("regex" = a
 * substring), which is enough to test where regexes sit in the order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pc_cycle.h"
#include "http/pc_http.h"
#include "http/pc_http_conf.h"
#include "test.h"

static pc_pool_t *pool;

/* ------------------------------------------------------------ fake regex */

static void *
fake_compile(pc_conf_t *cf, const pc_str_t *re, int caseless)
{
    PC_UNUSED(caseless);
    return pc_pstrdup(cf->pool, re->data, re->len);
}

static int
fake_match(pc_http_request_t *r, void *re, const u_char *s, size_t len)
{
    PC_UNUSED(r);
    return pc_strnstr(s, s + len, re, strlen(re)) != NULL;
}

static const pc_http_regex_ops_t fake_ops = { fake_compile, fake_match };

/* --------------------------------------------------------- by hand: locations */

static pc_http_server_t *
new_server(void)
{
    pc_http_server_t *s = pc_pcalloc(pool, sizeof(*s));

    pc_array_init(&s->names, pool, 4, sizeof(pc_http_server_name_t));
    pc_array_init(&s->locations, pool, 4, sizeof(pc_http_location_t *));
    return s;
}

static pc_http_location_t *
add_loc(pc_http_server_t *s, pc_http_loc_match_e m, const char *name)
{
    pc_http_location_t *loc = pc_pcalloc(pool, sizeof(*loc)), **slot;

    loc->match = m;
    loc->name.data = (u_char *) name;
    loc->name.len = strlen(name);
    loc->regex = (void *) name;
    loc->server = s;
    slot = pc_array_push(&s->locations);
    *slot = loc;
    return loc;
}

static const char *
find(pc_http_server_t *s, const char *uri)
{
    pc_str_t u = { strlen(uri), (u_char *) uri };
    pc_http_location_t *loc = pc_http_find_location(s, &u, NULL);

    return loc ? (const char *) loc->name.data : "(none)";
}

#define is_loc(s, uri, want) \
    is_str(find(s, uri), strlen(find(s, uri)), want, strlen(want), "%s → %s", uri, want)

static void
test_locations(void)
{
    pc_http_server_t *s = new_server(), *e = new_server();

    add_loc(s, PC_HTTP_LOC_EXACT, "/");
    add_loc(s, PC_HTTP_LOC_PREFIX, "/");
    add_loc(s, PC_HTTP_LOC_PREFIX, "/api/");
    add_loc(s, PC_HTTP_LOC_PREFIX, "/api/v1/");
    add_loc(s, PC_HTTP_LOC_PREFIX_STOP, "/static/");
    add_loc(s, PC_HTTP_LOC_REGEX, ".php");
    add_loc(s, PC_HTTP_LOC_REGEX, "special");
    add_loc(s, PC_HTTP_LOC_REGEX, "/api/v1/special");   /* later: never wins */
    add_loc(s, PC_HTTP_LOC_EXACT, "/exact");
    add_loc(s, PC_HTTP_LOC_PREFIX, "/exact");
    add_loc(s, PC_HTTP_LOC_PREFIX, "/a-b");
    add_loc(s, PC_HTTP_LOC_PREFIX, "/a/");
    is_int(pc_http_server_build_locations(pool, s), PC_OK, "build");
    is_int(s->nexact, 2, "two exact");
    is_int(s->nprefix, 7, "seven prefixes");
    is_int(s->nregex, 3, "three regexes");

    pc_http_regex_ops = &fake_ops;
    is_loc(s, "/", "/");
    ok(pc_http_find_location(s, &(pc_str_t) pc_string("/"), NULL)->match == PC_HTTP_LOC_EXACT,
       "\"/\" is the exact one");
    is_loc(s, "/x", "/");
    is_loc(s, "/api", "/");
    is_loc(s, "/api/", "/api/");
    is_loc(s, "/api/x", "/api/");
    is_loc(s, "/api/v1", "/api/");
    is_loc(s, "/api/v1/", "/api/v1/");
    is_loc(s, "/api/v1/x", "/api/v1/");
    is_loc(s, "/api/v1/special", "special");         /* regex beats prefix, first regex wins */
    is_loc(s, "/static/x.php", "/static/");          /* ^~ stops the regex search */
    is_loc(s, "/static", "/");
    is_loc(s, "/index.php", ".php");
    is_loc(s, "/exact", "/exact");
    ok(pc_http_find_location(s, &(pc_str_t) pc_string("/exact"), NULL)->match == PC_HTTP_LOC_EXACT,
       "exact beats the equal prefix");
    is_loc(s, "/exactly", "/exact");
    is_loc(s, "/a/x", "/a/");                          /* "/a-b" sorts between */
    is_loc(s, "/a-b/c", "/a-b");
    is_loc(s, "/API/", "/");                           /* case-sensitive */

    pc_http_regex_ops = NULL;
    is_loc(s, "/index.php", "/");                      /* no regex module: skipped */
    pc_http_regex_ops = &fake_ops;

    add_loc(e, PC_HTTP_LOC_PREFIX, "/only/");
    pc_http_server_build_locations(pool, e);
    is_loc(e, "/", "(none)");
    is_loc(e, "/only", "(none)");
    is_loc(e, "/only/x", "/only/");
    is_loc(new_server(), "/", "(none)");
    ok(pc_http_find_location(NULL, &(pc_str_t) pc_string("/"), NULL) == NULL, "NULL server");
}

/* The binary search + parent chain against a brute-force scan. */
static void
test_prefix_random(void)
{
    static const char alphabet[] = "ab/";
    char *names[40], uri[16];
    pc_http_server_t *s;
    const char *got, *want;
    int round, i, j, k, len, bad = 0;
    size_t best;

    srand(7);
    for (round = 0; round < 200; round++) {
        s = new_server();
        for (i = 0; i < 40; i++) {
            len = 1 + rand() % 5;
            names[i] = pc_pnalloc(pool, (size_t) len + 2);
            names[i][0] = '/';
            for (k = 1; k <= len; k++)
                names[i][k] = alphabet[rand() % 3];
            names[i][len + 1] = '\0';
            for (j = 0; j < i && strcmp(names[j], names[i]) != 0; j++) { }
            if (j == i)
                add_loc(s, PC_HTTP_LOC_PREFIX, names[i]);
            else
                names[i] = "";
        }
        pc_http_server_build_locations(pool, s);
        for (i = 0; i < 50; i++) {
            len = 1 + rand() % 8;
            uri[0] = '/';
            for (k = 1; k <= len; k++)
                uri[k] = alphabet[rand() % 3];
            uri[len + 1] = '\0';
            want = "(none)";
            best = 0;
            for (j = 0; j < 40; j++)
                if (names[j][0] && strncmp(names[j], uri, strlen(names[j])) == 0
                    && strlen(names[j]) > best)
                {
                    best = strlen(names[j]);
                    want = names[j];
                }
            got = find(s, uri);
            if (strcmp(got, want) != 0 && bad++ < 5)
                diag("uri %s: got %s, want %s", uri, got, want);
        }
    }
    is_int(bad, 0, "longest prefix agrees with brute force (10000 lookups)");
}

/* --------------------------------------------------------- by hand: names */

static void
add_name(pc_http_server_t *s, pc_http_name_kind_e kind, const char *name)
{
    pc_http_server_name_t *sn = pc_array_push(&s->names);

    sn->kind = kind;
    sn->name.data = (u_char *) name;
    sn->name.len = strlen(name);
    sn->regex = (void *) name;
}

static pc_http_server_t *
lookup(pc_http_addr_conf_t *addr, const char *host)
{
    pc_str_t h = { strlen(host), (u_char *) host };

    return pc_http_find_server(addr, &h, NULL);
}

static void
test_names(void)
{
    pc_http_server_t *s[7], **slot;
    pc_http_addr_conf_t addr;
    int i, pass;

    memset(&addr, 0, sizeof(addr));
    pc_array_init(&addr.servers, pool, 4, sizeof(pc_http_server_t *));
    for (i = 0; i < 7; i++) {
        s[i] = new_server();
        slot = pc_array_push(&addr.servers);
        *slot = s[i];
    }
    add_name(s[0], PC_HTTP_NAME_EXACT, "first.test");
    add_name(s[1], PC_HTTP_NAME_EXACT, "example.com");
    add_name(s[1], PC_HTTP_NAME_EXACT, "www.example.com");
    add_name(s[2], PC_HTTP_NAME_WILD_HEAD, "example.com");
    add_name(s[3], PC_HTTP_NAME_WILD_HEAD, "api.example.com");
    add_name(s[4], PC_HTTP_NAME_WILD_TAIL, "mail");
    add_name(s[4], PC_HTTP_NAME_WILD_TAIL, "mail.example");
    add_name(s[5], PC_HTTP_NAME_REGEX, "regex");
    add_name(s[5], PC_HTTP_NAME_EXACT, "");            /* requests without Host */
    add_name(s[6], PC_HTTP_NAME_EXACT, "example.com"); /* conflict: s[1] keeps it */
    add_name(s[6], PC_HTTP_NAME_REGEX, "regex");       /* later regex never wins */

    for (pass = 0; pass < 2; pass++) {
        const char *how = pass ? "tables" : "linear";

        ok(lookup(&addr, "example.com") == s[1], "%s: exact", how);
        ok(lookup(&addr, "www.example.com") == s[1], "%s: exact beats *.example.com", how);
        ok(lookup(&addr, "example.com.") == s[1], "%s: trailing dot ignored", how);
        ok(lookup(&addr, "a.example.com") == s[2], "%s: *.example.com", how);
        ok(lookup(&addr, "a.b.example.com") == s[2], "%s: *.example.com, two labels", how);
        ok(lookup(&addr, "x.api.example.com") == s[3], "%s: longest head wildcard", how);
        ok(lookup(&addr, "api.example.com") == s[2], "%s: *.api.example.com needs a label", how);
        ok(lookup(&addr, "xexample.com") == s[0], "%s: wildcard needs the dot", how);
        ok(lookup(&addr, "mail.org") == s[4], "%s: mail.*", how);
        ok(lookup(&addr, "mail.example.org") == s[4], "%s: longest tail wildcard", how);
        ok(lookup(&addr, "mail") == s[0], "%s: mail.* needs a label", how);
        ok(lookup(&addr, "myregexhost") == s[5], "%s: regex", how);
        ok(lookup(&addr, "regex.example.com") == s[2], "%s: wildcards before regexes", how);
        ok(lookup(&addr, "") == s[5], "%s: \"\" matches an empty Host", how);
        ok(lookup(&addr, "nomatch.test") == s[0], "%s: unknown → first server", how);
        pc_http_server_build_names(pool, &addr, "0.0.0.0:80");
        ok(addr.names != NULL && addr.default_server == s[0], "default is the first server");
    }
    addr.default_server = s[3];
    ok(lookup(&addr, "nomatch.test") == s[3], "unknown → explicit default_server");
    ok(pc_http_find_server(&addr, NULL, NULL) == s[5], "NULL host is the empty host");
    ok(pc_http_find_server(NULL, NULL, NULL) == NULL, "NULL address");
}

/* ----------------------------------------------------- through the config */

static pc_cycle_t *cycle;
static pc_conf_t cf;

/* A prefix with a logs/ directory (the default access log goes there: its
 * directory must exist), made once, removed by main. */
static char test_dir[] = "/tmp/pc_test_server_XXXXXX";
static char test_logs[sizeof(test_dir) + 8];
static char test_pfx[sizeof(test_dir) + 2];

static char *
test_prefix(void)
{
    if (test_pfx[0] == '\0' && mkdtemp(test_dir) != NULL) {
        snprintf(test_logs, sizeof(test_logs), "%s/logs", test_dir);
        (void) mkdir(test_logs, 0755);
        snprintf(test_pfx, sizeof(test_pfx), "%s/", test_dir);
    }
    return test_pfx;
}

/* Load text as a whole configuration (after a test preamble): parse,
 * dispatch, init_conf, like pc_cycle_load, but keeping the errors. */
static uint32_t
load(const char *text)
{
    static const char pre[] = "pid /tmp/pc_test.pid; error_log stderr;\n";
    char *prefix = test_prefix();
    pc_conf_node_t *root;
    char *buf;
    size_t len = strlen(pre) + strlen(text);
    unsigned i;

    cycle = pc_pcalloc(pool, sizeof(*cycle));
    cycle->pool = pool;
    cycle->prefix = prefix;
    cycle->main_confs = pc_pcalloc(pool, (pc_modules_n + 1) * sizeof(void *));
    pc_array_init(&cycle->listening, pool, PC_CYCLE_LISTEN_MAX, sizeof(pc_listening_t));
    pc_array_init(&cycle->shm_zones, pool, 4, sizeof(pc_shm_zone_t *));
    memset(&cf, 0, sizeof(cf));
    cf.cycle = cycle;
    cf.pool = pool;
    cf.temp_pool = pool;
    cf.prefix = prefix;
    cf.ctx = PC_CTX_MAIN;
    buf = pc_pnalloc(pool, len + 1);
    snprintf(buf, len + 1, "%s%s", pre, text);
    root = pc_conf_parse_buffer(&cf, "t.conf", (u_char *) buf, len);
    if (root == NULL)
        return cf.nerrors ? cf.nerrors : 1;
    for (i = 0; i < pc_modules_n; i++)
        if (pc_modules[i]->create_conf)
            cycle->main_confs[i] = pc_modules[i]->create_conf(&cf, PC_SCOPE_MAIN);
    cf.ctx_confs = cycle->main_confs;
    if (pc_conf_dispatch(&cf, root, PC_CTX_MAIN) == PC_OK && cf.nerrors == 0) {
        cf.node = root;
        for (i = 0; i < pc_modules_n; i++)
            if (pc_modules[i]->init_conf)
                pc_modules[i]->init_conf(&cf);
    }
    return cf.nerrors;
}

static const char *
err0(void)
{
    return cf.nerrors ? cf.errors[0] : "(no error)";
}

static void
bad(const char *text, const char *msg)
{
    uint32_t n = load(text);

    ok(n >= 1, "rejected: %s", msg);
    is_str(err0(), strlen(err0()), msg, strlen(msg), "message: %s", msg);
}

static pc_http_addr_conf_t *
addr_at(uint32_t i)
{
    pc_listening_t *ls = cycle->listening.elts;

    return i < cycle->listening.nelts ? ls[i].data : NULL;
}

static void
test_conf_matching(void)
{
    pc_http_addr_conf_t *a;
    pc_http_server_t *s1, *s2, *s3;
    pc_str_t uri = pc_string("/api/x");
    pc_http_location_t *loc;
    pc_http_core_conf_t *lc;
    pc_listening_t *ls;

    pc_http_regex_ops = NULL;
    is_int(load("http {\n"
                "  client_max_body_size 2m;\n"
                "  server { listen 127.0.0.1:18080; server_name One.Example *.example.com; }\n"
                "  server { listen 127.0.0.1:18080 default_server reuseport backlog=100;\n"
                "           server_name two.example mail.*;\n"
                "           location /api/ { client_max_body_size 0; }\n"
                "           location =/api/x { }\n"
                "           location ^~ /static/ { } }\n"
                "  server { listen 18081; listen [::1]:18082; server_name .three.example; }\n"
                "}\n"), 0, "valid configuration loads");
    is_int(cycle->listening.nelts, 3, "three listen addresses");
    ls = cycle->listening.elts;
    is_str(ls[0].addr_text, strlen(ls[0].addr_text), "127.0.0.1:18080", 15, "first address");
    is_str(ls[1].addr_text, strlen(ls[1].addr_text), "0.0.0.0:18081", 13, "bare port = 0.0.0.0");
    is_str(ls[2].addr_text, strlen(ls[2].addr_text), "[::1]:18082", 11, "IPv6 address");
    ok(ls[0].reuseport && ls[0].backlog == 100, "reuseport and backlog= set");
    ok(ls[2].ipv6only, "IPv6 listener is ipv6only");
    ok(ls[0].handler == pc_http_init_connection, "http handler installed");
    a = addr_at(0);
    s1 = ((pc_http_server_t **) a->servers.elts)[0];
    s2 = ((pc_http_server_t **) a->servers.elts)[1];
    s3 = ((pc_http_server_t **) addr_at(1)->servers.elts)[0];
    ok(a->default_server == s2, "default_server honoured");
    ok(pc_http_find_server(a, &(pc_str_t) pc_string("one.example"), NULL) == s1,
       "names are lowercased");
    ok(pc_http_find_server(a, &(pc_str_t) pc_string("x.example.com"), NULL) == s1, "wildcard");
    ok(pc_http_find_server(a, &(pc_str_t) pc_string("mail.org"), NULL) == s2, "tail wildcard");
    ok(pc_http_find_server(a, &(pc_str_t) pc_string("zzz"), NULL) == s2, "default");
    ok(pc_http_find_server(addr_at(1), &(pc_str_t) pc_string("three.example"), NULL) == s3
       && pc_http_find_server(addr_at(2), &(pc_str_t) pc_string("a.three.example"), NULL) == s3,
       ".three.example matches itself and subdomains");
    loc = pc_http_find_location(s2, &uri, NULL);
    ok(loc != NULL && loc->match == PC_HTTP_LOC_EXACT, "glued =/api/x is exact");
    uri = (pc_str_t) pc_string("/api/y");
    loc = pc_http_find_location(s2, &uri, NULL);
    ok(loc != NULL && loc->match == PC_HTTP_LOC_PREFIX, "prefix /api/");
    lc = loc->confs[pc_http_core_module.index];
    is_int(lc->client_max_body_size, 0, "location value kept");
    is_int(((pc_http_core_conf_t *) s2->confs[pc_http_core_module.index])->client_max_body_size,
           2 * 1024 * 1024, "server inherits http value");
    is_int(lc->keepalive_timeout, 75000, "default keepalive_timeout 75s");
    ok(lc->location == loc && lc->server == s2, "conf knows its location and server");
}

/* Whether the linked module list has a module of that name. */
static bool
have_module(const char *name)
{
    for (unsigned m = 0; pc_modules[m] != NULL; m++)
        if (strcmp(pc_modules[m]->name, name) == 0)
            return true;
    return false;
}

static void
test_conf_errors(void)
{
    pc_http_regex_ops = NULL;
    if (!have_module("regex")) {
        bad("http { server { listen 8080; location ~ \\.php$ { } } }",
            "location ~ requires the regex module in t.conf:2");
        bad("http { server { listen 8080; server_name ~^a; } }",
            "server_name ~ requires the regex module in t.conf:2");
    } else {
        /* the regex module installs itself while the conf loads */
        ok(1, "location ~: regex module compiled in (checked by t/70regex.t)");
    }
    bad("http {\nserver { listen 8080;\nlocation /a { }\nlocation ^~ /a { } } }",
        "duplicate location \"/a\" (first at t.conf:4) in t.conf:5");
    bad("http { server { listen 8080; location = /a { } location = /a { } } }",
        "duplicate location \"/a\" (first at t.conf:2) in t.conf:2");
    bad("http { server { listen 8080; location !! /a { } } }",
        "invalid location modifier \"!!\" in t.conf:2");
    bad("http { server { listen 8080; location a { } } }",
        "invalid location \"a\": a path must start with \"/\" in t.conf:2");
    bad("http { server { listen 8080; location @named { } } }",
        "named locations (\"@named\") are not supported in t.conf:2");
    bad("http { server { listen 8080 default_server; }\nserver { listen 8080 default_server; } }",
        "a duplicate default server for 0.0.0.0:8080 (first at t.conf:2) in t.conf:3");
    bad("http { server { listen 8080; listen 0.0.0.0:8080; } }",
        "duplicate listen 0.0.0.0:8080 in t.conf:2");
    bad("http { server { listen 8080 fast; } }", "invalid parameter \"fast\" in t.conf:2");
    bad("http { server { listen 8080 backlog=0; } }",
        "invalid backlog \"backlog=0\": expected 1..65535 in t.conf:2");
    bad("http { server { listen 70000; } }",
        "invalid port \"70000\": expected 1..65535 in t.conf:2");
    bad("http { server { listen no.such.host.invalid:80; } }",
        "invalid address \"no.such.host.invalid:80\" in t.conf:2");
    {
        /* Without a tls module, `listen ... ssl` is refused at its line;
         * with one (the real module list), the tls module takes it. */
        if (!have_module("tls"))
            bad("http { server { listen 8443 ssl; } }",
                "\"ssl\" requires the tls module in t.conf:2");
        else
            ok(1, "listen ssl: tls module compiled in (checked by t/40tls.t)");
    }
    bad("http { server { listen 127.0.0.1:8080; }\nserver { listen 8080; } }",
        "listen 0.0.0.0:8080 overlaps listen 127.0.0.1:8080 on the same port: use either "
        "the wildcard address or specific addresses in t.conf:3");
    bad("http { server { listen 8080; server_name a*b; } }",
        "invalid server name \"a*b\": \"*\" only as \"*.name\" or \"name.*\" in t.conf:2");
    bad("http { server { listen 8080; return 99; } }",
        "invalid return code \"99\": expected 200..599 in t.conf:2");
    bad("http { server { listen 8080; return /x; } }", "invalid return code \"/x\" in t.conf:2");
    bad("http { server { listen 8080; return 200 \"$nope\"; } }",
        "unknown variable \"$nope\" in t.conf:2");
    bad("http { server { listen 8080; return 200 \"a $ b\"; } }",
        "invalid variable name in \"a $ b\" in t.conf:2");
    bad("http { server { listen 8080; return 200 \"\\${host\"; } }",
        "invalid variable name in \"${host\" in t.conf:2");
    bad("http { add_header \"Bad Name\" x; }", "invalid header name \"Bad Name\" in t.conf:2");
    bad("http { add_header X y sometimes; }",
        "invalid parameter \"sometimes\": expected \"always\" in t.conf:2");
    bad("http { allow 10.0.0.0/33; }",
        "invalid address \"10.0.0.0/33\": expected ADDR, ADDR/BITS or all in t.conf:2");
    bad("http { set_real_ip_from all; }",
        "invalid address \"all\": expected ADDR, ADDR/BITS in t.conf:2");
    bad("http { server { listen 8080; location / { keepalive_timeout 5s; } } }",
        "\"keepalive_timeout\" directive is not allowed here in t.conf:2");
    bad("http { location / { } }", "\"location\" directive is not allowed here in t.conf:2");
    bad("http { return 200; }", "\"return\" directive is not allowed here in t.conf:2");
    bad("http { client_header_timeout 0; }",
        "\"client_header_timeout\" directive invalid value \"0\", it must be between 1ms and 1d"
        " in t.conf:2");
    bad("http { error_format xml; }",
        "\"error_format\" directive invalid value \"xml\", it must be \"json\" or \"text\""
        " in t.conf:2");
    bad("http { large_client_header_buffers 0 8k; }",
        "invalid number \"0\": expected 1..1024 in t.conf:2");
    bad("http { large_client_header_buffers 4 8x; }",
        "invalid size \"8x\": expected 128..1m in t.conf:2");
    bad("http { } http { }", "\"http\" directive is duplicate in t.conf:2");
}

static void
test_conf_merge(void)
{
    pc_http_server_t *s;
    pc_http_location_t *loc;
    pc_http_core_conf_t *sc, *lc;
    pc_http_add_header_t *h;
    pc_http_cidr_t *rule;
    pc_str_t text;

    is_int(load("http {\n"
                "  add_header X-A http;\n"
                "  add_header X-B http;\n"
                "  deny 10.0.0.0/8;\n"
                "  server { listen 18090; add_header x-b server always;\n"
                "    return 301 https://$host$request_uri;\n"
                "    location / { add_header X-C loc; allow all;\n"
                "      return 200 \"hi $remote_addr\"; }\n"
                "    location /plain { return 404; } }\n"
                "  add_header X-D late;\n"
                "}\n"), 0, "merge configuration loads");
    s = ((pc_http_server_t **) addr_at(0)->servers.elts)[0];
    sc = s->confs[pc_http_core_module.index];
    ok(sc->add_headers && sc->add_headers->nelts == 3, "server: X-A, X-D from http, x-b own");
    h = sc->add_headers->elts;
    ok(pc_str_eq_c(&h[0].name, "X-A") && pc_str_eq_c(&h[1].name, "X-D")
       && pc_str_eq_c(&h[2].name, "x-b") && h[2].always,
       "child wins on a name (case-insensitive), parents first");
    loc = ((pc_http_location_t **) s->locations.elts)[0];
    lc = loc->confs[pc_http_core_module.index];
    ok(lc->add_headers && lc->add_headers->nelts == 4, "location merges again (4 headers)");
    ok(sc->access && sc->access->nelts == 1, "server inherits deny");
    rule = lc->access->elts;
    ok(lc->access->nelts == 1 && rule->all && !rule->deny, "location's rules replace the parent's");
    is_int(sc->return_status, 301, "server return");
    ok(sc->return_text && !pc_http_template_const(sc->return_text, NULL), "URL has variables");
    is_int(lc->return_status, 200, "location return not overwritten by the server's");
    loc = ((pc_http_location_t **) s->locations.elts)[1];
    lc = loc->confs[pc_http_core_module.index];
    ok(lc->return_status == 404 && lc->return_text == NULL, "return without text");
    is_int(load("http { server { listen 18091; location / { return https://x.test/; } } }"), 0,
           "return URL alone");
    s = ((pc_http_server_t **) addr_at(0)->servers.elts)[0];
    lc = ((pc_http_location_t **) s->locations.elts)[0]->confs[pc_http_core_module.index];
    ok(lc->return_status == 302 && pc_http_template_const(lc->return_text, &text)
       && pc_str_eq_c(&text, "https://x.test/"), "return URL means 302");
}

int
main(void)
{
    pc_modules_init();
    pool = pc_pool_create(16384);
    test_locations();
    test_prefix_random();
    test_names();
    test_conf_matching();
    test_conf_errors();
    test_conf_merge();
    pc_http_regex_ops = NULL;
    pc_pool_destroy(pool);
    if (test_pfx[0] != '\0') {
        (void) rmdir(test_logs);
        (void) rmdir(test_dir);
    }
    return done_testing();
}
