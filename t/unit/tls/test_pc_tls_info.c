/*
 * test_pc_tls_info.c -- unit tests of src/tls/pc_tls_info.c (RFC 2253 DN
 * text with RFC 4514 escaping, at every boundary of the output buffer) and
 * of the reason classification in src/tls/pc_tls_io.c.
 */
#include <openssl/x509.h>

#include "test.h"
#include "tls/pc_tls.h"

static X509_NAME *
name_of(const char *const *kv, int set_plus)
{
    X509_NAME *n = X509_NAME_new();
    int        i;

    for (i = 0; kv[i] != NULL; i += 2) {
        X509_NAME_add_entry_by_txt(n, kv[i], MBSTRING_UTF8, (const u_char *) kv[i + 1], -1,
                                   -1, set_plus && i > 0 ? -1 : 0);
    }
    return n;
}

static void
dn_is(const char *const *kv, int plus, const char *want, const char *what)
{
    X509_NAME *n = name_of(kv, plus);
    u_char     buf[512];
    size_t     len = pc_tls_dn_text(n, buf, sizeof(buf));

    is_str((const char *) buf, len, want, strlen(want), "%s", what);
    X509_NAME_free(n);
}

static void
test_dn(void)
{
    static const char *const simple[] = { "O", "Org", "CN", "client1", NULL };
    static const char *const special[] = { "CN", "a,b+c\"d\\e<f>g;h", NULL };
    static const char *const spaces[] = { "CN", " lead and trail ", NULL };
    static const char *const hash[] = { "CN", "#x", NULL };
    static const char *const utf8[] = { "CN", "caf\xc3\xa9", NULL };
    static const char *const ctrl[] = { "CN", "a\nb", NULL };
    static const char *const oid[] = { "1.2.3.4", "v", NULL };
    static const char *const multi[] = { "OU", "a", "CN", "b", NULL };
    X509_NAME *n;
    u_char     buf[64];
    size_t     len;

    dn_is(simple, 0, "CN=client1,O=Org", "RDNs in reverse order, comma-separated");
    dn_is(special, 0, "CN=a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h", "special characters escaped");
    dn_is(spaces, 0, "CN=\\ lead and trail\\ ", "leading and trailing space escaped");
    dn_is(hash, 0, "CN=\\#x", "leading # escaped");
    dn_is(utf8, 0, "CN=caf\\C3\\A9", "non-ASCII bytes as \\XX (like XN_FLAG_RFC2253)");
    dn_is(ctrl, 0, "CN=a\\0Ab", "control bytes as \\XX");
    dn_is(oid, 0, "1.2.3.4=v", "unknown attribute as a dotted OID");
    dn_is(multi, 1, "CN=b+OU=a", "multi-valued RDN joined with +");

    /* Output limits: the text is cut at an RDN boundary, never inside. */
    n = name_of(simple, 0);
    len = pc_tls_dn_text(n, buf, 16);
    is_str((const char *) buf, len, "CN=client1,O=Org", 16, "exact fit");
    len = pc_tls_dn_text(n, buf, 15);
    is_str((const char *) buf, len, "CN=client1", 10, "one byte short: the last RDN is dropped");
    len = pc_tls_dn_text(n, buf, 3);
    is_int((int64_t) len, 0, "no room for the first RDN: empty");
    len = pc_tls_dn_text(n, buf, 0);
    is_int((int64_t) len, 0, "size 0: empty");
    X509_NAME_free(n);
    n = X509_NAME_new();
    is_int((int64_t) pc_tls_dn_text(n, buf, sizeof(buf)), 0, "empty name: empty text");
    X509_NAME_free(n);
}

