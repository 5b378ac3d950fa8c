/*
 * pc_tls.h -- TLS termination (ARCHITECTURE §5): SSL_CTX building per
 * server block, the server handshake as an I/O layer over pc_conn_t,
 * client-certificate verification, session-ticket keys shared through shm,
 * certificate expiry, and the counters the status module exports.
 *
 * Layering: this sits below http (core <- event <- tls <- http <- modules).
 * It knows nothing of server blocks or requests: the tls module
 * (modules/tls) turns its directives into pc_tls_settings_t, asks for one
 * context per server block, and gives each ssl listener a pc_tls_listener_t
 * whose select() maps an SNI name to a context and whose done() is the
 * protocol's own accept handler (http), called once the handshake is over
 * with c->io already switched to the TLS layer.
 *
 * Memory: contexts, stores and the expiry list live as long as the cycle
 * pool that built them (a connection references its cycle, so a context
 * outlives every connection using it).  Per connection there is the SSL
 * object only; nothing else is allocated per handshake here.
 */
#ifndef PC_TLS_H
#define PC_TLS_H

#include <openssl/ssl.h>
#include "core/pc_core.h"
#include "event/pc_conn.h"

/* ssl_protocols bits */
#define PC_TLS_PROTO_TLSv1    0x01
#define PC_TLS_PROTO_TLSv1_1  0x02
#define PC_TLS_PROTO_TLSv1_2  0x04
#define PC_TLS_PROTO_TLSv1_3  0x08
#define PC_TLS_PROTO_DEFAULT  (PC_TLS_PROTO_TLSv1_2 | PC_TLS_PROTO_TLSv1_3)

/* Defaults (nginx's, except ciphers/curves: AEAD + ECDHE only). */
#define PC_TLS_CIPHERS_DEFAULT \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define PC_TLS_CURVES_DEFAULT  "X25519:prime256v1:secp384r1"
#define PC_TLS_SESSION_TIMEOUT_DEFAULT  (5 * 60 * 1000)      /* ms */
#define PC_TLS_EXPIRY_WARNING_DEFAULT   (30LL * 86400 * 1000) /* ms */

typedef enum {
    PC_TLS_VERIFY_OFF = 0,
    PC_TLS_VERIFY_ON,
    PC_TLS_VERIFY_OPTIONAL,
    PC_TLS_VERIFY_OPTIONAL_NO_CA
} pc_tls_verify_e;

/* A file named by a directive, with the directive's node for FILE:LINE. */
typedef struct {
    pc_str_t               path;    /* absolute, NUL-terminated */
    const pc_conf_node_t  *node;
} pc_tls_file_t;

/* The merged TLS settings of one server block. */
typedef struct {
    pc_array_t     *certs;          /* pc_tls_file_t, pairs with keys[] */
    pc_array_t     *keys;           /* pc_tls_file_t                    */
    intptr_t        protocols;      /* PC_TLS_PROTO_* bits              */
    pc_str_t        ciphers;        /* TLS 1.2 and below                */
    pc_str_t        ecdh_curve;     /* groups list, or "auto"           */
    int             session_tickets; /* on|off (-1 unset)              */
    pc_msec_t       session_timeout;
    pc_array_t     *client_cas;     /* pc_tls_file_t, NULL: none        */
    intptr_t        verify;         /* pc_tls_verify_e                  */
    intptr_t        verify_depth;
    pc_tls_file_t   crl;            /* path.data NULL: none             */
    pc_msec_t       expiry_warning;
    const pc_conf_node_t *ciphers_node, *curve_node;  /* for errors     */
} pc_tls_settings_t;

/* The metrics registry's series of one configuration's handshakes
 * (tls_handshakes_total{result}, tls_client_verify_failures_total{reason};
 * SPEC §7), shared by all its contexts.  NULL entries count nothing. */
typedef struct pc_tls_metrics_s pc_tls_metrics_t;

/* One built context: an SSL_CTX plus what the runtime needs of it. */
typedef struct pc_tls_ctx_s {
    SSL_CTX        *ctx;
    void           *owner;          /* the caller's server block        */
    const char     *label;          /* server name for logs and metrics */
    int             verify;         /* pc_tls_verify_e                  */
    int64_t         session_timeout_s;
    pc_shm_zone_t  *sessions;       /* shared session cache, NULL: off  */
    u_char          sid[32];        /* session id context (see ctx.c)   */
    unsigned        sid_len;
    const pc_tls_metrics_t *metrics;
} pc_tls_ctx_t;

/* Per-load scratch: caches CA stores so that server blocks with the same
 * ssl_client_certificate / ssl_crl share one X509_STORE. */
typedef struct pc_tls_builder_s pc_tls_builder_t;

