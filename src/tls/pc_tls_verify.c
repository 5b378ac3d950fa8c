/*
 * pc_tls_verify.c -- client certificate chain verification with a small
 * per-worker cache of recent successes.
 *
 * Why: with OpenSSL 3.0, building and checking a client's chain
 * (X509_verify_cert: issuer lookup, the CA's signature, policy and CRL
 * checks) is about a tenth of the server's CPU for a full mTLS handshake,
 * and API clients reconnect with the same certificate over and over.  The
 * possession proof (the client's CertificateVerify signature) is checked by
 * OpenSSL on every handshake regardless; only the chain verdict is reused.
 *
 * What makes a reuse safe: the key is a SHA-256 over the configuration
 * generation, the store (CA bundles + CRL of that configuration), the
 * depth limit and the DER of every certificate the client sent, so any
 * change to the chain, the CAs, the CRL or the settings misses.  Only clean
 * successes are stored (no error, not even one an optional mode let
 * through), and an entry lives at most PC_TLS_VERIFY_CACHE_TTL seconds and
 * never past the notAfter of any certificate of the verified chain.
 * Failures are never cached, so every refusal is logged and counted.
 *
 * Memory: a fixed direct-mapped table per worker (a worker is one thread);
 * the digest context is reused: nothing is allocated per handshake.
 */
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "core/pc_time.h"
#include "event/pc_conn.h"
#include "tls/pc_tls_int.h"

#define CACHE_SLOTS             512          /* power of two             */
#define DER_MAX                 16384        /* larger certs: no caching */

typedef struct {
    u_char    key[32];
    int64_t   expires;          /* wall seconds; 0: empty              */
} verify_entry_t;

static verify_entry_t cache[CACHE_SLOTS];
static EVP_MD_CTX    *md;

static int64_t
now_s(void)
{
    return pc_time.sec != 0 ? (int64_t) pc_time.sec : (int64_t) time(NULL);
}

static bool
hash_cert(X509 *x)
{
    u_char  der[DER_MAX], *p = der;
    int     n = i2d_X509(x, NULL);

    if (n <= 0 || n > DER_MAX || i2d_X509(x, &p) != n)
        return false;
    return EVP_DigestUpdate(md, der, (size_t) n) == 1;
}

/* The cache key of this verification; false when it cannot be made. */
static bool
cache_key(X509_STORE_CTX *x, SSL *ssl, u_char *key)
{
    STACK_OF(X509) *untrusted = X509_STORE_CTX_get0_untrusted(x);
    pc_conn_t      *c = SSL_get_app_data(ssl);
    struct {
        uint64_t     generation;
        const void  *store;
        int          depth;
    } id;
    unsigned        n = 0;
    int             i;

    if (c == NULL || c->cycle == NULL || pc_tls_sha256() == NULL
        || (md == NULL && (md = EVP_MD_CTX_new()) == NULL))
        return false;
    memset(&id, 0, sizeof(id));
    id.generation = c->cycle->generation;
    id.store = X509_STORE_CTX_get0_store(x);
    id.depth = SSL_get_verify_depth(ssl);
    if (EVP_DigestInit_ex(md, pc_tls_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, &id, sizeof(id)) != 1
        || !hash_cert(X509_STORE_CTX_get0_cert(x)))
        return false;
    for (i = 0; untrusted != NULL && i < sk_X509_num(untrusted); i++) {
        if (!hash_cert(sk_X509_value(untrusted, i)))
            return false;
    }
    return EVP_DigestFinal_ex(md, key, &n) == 1 && n == 32;
}

/* Remember a clean success until the earliest notAfter of the chain. */
static void
cache_store(X509_STORE_CTX *x, SSL *ssl, const u_char *key, int64_t now)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(x);
    verify_entry_t *e = &cache[(key[0] | (key[1] << 8)) & (CACHE_SLOTS - 1)];
    int64_t         until = now + PC_TLS_VERIFY_CACHE_TTL;
    time_t          t = (time_t) until;
    int             i;

    if (X509_STORE_CTX_get_error(x) != X509_V_OK
        || SSL_get_ex_data(ssl, pc_tls_ssl_index()) != NULL || chain == NULL)
        return;
    for (i = 0; i < sk_X509_num(chain); i++) {
        /* A certificate expiring before `until` makes the entry useless:
         * verify again next time instead of computing the exact date. */
        if (X509_cmp_time(X509_get0_notAfter(sk_X509_value(chain, i)), &t) <= 0)
            return;
    }
    memcpy(e->key, key, 32);
    e->expires = until;
}

/* Contract: OpenSSL's cert_verify_callback on every context that verifies
 * clients: a cached clean success for the same generation, store, depth
 * and chain returns 1 at once; anything else runs X509_verify_cert (whose
 * result and errors, as seen by pc_tls_verify_cb, OpenSSL then uses). */
int
pc_tls_cert_verify_cb(X509_STORE_CTX *x, void *arg)
{
    SSL            *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    u_char          key[32];
    verify_entry_t *e;
    int64_t         now = now_s();
    bool            keyed;
    int             ok;

    PC_UNUSED(arg);
    keyed = ssl != NULL && cache_key(x, ssl, key);
    if (!keyed)
        ERR_clear_error();
    if (keyed) {
        e = &cache[(key[0] | (key[1] << 8)) & (CACHE_SLOTS - 1)];
        if (e->expires > now && memcmp(e->key, key, 32) == 0)
            return 1;
    }
    ok = X509_verify_cert(x);
    if (ok == 1 && keyed)
        cache_store(x, ssl, key, now);
    return ok;
}
