/* util: errors, cleanup helpers, growable buffers, time and file helpers used everywhere. */
#ifndef TUG_UTIL_H
#define TUG_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define UNUSED(x) ((void)(x))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/*
 * An error with a human message. Functions return a negative errno-style
 * code and, when given a non-NULL err, say what they were doing and with what.
 */
struct err {
	int code;
	char msg[512];
};

/* Sets e (if non-NULL) and returns code, which should be negative. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes e's message with more context: "open store: <old message>". */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);

/* systemd-style cleanup of locals on every path. */
static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

/* Allocation that cannot fail quietly: on exhaustion we log and abort, as
 * redis does; an edge agent without memory cannot do anything useful. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the data to the caller (who frees it) and empties b. */
char *buf_steal(struct buf *b);

/* Time. */
uint64_t time_mono_ms(void);
uint64_t time_mono_us(void);
uint64_t time_real_ms(void);
/* RFC 3339 in UTC with seconds precision, as Kubernetes writes timestamps. */
void time_rfc3339(char out[32], int64_t unix_sec);

/* Files. */
int mkdir_p(const char *path, unsigned mode);
/* Reads a whole file; *out is NUL-terminated and freed by the caller. */
int read_file(const char *path, char **out, size_t *len, size_t max);
/* Writes via a temp file, fsync and rename, so readers see old or new. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
int fsync_dir(const char *dir);
/* Writes all of p, retrying on EINTR and short writes. */
int write_all(int fd, const void *p, size_t n);

/* Strings. */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Parses a decimal unsigned integer; false on junk or overflow. */
bool parse_u64(const char *s, uint64_t *out);
/* Parses a duration: "90", "90s", "5m", "1h30m", "250ms". */
bool parse_duration_ms(const char *s, uint64_t *out);

/* A hash map from strings (copied) to pointers (not owned). */
struct strmap {
	struct strmap_slot {
		char *key; /* NULL: empty; (char *)1: deleted */
		void *val;
	} * slots;
	size_t cap, len, used;
};
void *strmap_get(const struct strmap *m, const char *key);
/* Sets key to val; returns the previous value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
/* Iteration: for (size_t i = 0; strmap_next(m, &i, &k, &v);) */
bool strmap_next(const struct strmap *m, size_t *i, const char **key, void **val);
void strmap_free(struct strmap *m);

/* The IPv4 address of the interface with the default route, else the first non-loopback
 * one, else 127.0.0.1. Caller frees. */
char *net_default_ipv4(void);

/* CRC-32C (Castagnoli), as used by iSCSI, ext4 and etcd's WAL. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
