/* http: an HTTP/1.1 server on the event loop (plain TCP and TLS), for the API server and others. */
#ifndef TUG_HTTP_H
#define TUG_HTTP_H

/*
 * One thread, no blocking: every function here runs on the loop's thread.
 * Work done elsewhere (a store write) comes back through loop_post() and
 * answers the request from there.
 *
 * Lifecycle of a request
 *   The server reads the head and the whole body (Content-Length or chunked,
 *   bounded by the limits below), then calls the handler once. The handler
 *   answers at once or later; either way it finishes the request exactly once
 *   with http_resp_send(), http_resp_send_buf(), http_resp_file() or
 *   http_resp_end() after http_resp_start(). Finishing frees the request and
 *   its arena, so r must not be used afterwards.
 *
 *   If the client goes away first, the request stays valid (its memory is the
 *   handler's until it finishes it): the handler gets HTTP_EV_CLOSED, later
 *   writes are dropped and return -EPIPE, and finishing just frees it. So an
 *   asynchronous handler never needs to check anything before it answers.
 *
 *   While a request is handled, the connection reads no further requests
 *   (pipelined ones wait in its buffer) but still notices the client leaving.
 *
 *   Events (below) never arrive from inside an http_* call the handler makes:
 *   a call made from a handler's own timer or loop_post callback queues its
 *   output, and the flush, events and teardown happen when the loop iteration
 *   ends. So a handler may use r right after any call that did not finish it.
 *
 * Streaming (watches)
 *   http_resp_start(r, 200, -1) sends the head with chunked encoding; each
 *   http_resp_write() becomes a chunk, flushed when the current loop iteration
 *   ends (so events written in one go share a syscall). http_resp_queued()
 *   says how much output waits for the client; a producer that stops at some
 *   bound resumes on HTTP_EV_DRAINED. A stream write that would push the queue
 *   past max_stream_queue closes the connection (a stuck watcher must not eat
 *   the board's memory) and returns -ENOBUFS.
 *
 * Usage sketch:
 *
 *	static void handle(struct http_req *r, void *arg)
 *	{
 *		const struct http_identity *id = http_req_identity(r);
 *		if (!id && !is_public(http_req_path(r))) {
 *			http_resp_header(r, "Content-Type", "application/json");
 *			http_resp_send(r, 401, unauthorized_json, strlen(unauthorized_json));
 *			return;
 *		}
 *		const char *watch = http_req_query(r, "watch");
 *		...
 *	}
 *
 *	struct http_server_opts o = { .handler = handle, .arg = api };
 *	http_server_new(loop, &o, &srv);
 *	http_server_listen(srv, "0.0.0.0", 6443, tls, &port, &e);
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop/loop.h"
#include "core/util/util.h"

struct http_server;
struct http_req;
struct http_tls;

typedef void (*http_handler_fn)(struct http_req *r, void *arg);

/*
 * Limits and timeouts; zero picks the default in brackets. Requests beyond a
 * limit are answered by the server (431, 413, 414, 408) and the connection is
 * closed after the answer.
 */
struct http_server_opts {
	http_handler_fn handler; /* required */
	void *arg;

	size_t max_header_bytes; /* request line + headers [64 KiB]; beyond: 431 */
	size_t max_uri_bytes;    /* request target [8 KiB]; beyond: 414 */
	size_t max_body_bytes;   /* decoded request body [3 MiB, as kube-apiserver]; beyond: 413 */
	unsigned max_headers;    /* header fields [100]; beyond: 431 */
	unsigned max_conns;      /* open connections [1000]; beyond, accepting pauses */
	size_t max_stream_queue; /* queued output of a streamed response [8 MiB] */

	uint32_t header_timeout_ms; /* TLS handshake, and a head from its first byte [10 s] */
	uint32_t idle_timeout_ms;   /* keep-alive wait for the next request [90 s] */
	uint32_t body_timeout_ms;   /* the whole body after the head [60 s] */
	uint32_t write_timeout_ms;  /* queued output without progress [60 s] */

	/*
	 * Optional: the body of errors the server answers itself (400, 408, 413,
	 * 414, 431, 501, 505). Appends it to out and returns its Content-Type.
	 * Default: the message as text/plain. The API server makes Status objects.
	 */
	const char *(*error_body)(void *arg, int status, const char *message, struct buf *out);
};

/* Creates a server on loop; it accepts nothing until http_server_listen(). */
int http_server_new(struct loop *l, const struct http_server_opts *o, struct http_server **out);

