/*
 * pc_tls_io.c -- the server handshake and the TLS I/O layer of a
 * connection, the SNI and verification callbacks, and the counters.
 *
 * Why it looks like this:
 * - The handshake is driven by the connection's own ev_io watchers:
 *   SSL_ERROR_WANT_READ arms the read watcher, WANT_WRITE the write one,
 *   never both, so nothing spins; a timer bounds the whole handshake.
 * - Once it is done the protocol's handler takes the connection with
 *   c->io replaced (pc_conn_io_t): the HTTP runtime never knows it speaks
 *   TLS.  Its shutdown sends close_notify and frees the SSL object.
 * - OpenSSL may hold decrypted bytes the caller's buffer had no room for
 *   (SSL_pending).  No socket event would announce them, so the read
 *   watcher is fed one event by hand.  (read_ahead stays off, so nothing
 *   else is ever buffered beyond the kernel's view.)
 * - writev coalesces small vectors (a response head and a short body) into
 *   one record from a per-worker 16 KiB scratch area; big vectors are
 *   written in place.  A retried write always rebuilds the same leading
 *   bytes, which is what OpenSSL requires of a retry (with
 *   SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER the address may change).
 * - A worker is one thread: the counters and the scratch area are plain
 *   statics.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/pc_core.h"
#include "core/pc_cycle.h"
#include "event/pc_conn.h"
#include "event/pc_worker.h"
#include "tls/pc_tls_int.h"

#define WBUF_SIZE    16384   /* one full TLS record                     */
#define WDIRECT_MIN  4096    /* vectors this big are written in place   */

static pc_tls_stats_t stats;
static u_char         wbuf[WBUF_SIZE];

static const char *hs_names[PC_TLS_HS__COUNT] = {
    "full", "resumed", "failed", "verify_failed"
};
static const char *vfail_names[PC_TLS_VFAIL__COUNT] = {
    "no_certificate", "unknown_ca", "expired", "revoked", "depth", "crl", "other"
};

/* ---------------------------------------------------------------------
 * ex_data indexes and counters
 * ------------------------------------------------------------------- */

/* Contract: the SSL_CTX ex_data index holding the pc_tls_ctx_t; made on
 * first use (config load, in the master); -1 if OpenSSL cannot. */
int
pc_tls_ctx_index(void)
{
    static int idx = -1;

    if (idx < 0)
        idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return idx;
}

/* Contract: the SSL ex_data index holding the first verification error
 * of the handshake (X509_V_ERR_* + 1; NULL: none). */
int
pc_tls_ssl_index(void)
{
    static int idx = -1;

    if (idx < 0)
        idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return idx;
}

/* Count a handshake result of c (and the reason of a refused certificate)
 * in this worker's counters and in the metrics registry of c's context. */
static void
count_hs(pc_conn_t *c, pc_tls_hs_result_e r, pc_tls_vfail_e why)
{
    pc_tls_ctx_t *tc = pc_tls_conn_ctx(c);

    stats.handshakes[r]++;
    if (r == PC_TLS_HS_VERIFY_FAILED)
        stats.verify_failures[why]++;
    if (tc == NULL || tc->metrics == NULL)
        return;
    pc_metric_add(tc->metrics->handshakes[r], 1);
    if (r == PC_TLS_HS_VERIFY_FAILED)
        pc_metric_add(tc->metrics->verify_failures[why], 1);
}

/* See pc_tls.h. */
const pc_tls_stats_t *
pc_tls_stats(void)
{
    return &stats;
}

/* See pc_tls.h. */
const char *
pc_tls_hs_result_name(pc_tls_hs_result_e r)
{
    return (unsigned) r < PC_TLS_HS__COUNT ? hs_names[r] : "unknown";
}

/* See pc_tls.h. */
const char *
pc_tls_vfail_name(pc_tls_vfail_e v)
{
    return (unsigned) v < PC_TLS_VFAIL__COUNT ? vfail_names[v] : "other";
}

/* See pc_tls.h. */
pc_tls_vfail_e
pc_tls_vfail_of(long e)
{
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_INVALID_CA:
        return PC_TLS_VFAIL_UNKNOWN_CA;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return PC_TLS_VFAIL_EXPIRED;
    case X509_V_ERR_CERT_REVOKED:
        return PC_TLS_VFAIL_REVOKED;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
        return PC_TLS_VFAIL_DEPTH;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        return PC_TLS_VFAIL_CRL;
    default:
        return PC_TLS_VFAIL_OTHER;
    }
}