/* Start building the contexts of cf's cycle (cycle pool), declaring the
 * TLS metric families (SPEC §7) in its registry: one series per handshake
 * result and per verification failure reason, and, as each certificate is
 * loaded, its tls_certificate_expiry_timestamp_seconds gauge.  NULL after
 * an error (ENOMEM, reported). */
pc_tls_builder_t *pc_tls_builder_new(pc_conf_t *cf);

/*
 * Build the context of one server block from its settings: certificate /
 * key pairs (RSA and ECDSA side by side), protocols, ciphers, curves,
 * session resumption (the shared session cache), client verification against
 * one store holding every CA bundle (+ CRL).  Records expiry dates and logs
 * at warn what expires within s->expiry_warning.  Every problem is reported
 * with pc_conf_error_at() naming the file (unreadable, unparsable, key that
 * does not match its certificate, server certificate already expired).
 * label: the server's first name (logs, metrics).  NULL after errors.
 */
pc_tls_ctx_t *pc_tls_ctx_build(pc_tls_builder_t *b, const pc_tls_settings_t *s,
    const char *label, void *owner);

/* The pc_tls_ctx_t an SSL_CTX was built as (NULL for foreign ones). */
pc_tls_ctx_t *pc_tls_ctx_of(const SSL_CTX *ctx);

/*
 * Read and check files that no context uses (SPEC §1: -t validates every
 * file the configuration names), with pc_tls_ctx_build's checks and
 * messages and nothing built: a certificate and its key (both parse, the
 * key matches, the certificate has not expired), a CA bundle (at least
 * one certificate) or a CRL file (crl true: at least one CRL).  PC_OK, or
 * PC_ERROR after pc_conf_error_at() at the file's line.
 */
pc_rc_t pc_tls_check_pair(pc_conf_t *cf, const pc_tls_file_t *cert, const pc_tls_file_t *key);
pc_rc_t pc_tls_check_pem(pc_conf_t *cf, const pc_tls_file_t *f, bool crl);

/* ---------------------------------------------------------------------
 * Handshake and I/O layer
 * ------------------------------------------------------------------- */

typedef struct pc_tls_listener_s pc_tls_listener_t;

struct pc_tls_listener_s {
    pc_tls_ctx_t   *dflt;           /* the address's default server     */
    /* SNI: the context for name (lowercased, no trailing dot), or NULL to
     * keep the default.  Runs inside the handshake: must not block. */
    pc_tls_ctx_t *(*select)(const pc_tls_listener_t *tl, const u_char *name,
                            size_t len);
    void           *data;           /* select()'s own table             */
    /* The protocol takes the connection over (c->data is NULL). */
    void          (*done)(pc_conn_t *c);
    pc_msec_t       timeout;        /* whole handshake                  */
};

/*
 * Accept handler glue: create the SSL object for c (c->ssl), and run the
 * server handshake driven by c's read/write watchers (WANT_READ/WANT_WRITE
 * decide which one runs; no busy loop, no blocking call) within
 * tl->timeout.  On success c->io becomes the TLS layer and tl->done(c) is
 * called; on failure (garbage, timeout, client
 * certificate refused with `ssl_verify_client on`) the reason is logged at
 * info, counted, and c is closed.  tl lives in the cycle pool.
 */
void pc_tls_accept(pc_conn_t *c, const pc_tls_listener_t *tl);

/* The TLS I/O layer (same contract as pc_conn_recv_plain / _writev_plain:
 * -1 with errno EAGAIN when it would block, 0 on EOF, -1 on error with
 * c->error set).  writev coalesces small vectors into TLS records of up to
 * 16 KiB. */
ssize_t pc_tls_recv(pc_conn_t *c, u_char *buf, size_t size);
ssize_t pc_tls_writev(pc_conn_t *c, struct iovec *iov, int iovcnt);

/* End TLS on c: send close_notify when the connection is healthy (one
 * non-blocking attempt, never waits), free the SSL object, restore the
 * plain I/O layer.  Idempotent; the TLS layers' shutdown. */
void pc_tls_shutdown(pc_conn_t *c);

/* Worker exit: free the sessions this worker keeps decoded (pc_tls_cache.c). */
void pc_tls_cache_release(void);

/* The context in force on c after SNI (NULL when c is not TLS). */
pc_tls_ctx_t *pc_tls_conn_ctx(const pc_conn_t *c);

/* ---------------------------------------------------------------------
 * Client certificates (for the module's variables; values in pool)
 * ------------------------------------------------------------------- */