/*
 * Listens on addr (IPv4 or IPv6 literal; "0.0.0.0" or "::" for all) and port
 * (0: the kernel picks; *bound_port says which). tls NULL: plain HTTP. Each
 * call adds one listener; tls must outlive the server.
 */
int http_server_listen(struct http_server *s, const char *addr, int port, struct http_tls *tls,
                       int *bound_port, struct err *e);

/*
 * Serves a socket that is already connected (socket activation, a
 * socketpair in tests and fuzzing), as if accepted from a listener with tls.
 * Takes fd; it is closed on failure.
 */
int http_server_adopt(struct http_server *s, int fd, struct http_tls *tls);

/*
 * Graceful shutdown: stops accepting at once, closes idle connections, lets
 * requests in flight finish (their responses say Connection: close), and asks
 * streamed responses to end (HTTP_EV_SHUTDOWN). Whatever is still open after
 * timeout_ms is closed (HTTP_EV_CLOSED). done(arg) runs once no connection is
 * left, from the loop (never inside this call).
 */
void http_server_shutdown(struct http_server *s, uint32_t timeout_ms, void (*done)(void *arg),
                          void *arg);

/* Closes every connection now (handlers get HTTP_EV_CLOSED) and frees the server.
 * Not from inside a handler or an event callback of this server. */
void http_server_free(struct http_server *s);

/* Open connections, for tests and metrics. */
size_t http_server_conns(const struct http_server *s);

/* --- the request -------------------------------------------------------------- */

/* "GET", "POST", ... as sent (methods are case-sensitive). */
const char *http_req_method(const struct http_req *r);
/* The request target as sent: "/api/v1/pods?watch=1". */
const char *http_req_target(const struct http_req *r);
/*
 * The path, percent-decoded ("%2F" becomes '/', as Go's URL.Path). Not
 * normalised: "." and ".." segments stay for the router to refuse. A target
 * whose escapes are malformed or decode to NUL was already answered with 400.
 */
const char *http_req_path(const struct http_req *r);
/* The raw query after '?', or "" if none. */
const char *http_req_raw_query(const struct http_req *r);
/* HTTP/1.x minor version: 0 or 1. */
int http_req_minor(const struct http_req *r);

/* The first value of header name (case-insensitive), or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);
/* Headers in arrival order: false when i is past the last. */
bool http_req_header_at(const struct http_req *r, size_t i, const char **name, const char **value);

/*
 * Query parameters, decoded as application/x-www-form-urlencoded ('+' is a
 * space). http_req_query gives the first value of key ("" for "?watch"), or
 * NULL if absent; http_req_query_at walks every pair in order. Malformed
 * escapes in the query were already answered with 400.
 */
const char *http_req_query(const struct http_req *r, const char *key);
bool http_req_query_at(const struct http_req *r, size_t i, const char **key, const char **value);

/* The decoded body, NUL-terminated (so JSON parsers can take it); len 0 if none. */
const char *http_req_body(const struct http_req *r, size_t *len);

/* "203.0.113.7:51514" or "[2001:db8::1]:51514". */
const char *http_req_peer(const struct http_req *r);
bool http_req_tls(const struct http_req *r);

/*
 * The client as its certificate names it: set only when the client presented
 * a certificate that chains to the listener's client CA, is within its
 * validity and allows client authentication. user is the subject's CN,
 * groups its O entries (Kubernetes' x509 authenticator reads them the same
 * way). NULL for plain HTTP, no certificate, or one that failed to verify.
 */
struct http_identity {
	const char *user;
	const char *const *groups;
	size_t ngroups;
};
const struct http_identity *http_req_identity(const struct http_req *r);

/*
 * Per-request memory, freed in one go when the request is finished. Never
 * fails (aborts on exhaustion like xmalloc). Aligned for any type.
 */
