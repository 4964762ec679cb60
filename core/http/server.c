/* server: listeners, connections and responses of the HTTP/1.1 server, all on the event loop. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "config.h"
#include "core/http/http-internal.h"
#define LOG_TAG "http"
#include "core/log/log.h"

#define SEG_SIZE (16 * 1024)         /* coalescing buffer for small writes */
#define IN_MIN (4 * 1024)            /* first size of a connection's input buffer */
#define PIPELINE_OUT_MAX (64 * 1024) /* read no next request while more output waits */
#define LINGER_MS 2000               /* wait for the client's FIN after our last byte */
#define LINGER_MAX_BYTES (1 << 20)   /* input thrown away before giving up on a clean close */
#define ACCEPT_BACKOFF_MS 100        /* after EMFILE */
#define TLS_WRITE_MAX 16384          /* one TLS record */

/* Queued output: memory we own, or a range of a file. */
struct seg {
	struct seg *next;
	char *data;
	size_t len, off, cap;
	int fd; /* >= 0: a file segment */
	uint64_t foff, fleft;
};

struct listener {
	struct listener *next;
	struct http_server *srv;
	int fd;
	struct http_tls *tls;
};

enum conn_state {
	C_HANDSHAKE, /* TLS handshake */
	C_HEAD,      /* waiting for or reading a request head */
	C_BODY,      /* reading a request body */
	C_HANDLE,    /* the handler has the request */
	C_TUNNEL,    /* switched protocols: bytes go to the handler as they come */
	C_DRAIN,     /* last response queued: flush it, then linger */
	C_LINGER,    /* write side shut: wait briefly for the client's FIN */
};

struct conn {
	struct http_server *srv;
	struct conn *prev, *next;
	int fd;
	struct tls_conn *tls;
	enum conn_state state;
	uint32_t events; /* what epoll watches now */

	char *in; /* bytes read and not yet consumed */
	size_t in_len, in_cap, scan;

	struct http_req *req; /* being read, or with the handler */

	struct seg *out_head, *out_tail;
	size_t out_bytes;

	struct loop_timer timer;       /* the current state's deadline */
	struct loop_timer flush_timer; /* end-of-iteration flush of streamed writes */
	uint64_t state_ms;             /* when the deadline's clock started */
	uint64_t progress_ms;          /* last time output moved */
	uint64_t deadline;             /* what timer is armed for */

	unsigned busy; /* nesting of our own frames on the stack; teardown waits for 0 */
	bool dead, close_after, peer_eof, out_blocked, want_flush, need_process;
	bool tls_peeked, tls_want_write, head_started, need_tunnel;
	size_t discarded;

	struct arena arena; /* identity and peer name, for the connection's life */
	struct http_identity *ident;
	char peer[64];
};

struct http_req {
	struct conn *conn; /* NULL once the client is gone */
	struct arena arena;
	struct http_head head;
	char *body;
	size_t body_len, body_cap;
	struct http_chunked chunked;

	const char *peer;
	bool tls;
	struct http_identity *ident;

	struct http_field *rh; /* response headers */
	size_t nrh, rh_cap;
	enum { R_NONE, R_STARTED } resp;
	bool resp_chunked, resp_no_body;
	int64_t resp_left; /* fixed-length stream: bytes still promised; -1 otherwise */
	bool dispatched, upgraded;

	http_event_fn ev_fn;
	void *ev_arg;
	http_data_fn data_fn;
	void *data_arg;
};

struct http_server {
	struct loop *loop;
	struct http_server_opts o;
	struct http_limits lim;
	struct listener *listeners;
	struct conn *conns;
	size_t nconns;
	bool accept_paused, shutting_down;
	struct loop_timer accept_timer, shutdown_timer, done_timer;
	void (*done)(void *arg);
	void *done_arg;
	time_t date_sec;
	char date[40];
	char scratch[TLS_WRITE_MAX]; /* file reads for TLS */
};

static void conn_enter(struct conn *c);
static void conn_leave(struct conn *c);
static void conn_kill(struct conn *c, const char *why);
static void conn_process(struct conn *c);
static void conn_read(struct conn *c);
static void conn_flush(struct conn *c);
static void conn_rearm(struct conn *c);
static void conn_update_events(struct conn *c);
static void on_conn_io(struct loop *l, int fd, uint32_t events, void *arg);
static void server_check_done(struct http_server *s);

/* --- status texts and the Date header ---------------------------------------------- */

