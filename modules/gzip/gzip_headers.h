/*
 * gzip_headers.h -- the header fields the gzip filter decides on, parsed
 * without trusting them: Accept-Encoding (with q-values), Cache-Control
 * (no-transform), Content-Type (media type against gzip_types), Vary.
 * Pure functions, bounded by their input; fuzzed by t/fuzz/fuzz_gzip.c.
 */
#ifndef PC_GZIP_HEADERS_H
#define PC_GZIP_HEADERS_H

#include "core/pc_core.h"

/*
 * What one Accept-Encoding field value says about gzip, folded into
 * *state so that several fields combine (start with PC_GZIP_AE_INIT):
 * an explicit "gzip" / "x-gzip" decides (q=0 refuses it), else "*".
 * A malformed q-value counts as q=0 for its coding (never compress on a
 * guess).
 */
typedef struct {
    int8_t   gzip;      /* -1 not named, 0 refused, 1 accepted */
    int8_t   star;
} pc_gzip_ae_t;

#define PC_GZIP_AE_INIT  ((pc_gzip_ae_t) { -1, -1 })

void pc_gzip_ae_parse(pc_gzip_ae_t *state, const u_char *p, size_t len);

/* The verdict after every field: true when gzip is acceptable. */
bool pc_gzip_ae_accepts(const pc_gzip_ae_t *state);

/* Does a Cache-Control value carry the no-transform directive? */
bool pc_gzip_no_transform(const u_char *p, size_t len);

/* Does a Vary value already name Accept-Encoding (or "*")? */
bool pc_gzip_vary_has(const u_char *p, size_t len);

/* The media type of a Content-Type value: lowercased into buf (at most
 * size bytes), parameters and whitespace dropped.  Returns its length, 0
 * when empty or longer than size. */
size_t pc_gzip_media_type(const u_char *p, size_t len, u_char *buf, size_t size);

#endif /* PC_GZIP_HEADERS_H */
