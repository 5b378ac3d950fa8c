/*
 * pc_tls_cache.c -- the TLS session cache shared by every worker and kept
 * across reloads (ssl_session_tickets on): a client resumes whichever
 * worker accepts its next connection, before and after a SIGHUP.  TLS 1.3
 * tickets are stateful (SSL_OP_NO_TICKET: the ticket is the 32-byte
 * session id) and TLS 1.2 resumes by session id, both from this table.
 *
 * Why not stateless tickets: to seal one, OpenSSL 3.0 encodes the session,
 * decodes it again and re-encodes it (construct_stateless_ticket).  With a
 * client certificate in the session that decode is a whole X509 parse with
 * its public key going through the provider decoders: a fifth of the
 * server's CPU for a full mTLS handshake, and once more on every
 * resumption (which decrypts a ticket and seals a new one).  Here a new
 * session costs one encoding and a memcpy, a resumption one decoding.
 *
 * Safety:
 * - An entry lives at most the session timeout of the context that made
 *   it (checked on lookup; a stale or replaced entry is wiped), and
 *   OpenSSL's remove callback wipes it too.  Nothing outlives the timeout
 *   but bytes in an unused slot until it is reused or wiped on lookup.
 * - A session is only resumed by the server block it was made for, under
 *   the same CA bundles, CRL, verify mode and depth: its session id
 *   context (pc_tls_ctx.c) must be the one of the context SNI selects.
 *   OpenSSL calls these callbacks on the listener's default context (its
 *   session_ctx) but after the ClientHello callback switched ssl to the
 *   SNI's one (pc_tls_io.c), so SSL_get_SSL_CTX(ssl) is that block's.
 *
 * The table: SETS x WAYS fixed slots in one shared zone; the set is taken
 * from the first bytes of the session id (random, made by OpenSSL); a new
 * session replaces an empty or stale way, else the one expiring first.
 * One spin lock (holding the holder's pid, taken over when the holder
 * died) covers a copy of at most SLOT_DATA bytes; a worker that cannot
 * take it at once does without (a miss, or a session not stored): it
 * never waits for long.  A worker is one thread: the scratch buffer is a
 * static.
 *
 * Decoding a session is a whole client-certificate parse, so each worker
 * also keeps the sessions it made or decoded (HOT_SLOTS, direct-mapped by
 * id, one reference each): a resumption on the worker that made the
 * session, the usual case, decodes nothing.  The shared table stays the
 * authority: a kept session is used only while its entry there is live
 * (another worker may have used it up, TLS 1.3 sessions being single use,
 * or it may have been replaced), and goes with it.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "core/pc_core.h"
#include "core/pc_shm.h"
#include "core/pc_time.h"
#include "tls/pc_tls_int.h"

#define SETS        1024
#define WAYS        4
#define SLOT_DATA   2048         /* larger sessions are not cached      */
#define ID_MAX      32
#define LOCK_SPINS  100

typedef struct {
    int64_t     expires;         /* wall milliseconds; 0: empty         */
    uint16_t    len;             /* DER bytes                           */
    uint8_t     id_len;
    u_char      id[ID_MAX];
    u_char      der[SLOT_DATA];
} slot_t;

typedef struct {
    uint32_t    lock;            /* holder's pid, 0: free               */
    slot_t      slots[SETS][WAYS];
} cache_shm_t;

static const char  zone_tag;     /* its address identifies the zone     */
static u_char      scratch[SLOT_DATA];

#define HOT_SLOTS   256          /* decoded sessions kept per worker    */

typedef struct {
    SSL_SESSION *sess;           /* our reference; NULL: empty          */
    int64_t      expires;        /* the shared entry's                  */
    uint8_t      id_len;
    u_char       id[ID_MAX];
} hot_t;

static hot_t       hot[HOT_SLOTS];

/* Wall-clock milliseconds: whole seconds would end a session up to a
 * second early (made at x.9, looked up at x+1.0 with a 1 s timeout). */
static int64_t
now_ms(void)
{
    return pc_time.wall_ms != 0 ? (int64_t) pc_time.wall_ms : (int64_t) time(NULL) * 1000;
}

