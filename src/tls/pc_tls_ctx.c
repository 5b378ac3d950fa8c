/*
 * pc_tls_ctx.c -- building one SSL_CTX per server block at configuration
 * load (in the master, and for -t): certificates and keys, protocols,
 * ciphers, curves, session resumption, client verification, expiry.
 *
 * Why it looks like this:
 * - Every file is read whole into the temp pool and parsed from memory, so
 *   an error can name the file and what is wrong with it (unreadable,
 *   unparsable, key that does not match, already expired) and so the bytes
 *   can feed the session id context (below).
 * - Client CA bundles and the CRL go into ONE X509_STORE per distinct
 *   (ssl_client_certificate, ssl_crl) pair, built once per configuration
 *   and shared (reference-counted) by every context that uses it: a
 *   rotation lists both bundles, and a certificate is accepted when it
 *   chains to any of them.
 * - The session id context is a SHA-256 over what decides whether a client
 *   is acceptable (server name, CA bundles, CRL, verify mode and depth).
 *   OpenSSL refuses to resume a session (ticket or cache) whose context
 *   differs, so after a reload that removes a CA or revokes a certificate,
 *   a ticket issued before cannot smuggle the old verdict in.
 * - Everything allocated here is released by cleanups of the cycle pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "tls/pc_tls_int.h"

#define FILE_MAX       (16 * 1024 * 1024)
#define DAY_S          86400

typedef struct {
    const pc_array_t      *cas;      /* identity of the settings used   */
    const u_char          *crl;
    X509_STORE            *store;
    STACK_OF(X509_NAME)   *names;
    u_char                 digest[32];
} store_entry_t;

struct pc_tls_builder_s {
    pc_conf_t     *cf;
    pc_array_t     stores;           /* store_entry_t                   */
    pc_array_t    *expiry;           /* pc_tls_expiry_t                 */
    time_t         now;
    pc_tls_metrics_t   *metrics;
    pc_metric_family_t *expiry_family;
};

/* SPEC §7 families; the label values are pc_tls_hs_result_name() and
 * pc_tls_vfail_name(). */
static const char *const result_labels[] = { "result", NULL };
static const char *const reason_labels[] = { "reason", NULL };
static const char *const expiry_labels[] = { "server_name", "subject", "kind", NULL };
static const pc_metric_def_t handshakes_def = {
    "tls_handshakes_total", "TLS handshakes, by result.", PC_METRIC_COUNTER,
    result_labels, NULL, 0, 0
};
static const pc_metric_def_t vfail_def = {
    "tls_client_verify_failures_total",
    "Client certificates that failed verification, by reason.", PC_METRIC_COUNTER,
    reason_labels, NULL, 0, 0
};
static const pc_metric_def_t expiry_def = {
    "tls_certificate_expiry_timestamp_seconds",
    "Expiry time of configured certificates (server) and CA bundles (client_ca).",
    PC_METRIC_GAUGE_CONST, expiry_labels, NULL, 0, 0
};

/* Expiry lists by cycle, for pc_tls_expiry(). */
typedef struct registry_s {
    const pc_cycle_t   *cycle;
    pc_array_t         *expiry;
    struct registry_s  *next;
} registry_t;

static registry_t *registry;

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

/* The last OpenSSL error as text (static buffer), queue cleared. */
static const char *
ssl_error_text(void)
{
    static char   buf[256];
    unsigned long e = ERR_peek_last_error();

    if (e == 0)
        return "no details";
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return buf;
}

static void
free_ctx(void *data)
{
    SSL_CTX_free(data);
}

static void
free_store(void *data)
{
    store_entry_t *se = data;

    X509_STORE_free(se->store);
    sk_X509_NAME_pop_free(se->names, X509_NAME_free);
}

static void
registry_remove(void *data)
{
    registry_t **pp;

    for (pp = &registry; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == data) {
            *pp = (*pp)->next;
            return;
        }
    }
}

