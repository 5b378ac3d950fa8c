/*
 * pc_tls_info.c -- what a request can learn about its connection's client
 * certificate: verification result, DNs, serial, fingerprint, the
 * URL-escaped PEM and the RFC 9440 Client-Cert / Client-Cert-Chain forms.
 *
 * Every value is written into the caller's pool; OpenSSL is only asked for
 * what it already holds (the peer certificate and its cached DER
 * encoding), and the digest context is reused, so a request costs no
 * malloc here.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/pc_core.h"
#include "tls/pc_tls_int.h"

static const char hex_lc[] = "0123456789abcdef";
static const char hex_uc[] = "0123456789ABCDEF";

/* Contract: SHA-256, fetched once per process; NULL if unavailable. */
const EVP_MD *
pc_tls_sha256(void)
{
    static EVP_MD *md;

    if (md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
        ERR_clear_error();
    return md;
}

/* ---------------------------------------------------------------------
 * Distinguished names (RFC 2253 / RFC 4514, as OpenSSL's XN_FLAG_RFC2253)
 * ------------------------------------------------------------------- */

/* Append one byte of an attribute value, escaped; NULL when full. */
static u_char *
dn_byte(u_char *p, u_char *end, u_char ch, bool first, bool last)
{
    if (ch < 0x20 || ch >= 0x7f) {
        if (end - p < 3)
            return NULL;
        *p++ = '\\';
        *p++ = (u_char) hex_uc[ch >> 4];
        *p++ = (u_char) hex_uc[ch & 0xf];
        return p;
    }
    if (strchr(",+\"\\<>;", ch) != NULL || (first && (ch == '#' || ch == ' '))
        || (last && ch == ' '))
    {
        if (end - p < 2)
            return NULL;
        *p++ = '\\';
    } else if (p >= end) {
        return NULL;
    }
    *p++ = ch;
    return p;
}

/* UTF-8 of one code point into out (4 bytes); returns the length. */
static size_t
utf8(uint32_t cp, u_char *out)
{
    if (cp < 0x80) {
        out[0] = (u_char) cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (u_char) (0xc0 | (cp >> 6));
        out[1] = (u_char) (0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (u_char) (0xe0 | (cp >> 12));
        out[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (u_char) (0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (u_char) (0xf0 | ((cp >> 18) & 0x07));
    out[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (u_char) (0x80 | (cp & 0x3f));
    return 4;
}

/* An attribute value: BMP/Universal strings become UTF-8, then every byte
 * is escaped as RFC 2253 says.  NULL when it does not fit. */
static u_char *
dn_value(u_char *p, u_char *end, const ASN1_STRING *v)
{
    const u_char *d = ASN1_STRING_get0_data(v);
    int           len = ASN1_STRING_length(v), type = ASN1_STRING_type(v);
    int           step = type == V_ASN1_BMPSTRING ? 2 : type == V_ASN1_UNIVERSALSTRING ? 4 : 1;
    u_char        u[4];
    uint32_t      cp;
    size_t        n, k;
    int           i, j;

    for (i = 0; i + step <= len; i += step) {
        for (cp = 0, j = 0; j < step; j++)
            cp = (cp << 8) | d[i + j];
        n = step == 1 ? (u[0] = (u_char) cp, 1) : utf8(cp, u);
        for (k = 0; k < n; k++) {
            p = dn_byte(p, end, u[k], i == 0 && k == 0, i + step >= len && k == n - 1);
            if (p == NULL)
                return NULL;
        }
    }
    return p;
}

/* See pc_tls.h. */
size_t
pc_tls_dn_text(const X509_NAME *name, u_char *buf, size_t size)
{
    u_char *p = buf, *end = buf + size, *rdn_start;
    char    oid[80];
    const char *sn;
    int     i, n = X509_NAME_entry_count(name), set = -1, nid;
    size_t  k;

    for (i = n - 1; i >= 0; i--) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);

        rdn_start = p;
        if (p > buf && (end - p) >= 1)
            *p++ = X509_NAME_ENTRY_set(e) == set ? '+' : ',';
        set = X509_NAME_ENTRY_set(e);
        nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
        if (sn == NULL) {
            OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(e), 1);
            sn = oid;
        }
        k = strlen(sn);
        if ((size_t) (end - p) < k + 1)
            return (size_t) (rdn_start - buf);
        p = pc_cpymem(p, sn, k);
        *p++ = '=';
        p = dn_value(p, end, X509_NAME_ENTRY_get_data(e));
        if (p == NULL)
            return (size_t) (rdn_start - buf);
    }
    return (size_t) (p - buf);
}

/* ---------------------------------------------------------------------
 * Verification result
 * ------------------------------------------------------------------- */

/* See pc_tls.h. */
pc_rc_t
pc_tls_client_verify(pc_conn_t *c, pc_pool_t *pool, pc_str_t *out)
{
    const char *why;
    long        rc;
    size_t      n;

    if (c->ssl == NULL)
        return PC_DECLINED;
    if (SSL_get0_peer_certificate(c->ssl) == NULL) {
        pc_str_set(out, "NONE");
        return PC_OK;
    }
    rc = SSL_get_verify_result(c->ssl);
    if (rc == X509_V_OK) {
        pc_str_set(out, "SUCCESS");
        return PC_OK;
    }
    why = X509_verify_cert_error_string(rc);
    n = strlen(why);
    out->data = pc_pnalloc(pool, n + 7);
    if (out->data == NULL)
        return PC_ERROR;
    memcpy(out->data, "FAILED:", 7);
    memcpy(out->data + 7, why, n);
    out->len = n + 7;
    return PC_OK;
}

/* See pc_tls.h. */
bool
pc_tls_client_cert_ok(pc_conn_t *c)
{
    pc_tls_ctx_t *tc;

    if (c->ssl == NULL || SSL_get0_peer_certificate(c->ssl) == NULL)
        return false;
    if (SSL_get_verify_result(c->ssl) == X509_V_OK)
        return true;
    tc = pc_tls_conn_ctx(c);
    return tc != NULL && tc->verify == PC_TLS_VERIFY_OPTIONAL_NO_CA;
}

/* ---------------------------------------------------------------------
 * Certificate fields
 * ------------------------------------------------------------------- */

/* DER of x into pool. */
static pc_rc_t
der_of(X509 *x, pc_pool_t *pool, pc_str_t *der)
{
    int     n = i2d_X509(x, NULL);
    u_char *p;

    if (n <= 0 || (der->data = p = pc_pnalloc(pool, (size_t) n)) == NULL)
        return PC_ERROR;
    der->len = (size_t) i2d_X509(x, &p);
    return PC_OK;
}

static pc_rc_t
hex_of(const u_char *d, size_t len, const char *digits, pc_pool_t *pool, pc_str_t *out)
{
    size_t i;

    out->data = pc_pnalloc(pool, len * 2 + 2);
    if (out->data == NULL)
        return PC_ERROR;
    for (i = 0; i < len; i++) {
        out->data[2 * i] = (u_char) digits[d[i] >> 4];
        out->data[2 * i + 1] = (u_char) digits[d[i] & 0xf];
    }
    out->len = len * 2;
    if (len == 0) {
        memcpy(out->data, "00", 2);
        out->len = 2;
    }
    return PC_OK;
}

static pc_rc_t
fingerprint(X509 *x, pc_pool_t *pool, pc_str_t *out)
{
    static EVP_MD_CTX *md;
    u_char             h[EVP_MAX_MD_SIZE];
    unsigned           n = 0;
    pc_str_t           der;

    if (md == NULL && (md = EVP_MD_CTX_new()) == NULL)
        return PC_ERROR;
    if (der_of(x, pool, &der) != PC_OK || pc_tls_sha256() == NULL
        || EVP_DigestInit_ex(md, pc_tls_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, der.data, der.len) != 1 || EVP_DigestFinal_ex(md, h, &n) != 1)
    {
        ERR_clear_error();
        return PC_ERROR;
    }
    return hex_of(h, n, hex_lc, pool, out);
}

/* ":base64(DER):" (an RFC 8941 byte sequence) at p; returns the end. */
static u_char *
sf_binary(u_char *p, const pc_str_t *der)
{
    *p++ = ':';
    p += EVP_EncodeBlock(p, der->data, (int) der->len);
    *p++ = ':';
    return p;
}

static pc_rc_t
rfc9440(X509 *x, pc_pool_t *pool, pc_str_t *out)
{
    pc_str_t der;

    if (der_of(x, pool, &der) != PC_OK
        || (out->data = pc_pnalloc(pool, (der.len + 2) / 3 * 4 + 3)) == NULL)
        return PC_ERROR;
    out->len = (size_t) (sf_binary(out->data, &der) - out->data);
    return PC_OK;
}

static pc_rc_t
rfc9440_chain(SSL *ssl, pc_pool_t *pool, pc_str_t *out)
{
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    pc_str_t       *ders;
    size_t          total = 0;
    u_char         *p;
    int             i, n = chain != NULL ? sk_X509_num(chain) : 0;

    /* On the server side the stack holds the intermediates, not the leaf
     * (and nothing after a resumption). */
    if (n == 0)
        return PC_DECLINED;
    if ((ders = pc_palloc(pool, (size_t) n * sizeof(pc_str_t))) == NULL)
        return PC_ERROR;
    for (i = 0; i < n; i++) {
        if (der_of(sk_X509_value(chain, i), pool, &ders[i]) != PC_OK)
            return PC_ERROR;
        total += (ders[i].len + 2) / 3 * 4 + 4;
    }
    if ((p = out->data = pc_pnalloc(pool, total + 1)) == NULL)
        return PC_ERROR;
    for (i = 0; i < n; i++) {
        if (i > 0) {
            *p++ = ',';
            *p++ = ' ';
        }
        p = sf_binary(p, &ders[i]);
    }
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static u_char *
url_escape(u_char *p, const u_char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
            || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'
            || s[i] == '_' || s[i] == '~')
        {
            *p++ = s[i];
        } else {
            *p++ = '%';
            *p++ = (u_char) hex_uc[s[i] >> 4];
            *p++ = (u_char) hex_uc[s[i] & 0xf];
        }
    }
    return p;
}

/* URL-escaped PEM, as nginx's $ssl_client_escaped_cert. */
static pc_rc_t
escaped_pem(X509 *x, pc_pool_t *pool, pc_str_t *out)
{
    static const char head[] = "-----BEGIN CERTIFICATE-----\n";
    static const char tail[] = "-----END CERTIFICATE-----\n";
    u_char    line[68], *p;
    pc_str_t  der;
    size_t    off, chunk, n;

    if (der_of(x, pool, &der) != PC_OK)
        return PC_ERROR;
    /* base64 is 4/3, one newline per 64 characters; escaping at most x3. */
    n = ((der.len + 2) / 3 * 4 + der.len / 48 + 2 + sizeof(head) + sizeof(tail)) * 3;
    if ((p = out->data = pc_pnalloc(pool, n)) == NULL)
        return PC_ERROR;
    p = url_escape(p, (const u_char *) head, sizeof(head) - 1);
    for (off = 0; off < der.len; off += chunk) {
        chunk = pc_min(der.len - off, (size_t) 48);
        n = (size_t) EVP_EncodeBlock(line, der.data + off, (int) chunk);
        line[n++] = '\n';
        p = url_escape(p, line, n);
    }
    p = url_escape(p, (const u_char *) tail, sizeof(tail) - 1);
    out->len = (size_t) (p - out->data);
    return PC_OK;
}

/* See pc_tls.h. */
pc_rc_t
pc_tls_client_cert(pc_conn_t *c, pc_tls_cert_field_e what, pc_pool_t *pool, pc_str_t *out)
{
    X509          *x;
    u_char         buf[1024];
    size_t         n;
    const ASN1_INTEGER *serial;

    if (c->ssl == NULL || (x = SSL_get0_peer_certificate(c->ssl)) == NULL)
        return PC_DECLINED;
    switch (what) {
    case PC_TLS_CERT_SUBJECT:
    case PC_TLS_CERT_ISSUER:
        n = pc_tls_dn_text(what == PC_TLS_CERT_SUBJECT ? X509_get_subject_name(x)
                                                       : X509_get_issuer_name(x),
                           buf, sizeof(buf));
        out->data = pc_pstrdup(pool, buf, n);
        out->len = n;
        return out->data != NULL ? PC_OK : PC_ERROR;
    case PC_TLS_CERT_SERIAL:
        serial = X509_get0_serialNumber(x);
        return hex_of(ASN1_STRING_get0_data(serial), (size_t) ASN1_STRING_length(serial),
                      hex_uc, pool, out);
    case PC_TLS_CERT_FINGERPRINT:
        return fingerprint(x, pool, out);
    case PC_TLS_CERT_ESCAPED:
        return escaped_pem(x, pool, out);
    case PC_TLS_CERT_RFC9440:
        return rfc9440(x, pool, out);
    case PC_TLS_CERT_RFC9440_CHAIN:
        return rfc9440_chain(c->ssl, pool, out);
    }
    return PC_DECLINED;
}

/*
 * Contract: see pc_tls.h.  The host name of a server_name extension body
 * (RFC 6066 §3), held to
 * what OpenSSL accepts afterwards (tls_parse_ctos_server_name): a list of
 * exactly one host_name entry of 1..255 bytes without NUL.  Pure; reads at
 * most len bytes.  True with *name / *nlen pointing into p.
 */
bool
pc_tls_sni_parse(const u_char *p, size_t len, const u_char **name, size_t *nlen)
{
    size_t list, n;

    if (len < 2)
        return false;
    list = ((size_t) p[0] << 8) | p[1];
    /* type (1) + length (2) + at least one byte */
    if (list != len - 2 || list < 4 || p[2] != TLSEXT_NAMETYPE_host_name)
        return false;
    n = ((size_t) p[3] << 8) | p[4];
    if (n == 0 || n > TLSEXT_MAXLEN_host_name || n != list - 3 || memchr(p + 5, 0, n) != NULL)
        return false;
    *name = p + 5;
    *nlen = n;
    return true;
}