const char *http_status_text(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 417:
		return "Expectation Failed";
	case 422:
		return "Unprocessable Content";
	case 426:
		return "Upgrade Required";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* IMF-fixdate, rebuilt once a second; strftime would depend on the locale. */
static const char *server_date(struct http_server *s)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	if (now != s->date_sec) {
		struct tm tm;
		gmtime_r(&now, &tm);
		snprintf(s->date, sizeof(s->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		s->date_sec = now;
	}
	return s->date;
}

/* --- output queue ----------------------------------------------------------------------- */

static struct seg *seg_new(size_t cap)
{
	struct seg *g = xcalloc(1, sizeof(*g));
	g->fd = -1;
	if (cap) {
		g->data = xmalloc(cap);
		g->cap = cap;
	}
	return g;
}

static void seg_free(struct seg *g)
{
	if (g->fd >= 0)
		close(g->fd);
	free(g->data);
	free(g);
}

static void out_push(struct conn *c, struct seg *g)
{
	if (c->out_tail)
		c->out_tail->next = g;
	else
		c->out_head = g;
	c->out_tail = g;
}

/* Copies p into the queue, into the last buffer when it fits (one write for head and body). */
static void out_add(struct conn *c, const void *p, size_t n)
{
	struct seg *t = c->out_tail;
	if (!n)
		return;
	if (!t || t->fd >= 0 || t->cap - t->len < n) {
		t = seg_new(MAX(n, (size_t)SEG_SIZE));
		out_push(c, t);
	}
	memcpy(t->data + t->len, p, n);
	t->len += n;
	c->out_bytes += n;
}

static void out_take(struct conn *c, char *data, size_t n)
{
	struct seg *g = seg_new(0);
	g->data = data;
	g->len = g->cap = n;
	out_push(c, g);
	c->out_bytes += n;
}

static void out_file(struct conn *c, int fd, uint64_t off, uint64_t len)
{
	struct seg *g = seg_new(0);
	g->fd = fd;
	g->foff = off;
	g->fleft = len;
	out_push(c, g);
	c->out_bytes += len;
}

static void out_clear(struct conn *c)
{
	struct seg *g = c->out_head;
	while (g) {
		struct seg *n = g->next;
		seg_free(g);
		g = n;
	}
	c->out_head = c->out_tail = NULL;
	c->out_bytes = 0;
}

/* Drops what was sent from the front of the queue. */
static void out_consume(struct conn *c, size_t n)
{
	c->out_bytes -= n;
	while (n && c->out_head) {
		struct seg *g = c->out_head;
		if (g->fd >= 0) {
			size_t k = (size_t)MIN((uint64_t)n, g->fleft);
			g->foff += k;
			g->fleft -= k;
			n -= k;
			if (g->fleft)
				break;
		} else {
			size_t k = MIN(n, g->len - g->off);
			g->off += k;
			n -= k;
			if (g->off < g->len)
				break;
		}
		c->out_head = g->next;
		if (!c->out_head)
			c->out_tail = NULL;
		seg_free(g);
	}
}

/* --- transport --------------------------------------------------------------------------- */

static ssize_t conn_recv(struct conn *c, void *p, size_t n)
{
	if (c->tls) {
		ssize_t r = tls_conn_read(c->tls, p, n);
		if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
			return -EAGAIN;
		return r;
	}
	for (;;) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return -errno;
	}
}

/* One write attempt from the front of the queue: bytes sent, -EAGAIN, or an error. */
static ssize_t conn_send_some(struct conn *c)
{
	struct seg *g = c->out_head;
	ssize_t r;

	if (g->fd >= 0) {
		if (!c->tls) {
			/* The 64-bit calls: blobs may pass 2 GiB on 32-bit boards too. */
			off64_t off = (off64_t)g->foff;
			r = sendfile64(c->fd, g->fd, &off,
			               (size_t)MIN(g->fleft, (uint64_t)1 << 30));
			if (r == 0)
				return -ENODATA; /* the file shrank under us */
			return r < 0 ? -errno : r;
		}
		size_t want = (size_t)MIN(g->fleft, (uint64_t)TLS_WRITE_MAX);
		r = pread64(g->fd, c->srv->scratch, want, (off64_t)g->foff);
		if (r <= 0)
			return r == 0 ? -ENODATA : -errno;
		r = tls_conn_write(c->tls, c->srv->scratch, (size_t)r);
	} else if (!c->tls) {
		struct iovec iov[16];
		int n = 0;
		for (struct seg *s = g; s && s->fd < 0 && n < (int)ARRAY_SIZE(iov); s = s->next) {
			iov[n].iov_base = s->data + s->off;
			iov[n].iov_len = s->len - s->off;
			n++;
		}
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		r = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		return r < 0 ? -errno : r;
	} else {
		r = tls_conn_write(c->tls, g->data + g->off,
		                   MIN(g->len - g->off, (size_t)TLS_WRITE_MAX));
	}
	if (r == TLS_WANT_WRITE || r == TLS_WANT_READ)
		return -EAGAIN;
	return r;
}

static void fire(struct http_req *r, enum http_event ev)
{
	if (r && r->dispatched && r->ev_fn)
		r->ev_fn(r, ev, r->ev_arg);
}

static void conn_flush(struct conn *c)
{
	bool had = c->out_head != NULL;

	c->out_blocked = false;
	while (c->out_head && !c->dead) {
		ssize_t r = conn_send_some(c);
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN) {
			c->out_blocked = true;
			return;
		}
		if (r < 0) {
			conn_kill(c, r == -ENODATA ? "file shrank while being sent"
			                           : strerror((int)-r));
			return;
		}
		out_consume(c, (size_t)r);
		c->progress_ms = loop_now_ms(c->srv->loop);
	}
	if (had && !c->dead && c->req && c->req->resp == R_STARTED)
		fire(c->req, HTTP_EV_DRAINED);
}

/* --- requests -------------------------------------------------------------------------- */

static struct http_req *req_new(struct conn *c)
{
	struct http_req *r = xcalloc(1, sizeof(*r));
	arena_init(&r->arena, 4096);
	r->conn = c;
	r->resp_left = -1;
	return r;
}

static void req_free(struct http_req *r)
{
	arena_free(&r->arena);
	free(r->body);
	free(r);
}

static struct http_identity *identity_copy(struct arena *a, const struct http_identity *id)
{
	if (!id)
		return NULL;
	struct http_identity *n = arena_alloc(a, sizeof(*n));
	const char **g = arena_alloc(a, (id->ngroups + 1) * sizeof(*g));
	n->user = arena_strndup(a, id->user, strlen(id->user));
	for (size_t i = 0; i < id->ngroups; i++)
		g[i] = arena_strndup(a, id->groups[i], strlen(id->groups[i]));
	g[id->ngroups] = NULL;
	n->groups = g;
	n->ngroups = id->ngroups;
	return n;
}

/* The live connection of r, or NULL if the client is gone. */
static struct conn *req_conn(const struct http_req *r)
{
	return r->conn && !r->conn->dead ? r->conn : NULL;
}

/* The response is fully queued: r is freed and the connection moves on. */
static void req_finish(struct http_req *r)
{
	struct conn *c = r->conn;
	if (c) {
		c->req = NULL;
		if (!c->dead) {
			c->want_flush = true;
			if (c->close_after || c->srv->shutting_down) {
				c->state = C_DRAIN;
			} else {
				c->state = C_HEAD;
				c->head_started = false;
				c->scan = 0;
				c->state_ms = loop_now_ms(c->srv->loop);
				c->need_process = true;
			}
		}
	}
	req_free(r);
}

/* --- response heads ----------------------------------------------------------------------- */

static bool status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

/*
 * Queues the head. clen >= 0: Content-Length; -1: chunked for HTTP/1.1, or a body
 * ended by closing for HTTP/1.0; -2: no length at all (no body follows).
 */