static void
test_reasons(void)
{
    is_int(pc_tls_vfail_of(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY), PC_TLS_VFAIL_UNKNOWN_CA,
           "unknown issuer: unknown_ca");
    is_int(pc_tls_vfail_of(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT), PC_TLS_VFAIL_UNKNOWN_CA,
           "self-signed: unknown_ca");
    is_int(pc_tls_vfail_of(X509_V_ERR_CERT_HAS_EXPIRED), PC_TLS_VFAIL_EXPIRED, "expired");
    is_int(pc_tls_vfail_of(X509_V_ERR_CERT_NOT_YET_VALID), PC_TLS_VFAIL_EXPIRED, "not yet valid");
    is_int(pc_tls_vfail_of(X509_V_ERR_CERT_REVOKED), PC_TLS_VFAIL_REVOKED, "revoked");
    is_int(pc_tls_vfail_of(X509_V_ERR_CERT_CHAIN_TOO_LONG), PC_TLS_VFAIL_DEPTH, "depth");
    is_int(pc_tls_vfail_of(X509_V_ERR_CRL_HAS_EXPIRED), PC_TLS_VFAIL_CRL, "stale CRL");
    is_int(pc_tls_vfail_of(X509_V_ERR_CERT_SIGNATURE_FAILURE), PC_TLS_VFAIL_OTHER, "other");
    is_str(pc_tls_vfail_name(PC_TLS_VFAIL_NO_CERT), 14, "no_certificate", 14, "reason name");
    is_str(pc_tls_vfail_name(PC_TLS_VFAIL__COUNT), 5, "other", 5, "out of range: other");
    is_str(pc_tls_hs_result_name(PC_TLS_HS_RESUMED), 7, "resumed", 7, "result name");
    ok(pc_tls_stats() != NULL && pc_tls_stats()->handshakes[PC_TLS_HS_FULL] == 0,
       "counters start at zero");
}

/* A server_name extension body with one host_name entry of name. */
static size_t
sni_ext(u_char *buf, const char *name, size_t n)
{
    buf[0] = (u_char) ((n + 3) >> 8);
    buf[1] = (u_char) (n + 3);
    buf[2] = 0;
    buf[3] = (u_char) (n >> 8);
    buf[4] = (u_char) n;
    memcpy(buf + 5, name, n);
    return n + 5;
}

static void
test_sni(void)
{
    u_char        buf[600], big[300];
    const u_char *name;
    size_t        len, nlen;

    len = sni_ext(buf, "api.example.com", 15);
    ok(pc_tls_sni_parse(buf, len, &name, &nlen) && nlen == 15
       && memcmp(name, "api.example.com", 15) == 0, "one host_name: parsed");
    ok(!pc_tls_sni_parse(buf, len - 1, &name, &nlen), "cut short: refused");
    ok(!pc_tls_sni_parse(buf, 1, &name, &nlen) && !pc_tls_sni_parse(buf, 0, &name, &nlen),
       "shorter than the list length: refused");
    buf[len] = 'x';
    ok(!pc_tls_sni_parse(buf, len + 1, &name, &nlen), "a byte after the list: refused");
    len = sni_ext(buf, "", 0);
    ok(!pc_tls_sni_parse(buf, len, &name, &nlen), "empty name: refused");
    len = sni_ext(buf, "a\0b", 3);
    ok(!pc_tls_sni_parse(buf, len, &name, &nlen), "NUL in the name: refused");
    len = sni_ext(buf, "a.test", 6);
    buf[2] = 1;
    ok(!pc_tls_sni_parse(buf, len, &name, &nlen), "another name type: refused");
    /* two entries in the list */
    len = sni_ext(buf, "a.test", 6);
    memcpy(buf + len, "\0\0\6b.test", 9);
    buf[1] = (u_char) (len + 9 - 2);
    ok(!pc_tls_sni_parse(buf, len + 9, &name, &nlen), "two entries: refused");
    memset(big, 'a', sizeof(big));
    len = sni_ext(buf, (const char *) big, 255);
    ok(pc_tls_sni_parse(buf, len, &name, &nlen) && nlen == 255, "255 bytes: parsed");
    len = sni_ext(buf, (const char *) big, 256);
    ok(!pc_tls_sni_parse(buf, len, &name, &nlen), "256 bytes: refused");
}

int
main(void)
{
    test_dn();
    test_reasons();
    test_sni();
    return done_testing();
}
