/*
 * pc_tls_ticket.c -- session-ticket keys shared by every worker and kept
 * across reloads, so that a client resumes whichever worker accepts its
 * next connection, before and after a SIGHUP.
 *
 * Why it looks like this:
 * - The keys live in a shared-memory zone (pc_shm.h) with a fixed name,
 *   size and tag: every configuration declares the same zone, so a reload
 *   maps the same memory and tickets issued before it still decrypt.
 * - The master makes the first key when it maps a fresh zone (start), and
 *   makes sure a reload finds a current one.  Rotation happens when a
 *   handshake finds the current key older than the session timeout: the
 *   first worker that sees it takes the zone's spin lock (a few dozen
 *   bytes of RAND_bytes under it), replaces the oldest slot and bumps the
 *   sequence number.  Keys that were retired are still accepted for
 *   decryption for one session timeout (the longest a ticket they sealed
 *   can live), and such tickets are renewed.
 * - Each worker keeps a copy of the slots and re-copies only when the
 *   sequence number changes: the handshake path reads one shared word.
 *   The lock is never waited on for long: a worker that cannot take it
 *   keeps using its copy (tickets stay valid, rotation happens a little
 *   later), and a lock whose holder died is taken over.
 * - AES-256-CBC is fetched once per process; HMAC-SHA256 is keyed per
 *   ticket through the EVP_MAC_CTX OpenSSL hands us.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "core/pc_core.h"
#include "core/pc_shm.h"
#include "core/pc_time.h"
#include "tls/pc_tls_int.h"

#define KEY_SLOTS     4
#define LOCK_SPINS    100

typedef struct {
    u_char      name[16];
    u_char      aes[32];
    u_char      hmac[32];
    int64_t     created;        /* wall seconds; 0: empty slot          */
    int64_t     retired;        /* 0 while current                      */
} ticket_key_t;

typedef struct {
    uint32_t      lock;         /* holder's pid, 0: free                */
    uint32_t      current;      /* slot index                           */
    uint64_t      seq;          /* bumped by every rotation             */
    ticket_key_t  keys[KEY_SLOTS];
} ticket_shm_t;

static const char  zone_tag;    /* its address identifies the zone      */
static ticket_shm_t local;      /* this process's copy                  */
static EVP_CIPHER  *aes;

/* The lock word holds the holder's pid.  A holder that died with it (the
 * section is a few RAND_bytes, but a worker can be killed anywhere) is
 * detected and the lock taken over, so no worker ever waits for long. */
static bool
lock_zone(ticket_shm_t *z)
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
unlock_zone(ticket_shm_t *z)
{
    __atomic_store_n(&z->lock, 0, __ATOMIC_RELEASE);
}

/* Under the lock: make a fresh current key.  PC_OK / PC_ERROR. */
static pc_rc_t
rotate(ticket_shm_t *z, int64_t now)
{
    uint32_t      next = (z->current + 1) % KEY_SLOTS;
    ticket_key_t  k;

    if (RAND_bytes(k.name, sizeof(k.name)) != 1 || RAND_bytes(k.aes, sizeof(k.aes)) != 1
        || RAND_bytes(k.hmac, sizeof(k.hmac)) != 1)
    {
        ERR_clear_error();
        return PC_ERROR;
    }
    k.created = now;
    k.retired = 0;
    if (z->keys[z->current].created != 0)
        z->keys[z->current].retired = now;
    z->keys[next] = k;
    __atomic_store_n(&z->current, next, __ATOMIC_RELAXED);
    __atomic_add_fetch(&z->seq, 1, __ATOMIC_RELEASE);
    return PC_OK;
}

/* Make sure z has a current key younger than period (seconds); refresh
 * the local copy.  Runs in the master (zone init) and in workers. */
static void
refresh(ticket_shm_t *z, int64_t now, int64_t period)
{
    ticket_key_t *cur = &local.keys[local.current];

    if (__atomic_load_n(&z->seq, __ATOMIC_ACQUIRE) == local.seq && local.seq != 0
        && now - cur->created < period)
        return;
    if (!lock_zone(z))
        return;
    cur = &z->keys[z->current];
    if (cur->created == 0 || now - cur->created >= period)
        (void) rotate(z, now);
    memcpy(&local, z, sizeof(local));
    local.lock = 0;
    unlock_zone(z);
}

static pc_rc_t
zone_init(pc_shm_zone_t *zone, int reused)
{
    ticket_shm_t *z = zone->addr;

    if (!reused)
        memset(z, 0, sizeof(*z));
    /* A reload keeps the keys; only a stale current one is replaced. */
    refresh(z, (int64_t) time(NULL), PC_TLS_SESSION_TIMEOUT_DEFAULT / 1000);
    return z->keys[z->current].created != 0 ? PC_OK : PC_ERROR;
}

/* Contract: declares (or finds) the ticket-key zone in cf's cycle and
 * fetches the ticket cipher; NULL after reporting an error. */
pc_shm_zone_t *
pc_tls_ticket_zone(pc_conf_t *cf)
{
    static const pc_str_t name = pc_string("tls_session_tickets");
    pc_shm_zone_t        *zone;

    if (aes == NULL && (aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL) {
        ERR_clear_error();
        pc_conf_error(cf, "tls: AES-256-CBC is not available for session tickets");
        return NULL;
    }
    zone = pc_shm_zone_add(cf, &name, sizeof(ticket_shm_t), &zone_tag);
    if (zone == NULL)
        return NULL;
    zone->init = zone_init;
    return zone;
}

static int
key_mac(EVP_MAC_CTX *hctx, ticket_key_t *k)
{
    OSSL_PARAM params[3];

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k->hmac,
                                                  sizeof(k->hmac));
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params);
}

static int
encrypt_ticket(ticket_key_t *k, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx)
{
    if (RAND_bytes(iv, 16) != 1
        || EVP_EncryptInit_ex(ectx, aes, NULL, k->aes, iv) != 1 || key_mac(hctx, k) != 1)
        return -1;
    memcpy(name, k->name, 16);
    return 1;
}

/* Contract: OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_
 * evp_cb).  enc: seal with the current key (1, or -1 on failure).
 * Decrypt: 0 for an unknown or expired key (full handshake), 1 for the
 * current key, 2 for a retired one (the ticket is renewed). */
int
pc_tls_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
    pc_tls_ctx_t *tc = pc_tls_ctx_of(SSL_get_SSL_CTX(ssl));
    ticket_shm_t *z;
    ticket_key_t *k;
    int64_t       now = pc_time.sec != 0 ? (int64_t) pc_time.sec : (int64_t) time(NULL);
    unsigned      i;

    if (tc == NULL || tc->tickets == NULL || (z = tc->tickets->addr) == NULL || aes == NULL)
        return enc ? -1 : 0;
    refresh(z, now, tc->session_timeout_s);
    if (enc)
        return encrypt_ticket(&local.keys[local.current], name, iv, ectx, hctx);
    for (i = 0; i < KEY_SLOTS; i++) {
        k = &local.keys[i];
        if (k->created == 0 || memcmp(k->name, name, 16) != 0)
            continue;
        if (k->retired != 0 && now - k->retired >= tc->session_timeout_s)
            return 0;
        if (EVP_DecryptInit_ex(ectx, aes, NULL, k->aes, iv) != 1 || key_mac(hctx, k) != 1)
            return -1;
        return i == local.current ? 1 : 2;
    }
    return 0;
}