/* ---------------------------------------------------------------------
 * Callbacks installed on every context
 * ------------------------------------------------------------------- */

/* Contract: X509 verify callback.  Remembers the first error of the
 * handshake (for the log and the counters); refuses only under
 * `ssl_verify_client on`, so optional modes always complete.  A missing
 * CRL for the issuing CA is not an error (see below). */
int
pc_tls_verify_cb(int ok, X509_STORE_CTX *x)
{
    SSL          *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    pc_tls_ctx_t *tc;
    intptr_t      first;

    if (ssl == NULL)
        return ok;
    /* ssl_crl holds the CRLs of some CAs: a CA without one is not checked
     * for revocation (nginx would refuse all its clients instead). */
    first = (intptr_t) SSL_get_ex_data(ssl, pc_tls_ssl_index());
    if (!ok && X509_STORE_CTX_get_error(x) == X509_V_ERR_UNABLE_TO_GET_CRL) {
        /* The result stays what it was before this non-error. */
        X509_STORE_CTX_set_error(x, first != 0 ? (int) (first - 1) : X509_V_OK);
        return 1;
    }
    if (!ok && first == 0) {
        SSL_set_ex_data(ssl, pc_tls_ssl_index(),
                        (void *) (intptr_t) (X509_STORE_CTX_get_error(x) + 1));
    }
    tc = pc_tls_ctx_of(SSL_get_SSL_CTX(ssl));
    return tc == NULL || tc->verify == PC_TLS_VERIFY_ON ? ok : 1;
}

/*
 * Server block selection.
 *
 * The block is chosen in the ClientHello callback, the first thing OpenSSL
 * runs on a ClientHello: before the protocol version, the session lookup
 * (TLS 1.2 session id, TLS 1.3 PSK) and the creation of a new session.  So
 * a session is looked up, compared (its session id context) and minted
 * under the context of the block SNI names.  The servername callback, which
 * OpenSSL runs after the session lookup, selected it before: a session of
 * the default block then resumed into any other block, whatever that
 * block's client verification said.  The servername callback now only
 * checks that nothing moved since (a second line of defence).
 */

/* The context the listener's select() gives name (any case, one trailing
 * dot allowed); NULL when no server block claims it. */
static pc_tls_ctx_t *
select_name(SSL *ssl, const u_char *name, size_t len)
{
    pc_conn_t               *c = SSL_get_app_data(ssl);
    const pc_tls_listener_t *tl;
    u_char                   low[256];

    if (c == NULL || (tl = c->data) == NULL || tl->select == NULL)
        return NULL;
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len >= sizeof(low))
        return NULL;
    pc_strlow(low, name, len);
    return tl->select(tl, low, len);
}

/* The settings SSL_new copied from the listener's default context that
 * SSL_set_SSL_CTX leaves alone.  The protocol versions stay the default
 * server's (ssl_protocols, documented), including its SSL_OP_NO_TLSv1_x. */
static void
use_ctx(SSL *ssl, const pc_tls_ctx_t *tc)
{
    SSL_CTX *ctx = tc->ctx;
    uint64_t opts, cur = SSL_get_options(ssl);

    SSL_set_SSL_CTX(ssl, ctx);
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
    opts = (SSL_CTX_get_options(ctx) & ~(uint64_t) SSL_OP_NO_SSL_MASK)
           | (cur & SSL_OP_NO_SSL_MASK);
    SSL_clear_options(ssl, cur & ~opts);
    SSL_set_options(ssl, opts);
    SSL_set_num_tickets(ssl, SSL_CTX_get_num_tickets(ctx));
    /* SSL_set_SSL_CTX copies it only when ssl still had the old one. */
    (void) SSL_set_session_id_context(ssl, tc->sid, tc->sid_len);
}

/* True when sess was made for tc's context (its session id context). */
static bool
session_of(const SSL_SESSION *sess, const pc_tls_ctx_t *tc)
{
    const u_char *sid;
    unsigned      len;

    if (sess == NULL || tc == NULL)
        return false;
    sid = SSL_SESSION_get0_id_context(sess, &len);
    return len == tc->sid_len && memcmp(sid, tc->sid, len) == 0;
}