static bool
lock_cache(cache_shm_t *z)
{
    uint32_t me = (uint32_t) getpid(), holder;
    int      i;

    for (i = 0; i < LOCK_SPINS; i++) {
        holder = 0;
        if (__atomic_compare_exchange_n(&z->lock, &holder, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return true;
        if (kill((pid_t) holder, 0) < 0 && errno == ESRCH
            && __atomic_compare_exchange_n(&z->lock, &holder, me, false, __ATOMIC_ACQUIRE,
                                           __ATOMIC_RELAXED))
            return true;
        sched_yield();
    }
    return false;
}

static void
unlock_cache(cache_shm_t *z)
{
    __atomic_store_n(&z->lock, 0, __ATOMIC_RELEASE);
}

static void
wipe(slot_t *s)
{
    OPENSSL_cleanse(s->der, s->len);
    memset(s, 0, offsetof(slot_t, der));
}

static slot_t *
set_of(cache_shm_t *z, const u_char *id, unsigned len)
{
    uint32_t h = 0;
    unsigned i;

    for (i = 0; i < len && i < 4; i++)
        h = (h << 8) | id[i];
    return z->slots[h % SETS];
}

/* Under the lock: the live slot of id, wiping it when stale. */
static slot_t *
find(cache_shm_t *z, const u_char *id, unsigned len, int64_t now)
{
    slot_t *set = set_of(z, id, len);
    int     w;

    for (w = 0; w < WAYS; w++) {
        if (set[w].expires == 0 || set[w].id_len != len || memcmp(set[w].id, id, len) != 0)
            continue;
        if (set[w].expires > now)
            return &set[w];
        wipe(&set[w]);
    }
    return NULL;
}

/* Under the lock: where a new session of id goes. */
static slot_t *
victim(cache_shm_t *z, const u_char *id, unsigned len, int64_t now)
{
    slot_t *set = set_of(z, id, len), *v = &set[0];
    int     w;

    for (w = 0; w < WAYS; w++) {
        if (set[w].expires <= now)
            return &set[w];
        if (set[w].expires < v->expires)
            v = &set[w];
    }
    return v;
}

static cache_shm_t *
cache_of(const SSL_CTX *ctx)
{
    pc_tls_ctx_t *tc = pc_tls_ctx_of(ctx);

    return tc != NULL && tc->sessions != NULL ? tc->sessions->addr : NULL;
}

static pc_rc_t
zone_init(pc_shm_zone_t *zone, int reused)
{
    /* A reload keeps the sessions; a fresh mapping is zeroed already. */
    if (!reused)
        memset(zone->addr, 0, sizeof(cache_shm_t));
    return PC_OK;
}

/* Contract: declares (or finds) the session cache zone in cf's cycle;
 * NULL after reporting an error. */
pc_shm_zone_t *
pc_tls_cache_zone(pc_conf_t *cf)
{
    static const pc_str_t name = pc_string("tls_session_cache");
    pc_shm_zone_t        *zone;

    zone = pc_shm_zone_add(cf, &name, sizeof(cache_shm_t), &zone_tag);
    if (zone != NULL)
        zone->init = zone_init;
    return zone;
}

static hot_t *
hot_slot(const u_char *id, unsigned len)
{
    return &hot[(id[0] | (len > 1 ? id[1] << 8 : 0)) & (HOT_SLOTS - 1)];
}

static bool
hot_is(const hot_t *h, const u_char *id, unsigned len)
{
    return h->sess != NULL && h->id_len == len && memcmp(h->id, id, len) == 0;
}

static void
hot_drop(hot_t *h)
{
    if (h->sess != NULL) {
        SSL_SESSION_free(h->sess);
        h->sess = NULL;
    }
}

/* Keep a reference to sess (id, live until expires) in this worker. */
static void
hot_keep(const u_char *id, unsigned len, SSL_SESSION *sess, int64_t expires)
{
    hot_t *h = hot_slot(id, len);

    hot_drop(h);
    if (SSL_SESSION_up_ref(sess) != 1)
        return;
    h->sess = sess;
    h->expires = expires;
    h->id_len = (uint8_t) len;
    memcpy(h->id, id, len);
}

/* Contract: worker exit: the kept sessions are freed. */
void
pc_tls_cache_release(void)
{
    unsigned i;

    for (i = 0; i < HOT_SLOTS; i++)
        hot_drop(&hot[i]);
}

/* Contract: SSL_CTX_sess_set_new_cb.  Stores sess for its context's
 * session timeout; never keeps a reference (returns 0). */
int
pc_tls_cache_new(SSL *ssl, SSL_SESSION *sess)
{
    pc_tls_ctx_t  *tc = pc_tls_ctx_of(SSL_get_SSL_CTX(ssl));
    cache_shm_t   *z = cache_of(SSL_get_SSL_CTX(ssl));
    const u_char  *id;
    u_char        *p = scratch;
    unsigned       id_len;
    int64_t        now = now_ms();
    slot_t        *s;
    int            n;

    id = SSL_SESSION_get_id(sess, &id_len);
    if (tc == NULL || z == NULL || id_len == 0 || id_len > ID_MAX)
        return 0;
    n = i2d_SSL_SESSION(sess, NULL);
    if (n <= 0 || n > SLOT_DATA || i2d_SSL_SESSION(sess, &p) != n) {
        ERR_clear_error();
        return 0;
    }
    if (lock_cache(z)) {
        s = find(z, id, id_len, now);
        s = s != NULL ? s : victim(z, id, id_len, now);
        wipe(s);
        memcpy(s->der, scratch, (size_t) n);
        memcpy(s->id, id, id_len);
        s->id_len = (uint8_t) id_len;
        s->len = (uint16_t) n;
        s->expires = now + tc->session_timeout_s * 1000;
        unlock_cache(z);
        hot_keep(id, id_len, sess, now + tc->session_timeout_s * 1000);
    }
    OPENSSL_cleanse(scratch, (size_t) n);
    return 0;
}

/* Contract: SSL_CTX_sess_set_get_cb.  The session of id when it is live
 * and was made for ssl's context, the one SNI selected (else NULL: a full
 * handshake).  *copy = 0: the caller owns the returned session. */
SSL_SESSION *
pc_tls_cache_get(SSL *ssl, const unsigned char *id, int len, int *copy)
{
    cache_shm_t        *z = cache_of(SSL_get_SSL_CTX(ssl));
    const pc_tls_ctx_t *tc;
    const u_char       *p = scratch;
    const u_char       *sid;
    SSL_SESSION        *sess;
    unsigned            sid_len;
    slot_t             *s;
    size_t              n = 0;

    hot_t              *h;
    int64_t             expires = 0;

    *copy = 0;
    if (z == NULL || len <= 0 || len > ID_MAX || !lock_cache(z))
        return NULL;
    h = hot_slot(id, (unsigned) len);
    s = find(z, id, (unsigned) len, now_ms());
    if (s != NULL && !(hot_is(h, id, (unsigned) len) && h->expires == s->expires)) {
        n = s->len;
        expires = s->expires;
        memcpy(scratch, s->der, n);
    }
    unlock_cache(z);
    if (s == NULL) {
        if (hot_is(h, id, (unsigned) len))
            hot_drop(h);            /* used up or expired everywhere */
        return NULL;
    }
    if (n == 0) {
        sess = h->sess;             /* kept here: nothing to decode */
        if (SSL_SESSION_up_ref(sess) != 1)
            return NULL;
    } else {
        sess = d2i_SSL_SESSION(NULL, &p, (long) n);
        OPENSSL_cleanse(scratch, n);
        if (sess == NULL) {
            ERR_clear_error();
            return NULL;
        }
        hot_keep(id, (unsigned) len, sess, expires);
    }
    /* The ClientHello callback switched ssl to its server block's
     * context already (OpenSSL compares the same again afterwards). */
    tc = pc_tls_ctx_of(SSL_get_SSL_CTX(ssl));
    sid = SSL_SESSION_get0_id_context(sess, &sid_len);
    if (tc == NULL || sid_len != tc->sid_len || memcmp(sid, tc->sid, sid_len) != 0) {
        SSL_SESSION_free(sess);
        return NULL;
    }
    return sess;
}

/* Contract: SSL_CTX_sess_set_remove_cb.  Wipes sess's entry. */
void
pc_tls_cache_remove(SSL_CTX *ctx, SSL_SESSION *sess)
{
    cache_shm_t  *z = cache_of(ctx);
    const u_char *id;
    unsigned      id_len;
    slot_t       *s;

    id = SSL_SESSION_get_id(sess, &id_len);
    if (id_len > 0 && id_len <= ID_MAX && hot_is(hot_slot(id, id_len), id, id_len))
        hot_drop(hot_slot(id, id_len));
    if (z == NULL || id_len == 0 || id_len > ID_MAX || !lock_cache(z))
        return;
    s = find(z, id, id_len, now_ms());
    if (s != NULL)
        wipe(s);
    unlock_cache(z);
}