/* Read f whole into the temp pool.  PC_OK or PC_ERROR (reported). */
static pc_rc_t
read_file(pc_conf_t *cf, const pc_tls_file_t *f, const char *what, pc_str_t *out)
{
    struct stat st;
    ssize_t     n;
    size_t      got = 0;
    int         fd, err = 0;

    fd = open((const char *) f->path.data, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        err = errno;
        goto failed;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
        err = S_ISREG(st.st_mode) ? EFBIG : EISDIR;
        goto failed;
    }
    out->data = pc_pnalloc(cf->temp_pool, (size_t) st.st_size + 1);
    if (out->data == NULL) {
        err = ENOMEM;
        goto failed;
    }
    while (got < (size_t) st.st_size) {
        n = read(fd, out->data + got, (size_t) st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            goto failed;
        }
        got += (size_t) n;
    }
    close(fd);
    out->len = got;
    return PC_OK;

failed:
    if (fd >= 0)
        close(fd);
    pc_conf_error_at(cf, f->node, "cannot read %s \"%s\": %s", what,
                     (const char *) f->path.data, strerror(err));
    return PC_ERROR;
}

/* "2026-11-23 19:27:00 GMT" */
static const char *
time_text(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, size, "%Y-%m-%d %H:%M:%S GMT", &tm) == 0)
        return "(unknown)";
    return buf;
}

static int64_t
time_epoch(const ASN1_TIME *t)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t) timegm(&tm);
}

/* The expiry gauge of one certificate.  The same server name, subject
 * and kind twice (an RSA and an ECDSA certificate of one name) keep the
 * earlier date: the one to act on first. */
static void
expiry_metric(pc_tls_builder_t *b, const pc_tls_expiry_t *e, size_t subject_len)
{
    pc_str_t     v[3];
    pc_metric_t *m;

    v[0].data = (u_char *) e->server_name;
    v[0].len = strlen(e->server_name);
    v[1].data = (u_char *) e->subject;
    v[1].len = subject_len;
    v[2].data = (u_char *) (e->kind == PC_TLS_EXPIRY_SERVER ? "server" : "client_ca");
    v[2].len = strlen((const char *) v[2].data);
    m = pc_metrics_series(b->cf, b->expiry_family, v);
    if (m != NULL && (m->value == 0 || e->not_after < m->value))
        pc_metrics_set_const(m, e->not_after);
}

/* Record x's expiry and warn when it is within the window.  Returns the
 * seconds left (negative: expired). */
static int64_t
note_expiry(pc_tls_builder_t *b, X509 *x, pc_tls_expiry_kind_e kind,
    const char *label, const pc_tls_file_t *f, pc_msec_t window)
{
    pc_tls_expiry_t *e;
    u_char           dn[512];
    char             when[64];
    int64_t          left;
    size_t           n;

    n = pc_tls_dn_text(X509_get_subject_name(x), dn, sizeof(dn) - 1);
    dn[n] = '\0';
    left = time_epoch(X509_get0_notAfter(x)) - (int64_t) b->now;
    e = pc_array_push(b->expiry);
    if (e != NULL) {
        e->server_name = label;
        e->subject = (const char *) pc_pstrdup(b->cf->pool, dn, n);
        e->kind = kind;
        e->not_after = left + (int64_t) b->now;
        if (e->subject != NULL)
            expiry_metric(b, e, n);
    }
    if (left >= 0 && left * 1000 < window) {
        pc_log(PC_LOG_WARN, 0, "tls: %s certificate \"%s\" in \"%s\" for server \"%s\" "
               "expires on %s (in %lld days)",
               kind == PC_TLS_EXPIRY_SERVER ? "server" : "client CA", dn,
               (const char *) f->path.data, label,
               time_text(X509_get0_notAfter(x), when, sizeof(when)),
               (long long) (left / DAY_S));
    } else if (left < 0 && kind == PC_TLS_EXPIRY_CLIENT_CA) {
        pc_log(PC_LOG_WARN, 0, "tls: client CA certificate \"%s\" in \"%s\" has expired on %s",
               dn, (const char *) f->path.data,
               time_text(X509_get0_notAfter(x), when, sizeof(when)));
    }
    return left;
}

/* ---------------------------------------------------------------------
 * The builder
 * ------------------------------------------------------------------- */

/* One series per handshake result and per verification failure reason,
 * declared up front so that every one is exported (0 until it happens). */