static void queue_head(struct conn *c, struct http_req *r, int status, int64_t clen)
{
	struct http_server *s = c->srv;
	struct buf b = { 0 };
	char line[96];

	if (!r->head.keep_alive || s->shutting_down || r->upgraded ||
	    (clen == -1 && r->head.minor == 0))
		c->close_after = true;
	buf_reserve(&b, 256);
	snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nDate: ", status, http_status_text(status));
	buf_adds(&b, line);
	buf_adds(&b, server_date(s));
	buf_add(&b, "\r\n", 2);
	for (size_t i = 0; i < r->nrh; i++)
		buf_printf(&b, "%s: %s\r\n", r->rh[i].name, r->rh[i].value);
	if (clen >= 0 && status != 204 && status != 304 && status >= 200)
		buf_printf(&b, "Content-Length: %lld\r\n", (long long)clen);
	else if (clen == -1 && r->head.minor == 1 && status_has_body(status))
		buf_adds(&b, "Transfer-Encoding: chunked\r\n");
	if (r->upgraded)
		buf_adds(&b, "Connection: Upgrade\r\n");
	else if (c->close_after)
		buf_adds(&b, "Connection: close\r\n");
	else if (r->head.minor == 0)
		buf_adds(&b, "Connection: keep-alive\r\n");
	buf_add(&b, "\r\n", 2);
	out_add(c, b.data, b.len);
	buf_free(&b);
}

/* An answer the server makes itself (bad request, limits, timeouts); the connection
 * closes after it. */
static void conn_error(struct conn *c, int status, const char *why)
{
	struct http_server *s = c->srv;
	struct buf body = { 0 }, h = { 0 };
	const char *ctype = NULL;

	log_debug("%s: %d %s", c->peer, status, why);
	if (c->req) {
		req_free(c->req);
		c->req = NULL;
	}
	if (s->o.error_body)
		ctype = s->o.error_body(s->o.arg, status, why, &body);
	if (!ctype) {
		buf_reset(&body);
		buf_printf(&body, "%s\n", why && *why ? why : http_status_text(status));
		ctype = "text/plain; charset=utf-8";
	}
	buf_printf(&h,
	           "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	           "Connection: close\r\n\r\n",
	           status, http_status_text(status), server_date(s), ctype, body.len);
	out_add(c, h.data, h.len);
	out_add(c, body.data, body.len);
	buf_free(&h);
	buf_free(&body);
	c->in_len = 0;
	c->close_after = true;
	c->state = C_DRAIN;
	c->state_ms = loop_now_ms(s->loop);
	c->want_flush = true;
}

/* --- reading requests ---------------------------------------------------------------------- */

static void in_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Room the input buffer may grow to: a whole head, and a little more so the
 * parser can tell "too large" from "exactly the limit". */
static size_t in_max(const struct conn *c)
{
	return c->srv->lim.max_header_bytes + 1;
}

static void dispatch(struct conn *c)
{
	struct http_req *r = c->req;
	struct http_server *s = c->srv;

	c->state = C_HANDLE;
	c->state_ms = loop_now_ms(s->loop);
	r->peer = arena_strndup(&r->arena, c->peer, strlen(c->peer));
	r->tls = c->tls != NULL;
	r->ident = identity_copy(&r->arena, c->ident);
	if (http_parse_query(&r->head, &r->arena) < 0) {
		conn_error(c, 400, "malformed percent-escape in the query");
		return;
	}
	r->dispatched = true;
	if (!r->body) {
		r->body = xmalloc(1);
		r->body[0] = '\0';
	}
	/* A watch may hold its connection for hours; it needs no input buffer meanwhile. */
	if (!c->in_len) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	s->o.handler(r, s->o.arg);
}

/* Request head parsing; true when the connection may go on processing. */
static bool process_head(struct conn *c)
{
	struct http_server *s = c->srv;
	size_t skip = http_skip_empty_lines(c->in, c->in_len);
	const char *why = NULL;

	if (skip) {
		in_consume(c, skip);
		c->scan = 0;
	}
	if (!c->in_len) {
		if (c->peer_eof)
			c->state = C_DRAIN;
		return false;
	}
	if (!c->head_started) {
		c->head_started = true;
		c->state_ms = loop_now_ms(s->loop);
	}
	size_t end = http_head_end(c->in, c->in_len, &c->scan);
	if (!end) {
		if (!http_method_prefix_ok(c->in, c->in_len)) {
			conn_error(c, 400, "malformed request line");
		} else if (c->in_len >= in_max(c) - 1) {
			bool no_eol = !memchr(c->in, '\n', c->in_len);
			conn_error(c, no_eol ? 414 : 431,
			           no_eol ? "request line too long" : "request head too large");
		} else if (!memchr(c->in, '\n', c->in_len) &&
		           c->in_len > s->lim.max_uri_bytes + 64) {
			conn_error(c, 414, "request target too long");
		} else if (c->peer_eof) {
			conn_kill(c, "end of stream inside a request head");
		}
		return false;
	}
	if (end > s->lim.max_header_bytes) {
		conn_error(c, 431, "request head too large");
		return false;
	}
	c->req = req_new(c);
	int rc = http_parse_head(c->in, end, &s->lim, &c->req->arena, &c->req->head, &why);
	in_consume(c, end);
	c->scan = 0;
	if (rc) {
		conn_error(c, rc, why);
		return false;
	}
	struct http_head *h = &c->req->head;
	if (h->chunked || h->content_length > 0) {
		c->state = C_BODY;
		c->state_ms = loop_now_ms(s->loop);
		if (!h->chunked)
			c->req->body = xmalloc((size_t)h->content_length + 1);
		if (h->expect_continue) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			out_add(c, cont, sizeof(cont) - 1);
			c->want_flush = true;
		}
		return true;
	}
	dispatch(c);
	return true;
}

/* Moves body bytes from the input buffer into the request; dispatches when complete. */
static bool process_body(struct conn *c)
{
	struct http_req *r = c->req;
	struct http_head *h = &r->head;

	if (h->chunked) {
		bool done = false;
		ssize_t n = http_chunked_feed(&r->chunked, c->in, c->in_len, &r->body, &r->body_len,
		                              &r->body_cap, c->srv->lim.max_body_bytes, &done);
		if (n < 0) {
			conn_error(c, (int)-n,
			           n == -413 ? "request body too large" : "malformed chunked body");
			return false;
		}
		in_consume(c, (size_t)n);
		if (!done) {
			if (c->peer_eof)
				conn_kill(c, "end of stream inside a request body");
			return false;
		}
	} else {
		size_t want = (size_t)h->content_length - r->body_len;
		size_t k = MIN(want, c->in_len);
		memcpy(r->body + r->body_len, c->in, k);
		r->body_len += k;
		r->body[r->body_len] = '\0';
		in_consume(c, k);
		if (r->body_len < (size_t)h->content_length) {
			if (c->peer_eof)
				conn_kill(c, "end of stream inside a request body");
			return false;
		}
	}
	dispatch(c);
	return true;
}