void *http_req_alloc(struct http_req *r, size_t n);
char *http_req_strdup(struct http_req *r, const char *s);
char *http_req_printf(struct http_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- connection events ---------------------------------------------------------- */

enum http_event {
	/* A started response's queue has just been sent out entirely (each
	 * time it empties; a producer paused on http_resp_queued resumes here). */
	HTTP_EV_DRAINED,
	/* The client left (or was closed for a timeout or overflow). Writes are
	 * dropped from now on; the handler still finishes the request. */
	HTTP_EV_CLOSED,
	/* The server is shutting down: end the response soon (watches end here). */
	HTTP_EV_SHUTDOWN,
};
typedef void (*http_event_fn)(struct http_req *r, enum http_event ev, void *arg);
/* Registers fn for r's events until r is finished. fn may finish r. */
void http_req_on_event(struct http_req *r, http_event_fn fn, void *arg);
/* False once the client has gone. */
bool http_req_alive(const struct http_req *r);

/* --- the response ----------------------------------------------------------------- */

/*
 * Adds a response header (copied). Content-Length, Transfer-Encoding and
 * Connection are the server's; -EINVAL for those, for a response already
 * started, or for CR/LF in name or value.
 */
int http_resp_header(struct http_req *r, const char *name, const char *value);

/*
 * Whole responses; each finishes r. The body is omitted for HEAD requests and
 * for 1xx/204/304. Return 0, or -EPIPE if the client had gone (r is freed
 * all the same).
 */
int http_resp_send(struct http_req *r, int status, const void *body, size_t len);
/* Same, taking over b's memory (no copy of large LIST bodies); b is left empty. */
int http_resp_send_buf(struct http_req *r, int status, struct buf *b);
/*
 * Sends len bytes of fd from offset off (sendfile on plain TCP). Takes fd and
 * closes it when done. The file must not shrink while it is sent; if it does,
 * the connection is closed (the length was promised).
 */
int http_resp_file(struct http_req *r, int status, int fd, uint64_t off, uint64_t len);

/*
 * A response written in parts. content_length >= 0: exactly that many bytes
 * follow; -1: chunked (HTTP/1.0 clients get a body ended by closing). The
 * head goes out at once (a watch client sees its 200 before any event).
 */
int http_resp_start(struct http_req *r, int status, int64_t content_length);
/*
 * Switches protocols (WebSocket or SPDY, as kubectl exec, attach and
 * port-forward ask): sends 101 with the handler's headers (Upgrade,
 * Sec-WebSocket-Accept, ...) and "Connection: Upgrade". From then on each
 * read from the client goes to on_data as it arrives, http_resp_write sends
 * raw bytes, and http_resp_end closes the connection once its output is
 * out. Events as for streams (CLOSED also when the client half-closes).
 * -EINVAL unless the request asked to upgrade (Connection: upgrade and an
 * Upgrade field, HTTP/1.1).
 */
typedef void (*http_data_fn)(struct http_req *r, const void *data, size_t len, void *arg);
int http_resp_upgrade(struct http_req *r, http_data_fn on_data, void *arg);

/* Appends to a started response: 0, -EPIPE (client gone), -ENOBUFS (queue full, closed). */
int http_resp_write(struct http_req *r, const void *p, size_t n);
/* Ends a started response and finishes r. */
int http_resp_end(struct http_req *r);
/* Bytes queued for the client and not yet sent (0 once it has gone). */
size_t http_resp_queued(const struct http_req *r);

/* Standard reason phrase: 404 -> "Not Found"; "Unknown" for codes we do not know. */
const char *http_status_text(int status);

/*
 * Percent-decodes s in place; plus_space also turns '+' into ' ' (query
 * strings). Returns the new length, or -EINVAL for a malformed escape or one
 * that decodes to NUL.
 */
int http_pct_decode(char *s, bool plus_space);

/* --- TLS ----------------------------------------------------------------------------- */

enum http_client_auth {
	HTTP_CLIENT_AUTH_NONE,     /* ask for no certificate */
	HTTP_CLIENT_AUTH_OPTIONAL, /* ask; a missing or bad one leaves the identity unset */
	HTTP_CLIENT_AUTH_REQUIRED, /* a handshake without a valid certificate fails */
};

/* PEM text (not paths): callers keep certificates wherever they like. */
struct http_tls_opts {
	const char *cert_pem; /* server certificate, optionally followed by its chain */
	const char *key_pem;
	const char *client_ca_pem; /* CA for client certificates; NULL with AUTH_NONE */
	enum http_client_auth client_auth;
};

/*
 * A TLS configuration for listeners: TLS 1.2 (mbedtls 2.28), ECDHE with AEAD
 * ciphers, ALPN "http/1.1" only (clients offering h2 as well settle on it).
 * -ENOTSUP when tug is built without CONFIG_TUG_TLS.
 */
int http_tls_new(const struct http_tls_opts *o, struct http_tls **out, struct err *e);
void http_tls_free(struct http_tls *t);

#endif
