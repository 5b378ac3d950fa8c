/*
 * geoip_conf.c -- the geoip module's directives: geoip_database (copied
 * into memory private to Portcullis and opened with libmaxminddb at load
 * time, so -t and a reload see a missing or corrupt file at once, and
 * closed by a cycle pool cleanup), geoip_allow and geoip_deny.  Lookups
 * are in geoip.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geoip/geoip.h"

#define CTX_HSL  (PC_CTX_HTTP | PC_CTX_SERVER | PC_CTX_LOCATION)

/* ACCESS phase: after allow/deny (100), before the limits (300). */
#define ORDER_GEOIP  200

static void
close_db(void *data)
{
    pc_geoip_db_t *db = data;

    if (db->open) {
        MMDB_close(&db->mmdb);
        db->open = 0;
    }
}

/* A database is only useful if it maps IP addresses to records. */
static const char *
check_metadata(const MMDB_s *mmdb)
{
    const MMDB_metadata_s *m = &mmdb->metadata;

    if (m->ip_version != 4 && m->ip_version != 6)
        return "unsupported ip_version in its metadata";
    if (m->record_size != 24 && m->record_size != 28 && m->record_size != 32)
        return "unsupported record_size in its metadata";
    if (m->node_count == 0)
        return "an empty search tree";
    return NULL;
}

/* One lookup walks the search tree from its root: a file whose tree
 * points outside itself fails here, at load time, not on a request. */
static const char *
probe(MMDB_s *mmdb)
{
    MMDB_lookup_result_s res;
    int gai = 0, err = MMDB_SUCCESS;

    res = MMDB_lookup_string(mmdb, mmdb->metadata.ip_version == 6 ? "::1" : "127.0.0.1",
                             &gai, &err);
    if (gai != 0 || err != MMDB_SUCCESS)
        return err != MMDB_SUCCESS ? MMDB_strerror(err) : "lookup failed";
    if (res.found_entry) {
        MMDB_entry_data_list_s *list = NULL;

        err = MMDB_get_entry_data_list(&res.entry, &list);
        MMDB_free_entry_data_list(list);
        if (err != MMDB_SUCCESS)
            return MMDB_strerror(err);
    }
    return NULL;
}

/* open_copy() and its helpers: the copy could not be made where asked
 * (no memfd, no /proc, a full /tmp), try the next place.  Any other
 * result is an MMDB_* status. */
#define NOT_HERE  (-1)
/* Reading the database itself failed: no other place would do better. */
#define READ_FAILED  (-2)

/* Copy the first size bytes of src into dst, both at offset 0.  A file
 * that shrinks meanwhile gives a shorter copy, judged by MMDB_open.
 * Returns 0, READ_FAILED or NOT_HERE, with errno set. */
static int
copy_file(int src, int dst, off_t size)
{
    char buf[64 * 1024];
    off_t left = size;

    while (left > 0) {
        ssize_t n = read(src, buf, left < (off_t) sizeof(buf) ? (size_t) left : sizeof(buf));
        ssize_t done = 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return READ_FAILED;
        if (n == 0)
            break;
        while (done < n) {
            ssize_t w = write(dst, buf + done, (size_t) (n - done));

            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                errno = w == 0 ? ENOSPC : errno;
                return NOT_HERE;
            }
            done += w;
        }
        left -= n;
    }
    return 0;
}

/* MMDB_open the copy in fd by the name path (which refers to it). */
static int
open_copied(pc_geoip_db_t *db, int src, off_t size, int fd, const char *path)
{
    int rc;

    if (lseek(src, 0, SEEK_SET) != 0)
        return READ_FAILED;
    if ((rc = copy_file(src, fd, size)) != 0)
        return rc;
    errno = 0;
    rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    /* The copy exists, so failing to open it means path is unusable
     * (/proc not mounted), not that the database is bad. */
    return rc == MMDB_FILE_OPEN_ERROR ? NOT_HERE : rc;
}

/* The copy in an anonymous memfd, opened as /proc/self/fd/N.  Sealed
 * against shrinking (the SIGBUS this exists to prevent); not against
 * writes: before Linux 6.7 a write-sealed memfd cannot be mapped shared,
 * even read-only, and no one else holds this fd anyway. */