static void conn_process(struct conn *c)
{
	for (;;) {
		if (c->dead)
			return;
		switch (c->state) {
		case C_HEAD:
			/* A client that pipelines without reading gets no more answers
			 * queued until it catches up. */
			if (c->out_bytes > PIPELINE_OUT_MAX)
				return;
			if (!process_head(c))
				return;
			break;
		case C_BODY:
			if (!process_body(c))
				return;
			break;
		case C_TUNNEL:
			if (c->in_len && c->req && c->req->data_fn) {
				/* The handler may end the tunnel from inside; the bytes are
				 * consumed either way. */
				size_t n = c->in_len;
				c->in_len = 0;
				c->req->data_fn(c->req, c->in, n, c->req->data_arg);
			}
			return;
		default:
			return;
		}
	}
}

static void conn_eof(struct conn *c)
{
	c->peer_eof = true;
	switch (c->state) {
	case C_HANDSHAKE:
	case C_BODY:
	case C_LINGER:
		conn_kill(c, "end of stream");
		break;
	case C_HEAD:
		/* Complete requests still buffered are answered first. */
		if (!c->in_len && !c->out_head)
			conn_kill(c, "end of stream");
		else
			conn_process(c);
		break;
	case C_TUNNEL:
		conn_kill(c, "end of stream in a tunnel");
		break;
	case C_HANDLE:
		/* A half-closed client may still read our answer, but a stream
		 * (a watch) ends here: nobody will ever read it to its end. */
		if (c->req && c->req->resp == R_STARTED && c->req->resp_left < 0)
			conn_kill(c, "client closed a streamed response");
		break;
	case C_DRAIN:
		break;
	}
}

static void conn_handshake(struct conn *c)
{
	const char *why = NULL;

	if (!c->tls_peeked) {
		unsigned char b[1];
		ssize_t n = recv(c->fd, b, 1, MSG_PEEK);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_kill(c, "closed before the TLS handshake");
			return;
		}
		c->tls_peeked = true;
		if (b[0] != 0x16) { /* not a TLS handshake record */
			if (b[0] >= 'A' && b[0] <= 'Z') {
				/* Someone typed http:// for an https:// port; say so in
				 * plain text, as Go's servers do. */
				tls_conn_free(c->tls);
				c->tls = NULL;
				conn_error(c, 400,
				           "Client sent an HTTP request to an HTTPS server.");
			} else {
				conn_kill(c, "not a TLS handshake");
			}
			return;
		}
	}
	int rc = tls_conn_handshake(c->tls, &why);
	c->tls_want_write = rc == TLS_WANT_WRITE;
	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE)
		return;
	if (rc < 0) {
		log_debug("%s: TLS handshake failed: %s", c->peer, why ? why : "?");
		conn_kill(c, "TLS handshake failed");
		return;
	}
	c->ident = tls_conn_identity(c->tls, &c->arena);
	c->state = C_HEAD;
	c->head_started = false;
	c->state_ms = loop_now_ms(c->srv->loop);
}

static void conn_read(struct conn *c)
{
	struct http_server *s = c->srv;

	for (int rounds = 0; rounds < 16 && !c->dead; rounds++) {
		ssize_t n;

		if (c->state == C_HANDSHAKE) {
			conn_handshake(c);
			if (c->state == C_HANDSHAKE || c->dead)
				return;
			continue;
		}
		if (c->peer_eof)
			return;
		if (c->state == C_DRAIN || c->state == C_LINGER) {
			/* Input after our last answer is thrown away: closing with it
			 * unread would reset the connection and could destroy that answer. */
			n = conn_recv(c, s->scratch, sizeof(s->scratch));
			if (n > 0) {
				c->discarded += (size_t)n;
				if (c->discarded > LINGER_MAX_BYTES)
					conn_kill(c, "too much input after the last response");
				continue;
			}
		} else if (c->state == C_BODY && !c->req->head.chunked && !c->in_len) {
			/* Large bodies are read straight into place. */
			struct http_req *r = c->req;
			n = conn_recv(c, r->body + r->body_len,
			              (size_t)r->head.content_length - r->body_len);
			if (n > 0) {
				r->body_len += (size_t)n;
				r->body[r->body_len] = '\0';
				conn_process(c);
			}
		} else {
			size_t max = in_max(c);
			if (c->in_len >= max)
				return; /* the handler has a request; more waits in the socket */
			if (c->in_cap - c->in_len < 1024 && c->in_cap < max) {
				size_t cap = c->in_cap ? c->in_cap * 2 : IN_MIN;
				c->in_cap = MIN(cap, max);
				c->in = xrealloc(c->in, c->in_cap);
			}
			n = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
			if (n > 0) {
				c->in_len += (size_t)n;
				conn_process(c);
			}
		}
		if (n == 0) {
			conn_eof(c);
			return;
		}
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n < 0) {
			conn_kill(c, "read error");
			return;
		}
		/* Plain sockets: epoll says when there is more. TLS may hold decrypted
		 * bytes that epoll cannot see, so keep going while it does. */
		if (!c->tls || !tls_conn_pending(c->tls))
			return;
	}
}

/* --- connection lifecycle ------------------------------------------------------------------ */

static void on_conn_timer(struct loop *l, struct loop_timer *t)
{
	struct conn *c = container_of(t, struct conn, timer);
	conn_enter(c);
	switch (c->state) {
	case C_HANDSHAKE:
		conn_kill(c, "TLS handshake timed out");
		break;
	case C_HEAD:
		/* A client that sent part of a head hears why; one that sent
		 * nothing (idle, or connected and silent) is just closed. */
		if (c->out_head)
			conn_kill(c, "write timed out");
		else if (c->in_len)
			conn_error(c, 408, "timed out reading the request head");
		else
			conn_kill(c, "idle");
		break;
	case C_BODY:
		conn_error(c, 408, "timed out reading the request body");
		break;
	case C_HANDLE:
	case C_TUNNEL:
	case C_DRAIN:
		conn_kill(c, "write timed out");
		break;
	case C_LINGER:
		conn_kill(c, "linger done");
		break;
	}
	conn_leave(c);
}

static void on_flush_timer(struct loop *l, struct loop_timer *t)
{
	struct conn *c = container_of(t, struct conn, flush_timer);
	conn_enter(c);
	c->want_flush = true;
	conn_leave(c);
}