static pc_rc_t
declare_metrics(pc_tls_builder_t *b)
{
    pc_metric_family_t *fh, *fv;
    pc_str_t            v;
    int                 i;

    b->metrics = pc_pcalloc(b->cf->pool, sizeof(pc_tls_metrics_t));
    fh = pc_metrics_family(b->cf, &handshakes_def);
    fv = pc_metrics_family(b->cf, &vfail_def);
    b->expiry_family = pc_metrics_family(b->cf, &expiry_def);
    if (b->metrics == NULL || fh == NULL || fv == NULL || b->expiry_family == NULL)
        return PC_ERROR;
    for (i = 0; i < PC_TLS_HS__COUNT; i++) {
        v.data = (u_char *) pc_tls_hs_result_name((pc_tls_hs_result_e) i);
        v.len = strlen((const char *) v.data);
        if ((b->metrics->handshakes[i] = pc_metrics_series(b->cf, fh, &v)) == NULL)
            return PC_ERROR;
    }
    for (i = 0; i < PC_TLS_VFAIL__COUNT; i++) {
        v.data = (u_char *) pc_tls_vfail_name((pc_tls_vfail_e) i);
        v.len = strlen((const char *) v.data);
        if ((b->metrics->verify_failures[i] = pc_metrics_series(b->cf, fv, &v)) == NULL)
            return PC_ERROR;
    }
    return PC_OK;
}

/* See pc_tls.h. */
pc_tls_builder_t *
pc_tls_builder_new(pc_conf_t *cf)
{
    pc_tls_builder_t *b = pc_pcalloc(cf->pool, sizeof(*b));
    registry_t       *reg;

    if (b == NULL || pc_array_init(&b->stores, cf->pool, 4, sizeof(store_entry_t)) != PC_OK
        || (b->expiry = pc_pcalloc(cf->pool, sizeof(pc_array_t))) == NULL
        || pc_array_init(b->expiry, cf->pool, 8, sizeof(pc_tls_expiry_t)) != PC_OK
        || (reg = pc_pcalloc(cf->pool, sizeof(*reg))) == NULL
        || pc_tls_ctx_index() < 0 || pc_tls_ssl_index() < 0)
        return NULL;
    b->cf = cf;
    b->now = time(NULL);
    if (declare_metrics(b) != PC_OK)
        return NULL;
    reg->cycle = cf->cycle;
    reg->expiry = b->expiry;
    if (pc_pool_cleanup_add(cf->pool, registry_remove, reg) != PC_OK)
        return NULL;
    reg->next = registry;
    registry = reg;
    return b;
}

/* See pc_tls.h. */
const pc_tls_expiry_t *
pc_tls_expiry(const pc_cycle_t *cycle, size_t *n)
{
    registry_t *reg;

    for (reg = registry; reg != NULL; reg = reg->next) {
        if (reg->cycle == cycle && reg->expiry->nelts > 0) {
            *n = reg->expiry->nelts;
            return reg->expiry->elts;
        }
    }
    *n = 0;
    return NULL;
}

/* ---------------------------------------------------------------------
 * Certificates and keys
 * ------------------------------------------------------------------- */

/* Parse a PEM file's leaf (first certificate) and the chain after it. */
static X509 *
parse_cert_chain(pc_conf_t *cf, const pc_tls_file_t *f, STACK_OF(X509) **chain)
{
    pc_str_t data;
    BIO     *bio;
    X509    *leaf, *x;

    *chain = NULL;
    if (read_file(cf, f, "certificate", &data) != PC_OK)
        return NULL;
    bio = BIO_new_mem_buf(data.data, (int) data.len);
    if (bio == NULL)
        return NULL;
    leaf = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
    if (leaf == NULL) {
        pc_conf_error_at(cf, f->node, "cannot parse certificate \"%s\": %s",
                         (const char *) f->path.data, ssl_error_text());
        BIO_free(bio);
        return NULL;
    }
    *chain = sk_X509_new_null();
    while (*chain != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(*chain, x))
            X509_free(x);
    }
    /* The loop ends on "no start line": the end of the file, not an error. */
    ERR_clear_error();
    BIO_free(bio);
    return leaf;
}

static EVP_PKEY *
parse_key(pc_conf_t *cf, const pc_tls_file_t *f)
{
    pc_str_t  data;
    BIO      *bio;
    EVP_PKEY *pkey;

    if (read_file(cf, f, "certificate key", &data) != PC_OK)
        return NULL;
    bio = BIO_new_mem_buf(data.data, (int) data.len);
    if (bio == NULL)
        return NULL;
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *) "");
    BIO_free(bio);
    if (pkey == NULL)
        pc_conf_error_at(cf, f->node, "cannot parse certificate key \"%s\": %s",
                         (const char *) f->path.data, ssl_error_text());
    explicit_bzero(data.data, data.len);
    return pkey;
}

