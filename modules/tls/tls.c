/*
 * tls.c -- the tls module at run time: the accept handler that puts the
 * TLS handshake in front of http, SNI selection among server blocks, the
 * SNI/Host check under client verification (421), the RFC 9440 headers
 * for upstreams, and the $ssl_* variables.
 *
 * Why it looks like this:
 * - The handshake is an I/O layer (src/tls): once it is over, the saved
 *   http handler gets the connection with c->io switched to TLS.
 * - A client verified by one server block must not reach another one by
 *   sending a different Host: when the block chosen by Host is not the one
 *   SNI chose, and either of them verifies clients, the request gets 421
 *   (SPEC §8), as nginx does.  The same check stops a client that sent no
 *   SNI from reaching a block that requires a certificate.
 * - Client-Cert / Client-Cert-Chain are set (or, when not sent, removed)
 *   for the upstream through pc_http_upstream_header_set, which replaces
 *   the client's own fields of those names: a client can never spoof them.
 */
#include <string.h>

#include "tls.h"

static const pc_str_t client_cert_name = pc_string("Client-Cert");
static const pc_str_t client_chain_name = pc_string("Client-Cert-Chain");
static const pc_str_t empty_value = pc_string("");

/* ---------------------------------------------------------------------
 * Accept and SNI
 * ------------------------------------------------------------------- */

/* Contract: the accept handler of ssl listeners (set by init_conf).  Runs
 * the handshake, then the listener's original handler.  Closes c when the
 * listener is unknown (cannot happen with a consistent cycle). */
void
pc_tls_module_accept(pc_conn_t *c)
{
    tls_main_conf_t *mc = pc_cycle_main_conf(c->cycle, pc_tls_module);
    tls_listener_t  *tl = mc->listeners.elts;
    uint32_t         i;

    for (i = 0; i < mc->listeners.nelts; i++) {
        if (tl[i].ls == c->listening) {
            pc_tls_accept(c, &tl[i].tl);
            return;
        }
    }
    pc_log(PC_LOG_ALERT, 0, "tls: no TLS settings for listener %s",
           c->listening != NULL ? c->listening->addr_text : "?");
    pc_conn_close(c);
}

/* Contract: pc_tls_listener_t.select: the server block Host would select
 * for this name (pc_http_find_server: exact names, then the longest leading
 * wildcard, then the longest trailing one, then regexes in config order,
 * nginx's order), so SNI and Host never disagree on a name.  A regex runs
 * only when no exact or wildcard name matched; r is NULL, so it saves no
 * captures and allocates nothing (the regex module's match data is per
 * worker).  NULL when that block has no context (no certificate: it
 * shares an ssl address without one), and the default keeps the
 * handshake; no match gives the default server, i.e. the default too. */
pc_tls_ctx_t *
pc_tls_module_select(const pc_tls_listener_t *ptl, const u_char *name, size_t len)
{
    /* ptl is the tl member of a tls_listener_t in mc->listeners (its
     * current storage: pc_tls_module_accept hands &tl[i].tl) */
    const tls_listener_t *tl = (const tls_listener_t *) (const void *)
                               ((const char *) ptl - offsetof(tls_listener_t, tl));
    pc_str_t              host = { len, (u_char *) name };
    pc_http_server_t     *s = pc_http_find_server(tl->addr, &host, NULL);
    tls_conf_t           *tc = s != NULL && s->confs != NULL
                               ? s->confs[pc_tls_module.index] : NULL;

    return tc != NULL ? tc->tc : NULL;
}

/* ---------------------------------------------------------------------
 * POST_READ: misdirected requests, client certificate headers
 * ------------------------------------------------------------------- */

static tls_conf_t *
srv_conf(pc_http_server_t *s)
{
    return s != NULL && s->confs != NULL ? s->confs[pc_tls_module.index] : NULL;
}