static void conn_rearm(struct conn *c)
{
	struct http_server *s = c->srv;
	const struct http_server_opts *o = &s->o;
	uint64_t start = c->state_ms, span = 0;
	bool writing = c->out_head != NULL;

	switch (c->state) {
	case C_HANDSHAKE:
		span = o->header_timeout_ms;
		break;
	case C_HEAD:
		span = c->head_started ? o->header_timeout_ms : o->idle_timeout_ms;
		break;
	case C_BODY:
		span = o->body_timeout_ms;
		break;
	case C_HANDLE:
	case C_TUNNEL: /* a shell may sit idle for hours */
	case C_DRAIN:
		break;
	case C_LINGER:
		span = LINGER_MS;
		break;
	}
	if (writing && c->state != C_HANDSHAKE && c->state != C_LINGER && c->state != C_BODY) {
		start = MAX(c->progress_ms, c->state_ms);
		span = o->write_timeout_ms;
	}
	if (!span) {
		loop_timer_disarm(s->loop, &c->timer);
		return;
	}
	uint64_t due = start + span, now = loop_now_ms(s->loop);
	if (loop_timer_armed(&c->timer) && c->deadline == due)
		return;
	c->deadline = due;
	loop_timer_arm(s->loop, &c->timer, due > now ? due - now : 0);
}

static void conn_update_events(struct conn *c)
{
	uint32_t ev = 0;

	switch (c->state) {
	case C_HANDSHAKE:
		ev = c->tls_want_write ? EPOLLOUT : EPOLLIN;
		break;
	case C_HEAD:
	case C_BODY:
	case C_HANDLE:
	case C_TUNNEL:
		if (!c->peer_eof && c->in_len < in_max(c))
			ev = EPOLLIN | EPOLLRDHUP;
		else if (!c->peer_eof)
			ev = EPOLLRDHUP;
		break;
	case C_DRAIN:
	case C_LINGER:
		if (!c->peer_eof)
			ev = EPOLLIN | EPOLLRDHUP;
		break;
	}
	if (c->out_head && c->out_blocked)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		loop_mod_fd(c->srv->loop, c->fd, ev);
		c->events = ev;
	}
}

static void conn_start_linger(struct conn *c)
{
	if (c->peer_eof) {
		conn_kill(c, "done");
		return;
	}
	if (c->tls)
		tls_conn_close_notify(c->tls);
	shutdown(c->fd, SHUT_WR);
	c->state = C_LINGER;
	c->state_ms = loop_now_ms(c->srv->loop);
}

static void conn_teardown(struct conn *c)
{
	struct http_server *s = c->srv;
	struct http_req *r = c->req;

	loop_del_fd(s->loop, c->fd);
	close(c->fd);
	loop_timer_disarm(s->loop, &c->timer);
	loop_timer_disarm(s->loop, &c->flush_timer);
	out_clear(c);
	if (c->tls)
		tls_conn_free(c->tls);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	c->req = NULL;
	if (r) {
		r->conn = NULL;
		if (r->dispatched)
			fire(r, HTTP_EV_CLOSED); /* the handler still owns r and finishes it */
		else
			req_free(r);
	}
	free(c->in);
	arena_free(&c->arena);
	free(c);
	if (s->accept_paused && !loop_timer_armed(&s->accept_timer) && !s->shutting_down &&
	    s->nconns < s->o.max_conns) {
		for (struct listener *ls = s->listeners; ls; ls = ls->next)
			loop_mod_fd(s->loop, ls->fd, EPOLLIN);
		s->accept_paused = false;
	}
	server_check_done(s);
}

static void conn_kill(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	log_debug("%s: closing: %s", c->peer, why);
	c->dead = true;
	if (!c->busy)
		conn_teardown(c);
}

static void conn_enter(struct conn *c)
{
	c->busy++;
}

/*
 * Leaving the outermost of our frames: do what the nested calls asked for
 * (flush, read the next pipelined request, start closing), then tear down
 * or re-arm. Handlers may finish requests from inside events we fire, so all
 * state changes settle here rather than where they were requested.
 */
static void conn_leave(struct conn *c)
{
	if (--c->busy)
		return;
	c->busy++;
	for (int i = 0; i < 8 && !c->dead; i++) {
		if (c->want_flush) {
			c->want_flush = false;
			conn_flush(c);
		}
		if (c->dead)
			break;
		if (c->need_process && c->state == C_HEAD && c->out_bytes <= PIPELINE_OUT_MAX) {
			c->need_process = false;
			conn_process(c);
		}
		if (c->need_tunnel && c->state == C_TUNNEL && !c->dead) {
			c->need_tunnel = false;
			conn_process(c);
		}
		if (c->state == C_DRAIN && !c->out_head && !c->dead)
			conn_start_linger(c);
		/* TLS may hold a decrypted pipelined request that epoll will not report. */
		if (!c->dead && c->tls && c->state != C_HANDSHAKE && c->state != C_HANDLE &&
		    c->state != C_DRAIN && c->state != C_LINGER && c->in_len < in_max(c) &&
		    tls_conn_pending(c->tls))
			conn_read(c);
		if (!c->want_flush &&
		    !(c->need_process && c->state == C_HEAD && c->out_bytes <= PIPELINE_OUT_MAX))
			break;
	}
	c->busy--;
	if (c->dead) {
		conn_teardown(c);
		return;
	}
	conn_update_events(c);
	conn_rearm(c);
}

/*
 * Leaving a frame entered from a public call (http_resp_*). Events must not
 * reach a handler from inside its own call on the same request (it could
 * finish, and free, the request it is still using), so when this is the
 * outermost frame the settling (flush, events, teardown) is left to the
 * flush timer, which runs at the end of this loop iteration. Nested in one
 * of our frames (the usual synchronous answer), the outer frame settles.
 */
static void conn_leave_api(struct conn *c)
{
	if (--c->busy)
		return;
	if (!loop_timer_armed(&c->flush_timer))
		loop_timer_arm(c->srv->loop, &c->flush_timer, 0);
}

static void on_conn_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	conn_enter(c);
	if (events & EPOLLERR) {
		conn_kill(c, "socket error");
	} else if (c->state == C_HANDSHAKE) {
		conn_read(c);
	} else {
		if (events & EPOLLOUT)
			conn_flush(c);
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
			conn_read(c);
		/* Hung up while we were not reading (buffer full): nobody is left. */
		if ((events & EPOLLHUP) && !(c->events & EPOLLIN) && !c->dead)
			conn_kill(c, "hang-up");
		/* The client half-closed while its pipelined input fills our buffer:
		 * we cannot read the FIN, but epoll keeps saying so. */
		if ((events & EPOLLRDHUP) && !c->dead && !c->peer_eof && c->in_len >= in_max(c))
			conn_eof(c);
	}
	conn_leave(c);
}