/* Checks of one pair before it goes into the context. */
static pc_rc_t
check_pair(pc_conf_t *cf, time_t now, const pc_tls_file_t *cf_, const pc_tls_file_t *kf,
    X509 *x, EVP_PKEY *pkey, int *types)
{
    char when[64];
    int  type = EVP_PKEY_get_base_id(pkey), i;

    if (X509_check_private_key(x, pkey) != 1) {
        ERR_clear_error();
        pc_conf_error_at(cf, kf->node, "certificate key \"%s\" does not match "
                         "certificate \"%s\"", (const char *) kf->path.data,
                         (const char *) cf_->path.data);
        return PC_ERROR;
    }
    if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0) {
        pc_conf_error_at(cf, cf_->node, "certificate \"%s\" has expired on %s",
                         (const char *) cf_->path.data,
                         time_text(X509_get0_notAfter(x), when, sizeof(when)));
        return PC_ERROR;
    }
    for (i = 0; i < 8 && types[i] != 0; i++) {
        if (types[i] == type) {
            pc_conf_error_at(cf, cf_->node, "certificate \"%s\" has the same key "
                             "type as an earlier one of this server (one RSA and one "
                             "ECDSA pair at most)", (const char *) cf_->path.data);
            return PC_ERROR;
        }
    }
    if (i < 8)
        types[i] = type;
    return PC_OK;
}