/* Set (or strip) Client-Cert and Client-Cert-Chain for the upstream. */
static pc_rc_t
cert_headers(pc_http_request_t *r, tls_conf_t *rc)
{
    pc_str_t cert = empty_value, chain = empty_value;
    pc_rc_t  got;

    if (rc != NULL && rc->client_cert_header == 1 && pc_tls_client_cert_ok(r->c)) {
        if (pc_tls_client_cert(r->c, PC_TLS_CERT_RFC9440, r->pool, &cert) == PC_ERROR)
            return PC_ERROR;
        got = pc_tls_client_cert(r->c, PC_TLS_CERT_RFC9440_CHAIN, r->pool, &chain);
        if (got == PC_ERROR)
            return PC_ERROR;
        if (got != PC_OK)
            chain = empty_value;
    } else if (pc_http_header_in(r, "client-cert", 11).data == NULL
               && pc_http_header_in(r, "client-cert-chain", 17).data == NULL)
    {
        return PC_OK;           /* nothing to set, nothing to strip */
    }
    if (pc_http_upstream_header_set(r, &client_cert_name, &cert) != PC_OK
        || pc_http_upstream_header_set(r, &client_chain_name, &chain) != PC_OK)
        return PC_ERROR;
    return PC_OK;
}

/* Contract: POST_READ hook (the server is chosen from Host).  421 when the
 * connection's SNI-selected server block differs from r's and either one
 * verifies client certificates; then sets or strips the RFC 9440 fields.
 * PC_DECLINED to continue, 421, or PC_ERROR (ENOMEM). */
pc_rc_t
pc_tls_module_misdirected(pc_http_request_t *r)
{
    tls_conf_t   *rc = srv_conf(r->server), *sc;
    pc_tls_ctx_t *tc;

    if (r->c->ssl != NULL && (tc = pc_tls_conn_ctx(r->c)) != NULL && tc->owner != r->server) {
        sc = srv_conf(tc->owner);
        if ((sc != NULL && sc->s.verify != PC_TLS_VERIFY_OFF)
            || (rc != NULL && rc->s.verify != PC_TLS_VERIFY_OFF))
        {
            r->error_reason = "misdirected request: the Host does not match the TLS "
                              "server name";
            return 421;
        }
    }
    return cert_headers(r, rc) == PC_OK ? PC_DECLINED : PC_ERROR;
}

/* ---------------------------------------------------------------------
 * Variables
 * ------------------------------------------------------------------- */

enum {
    V_PROTOCOL = 100, V_CIPHER, V_SERVER_NAME, V_SESSION_REUSED, V_VERIFY
};

static pc_rc_t
static_text(const char *s, pc_str_t *out)
{
    if (s == NULL)
        return PC_DECLINED;
    out->data = (u_char *) s;
    out->len = strlen(s);
    return out->len > 0 ? PC_OK : PC_DECLINED;
}

static pc_rc_t
var_ssl(pc_http_request_t *r, pc_str_t *out, uintptr_t data)
{
    SSL *ssl = r->c->ssl;

    if (ssl == NULL)
        return PC_DECLINED;
    switch (data) {
    case V_PROTOCOL:
        return static_text(SSL_get_version(ssl), out);
    case V_CIPHER:
        return static_text(SSL_get_cipher_name(ssl), out);
    case V_SERVER_NAME:
        return static_text(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), out);
    case V_SESSION_REUSED:
        return static_text(SSL_session_reused(ssl) ? "r" : ".", out);
    case V_VERIFY:
        return pc_tls_client_verify(r->c, r->pool, out);
    default:
        return pc_tls_client_cert(r->c, (pc_tls_cert_field_e) data, r->pool, out);
    }
}

const pc_http_variable_t pc_tls_module_variables[] = {
    { "ssl_protocol", var_ssl, V_PROTOCOL, 0 },
    { "ssl_cipher", var_ssl, V_CIPHER, 0 },
    { "ssl_server_name", var_ssl, V_SERVER_NAME, 0 },
    { "ssl_session_reused", var_ssl, V_SESSION_REUSED, 0 },
    { "ssl_client_verify", var_ssl, V_VERIFY, 0 },
    { "ssl_client_s_dn", var_ssl, PC_TLS_CERT_SUBJECT, 0 },
    { "ssl_client_i_dn", var_ssl, PC_TLS_CERT_ISSUER, 0 },
    { "ssl_client_serial", var_ssl, PC_TLS_CERT_SERIAL, 0 },
    { "ssl_client_fingerprint", var_ssl, PC_TLS_CERT_FINGERPRINT, 0 },
    { "ssl_client_escaped_cert", var_ssl, PC_TLS_CERT_ESCAPED, 0 },
    PC_VAR_END
};