static void format_peer(char *out, size_t n, const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, n, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, n, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		snprintf(out, n, "?");
	}
}

/* Takes fd (non-blocking); on failure it is closed. */
static int conn_new(struct http_server *s, struct http_tls *tls, int fd,
                    const struct sockaddr_storage *ss)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	int rc;
	int one = 1;

	c->srv = s;
	c->fd = fd;
	arena_init(&c->arena, 512);
	format_peer(c->peer, sizeof(c->peer), ss);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	loop_timer_init(&c->timer, on_conn_timer);
	loop_timer_init(&c->flush_timer, on_flush_timer);
	c->state_ms = loop_now_ms(s->loop);
	if (tls) {
		if ((rc = tls_conn_new(tls, fd, &c->tls)) < 0) {
			close(fd);
			arena_free(&c->arena);
			free(c);
			return rc;
		}
		c->state = C_HANDSHAKE;
		c->events = EPOLLIN;
	} else {
		/* A fresh connection gets the head timeout, not the idle one: a
		 * client that connects and says nothing holds a slot for free. */
		c->state = C_HEAD;
		c->head_started = true;
		c->events = EPOLLIN | EPOLLRDHUP;
	}
	if ((rc = loop_add_fd(s->loop, fd, c->events, on_conn_io, c)) < 0) {
		if (c->tls)
			tls_conn_free(c->tls);
		close(fd);
		arena_free(&c->arena);
		free(c);
		return rc;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	conn_rearm(c);
	return 0;
}

int http_server_adopt(struct http_server *s, int fd, struct http_tls *tls)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	getpeername(fd, (struct sockaddr *)&ss, &sl);
	return conn_new(s, tls, fd, &ss);
}

/* --- listeners -------------------------------------------------------------------------------- */

static void accept_pause(struct http_server *s)
{
	if (s->accept_paused)
		return;
	for (struct listener *ls = s->listeners; ls; ls = ls->next)
		loop_mod_fd(s->loop, ls->fd, 0);
	s->accept_paused = true;
}

static void on_accept_timer(struct loop *l, struct loop_timer *t)
{
	struct http_server *s = container_of(t, struct http_server, accept_timer);
	if (s->shutting_down || s->nconns >= s->o.max_conns)
		return; /* a closing connection resumes accepting */
	for (struct listener *ls = s->listeners; ls; ls = ls->next)
		loop_mod_fd(s->loop, ls->fd, EPOLLIN);
	s->accept_paused = false;
}

static void on_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct listener *ls = arg;
	struct http_server *s = ls->srv;

	for (int i = 0; i < 64; i++) {
		if (s->nconns >= s->o.max_conns) {
			log_debug("%zu connections: not accepting more for now", s->nconns);
			accept_pause(s);
			return;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: back off instead of spinning
			 * on a listener that stays readable. */
			log_warn("accept: %s; pausing %d ms", strerror(errno), ACCEPT_BACKOFF_MS);
			accept_pause(s);
			loop_timer_arm(s->loop, &s->accept_timer, ACCEPT_BACKOFF_MS);
			return;
		}
		conn_new(s, ls->tls, cfd, &ss);
	}
}

static void on_done_timer(struct loop *l, struct loop_timer *t)
{
	struct http_server *s = container_of(t, struct http_server, done_timer);
	void (*done)(void *) = s->done;
	s->done = NULL;
	if (done)
		done(s->done_arg);
}

static void server_check_done(struct http_server *s)
{
	if (s->shutting_down && !s->nconns && s->done)
		loop_timer_arm(s->loop, &s->done_timer, 0);
}

/* Connections on the stack (we were called from inside a handler) are only
 * marked; they go when their frames unwind. */
static void kill_all(struct http_server *s, const char *why)
{
	struct conn *c, *next;
	for (c = s->conns; c; c = next) {
		next = c->next;
		conn_kill(c, why);
	}
}

static void on_shutdown_timer(struct loop *l, struct loop_timer *t)
{
	struct http_server *s = container_of(t, struct http_server, shutdown_timer);
	if (s->nconns)
		log_info("shutdown deadline: closing %zu connections", s->nconns);
	kill_all(s, "shutdown deadline");
	server_check_done(s);
}

int http_server_new(struct loop *l, const struct http_server_opts *o, struct http_server **out)
{
	if (!o->handler)
		return -EINVAL;
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->loop = l;
	s->o = *o;
#define DEF(f, v)                                                                                  \
	do {                                                                                       \
		if (!s->o.f)                                                                       \
			s->o.f = (v);                                                              \
	} while (0)
	DEF(max_header_bytes, 64 * 1024);
	DEF(max_uri_bytes, 8 * 1024);
	DEF(max_body_bytes, 3 * 1024 * 1024);
	DEF(max_headers, 100);
	DEF(max_conns, 1000);
	DEF(max_stream_queue, 8 * 1024 * 1024);
	DEF(header_timeout_ms, 10000);
	DEF(idle_timeout_ms, 90000);
	DEF(body_timeout_ms, 60000);
	DEF(write_timeout_ms, 60000);
#undef DEF
	s->lim.max_header_bytes = s->o.max_header_bytes;
	s->lim.max_uri_bytes = MIN(s->o.max_uri_bytes, s->o.max_header_bytes);
	s->lim.max_body_bytes = s->o.max_body_bytes;
	s->lim.max_headers = s->o.max_headers;
	loop_timer_init(&s->accept_timer, on_accept_timer);
	loop_timer_init(&s->shutdown_timer, on_shutdown_timer);
	loop_timer_init(&s->done_timer, on_done_timer);
	*out = s;
	return 0;
}

int http_server_listen(struct http_server *s, const char *addr, int port, struct http_tls *tls,
                       int *bound_port, struct err *e)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd = -1, one = 1, rc;

	if (port < 0 || port > 65535)
		return err_set(e, -EINVAL, "listen on %s:%d: bad port", addr, port);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*a6);
	} else {
		return err_set(e, -EINVAL, "listen on %s: not an IP address", addr);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, -errno, "listen on %s:%d: socket: %s", addr, port,
		               strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 511) < 0) {
		rc = err_set(e, -errno, "listen on %s:%d: %s", addr, port, strerror(errno));
		close(fd);
		return rc;
	}
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	int actual = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
	struct listener *ls = xcalloc(1, sizeof(*ls));
	ls->srv = s;
	ls->fd = fd;
	ls->tls = tls;
	if ((rc = loop_add_fd(s->loop, fd, s->accept_paused ? 0 : EPOLLIN, on_accept, ls)) < 0) {
		close(fd);
		free(ls);
		return err_set(e, rc, "listen on %s:%d: %s", addr, port, strerror(-rc));
	}
	ls->next = s->listeners;
	s->listeners = ls;
	if (bound_port)
		*bound_port = actual;
	log_debug("listening on %s:%d (%s)", addr, actual, tls ? "https" : "http");
	return 0;
}

