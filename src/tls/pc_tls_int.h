/*
 * pc_tls_int.h -- glue between the files of src/tls (private: nothing
 * outside src/tls includes it).
 */
#ifndef PC_TLS_INT_H
#define PC_TLS_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include "core/pc_metrics.h"
#include "tls/pc_tls.h"

struct pc_tls_metrics_s {
    pc_metric_t  *handshakes[PC_TLS_HS__COUNT];
    pc_metric_t  *verify_failures[PC_TLS_VFAIL__COUNT];
};

/* pc_tls_io.c: ex_data indexes, created once per process (the master,
 * before fork).  -1 when OpenSSL cannot make one. */
int pc_tls_ctx_index(void);     /* SSL_CTX -> pc_tls_ctx_t            */
int pc_tls_ssl_index(void);     /* SSL -> first verify error + 1      */

/* pc_tls_verify.c: chain verification with a per-worker cache of recent
 * clean successes (installed with SSL_CTX_set_cert_verify_callback). */
#define PC_TLS_VERIFY_CACHE_TTL  60     /* seconds an entry may be reused */
int pc_tls_cert_verify_cb(X509_STORE_CTX *x, void *arg);

/* pc_tls_io.c: callbacks installed on every context.  The ClientHello
 * callback selects the server block's context from the SNI before any
 * session is looked up or made; the servername callback only checks it. */
int pc_tls_verify_cb(int ok, X509_STORE_CTX *x);
int pc_tls_client_hello_cb(SSL *ssl, int *alert, void *arg);
int pc_tls_servername_cb(SSL *ssl, int *alert, void *arg);

/* pc_tls_cache.c: the shared session cache zone (declared once per
 * cycle) and OpenSSL's external cache callbacks using it. */
pc_shm_zone_t *pc_tls_cache_zone(pc_conf_t *cf);
int pc_tls_cache_new(SSL *ssl, SSL_SESSION *sess);
SSL_SESSION *pc_tls_cache_get(SSL *ssl, const unsigned char *id, int len, int *copy);
void pc_tls_cache_remove(SSL_CTX *ctx, SSL_SESSION *sess);

/* pc_tls_info.c: SHA-256 fetched once per process (NULL on failure). */
const EVP_MD *pc_tls_sha256(void);

#endif /* PC_TLS_INT_H */