static int
open_memfd(pc_geoip_db_t *db, int src, off_t size)
{
    char path[sizeof("/proc/self/fd/") + 12];
    int fd, rc, err;

    fd = memfd_create("portcullis-geoip", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return NOT_HERE;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    rc = open_copied(db, src, size, fd, path);
    err = errno;
    if (rc == MMDB_SUCCESS)
        (void) fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    close(fd);   /* the mapping keeps the memory alive */
    errno = err;
    return rc;
}

/* The copy in a temporary file, unlinked as soon as it is mapped. */
static int
open_tmpfile(pc_geoip_db_t *db, int src, off_t size)
{
    const char *dir = getenv("TMPDIR");
    char path[PATH_MAX];
    int fd, rc, err, n;

    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    n = snprintf(path, sizeof(path), "%s/portcullis-geoip-XXXXXX", dir);
    if (n < 0 || (size_t) n >= sizeof(path) || (fd = mkostemp(path, O_CLOEXEC)) < 0)
        return NOT_HERE;
    rc = open_copied(db, src, size, fd, path);
    err = errno;
    unlink(path);
    close(fd);
    errno = err;
    return rc;
}

/*
 * MMDB_open the database from a private copy, so that rewriting the file
 * in place (cp over it, a copy caught half way) cannot reach the loaded
 * data: with a shared mapping of the file itself, lookups past a new end
 * of file kill the worker with SIGBUS, and the restarted worker inherits
 * the same mapping.  The copy is made once per load, in the master before
 * the workers fork, and mapped shared, so all workers of a generation
 * use the same pages: the cost is one copy of each file in memory per
 * configuration alive (two for a moment during a reload).  Returns an
 * MMDB_* status or READ_FAILED, with errno set.
 */
static int
open_private(pc_geoip_db_t *db)
{
    const char *path = (const char *) db->path.data;
    struct stat st;
    int src, rc, err;

    if ((src = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return MMDB_FILE_OPEN_ERROR;
    if (fstat(src, &st) != 0) {
        err = errno;
        close(src);
        errno = err;
        return MMDB_FILE_OPEN_ERROR;
    }
    if (!S_ISREG(st.st_mode)) {
        /* MMDB_open refuses it with its usual message */
        close(src);
        errno = 0;
        return MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    }
    rc = open_memfd(db, src, st.st_size);
    if (rc == NOT_HERE)
        rc = open_tmpfile(db, src, st.st_size);
    if (rc == NOT_HERE) {
        pc_log(PC_LOG_WARN, errno, "geoip_database \"%s\": no memfd or temporary file "
               "for a private copy: mapping the file itself, so overwriting it in "
               "place (rather than renaming a new file over it) may crash workers",
               path);
        errno = 0;
        rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    }
    err = errno;
    close(src);
    errno = err;
    return rc;
}

static pc_rc_t
open_db(pc_conf_t *cf, pc_geoip_db_t *db, const pc_str_t *arg)
{
    const char *why;
    int rc;

    if (pc_conf_full_path(cf, arg, &db->path) != PC_OK) {
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    rc = open_private(db);
    if (rc != MMDB_SUCCESS) {
        int err = errno;
        bool sys = (rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR || rc == READ_FAILED)
                   && err != 0;

        pc_conf_error(cf, "geoip_database \"%s\": %s%s%s", (const char *) db->path.data,
                      rc == READ_FAILED ? "cannot read it" : MMDB_strerror(rc),
                      sys ? ": " : "", sys ? strerror(err) : "");
        return PC_ERROR;
    }
    db->open = 1;
    if (pc_pool_cleanup_add(cf->pool, close_db, db) != PC_OK) {
        close_db(db);
        pc_conf_error(cf, "out of memory");
        return PC_ERROR;
    }
    if ((why = check_metadata(&db->mmdb)) != NULL || (why = probe(&db->mmdb)) != NULL) {
        pc_conf_error(cf, "geoip_database \"%s\": %s", (const char *) db->path.data, why);
        return PC_ERROR;
    }
    return PC_OK;
}

static const char *
set_database(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_geoip_conf_t *gc = conf;
    uint32_t i;

    PC_UNUSED(d);
    if (gc->dbs == NULL) {
        gc->dbs = pc_pcalloc(cf->pool, PC_GEOIP_MAX_DBS * sizeof(pc_geoip_db_t));
        if (gc->dbs == NULL)
            return "out of memory";
    }
    if (gc->ndbs == PC_GEOIP_MAX_DBS)
        return pc_conf_error(cf, "too many geoip_database files (at most %d)",
                             PC_GEOIP_MAX_DBS);
    /* pc_conf_full_path cannot resolve "" (it would report ENOMEM). */
    if (cf->node->args[0].len == 0)
        return pc_conf_error(cf, "empty file name");
    if (open_db(cf, &gc->dbs[gc->ndbs], &cf->node->args[0]) != PC_OK)
        return PC_CONF_ERROR;
    for (i = 0; i < gc->ndbs; i++)
        if (strcmp((const char *) gc->dbs[i].path.data,
                   (const char *) gc->dbs[gc->ndbs].path.data) == 0)
            return pc_conf_error(cf, "duplicate geoip_database \"%s\"",
                                 (const char *) gc->dbs[i].path.data);
    gc->ndbs++;
    return PC_CONF_OK;
}

/* geoip_allow / geoip_deny CC ...: codes accumulate over repeated
 * directives of one block. */
static const char *
set_rule(pc_conf_t *cf, const pc_directive_t *d, void *conf)
{
    pc_geoip_conf_t *gc = conf;
    pc_geoip_ccset_t **set = strcmp(d->name, "geoip_allow") == 0 ? &gc->allow : &gc->deny;
    uint32_t i;

    if (*set == NULL && (*set = pc_pcalloc(cf->pool, sizeof(pc_geoip_ccset_t))) == NULL)
        return "out of memory";
    if (gc->rule_node == NULL)
        gc->rule_node = cf->node;
    for (i = 0; i < cf->node->nargs; i++)
        if (pc_geoip_ccset_add(*set, &cf->node->args[i]) != PC_OK)
            return pc_conf_error(cf, "invalid country code \"%s\": expected two letters "
                                 "(ISO 3166-1 alpha-2) or \"unknown\"",
                                 (const char *) cf->node->args[i].data);
    return PC_CONF_OK;
}

static void *
create_conf(pc_conf_t *cf, pc_scope_e scope)
{
    if (scope == PC_SCOPE_MAIN)
        return NULL;
    return pc_pcalloc(cf->pool, sizeof(pc_geoip_conf_t));
}

/* The databases come from the http block; a block with rules of its own
 * uses only those (like allow/deny), else it inherits its parent's. */
static pc_rc_t
merge_conf(pc_conf_t *cf, void *parent, void *child)
{
    pc_geoip_conf_t *p = parent, *c = child;

    if (c->dbs == NULL) {
        c->dbs = p->dbs;
        c->ndbs = p->ndbs;
    }
    if (c->allow == NULL && c->deny == NULL) {
        c->allow = p->allow;
        c->deny = p->deny;
        c->rule_node = p->rule_node;
    }
    if ((c->allow != NULL || c->deny != NULL) && c->ndbs == 0) {
        /* a geoip_database line was written but rejected (and reported):
         * saying it is missing would only repeat that error */
        if (cf->nerrors != 0 && cf->cycle->root != NULL
            && pc_cycle_conf_find(cf->cycle->root, "geoip_database", true, NULL,
                                  NULL) != NULL)
        {
            return PC_ERROR;
        }
        pc_conf_error_at(cf, c->rule_node, "geoip_allow and geoip_deny need a "
                         "geoip_database in the http block");
        return PC_ERROR;
    }
    return PC_OK;
}

static const pc_directive_t geoip_directives[] = {
    { "geoip_database", PC_CTX_HTTP, 1, 1, PC_CONF_MULTI, set_database, 0, 0, 0, NULL },
    { "geoip_allow", CTX_HSL, 1, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_rule, 0, 0, 0, NULL },
    { "geoip_deny", CTX_HSL, 1, PC_CONF_ARGS_ANY, PC_CONF_MULTI, set_rule, 0, 0, 0, NULL },
    PC_DIRECTIVE_END
};

static const pc_http_hook_t geoip_hooks[] = {
    { PC_HTTP_PHASE_ACCESS, ORDER_GEOIP, pc_geoip_access_handler },
    PC_HOOK_END
};

pc_module_t pc_geoip_module = {
    .name         = "geoip",
    .directives   = geoip_directives,
    .hooks        = geoip_hooks,
    .create_conf  = create_conf,
    .merge_conf   = merge_conf,
    .variables    = pc_geoip_variables,
};