/* Contract: ClientHello callback on every context.  Reads the SNI of the
 * ClientHello and switches ssl to the context of its server block (an
 * absent or unknown name keeps the listener's default).  Refuses (decode
 * error) a malformed server_name extension, and (illegal parameter) a
 * second ClientHello, after a HelloRetryRequest, that names another block
 * than the first. */
int
pc_tls_client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    const pc_tls_ctx_t *cur = pc_tls_ctx_of(SSL_get_SSL_CTX(ssl));
    const pc_conn_t    *c = SSL_get_app_data(ssl);
    const pc_tls_listener_t *tl = c != NULL ? c->data : NULL;
    const pc_tls_ctx_t *tc = NULL;
    const u_char       *ext, *name;
    size_t              len, nlen;

    PC_UNUSED(arg);
    if (tl == NULL || cur == NULL)
        return SSL_CLIENT_HELLO_SUCCESS;    /* not one of our handshakes */
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) == 1) {
        if (!pc_tls_sni_parse(ext, len, &name, &nlen)) {
            *alert = SSL_AD_DECODE_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        tc = select_name(ssl, name, nlen);
    }
    tc = tc != NULL ? tc : tl->dflt;
    if (tc == cur)
        return SSL_CLIENT_HELLO_SUCCESS;
    if (cur != tl->dflt) {
        *alert = SSL_AD_ILLEGAL_PARAMETER;
        return SSL_CLIENT_HELLO_ERROR;
    }
    use_ctx(ssl, tc);
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* Contract: SNI callback, run after the session lookup.  The ClientHello
 * callback chose the context already; this refuses the handshake (fatal
 * handshake_failure alert) when a resumed session was not made for that
 * context or when the name OpenSSL reports would now select another block:
 * a session never carries one block's verdict into another. */
int
pc_tls_servername_cb(SSL *ssl, int *alert, void *arg)
{
    const pc_tls_ctx_t *cur = pc_tls_ctx_of(SSL_get_SSL_CTX(ssl));
    const pc_tls_ctx_t *tc;
    const char         *name;

    PC_UNUSED(arg);
    if (SSL_session_reused(ssl) && !session_of(SSL_get_session(ssl), cur)) {
        *alert = SSL_AD_HANDSHAKE_FAILURE;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    tc = select_name(ssl, (const u_char *) name, strnlen(name, 256));
    if (tc != NULL && tc != cur) {
        *alert = SSL_AD_HANDSHAKE_FAILURE;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* ---------------------------------------------------------------------
 * The handshake
 * ------------------------------------------------------------------- */

static const char *
peer_text(pc_conn_t *c, char *buf, size_t size)
{
    if (pc_sockaddr_text((const struct sockaddr *) &c->peer, buf, size, 0) == 0)
        return "unknown";
    return buf;
}

static void
hs_close(pc_conn_t *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
    c->io = &pc_conn_io_plain;
    c->data = NULL;
    pc_conn_close(c);
}

/* drain/terminate while handshaking: nothing is in flight yet. */
static void
hs_abort(pc_conn_t *c)
{
    hs_close(c);
}

static void hs_step(pc_conn_t *c);

/* Both directions drive the handshake; shutdown aborts it. */
static const pc_conn_proto_t hs_proto = { hs_step, hs_step, hs_abort, hs_abort };

/* During the handshake the bytes are OpenSSL's (plain I/O is never used
 * by anyone), but the end of the layer already frees the SSL object. */
static const pc_conn_io_t hs_io_layer = {
    pc_conn_recv_plain, pc_conn_writev_plain, pc_tls_shutdown
};

static const pc_conn_io_t tls_io_layer = {
    pc_tls_recv, pc_tls_writev, pc_tls_shutdown
};

/* Log and count a refused client certificate; true when it was one. */
static bool
hs_verify_failed(pc_conn_t *c, const char *who)
{
    intptr_t       e = (intptr_t) SSL_get_ex_data(c->ssl, pc_tls_ssl_index());
    unsigned long  err = ERR_peek_error();
    pc_tls_vfail_e why;
    const char    *text;

    if (e != 0) {
        why = pc_tls_vfail_of((long) (e - 1));
        text = X509_verify_cert_error_string((long) (e - 1));
    } else if (ERR_GET_LIB(err) == ERR_LIB_SSL
               && ERR_GET_REASON(err) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
    {
        why = PC_TLS_VFAIL_NO_CERT;
        text = "no client certificate sent";
    } else {
        return false;
    }
    count_hs(c, PC_TLS_HS_VERIFY_FAILED, why);
    pc_log(PC_LOG_INFO, 0, "tls: client certificate refused (%s): %s, client: %s, "
           "server: %s", vfail_names[why], text, who,
           pc_tls_conn_ctx(c) ? pc_tls_conn_ctx(c)->label : "");
    return true;
}

static void
hs_failed(pc_conn_t *c, int e, int err)
{
    char          who[64], text[256];
    unsigned long ssl_err;

    peer_text(c, who, sizeof(who));
    if (!hs_verify_failed(c, who)) {
        count_hs(c, PC_TLS_HS_FAILED, 0);
        ssl_err = ERR_peek_last_error();
        if (ssl_err != 0)
            ERR_error_string_n(ssl_err, text, sizeof(text));
        else if (e == SSL_ERROR_SYSCALL && err != 0)
            snprintf(text, sizeof(text), "%s", strerror(err));
        else
            snprintf(text, sizeof(text), "connection closed by the client");
        pc_log(PC_LOG_INFO, 0, "tls: handshake failed: %s, client: %s", text, who);
    }
    ERR_clear_error();
    hs_close(c);
}

static void
hs_done(pc_conn_t *c)
{
    const pc_tls_listener_t *tl = c->data;
    struct ev_loop          *loop = pc_conn_loop(c);

    pc_conn_want(c, 0);
    ev_timer_stop(loop, &c->timer);
    count_hs(c, SSL_session_reused(c->ssl) ? PC_TLS_HS_RESUMED : PC_TLS_HS_FULL, 0);
    c->data = NULL;
    c->proto = NULL;
    c->io = &tls_io_layer;
    tl->done(c);
}

/* A plain HTTP request on a TLS port: not a TLS alert the client would
 * not understand, but its request, read in clear by the protocol, which
 * answers 400 and logs it like any error (SPEC 8; nginx does the same).
 * The connection goes on without TLS, marked plain_tls.  True when
 * handled. */
static bool
hs_plain_http(pc_conn_t *c)
{
    const pc_tls_listener_t *tl = c->data;
    char                     who[64];
    u_char                   first;

    if (recv(c->fd, &first, 1, MSG_PEEK) != 1 || first < 'A' || first > 'Z')
        return false;
    count_hs(c, PC_TLS_HS_FAILED, 0);
    pc_log(PC_LOG_INFO, 0, "tls: plain HTTP request sent to HTTPS port, client: %s",
           peer_text(c, who, sizeof(who)));
    pc_conn_want(c, 0);
    ev_timer_stop(pc_conn_loop(c), &c->timer);
    SSL_free(c->ssl);
    c->ssl = NULL;
    c->plain_tls = 1;
    c->data = NULL;
    c->proto = NULL;
    c->io = &pc_conn_io_plain;
    tl->done(c);
    return true;
}

static void
hs_step(pc_conn_t *c)
{
    int n, e;

    if (!SSL_in_before(c->ssl) || !hs_plain_http(c)) {
        ERR_clear_error();
        n = SSL_do_handshake(c->ssl);
        if (n == 1) {
            hs_done(c);
            return;
        }
        e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ) {
            pc_conn_want(c, EV_READ);
        } else if (e == SSL_ERROR_WANT_WRITE) {
            pc_conn_want(c, EV_WRITE);
        } else {
            hs_failed(c, e, errno);
        }
    }
}

static void
hs_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    pc_conn_t *c = w->data;
    char       who[64];

    PC_UNUSED(loop);
    PC_UNUSED(revents);
    count_hs(c, PC_TLS_HS_FAILED, 0);
    pc_log(PC_LOG_INFO, 0, "tls: handshake timed out, client: %s",
           peer_text(c, who, sizeof(who)));
    hs_close(c);
}

/* See pc_tls.h.  The first step waits for the ClientHello (read watcher). */
void
pc_tls_accept(pc_conn_t *c, const pc_tls_listener_t *tl)
{
    struct ev_loop *loop = pc_conn_loop(c);
    SSL            *ssl = SSL_new(tl->dflt->ctx);

    if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1) {
        pc_log(PC_LOG_ALERT, 0, "tls: cannot create a connection (ENOMEM)");
        ERR_clear_error();
        SSL_free(ssl);
        pc_conn_close(c);
        return;
    }
    SSL_set_accept_state(ssl);
    SSL_set_app_data(ssl, c);
    c->ssl = ssl;
    c->data = (void *) tl;
    c->io = &hs_io_layer;
    c->proto = &hs_proto;
    ev_timer_init(&c->timer, hs_timeout, (double) tl->timeout / 1000.0, 0.0);
    c->timer.data = c;
    ev_timer_start(loop, &c->timer);
    pc_conn_want(c, EV_READ);
}

/* ---------------------------------------------------------------------
 * The I/O layer
 * ------------------------------------------------------------------- */

/* An SSL_read/SSL_write result that is not data: EAGAIN, EOF or error. */
static ssize_t
io_result(pc_conn_t *c, int n)
{
    int e = SSL_get_error(c->ssl, n), err = errno;

    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        c->eof = 1;
        return 0;
    case SSL_ERROR_SYSCALL:
        if (err == 0) {
            c->eof = 1;
            return 0;
        }
        break;
    default:
        err = EPROTO;
        break;
    }
    ERR_clear_error();
    c->error = 1;
    errno = err != 0 ? err : EIO;
    return -1;
}

/* See pc_tls.h. */
ssize_t
pc_tls_recv(pc_conn_t *c, u_char *buf, size_t size)
{
    int n;

    ERR_clear_error();
    n = SSL_read(c->ssl, buf, (int) pc_min(size, (size_t) INT_MAX));
    if (n > 0) {
        if (SSL_pending(c->ssl) > 0)
            ev_feed_event(pc_conn_loop(c), &c->ev, EV_READ);
        return n;
    }
    return io_result(c, n);
}

/* The next run of bytes to write from iov[*i] + *off: in place when big,
 * else gathered into wbuf. */
static const u_char *
next_chunk(struct iovec *iov, int iovcnt, int i, size_t off, size_t *len)
{
    size_t n, k = 0;

    if (iov[i].iov_len - off >= WDIRECT_MIN) {
        *len = pc_min(iov[i].iov_len - off, (size_t) INT_MAX);
        return (const u_char *) iov[i].iov_base + off;
    }
    for (; i < iovcnt && k < WBUF_SIZE; i++, off = 0) {
        n = pc_min(iov[i].iov_len - off, WBUF_SIZE - k);
        memcpy(wbuf + k, (const u_char *) iov[i].iov_base + off, n);
        k += n;
    }
    *len = k;
    return wbuf;
}

/* See pc_tls.h. */
ssize_t
pc_tls_writev(pc_conn_t *c, struct iovec *iov, int iovcnt)
{
    const u_char *p;
    size_t        total = 0, off = 0, len, n;
    int           i = 0, w;

    while (i < iovcnt) {
        if (iov[i].iov_len <= off) {
            i++;
            off = 0;
            continue;
        }
        p = next_chunk(iov, iovcnt, i, off, &len);
        ERR_clear_error();
        w = SSL_write(c->ssl, p, (int) len);
        if (w <= 0) {
            /* What was written counts; an error shows on the next call. */
            return total > 0 ? (ssize_t) total : io_result(c, w);
        }
        total += (size_t) w;
        /* Advance (i, off) by w bytes. */
        for (n = (size_t) w; n > 0 && i < iovcnt; ) {
            size_t k = pc_min(n, iov[i].iov_len - off);

            n -= k;
            off += k;
            if (off == iov[i].iov_len) {
                i++;
                off = 0;
            }
        }
    }
    return (ssize_t) total;
}

/* See pc_tls.h. */
void
pc_tls_shutdown(pc_conn_t *c)
{
    SSL *ssl = c->ssl;

    if (ssl == NULL)
        return;
    if (!c->error && SSL_is_init_finished(ssl)) {
        ERR_clear_error();
        (void) SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
    c->ssl = NULL;
    c->io = &pc_conn_io_plain;
}

/* See pc_tls.h. */
pc_tls_ctx_t *
pc_tls_conn_ctx(const pc_conn_t *c)
{
    return c->ssl != NULL ? pc_tls_ctx_of(SSL_get_SSL_CTX(c->ssl)) : NULL;
}