static void close_listeners(struct http_server *s)
{
	while (s->listeners) {
		struct listener *ls = s->listeners;
		s->listeners = ls->next;
		loop_del_fd(s->loop, ls->fd);
		close(ls->fd);
		free(ls);
	}
}

void http_server_shutdown(struct http_server *s, uint32_t timeout_ms, void (*done)(void *arg),
                          void *arg)
{
	struct conn *c, *next;

	s->shutting_down = true;
	s->done = done;
	s->done_arg = arg;
	close_listeners(s);
	loop_timer_disarm(s->loop, &s->accept_timer);
	for (c = s->conns; c; c = next) {
		next = c->next;
		conn_enter(c);
		switch (c->state) {
		case C_HANDSHAKE:
			conn_kill(c, "shutting down");
			break;
		case C_HEAD:
			if (!c->in_len && !c->out_head)
				conn_kill(c, "shutting down");
			else if (!c->in_len)
				c->state = C_DRAIN;
			else
				c->close_after = true;
			break;
		case C_BODY:
			c->close_after = true;
			break;
		case C_HANDLE:
		case C_TUNNEL:
			c->close_after = true;
			fire(c->req, HTTP_EV_SHUTDOWN);
			break;
		case C_DRAIN:
		case C_LINGER:
			break;
		}
		/* Leaving may free c; next was taken before. A handler reacting to
		 * SHUTDOWN touches only its own request. */
		conn_leave(c);
	}
	loop_timer_arm(s->loop, &s->shutdown_timer, timeout_ms);
	server_check_done(s);
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	s->shutting_down = true;
	s->done = NULL;
	close_listeners(s);
	kill_all(s, "server stopped");
	loop_timer_disarm(s->loop, &s->accept_timer);
	loop_timer_disarm(s->loop, &s->shutdown_timer);
	loop_timer_disarm(s->loop, &s->done_timer);
	free(s);
}

size_t http_server_conns(const struct http_server *s)
{
	return s->nconns;
}

/* --- request accessors ---------------------------------------------------------------------- */

const char *http_req_method(const struct http_req *r)
{
	return r->head.method;
}

const char *http_req_target(const struct http_req *r)
{
	return r->head.target;
}

const char *http_req_path(const struct http_req *r)
{
	return r->head.path;
}

const char *http_req_raw_query(const struct http_req *r)
{
	return r->head.raw_query;
}

int http_req_minor(const struct http_req *r)
{
	return r->head.minor;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	return http_head_field(&r->head, name);
}

bool http_req_header_at(const struct http_req *r, size_t i, const char **name, const char **value)
{
	if (i >= r->head.nfields)
		return false;
	*name = r->head.fields[i].name;
	*value = r->head.fields[i].value;
	return true;
}

const char *http_req_query(const struct http_req *r, const char *key)
{
	for (size_t i = 0; i < r->head.nquery; i++)
		if (!strcmp(r->head.query[i].name, key))
			return r->head.query[i].value;
	return NULL;
}

bool http_req_query_at(const struct http_req *r, size_t i, const char **key, const char **value)
{
	if (i >= r->head.nquery)
		return false;
	*key = r->head.query[i].name;
	*value = r->head.query[i].value;
	return true;
}

const char *http_req_body(const struct http_req *r, size_t *len)
{
	if (len)
		*len = r->body_len;
	return r->body ? r->body : "";
}

const char *http_req_peer(const struct http_req *r)
{
	return r->peer ? r->peer : "?";
}

bool http_req_tls(const struct http_req *r)
{
	return r->tls;
}

const struct http_identity *http_req_identity(const struct http_req *r)
{
	return r->ident;
}

void *http_req_alloc(struct http_req *r, size_t n)
{
	return arena_alloc(&r->arena, n);
}

char *http_req_strdup(struct http_req *r, const char *s)
{
	return arena_strndup(&r->arena, s, strlen(s));
}

char *http_req_printf(struct http_req *r, const char *fmt, ...)
{
	va_list ap, ap2;
	char small[256];

	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	char *p = arena_alloc(&r->arena, (size_t)n + 1);
	if ((size_t)n < sizeof(small))
		memcpy(p, small, (size_t)n + 1);
	else
		vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

void http_req_on_event(struct http_req *r, http_event_fn fn, void *arg)
{
	r->ev_fn = fn;
	r->ev_arg = arg;
}

bool http_req_alive(const struct http_req *r)
{
	return req_conn(r) != NULL;
}

/* --- responses ---------------------------------------------------------------------------------- */

static bool valid_header_value(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 && *v != '\t')
			return false;
	return true;
}

int http_resp_header(struct http_req *r, const char *name, const char *value)
{
	if (r->resp != R_NONE || !*name || !valid_header_value(value) ||
	    strpbrk(name, " \t\r\n:") || !strcasecmp(name, "Content-Length") ||
	    !strcasecmp(name, "Transfer-Encoding") || !strcasecmp(name, "Connection"))
		return -EINVAL;
	if (r->nrh == r->rh_cap) {
		size_t cap = r->rh_cap ? r->rh_cap * 2 : 8;
		struct http_field *n = arena_alloc(&r->arena, cap * sizeof(*n));
		if (r->nrh)
			memcpy(n, r->rh, r->nrh * sizeof(*n));
		r->rh = n;
		r->rh_cap = cap;
	}
	r->rh[r->nrh++] =
	    (struct http_field){ http_req_strdup(r, name), http_req_strdup(r, value) };
	return 0;
}