/* One ssl_certificate + ssl_certificate_key pair into tc's context. */
static pc_rc_t
load_pair(pc_tls_builder_t *b, pc_tls_ctx_t *tc, const pc_tls_settings_t *s,
    uint32_t i, int *types)
{
    const pc_tls_file_t *cf_ = (const pc_tls_file_t *) s->certs->elts + i;
    const pc_tls_file_t *kf = (const pc_tls_file_t *) s->keys->elts + i;
    STACK_OF(X509)      *chain = NULL;
    EVP_PKEY            *pkey = NULL;
    X509                *x;
    pc_rc_t              rc = PC_ERROR;
    int                  k;

    x = parse_cert_chain(b->cf, cf_, &chain);
    if (x == NULL || (pkey = parse_key(b->cf, kf)) == NULL)
        goto done;
    if (check_pair(b->cf, b->now, cf_, kf, x, pkey, types) != PC_OK)
        goto done;
    if (SSL_CTX_use_certificate(tc->ctx, x) != 1 || SSL_CTX_use_PrivateKey(tc->ctx, pkey) != 1) {
        pc_conf_error_at(b->cf, cf_->node, "cannot use certificate \"%s\": %s",
                         (const char *) cf_->path.data, ssl_error_text());
        goto done;
    }
    for (k = 0; chain != NULL && k < sk_X509_num(chain); k++) {
        if (SSL_CTX_add1_chain_cert(tc->ctx, sk_X509_value(chain, k)) != 1) {
            pc_conf_error_at(b->cf, cf_->node, "cannot use the chain of \"%s\": %s",
                             (const char *) cf_->path.data, ssl_error_text());
            goto done;
        }
    }
    (void) note_expiry(b, x, PC_TLS_EXPIRY_SERVER, tc->label, cf_, s->expiry_warning);
    rc = PC_OK;
done:
    X509_free(x);
    EVP_PKEY_free(pkey);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static pc_rc_t
load_pairs(pc_tls_builder_t *b, pc_tls_ctx_t *tc, const pc_tls_settings_t *s)
{
    int      types[8] = { 0 };
    uint32_t i;

    for (i = 0; i < s->certs->nelts; i++) {
        if (load_pair(b, tc, s, i, types) != PC_OK)
            return PC_ERROR;
    }
    return PC_OK;
}

/* ---------------------------------------------------------------------
 * Client verification: one store per (CA bundles, CRL)
 * ------------------------------------------------------------------- */

/* PEM items of f (certificates or CRLs); NULL after reporting. */
static STACK_OF(X509_INFO) *
read_pem_items(pc_conf_t *cf, const pc_tls_file_t *f, const char *what,
    EVP_MD_CTX *md)
{
    STACK_OF(X509_INFO) *items;
    pc_str_t             data;
    BIO                 *bio;

    if (read_file(cf, f, what, &data) != PC_OK)
        return NULL;
    if (md != NULL)
        EVP_DigestUpdate(md, data.data, data.len);
    bio = BIO_new_mem_buf(data.data, (int) data.len);
    items = bio != NULL ? PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (items == NULL || sk_X509_INFO_num(items) == 0) {
        pc_conf_error_at(cf, f->node, "cannot parse %s \"%s\": %s", what,
                         (const char *) f->path.data, ssl_error_text());
        sk_X509_INFO_pop_free(items, X509_INFO_free);
        return NULL;
    }
    return items;
}

/* A CA bundle without a certificate, a CRL file without a CRL. */
static pc_rc_t
no_items(pc_conf_t *cf, const pc_tls_file_t *f, bool crl)
{
    if (crl)
        pc_conf_error_at(cf, f->node, "no CRL in \"%s\"", (const char *) f->path.data);
    else
        pc_conf_error_at(cf, f->node, "no certificate in CA bundle \"%s\"",
                         (const char *) f->path.data);
    return PC_ERROR;
}

static pc_rc_t
add_ca_file(pc_tls_builder_t *b, store_entry_t *se, const pc_tls_file_t *f,
    const pc_tls_settings_t *s, const char *label, EVP_MD_CTX *md)
{
    STACK_OF(X509_INFO) *items = read_pem_items(b->cf, f, "CA bundle", md);
    X509_INFO           *it;
    X509_NAME           *name;
    int                  i, ncerts = 0;

    if (items == NULL)
        return PC_ERROR;
    for (i = 0; i < sk_X509_INFO_num(items); i++) {
        it = sk_X509_INFO_value(items, i);
        if (it->x509 == NULL)
            continue;
        ncerts++;
        /* The same CA in two bundles is harmless. */
        if (X509_STORE_add_cert(se->store, it->x509) != 1)
            ERR_clear_error();
        name = X509_NAME_dup(X509_get_subject_name(it->x509));
        if (name != NULL && !sk_X509_NAME_push(se->names, name))
            X509_NAME_free(name);
        (void) note_expiry(b, it->x509, PC_TLS_EXPIRY_CLIENT_CA, label, f, s->expiry_warning);
    }
    sk_X509_INFO_pop_free(items, X509_INFO_free);
    return ncerts > 0 ? PC_OK : no_items(b->cf, f, false);
}

static pc_rc_t
add_crl_file(pc_tls_builder_t *b, store_entry_t *se, const pc_tls_file_t *f,
    EVP_MD_CTX *md)
{
    STACK_OF(X509_INFO) *items = read_pem_items(b->cf, f, "CRL", md);
    X509_INFO           *it;
    int                  i, ncrls = 0;

    if (items == NULL)
        return PC_ERROR;
    for (i = 0; i < sk_X509_INFO_num(items); i++) {
        it = sk_X509_INFO_value(items, i);
        if (it->crl == NULL)
            continue;
        ncrls++;
        if (X509_STORE_add_crl(se->store, it->crl) != 1)
            ERR_clear_error();
    }
    sk_X509_INFO_pop_free(items, X509_INFO_free);
    if (ncrls == 0)
        return no_items(b->cf, f, true);
    /* Leaf only: the CRL of the CA that issued the client certificate; a
     * CA with no CRL in the file is not checked (pc_tls_verify_cb). */
    X509_STORE_set_flags(se->store, X509_V_FLAG_CRL_CHECK);
    return PC_OK;
}

static pc_rc_t
fill_store(pc_tls_builder_t *b, store_entry_t *se, const pc_tls_settings_t *s,
    const char *label)
{
    const pc_tls_file_t *f = s->client_cas != NULL ? s->client_cas->elts : NULL;
    EVP_MD_CTX          *md = EVP_MD_CTX_new();
    unsigned             dlen = 0;
    pc_rc_t              rc = PC_ERROR;
    uint32_t             i;

    if (md == NULL || EVP_DigestInit_ex(md, pc_tls_sha256(), NULL) != 1)
        goto done;
    for (i = 0; s->client_cas != NULL && i < s->client_cas->nelts; i++) {
        if (add_ca_file(b, se, &f[i], s, label, md) != PC_OK)
            goto done;
    }
    EVP_DigestUpdate(md, "\0crl", 4);
    if (s->crl.path.data != NULL && add_crl_file(b, se, &s->crl, md) != PC_OK)
        goto done;
    if (EVP_DigestFinal_ex(md, se->digest, &dlen) == 1)
        rc = PC_OK;
done:
    EVP_MD_CTX_free(md);
    return rc;
}

/* The store for s's CA bundles and CRL, shared with earlier servers that
 * have the same (inherited) settings. */
static store_entry_t *
get_store(pc_tls_builder_t *b, const pc_tls_settings_t *s, const char *label)
{
    store_entry_t *se = b->stores.elts;
    uint32_t       i;

    for (i = 0; i < b->stores.nelts; i++) {
        if (se[i].cas == s->client_cas && se[i].crl == s->crl.path.data)
            return &se[i];
    }
    se = pc_array_push(&b->stores);
    if (se == NULL)
        return NULL;
    se->cas = s->client_cas;
    se->crl = s->crl.path.data;
    se->store = X509_STORE_new();
    se->names = sk_X509_NAME_new_null();
    if (se->store == NULL || se->names == NULL
        || pc_pool_cleanup_add(b->cf->pool, free_store, se) != PC_OK)
    {
        X509_STORE_free(se->store);
        sk_X509_NAME_free(se->names);
        b->stores.nelts--;
        return NULL;
    }
    if (fill_store(b, se, s, label) != PC_OK) {
        /* Stays cached as failed: the error is reported once. */
        se->cas = NULL;
        se->crl = NULL;
        return NULL;
    }
    return se;
}

/* ---------------------------------------------------------------------
 * The context
 * ------------------------------------------------------------------- */

static pc_rc_t
set_protocols(pc_tls_ctx_t *tc, intptr_t p)
{
    static const struct { intptr_t bit; int version; uint64_t no; } v[] = {
        { PC_TLS_PROTO_TLSv1, TLS1_VERSION, SSL_OP_NO_TLSv1 },
        { PC_TLS_PROTO_TLSv1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
        { PC_TLS_PROTO_TLSv1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
        { PC_TLS_PROTO_TLSv1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
    };
    int      lo = 0, hi = 0;
    unsigned i;

    for (i = 0; i < pc_nelems(v); i++) {
        if (p & v[i].bit) {
            lo = lo == 0 ? v[i].version : lo;
            hi = v[i].version;
        }
    }
    /* A gap (TLSv1 TLSv1.2) is closed with the SSL_OP_NO_* of the hole. */
    for (i = 0; i < pc_nelems(v); i++) {
        if (!(p & v[i].bit) && v[i].version > lo && v[i].version < hi)
            SSL_CTX_set_options(tc->ctx, v[i].no);
    }
    return SSL_CTX_set_min_proto_version(tc->ctx, lo) == 1
           && SSL_CTX_set_max_proto_version(tc->ctx, hi) == 1 ? PC_OK : PC_ERROR;
}

static pc_rc_t
set_basics(pc_tls_builder_t *b, pc_tls_ctx_t *tc, const pc_tls_settings_t *s)
{
    SSL_CTX *ctx = tc->ctx;

    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
                             | SSL_OP_CIPHER_SERVER_PREFERENCE
                             | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Idle connections give their 2 x 16 KiB record buffers back; writes
     * may complete partially and be retried from a moved buffer (the I/O
     * layer coalesces iovecs into a scratch area). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 0);
    if (set_protocols(tc, s->protocols) != PC_OK) {
        pc_conf_error(b->cf, "cannot set ssl_protocols: %s", ssl_error_text());
        return PC_ERROR;
    }
    if (SSL_CTX_set_cipher_list(ctx, (const char *) s->ciphers.data) != 1) {
        pc_conf_error_at(b->cf, s->ciphers_node, "invalid ssl_ciphers \"%s\": %s",
                         (const char *) s->ciphers.data, ssl_error_text());
        return PC_ERROR;
    }
    if (!pc_str_eq_c(&s->ecdh_curve, "auto")
        && SSL_CTX_set1_groups_list(ctx, (const char *) s->ecdh_curve.data) != 1)
    {
        pc_conf_error_at(b->cf, s->curve_node, "invalid ssl_ecdh_curve \"%s\": %s",
                         (const char *) s->ecdh_curve.data, ssl_error_text());
        return PC_ERROR;
    }
    /* Only used when ssl_ciphers names DHE suites. */
    SSL_CTX_set_dh_auto(ctx, 1);
    SSL_CTX_set_client_hello_cb(ctx, pc_tls_client_hello_cb, NULL);
    SSL_CTX_set_tlsext_servername_callback(ctx, pc_tls_servername_cb);
    return PC_OK;
}

/* Session resumption: the session cache shared by the workers (TLS 1.3
 * tickets are session ids; see pc_tls_cache.c for why not stateless
 * tickets), or (ssl_session_tickets off) the per-worker internal cache.
 * Either way SSL_OP_NO_TICKET: TLS 1.2 gets no ticket (it resumes by
 * session id) and TLS 1.3 gets one stateful ticket per handshake, which
 * is only the id of a cached session -- no ticket key, nothing sealed.
 * TLS 1.3 cannot resume without a ticket on the wire, and `off` is about
 * keyed (stateless) tickets, not about resumption (as in nginx). */
static pc_rc_t
set_sessions(pc_tls_builder_t *b, pc_tls_ctx_t *tc, const pc_tls_settings_t *s)
{
    SSL_CTX *ctx = tc->ctx;

    tc->session_timeout_s = pc_max(s->session_timeout / 1000, 1);
    SSL_CTX_set_timeout(ctx, (long) tc->session_timeout_s);
    if (s->session_tickets) {
        tc->sessions = pc_tls_cache_zone(b->cf);
        if (tc->sessions == NULL)
            return PC_ERROR;
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
        SSL_CTX_sess_set_new_cb(ctx, pc_tls_cache_new);
        SSL_CTX_sess_set_get_cb(ctx, pc_tls_cache_get);
        SSL_CTX_sess_set_remove_cb(ctx, pc_tls_cache_remove);
        /* One ticket per handshake is what clients use; the second one
         * OpenSSL sends by default only costs CPU and bytes. */
        SSL_CTX_set_num_tickets(ctx, 1);
    } else {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, 1024);
        SSL_CTX_set_num_tickets(ctx, 1);     /* as above: one is used */
    }
    return PC_OK;
}

static pc_rc_t
set_verify(pc_tls_builder_t *b, pc_tls_ctx_t *tc, const pc_tls_settings_t *s,
    u_char *digest)
{
    STACK_OF(X509_NAME) *names;
    store_entry_t       *se;
    int                  mode = SSL_VERIFY_PEER;

    memset(digest, 0, 32);
    if (s->verify == PC_TLS_VERIFY_OFF)
        return PC_OK;
    se = get_store(b, s, tc->label);
    if (se == NULL)
        return PC_ERROR;
    memcpy(digest, se->digest, 32);
    if (s->verify == PC_TLS_VERIFY_ON)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(tc->ctx, mode, pc_tls_verify_cb);
    SSL_CTX_set_cert_verify_callback(tc->ctx, pc_tls_cert_verify_cb, NULL);
    SSL_CTX_set_verify_depth(tc->ctx, (int) s->verify_depth);
    SSL_CTX_set1_cert_store(tc->ctx, se->store);
    /* optional_no_ca: no CA list in the request, the client sends any. */
    if (s->verify != PC_TLS_VERIFY_OPTIONAL_NO_CA) {
        names = SSL_dup_CA_list(se->names);
        if (names == NULL)
            return PC_ERROR;
        SSL_CTX_set_client_CA_list(tc->ctx, names);
    }
    return PC_OK;
}

/*
 * The chain sent with each certificate that came without one in its file.
 * OpenSSL would otherwise build it on every handshake (a whole
 * X509_verify_cert of our own certificate against the store: a tenth of
 * the server's CPU for a full handshake) from the same store and with the
 * same result; it is built once here instead, with the same rules
 * (verification errors ignored, the root kept when the store has it), and
 * automatic chaining is turned off.
 */
static pc_rc_t
set_chains(pc_tls_builder_t *b, pc_tls_ctx_t *tc)
{
    STACK_OF(X509) *chain;
    int             more;

    for (more = SSL_CTX_set_current_cert(tc->ctx, SSL_CERT_SET_FIRST); more == 1;
         more = SSL_CTX_set_current_cert(tc->ctx, SSL_CERT_SET_NEXT))
    {
        if (SSL_CTX_get0_chain_certs(tc->ctx, &chain) == 1 && sk_X509_num(chain) > 0)
            continue;
        if (SSL_CTX_build_cert_chain(tc->ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR
                                              | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR) <= 0)
        {
            pc_conf_error(b->cf, "cannot build the certificate chain of server \"%s\": %s",
                          tc->label, ssl_error_text());
            return PC_ERROR;
        }
    }
    ERR_clear_error();
    SSL_CTX_set_mode(tc->ctx, SSL_MODE_NO_AUTO_CHAIN);
    return PC_OK;
}

/* SHA-256 over what decides whether a client is acceptable; see the top. */
static pc_rc_t
set_sid_ctx(pc_tls_ctx_t *tc, const pc_tls_settings_t *s, const u_char *store_digest)
{
    u_char   sid[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    int64_t  v[3] = { s->verify, s->verify_depth, s->protocols };
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    pc_rc_t  rc = PC_ERROR;

    if (md != NULL && EVP_DigestInit_ex(md, pc_tls_sha256(), NULL) == 1
        && EVP_DigestUpdate(md, tc->label, strlen(tc->label) + 1) == 1
        && EVP_DigestUpdate(md, store_digest, 32) == 1
        && EVP_DigestUpdate(md, v, sizeof(v)) == 1
        && EVP_DigestFinal_ex(md, sid, &n) == 1
        && SSL_CTX_set_session_id_context(tc->ctx, sid,
                                          pc_min(n, SSL_MAX_SID_CTX_LENGTH)) == 1)
    {
        tc->sid_len = pc_min(n, sizeof(tc->sid));
        memcpy(tc->sid, sid, tc->sid_len);
        rc = PC_OK;
    }
    EVP_MD_CTX_free(md);
    return rc;
}

/* See pc_tls.h. */
pc_tls_ctx_t *
pc_tls_ctx_build(pc_tls_builder_t *b, const pc_tls_settings_t *s, const char *label,
    void *owner)
{
    pc_tls_ctx_t *tc = pc_pcalloc(b->cf->pool, sizeof(*tc));
    u_char        digest[32];

    if (tc == NULL)
        return NULL;
    tc->owner = owner;
    tc->label = label;
    tc->verify = (int) s->verify;
    tc->metrics = b->metrics;
    tc->ctx = SSL_CTX_new(TLS_server_method());
    if (tc->ctx == NULL || pc_pool_cleanup_add(b->cf->pool, free_ctx, tc->ctx) != PC_OK) {
        SSL_CTX_free(tc->ctx);
        pc_conf_error(b->cf, "cannot create a TLS context: %s", ssl_error_text());
        return NULL;
    }
    SSL_CTX_set_ex_data(tc->ctx, pc_tls_ctx_index(), tc);
    if (set_basics(b, tc, s) != PC_OK || load_pairs(b, tc, s) != PC_OK
        || set_sessions(b, tc, s) != PC_OK || set_verify(b, tc, s, digest) != PC_OK
        || set_chains(b, tc) != PC_OK)
        return NULL;
    if (set_sid_ctx(tc, s, digest) != PC_OK) {
        pc_conf_error(b->cf, "cannot set the TLS session id context: %s", ssl_error_text());
        return NULL;
    }
    return tc;
}

/* See pc_tls.h. */
pc_tls_ctx_t *
pc_tls_ctx_of(const SSL_CTX *ctx)
{
    return ctx != NULL ? SSL_CTX_get_ex_data(ctx, pc_tls_ctx_index()) : NULL;
}

/* ---------------------------------------------------------------------
 * Checking files no context uses
 * ------------------------------------------------------------------- */

/* See pc_tls.h.  The same reads, checks and messages as load_pair, minus
 * the key-type rule (a property of a server's set of pairs). */
pc_rc_t
pc_tls_check_pair(pc_conf_t *cf, const pc_tls_file_t *cert, const pc_tls_file_t *key)
{
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY       *pkey = NULL;
    X509           *x;
    int             types[8] = { 0 };
    pc_rc_t         rc = PC_ERROR;

    x = parse_cert_chain(cf, cert, &chain);
    if (x != NULL && (pkey = parse_key(cf, key)) != NULL)
        rc = check_pair(cf, time(NULL), cert, key, x, pkey, types);
    X509_free(x);
    EVP_PKEY_free(pkey);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

/* See pc_tls.h.  As add_ca_file / add_crl_file read them. */
pc_rc_t
pc_tls_check_pem(pc_conf_t *cf, const pc_tls_file_t *f, bool crl)
{
    STACK_OF(X509_INFO) *items = read_pem_items(cf, f, crl ? "CRL" : "CA bundle", NULL);
    X509_INFO           *it;
    int                  i, n = 0;

    if (items == NULL)
        return PC_ERROR;
    for (i = 0; i < sk_X509_INFO_num(items); i++) {
        it = sk_X509_INFO_value(items, i);
        n += crl ? it->crl != NULL : it->x509 != NULL;
    }
    sk_X509_INFO_pop_free(items, X509_INFO_free);
    return n > 0 ? PC_OK : no_items(cf, f, crl);
}
