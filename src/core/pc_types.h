/*
 * pc_types.h -- basic types shared by every layer, and forward declarations.
 *
 * Nothing here allocates or does I/O.  Every other header includes this one
 * (usually through pc_core.h).
 */
#ifndef PC_TYPES_H
#define PC_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

typedef unsigned char u_char;

/* Return codes: 0 is success, every other code is negative. */
typedef int pc_rc_t;
#define PC_OK        0
#define PC_ERROR    -1
#define PC_AGAIN    -2   /* not finished: resume when an event arrives  */
#define PC_DECLINED -3   /* not mine: let the next handler have a go    */
#define PC_DONE     -4   /* finished: a response has been produced      */
#define PC_BUSY     -5

/* A counted string.  Never assumed NUL-terminated. */
typedef struct {
    size_t  len;
    u_char *data;
} pc_str_t;

#define pc_string(s)     { sizeof(s) - 1, (u_char *) (s) }
#define pc_null_string   { 0, NULL }
#define pc_str_set(str, text) \
    ((str)->len = sizeof(text) - 1, (str)->data = (u_char *) (text))

typedef int64_t  pc_msec_t;      /* milliseconds (durations, monotonic time) */
#define PC_MSEC_UNSET  ((pc_msec_t) -1)
#define PC_SIZE_UNSET  ((size_t) -1)
#define PC_INT_UNSET   ((intptr_t) -1)

#define pc_min(a, b)  ((a) < (b) ? (a) : (b))
#define pc_max(a, b)  ((a) > (b) ? (a) : (b))
#define pc_nelems(a)  (sizeof(a) / sizeof((a)[0]))
#define pc_align(n, a) (((n) + ((a) - 1)) & ~((size_t) (a) - 1))

#define PC_UNUSED(x)  ((void) (x))

/* Forward declarations: the structs live with the code that owns them. */
typedef struct pc_pool_s          pc_pool_t;
typedef struct pc_log_s           pc_log_t;
typedef struct pc_buf_s           pc_buf_t;
typedef struct pc_conf_s          pc_conf_t;
typedef struct pc_conf_node_s     pc_conf_node_t;
typedef struct pc_directive_s     pc_directive_t;
typedef struct pc_module_s        pc_module_t;
typedef struct pc_cycle_s         pc_cycle_t;
typedef struct pc_shm_zone_s      pc_shm_zone_t;
typedef struct pc_listening_s     pc_listening_t;
typedef struct pc_worker_s        pc_worker_t;
typedef struct pc_conn_s          pc_conn_t;
typedef struct pc_http_request_s  pc_http_request_t;

#endif /* PC_TYPES_H */