/* Whole responses: head, body and finish, in one frame of the connection. */
static int send_whole(struct http_req *r, int status, const void *body, size_t len, char *owned,
                      int fd, uint64_t foff)
{
	struct conn *c = req_conn(r);

	if (r->resp != R_NONE) {
		free(owned);
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	if (!c) {
		free(owned);
		if (fd >= 0)
			close(fd);
		req_finish(r);
		return -EPIPE;
	}
	conn_enter(c);
	bool body_ok = status_has_body(status) && !r->head.is_head;
	queue_head(c, r, status, (int64_t)len);
	if (body_ok && fd >= 0 && len) {
		out_file(c, fd, foff, len);
		fd = -1;
	} else if (body_ok && owned && len >= SEG_SIZE) {
		out_take(c, owned, len);
		owned = NULL;
	} else if (body_ok) {
		out_add(c, body, len);
	}
	free(owned);
	if (fd >= 0)
		close(fd);
	req_finish(r);
	conn_leave_api(c);
	return 0;
}

int http_resp_send(struct http_req *r, int status, const void *body, size_t len)
{
	return send_whole(r, status, body, len, NULL, -1, 0);
}

int http_resp_send_buf(struct http_req *r, int status, struct buf *b)
{
	size_t len = b->len;
	char *data = buf_steal(b);
	return send_whole(r, status, data, len, data, -1, 0);
}

int http_resp_file(struct http_req *r, int status, int fd, uint64_t off, uint64_t len)
{
	return send_whole(r, status, NULL, (size_t)len, NULL, fd, off);
}

int http_resp_start(struct http_req *r, int status, int64_t content_length)
{
	struct conn *c = req_conn(r);

	if (r->resp != R_NONE || content_length < -1)
		return -EINVAL;
	r->resp = R_STARTED;
	r->resp_no_body = !status_has_body(status) || r->head.is_head;
	r->resp_chunked = content_length < 0 && r->head.minor == 1;
	r->resp_left = content_length;
	if (!c)
		return -EPIPE;
	conn_enter(c);
	queue_head(c, r, status, content_length);
	c->want_flush = true;
	conn_leave_api(c);
	return 0;
}

int http_resp_upgrade(struct http_req *r, http_data_fn on_data, void *arg)
{
	struct conn *c = req_conn(r);

	if (r->resp != R_NONE || !r->head.upgrade || !on_data)
		return -EINVAL;
	r->resp = R_STARTED;
	r->upgraded = true;
	r->resp_left = -1; /* raw bytes until the connection closes */
	r->data_fn = on_data;
	r->data_arg = arg;
	if (!c)
		return -EPIPE;
	conn_enter(c);
	queue_head(c, r, 101, -2);
	c->state = C_TUNNEL;
	c->state_ms = loop_now_ms(c->srv->loop);
	c->want_flush = true;
	/* Bytes the client sent after its request already belong to the new protocol. */
	c->need_tunnel = c->in_len > 0;
	conn_leave_api(c);
	return 0;
}

int http_resp_write(struct http_req *r, const void *p, size_t n)
{
	struct conn *c = req_conn(r);
	char size[24];

	if (r->resp != R_STARTED)
		return -EINVAL;
	if (r->resp_left >= 0 && (uint64_t)n > (uint64_t)r->resp_left)
		return -EINVAL;
	if (r->resp_left >= 0)
		r->resp_left -= (int64_t)n;
	if (!c)
		return -EPIPE;
	if (!n || r->resp_no_body)
		return 0;
	if (c->out_bytes + n > c->srv->o.max_stream_queue) {
		conn_enter(c);
		conn_kill(c, "client does not read its stream");
		conn_leave_api(c);
		return -ENOBUFS;
	}
	if (!c->out_head) {
		/* An idle stream (a watch between events) gets a buffer the size of this write,
		 * not a full coalescing segment: one event fanned out to many watchers would
		 * otherwise take, fault in and give back 16 KiB per watcher per event. */
		out_push(c, seg_new(n + 32));
	}
	if (r->resp_chunked) {
		int k = snprintf(size, sizeof(size), "%zx\r\n", n);
		out_add(c, size, (size_t)k);
		out_add(c, p, n);
		out_add(c, "\r\n", 2);
	} else {
		out_add(c, p, n);
	}
	/* Flushed at the end of this loop iteration, together with whatever else
	 * is written to this stream before then. */
	if (!loop_timer_armed(&c->flush_timer) && !c->out_blocked)
		loop_timer_arm(c->srv->loop, &c->flush_timer, 0);
	return 0;
}

int http_resp_end(struct http_req *r)
{
	struct conn *c = req_conn(r);

	if (r->resp != R_STARTED)
		return -EINVAL;
	if (!c) {
		req_finish(r);
		return -EPIPE;
	}
	conn_enter(c);
	loop_timer_disarm(c->srv->loop, &c->flush_timer);
	if (r->resp_left > 0) {
		/* Fewer bytes than promised: only closing tells the client. */
		log_warn("%s: response ended %lld bytes short", c->peer, (long long)r->resp_left);
		c->close_after = true;
	} else if (r->resp_left < 0 && !r->resp_chunked) {
		c->close_after = true; /* HTTP/1.0: the body ends where the connection does */
	}
	if (r->resp_chunked && !r->resp_no_body)
		out_add(c, "0\r\n\r\n", 5);
	req_finish(r);
	conn_leave_api(c);
	return 0;
}

size_t http_resp_queued(const struct http_req *r)
{
	struct conn *c = req_conn(r);
	return c ? c->out_bytes : 0;
}

/* --- TLS seam ------------------------------------------------------------------------------------ */

#ifndef CONFIG_TUG_TLS
int http_tls_new(const struct http_tls_opts *o, struct http_tls **out, struct err *e)
{
	return err_set(e, -ENOTSUP, "TLS: tug was built without CONFIG_TUG_TLS");
}
void http_tls_free(struct http_tls *t)
{
}
int tls_conn_new(struct http_tls *t, int fd, struct tls_conn **out)
{
	return -ENOTSUP;
}
void tls_conn_free(struct tls_conn *c)
{
}
int tls_conn_handshake(struct tls_conn *c, const char **why)
{
	return -ENOTSUP;
}
ssize_t tls_conn_read(struct tls_conn *c, void *p, size_t n)
{
	return -ENOTSUP;
}
ssize_t tls_conn_write(struct tls_conn *c, const void *p, size_t n)
{
	return -ENOTSUP;
}
bool tls_conn_pending(struct tls_conn *c)
{
	return false;
}
void tls_conn_close_notify(struct tls_conn *c)
{
}
struct http_identity *tls_conn_identity(struct tls_conn *c, struct arena *a)
{
	return NULL;
}
const char *tls_conn_alpn(struct tls_conn *c)
{
	return NULL;
}
#endif
