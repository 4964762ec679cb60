/* http-internal: the parser, arena and TLS transport shared by the files of core/http
 * (and by the fuzz target, which drives the parser without sockets). */
#ifndef TUG_HTTP_INTERNAL_H
#define TUG_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/http/http.h"

/* --- arena ----------------------------------------------------------------------- */

struct arena_block {
	struct arena_block *next;
	size_t cap, used;
	_Alignas(16) unsigned char data[];
};

/* A bump allocator: blocks are chained and freed together. */
struct arena {
	struct arena_block *head;
	size_t next_size;
};

void arena_init(struct arena *a, size_t first_block);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

/* --- request head ------------------------------------------------------------------ */

struct http_field {
	const char *name, *value;
};

struct http_limits {
	size_t max_header_bytes, max_uri_bytes, max_body_bytes;
	unsigned max_headers;
};

/* What the parser learns from a head. Strings live in the arena given to it. */
struct http_head {
	const char *method;
	const char *target;    /* as sent */
	const char *path;      /* percent-decoded */
	const char *raw_query; /* after '?', "" if none */
	int minor;
	struct http_field *fields;
	size_t nfields;

	int64_t content_length; /* -1: none */
	bool chunked;
	bool keep_alive;
	bool expect_continue;
	bool upgrade; /* Connection: upgrade with an Upgrade field (HTTP/1.1) */
	bool is_head; /* HEAD: responses carry no body */

	struct http_field *query; /* decoded, on first use */
	size_t nquery;
	bool query_parsed;
};

/*
 * Looks for the end of a head in buf[0..len): returns its length including
 * the blank line, 0 if it has not arrived yet. *scan keeps the position across
 * calls so bytes are looked at once. Lines may end in CRLF or bare LF.
 */
size_t http_head_end(const char *buf, size_t len, size_t *scan);

/*
 * False when the start of a request line cannot be a method (binary junk, a
 * TLS handshake on a plain port): the server answers 400 without waiting
 * for a line end that may never come.
 */
bool http_method_prefix_ok(const char *buf, size_t len);

/* Bytes of empty lines (CRLF or LF) at the start of buf, which RFC 9112 says to skip. */
size_t http_skip_empty_lines(const char *buf, size_t len);

/*
 * Parses a complete head (len bytes, as found by http_head_end) into h,
 * copying what it keeps into a. Returns 0 or the status to answer: 400, 414,
 * 431, 501, 505 (and 413 for a Content-Length above the limit). *why says
 * what was wrong, for logs and the error body.
 */
int http_parse_head(const char *buf, size_t len, const struct http_limits *lim, struct arena *a,
                    struct http_head *h, const char **why);

/* Decodes the query into h->query (once). Returns 0 or -EINVAL for a bad escape. */
int http_parse_query(struct http_head *h, struct arena *a);

const char *http_head_field(const struct http_head *h, const char *name);

/* --- chunked request bodies --------------------------------------------------------------- */

struct http_chunked {
	int state;
	uint64_t left;   /* data bytes left in the current chunk */
	size_t line;     /* bytes of the current size/trailer line so far */
	size_t trailer;  /* trailer bytes so far */
	unsigned digits; /* hex digits in the size */
	bool ext;        /* inside a chunk extension */
};

/*
 * Feeds in[0..n) to the decoder, appending data to *body (grown with
 * xrealloc, NUL-terminated, at most max bytes). Returns the bytes consumed
 * (possibly fewer than n once the body is complete), or a negative status: -400
 * for bad framing, -413 past max. *done is set after the last chunk and trailers.
 */
ssize_t http_chunked_feed(struct http_chunked *c, const char *in, size_t n, char **body,
                          size_t *len, size_t *cap, size_t max, bool *done);

/* --- TLS transport -------------------------------------------------------------------- */

struct tls_conn;

/* Result codes of the transport besides byte counts. */
enum {
	TLS_WANT_READ = -1000,
	TLS_WANT_WRITE = -1001,
};

int tls_conn_new(struct http_tls *t, int fd, struct tls_conn **out);
void tls_conn_free(struct tls_conn *c);
/* 0 when done, TLS_WANT_*, or -EPROTO/-ECONNRESET/... on failure. */
int tls_conn_handshake(struct tls_conn *c, const char **why);
/* > 0 bytes, 0 at end of stream, TLS_WANT_*, or a negative errno. */
ssize_t tls_conn_read(struct tls_conn *c, void *p, size_t n);
ssize_t tls_conn_write(struct tls_conn *c, const void *p, size_t n);
/* Decrypted bytes waiting inside the TLS layer (epoll cannot see them). */
bool tls_conn_pending(struct tls_conn *c);
/* Best effort close_notify. */
void tls_conn_close_notify(struct tls_conn *c);
/*
 * The verified client identity, copied into a (NULL if none). The strings
 * live as long as a does.
 */
struct http_identity *tls_conn_identity(struct tls_conn *c, struct arena *a);
/* Negotiated ALPN protocol or NULL. */
const char *tls_conn_alpn(struct tls_conn *c);

#endif