/* "SUCCESS", "NONE" or "FAILED:reason" (reason: OpenSSL's text). */
pc_rc_t pc_tls_client_verify(pc_conn_t *c, pc_pool_t *pool, pc_str_t *out);
/* True when c presented a certificate that verified (or any certificate
 * under optional_no_ca). */
bool pc_tls_client_cert_ok(pc_conn_t *c);

typedef enum {
    PC_TLS_CERT_SUBJECT = 0,    /* RFC 2253 subject DN                  */
    PC_TLS_CERT_ISSUER,         /* RFC 2253 issuer DN                   */
    PC_TLS_CERT_SERIAL,         /* upper-case hex                       */
    PC_TLS_CERT_FINGERPRINT,    /* SHA-256, lower-case hex              */
    PC_TLS_CERT_ESCAPED,        /* URL-escaped PEM                      */
    PC_TLS_CERT_RFC9440,        /* Client-Cert: ":base64(DER):"         */
    PC_TLS_CERT_RFC9440_CHAIN   /* Client-Cert-Chain: list of the above  */
} pc_tls_cert_field_e;

/* A field of c's client certificate into pool.  PC_DECLINED when there is
 * no certificate (or no chain), PC_ERROR on ENOMEM. */
pc_rc_t pc_tls_client_cert(pc_conn_t *c, pc_tls_cert_field_e what,
    pc_pool_t *pool, pc_str_t *out);

/* RFC 2253 form of a DN into buf (escaped per RFC 4514); returns the
 * length written (at most size; a longer DN is cut at an RDN boundary). */
size_t pc_tls_dn_text(const X509_NAME *name, u_char *buf, size_t size);

/* The host name in the body of a ClientHello's server_name extension
 * (p[0 .. len), untrusted): exactly one host_name entry of 1..255 bytes
 * without NUL, and nothing else.  Pure.  True with *name / *nlen pointing
 * into p; false for anything else. */
bool pc_tls_sni_parse(const u_char *p, size_t len, const u_char **name, size_t *nlen);

/* ---------------------------------------------------------------------
 * Counters (per worker) and certificate expiry, for the status module
 * ------------------------------------------------------------------- */

typedef enum {
    PC_TLS_HS_FULL = 0,         /* full handshake completed             */
    PC_TLS_HS_RESUMED,          /* resumed (ticket or cache)            */
    PC_TLS_HS_FAILED,           /* protocol error, garbage, timeout     */
    PC_TLS_HS_VERIFY_FAILED,    /* refused client certificate           */
    PC_TLS_HS__COUNT
} pc_tls_hs_result_e;

typedef enum {
    PC_TLS_VFAIL_NO_CERT = 0,   /* "no_certificate"                     */
    PC_TLS_VFAIL_UNKNOWN_CA,    /* "unknown_ca"                         */
    PC_TLS_VFAIL_EXPIRED,       /* "expired" (or not yet valid)         */
    PC_TLS_VFAIL_REVOKED,       /* "revoked"                            */
    PC_TLS_VFAIL_DEPTH,         /* "depth": chain longer than allowed   */
    PC_TLS_VFAIL_CRL,           /* "crl": CRL missing/expired/invalid   */
    PC_TLS_VFAIL_OTHER,         /* "other"                              */
    PC_TLS_VFAIL__COUNT
} pc_tls_vfail_e;

typedef struct {
    uint64_t  handshakes[PC_TLS_HS__COUNT];
    uint64_t  verify_failures[PC_TLS_VFAIL__COUNT];
} pc_tls_stats_t;

/* This worker's counters (since it started; the metrics registry has the
 * instance's totals). Never NULL. */
const pc_tls_stats_t *pc_tls_stats(void);
/* Label values: "full", "resumed", "failed", "verify_failed" / the reason
 * names above. */
const char *pc_tls_hs_result_name(pc_tls_hs_result_e r);
const char *pc_tls_vfail_name(pc_tls_vfail_e v);
/* The reason an X509_V_ERR_* code is counted under. */
pc_tls_vfail_e pc_tls_vfail_of(long x509_err);

typedef enum { PC_TLS_EXPIRY_SERVER = 0, PC_TLS_EXPIRY_CLIENT_CA } pc_tls_expiry_kind_e;

/* One certificate's expiry (tls_certificate_expiry_timestamp_seconds). */
typedef struct {
    const char            *server_name;
    const char            *subject;     /* RFC 2253                     */
    pc_tls_expiry_kind_e   kind;
    int64_t                not_after;   /* seconds since the epoch      */
} pc_tls_expiry_t;

/* Certificates loaded by cycle's configuration (*n entries; NULL when
 * none).  Valid while the cycle lives. */
const pc_tls_expiry_t *pc_tls_expiry(const pc_cycle_t *cycle, size_t *n);

#endif /* PC_TLS_H */
