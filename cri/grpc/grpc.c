/* grpc: one HTTP/2 connection per channel driven by nghttp2's in-memory API on the loop;
 * gRPC's length-prefixed messages, headers, trailers and deadlines on top. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <nghttp2/nghttp2.h>

#define LOG_TAG "grpc"
#include "core/log/log.h"
#include "cri/grpc/grpc.h"

#define DEFAULT_MAX_MSG (16u << 20)
/* Flow-control windows: large, so a reply of a few MiB (ListContainers on a busy node)
 * arrives without waiting on WINDOW_UPDATE round trips. */
#define STREAM_WINDOW (4 << 20)
#define CONN_WINDOW (16 << 20)
#define WRITE_CHUNK (64 << 10)

struct grpc_chan {
	struct loop *loop;
	char *target, *authority;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool is_unix;

	enum grpc_state state;
	int fd;
	bool want_out;
	nghttp2_session *h2;
	int in_recv;     /* >0 while nghttp2 is parsing input: sending must wait */
	struct buf wbuf; /* bytes nghttp2 produced that the socket did not take yet */
	size_t woff;
	/* A failure found while writing, which may happen inside the owner's own
	 * grpc_call_send: it is acted on from the loop (timer), never there. */
	bool broken;
	char broken_why[160];
	bool closing; /* in grpc_chan_free: callbacks may not start calls */

	struct loop_timer timer; /* reconnect back-off, or connect timeout */
	uint64_t backoff_ms, backoff_min, backoff_max, connect_timeout;
	uint64_t connects;
	size_t max_msg;
	uint32_t rnd;

	struct grpc_call *calls; /* every live call, doubly linked */
	void (*on_state)(struct grpc_chan *ch, enum grpc_state st, void *arg);
	void *arg;
};

struct grpc_call {
	struct grpc_chan *ch;
	struct grpc_call *prev, *next;
	char *path;
	char **md; /* name, value, ..., NULL */
	size_t nmd;
	struct grpc_call_opts o;
	uint64_t deadline;       /* monotonic ms, 0: none */
	struct loop_timer timer; /* deadline, or a deferred failure */

	int32_t stream_id; /* 0: not submitted (waiting for a connection) or closed */
	struct buf out;    /* framed messages not yet taken by nghttp2 */
	size_t out_off;
	bool send_closed, deferred;

	struct buf in; /* response bytes not yet split into messages */
	size_t in_off;
	int http_status;
	int grpc_status; /* -1 until the peer sends one */
	char *grpc_message;
	bool bad_content_type;
	size_t nmsgs;

	int busy;            /* >0 while a user callback of this call runs */
	bool cancel_pending; /* cancelled during such a callback */
	int fail_code;       /* a deferred failure armed on timer */
	char *fail_msg;
	bool finished;
	bool doomed; /* to be failed by conn_fail */
	bool sent;   /* went out on a connection: never sent again */
};

static const char *const code_names[] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *grpc_code_name(int code)
{
	static __thread char other[24];
	if (code >= 0 && code < (int)ARRAY_SIZE(code_names))
		return code_names[code];
	snprintf(other, sizeof(other), "CODE_%d", code);
	return other;
}

int grpc_code_errno(int code)
{
	switch (code) {
	case GRPC_OK:
		return 0;
	case GRPC_CANCELLED:
		return -ECANCELED;
	case GRPC_INVALID_ARGUMENT:
	case GRPC_OUT_OF_RANGE:
		return -EINVAL;
	case GRPC_DEADLINE_EXCEEDED:
		return -ETIMEDOUT;
	case GRPC_NOT_FOUND:
		return -ENOENT;
	case GRPC_ALREADY_EXISTS:
		return -EEXIST;
	case GRPC_PERMISSION_DENIED:
	case GRPC_UNAUTHENTICATED:
		return -EACCES;
	case GRPC_RESOURCE_EXHAUSTED:
		return -ENOSPC;
	case GRPC_FAILED_PRECONDITION:
	case GRPC_ABORTED:
		return -EBUSY;
	case GRPC_UNIMPLEMENTED:
		return -ENOSYS;
	case GRPC_UNAVAILABLE:
		return -ECONNREFUSED;
	default:
		return -EIO;
	}
}

static void set_state(struct grpc_chan *ch, enum grpc_state st)
{
	if (ch->state == st)
		return;
	ch->state = st;
	if (ch->on_state)
		ch->on_state(ch, st, ch->arg);
}

/* --- finishing calls --------------------------------------------------------------- */

static void call_free(struct grpc_call *c)
{
	for (size_t i = 0; i < c->nmd; i++)
		free(c->md[i]);
	free(c->md);
	buf_free(&c->out);
	buf_free(&c->in);
	free(c->path);
	free(c->grpc_message);
	free(c->fail_msg);
	free(c);
}

static void call_unlink(struct grpc_call *c)
{
	struct grpc_chan *ch = c->ch;
	if (c->prev)
		c->prev->next = c->next;
	else if (ch->calls == c)
		ch->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void flush(struct grpc_chan *ch);

/* Detaches c from its stream: resets the stream when it is still open on our side. */
static void call_detach_stream(struct grpc_call *c, bool reset)
{
	struct grpc_chan *ch = c->ch;
	if (c->stream_id > 0 && ch->h2) {
		nghttp2_session_set_stream_user_data(ch->h2, c->stream_id, NULL);
		if (reset)
			nghttp2_submit_rst_stream(ch->h2, NGHTTP2_FLAG_NONE, c->stream_id,
			                          NGHTTP2_CANCEL);
	}
	c->stream_id = 0;
}

/*
 * Ends a call: tells the owner (unless notify is false) and frees it. Safe from nghttp2
 * callbacks, timers and the I/O handler; sending the RST waits for the next flush.
 */
static void call_finish(struct grpc_call *c, int code, const char *msg, bool notify)
{
	if (c->finished)
		return;
	c->finished = true;
	loop_timer_disarm(c->ch->loop, &c->timer);
	call_detach_stream(c, true);
	call_unlink(c);
	if (notify && c->o.on_done)
		c->o.on_done(c, code, msg ? msg : "", c->o.arg);
	call_free(c);
}

static void call_finishf(struct grpc_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void call_finishf(struct grpc_call *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	call_finish(c, code, msg, true);
}

/* A failure decided outside the loop's callbacks (in grpc_call_start) is delivered from
 * a timer, so that on_done never runs inside the caller's own call. */
static void call_fail_later(struct grpc_call *c, int code, const char *msg)
{
	c->fail_code = code;
	free(c->fail_msg);
	c->fail_msg = xstrdup(msg);
	loop_timer_arm(c->ch->loop, &c->timer, 0);
}

static void on_call_timer(struct loop *l, struct loop_timer *t)
{
	struct grpc_call *c = container_of(t, struct grpc_call, timer);
	struct grpc_chan *ch = c->ch;
	if (c->fail_msg) {
		char *m = c->fail_msg;
		c->fail_msg = NULL;
		call_finish(c, c->fail_code, m, true);
		free(m);
	} else {
		call_finishf(c, GRPC_DEADLINE_EXCEEDED, "%s: deadline of %llu ms exceeded", c->path,
		             (unsigned long long)c->o.timeout_ms);
	}
	flush(ch);
}

/* --- HTTP/2 request ----------------------------------------------------------------- */

static ssize_t read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user)
{
	struct grpc_call *c = source->ptr;
	size_t avail = c->out.len - c->out_off, n = MIN(avail, length);

	if (n) {
		memcpy(buf, c->out.data + c->out_off, n);
		c->out_off += n;
		if (c->out_off == c->out.len) {
			buf_reset(&c->out);
			c->out_off = 0;
		}
	}
	if (c->out.len == c->out_off && c->send_closed) {
		*data_flags |= NGHTTP2_DATA_FLAG_EOF;
		return (ssize_t)n;
	}
	if (n == 0) {
		c->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

static nghttp2_nv nv(const char *name, const char *value)
{
	return (nghttp2_nv){ (uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
		             NGHTTP2_NV_FLAG_NONE };
}

/* grpc-timeout: at most 8 digits and a unit. */
static void format_timeout(char out[16], uint64_t ms)
{
	if (ms <= 99999999)
		snprintf(out, 16, "%llum", (unsigned long long)ms);
	else
		snprintf(out, 16, "%lluS", (unsigned long long)MIN(ms / 1000, 99999999ull));
}

static void call_submit(struct grpc_call *c)
{
	struct grpc_chan *ch = c->ch;
	char tmo[16];
	nghttp2_nv fixed[8], *hdrs = fixed;
	size_t n = 0;

	if (c->nmd)
		hdrs = xcalloc(ARRAY_SIZE(fixed) + c->nmd / 2, sizeof(*hdrs));

	hdrs[n++] = nv(":method", "POST");
	hdrs[n++] = nv(":scheme", "http");
	hdrs[n++] = nv(":path", c->path);
	hdrs[n++] = nv(":authority", ch->authority);
	hdrs[n++] = nv("content-type", "application/grpc");
	hdrs[n++] = nv("te", "trailers");
	hdrs[n++] = nv("user-agent", "tug-grpc/" TUG_VERSION);
	if (c->deadline) {
		uint64_t now = time_mono_ms();
		format_timeout(tmo, c->deadline > now ? c->deadline - now : 1);
		hdrs[n++] = nv("grpc-timeout", tmo);
	}
	for (size_t i = 0; i + 1 < c->nmd; i += 2)
		hdrs[n++] = nv(c->md[i], c->md[i + 1]);
	nghttp2_data_provider prd = { .source.ptr = c, .read_callback = read_body };
	int32_t id = nghttp2_submit_request(ch->h2, NULL, hdrs, n, &prd, c);
	if (hdrs != fixed)
		free(hdrs); /* nghttp2 copied them */
	if (id < 0) {
		/* Stream ids run out after about a billion calls on one connection. */
		call_fail_later(c, GRPC_UNAVAILABLE, nghttp2_strerror(id));
		return;
	}
	c->stream_id = id;
	c->sent = true;
	c->deferred = false;
}

/* --- HTTP/2 response ---------------------------------------------------------------- */

static struct grpc_call *stream_call(nghttp2_session *s, int32_t id)
{
	return nghttp2_session_get_stream_user_data(s, id);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* grpc-message is percent-encoded. */
static char *percent_decode(const uint8_t *v, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (v[i] == '%' && i + 2 < len && (hi = hexval((char)v[i + 1])) >= 0 &&
		    (lo = hexval((char)v[i + 2])) >= 0) {
			out[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[j++] = (char)v[i];
		}
	}
	out[j] = 0;
	return out;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
	struct grpc_call *c;
	if (frame->hd.type != NGHTTP2_HEADERS || !(c = stream_call(s, frame->hd.stream_id)))
		return 0;
#define IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, namelen) == 0)
	if (IS(":status")) {
		int st = 0;
		for (size_t i = 0; i < valuelen && i < 4; i++)
			st = st * 10 + (value[i] >= '0' && value[i] <= '9' ? value[i] - '0' : 0);
		c->http_status = st;
	} else if (IS("grpc-status")) {
		int st = 0;
		bool ok = valuelen > 0 && valuelen < 4;
		for (size_t i = 0; ok && i < valuelen; i++) {
			if (value[i] < '0' || value[i] > '9')
				ok = false;
			else
				st = st * 10 + value[i] - '0';
		}
		c->grpc_status = ok ? st : GRPC_UNKNOWN;
	} else if (IS("grpc-message")) {
		free(c->grpc_message);
		c->grpc_message = percent_decode(value, valuelen);
	} else if (IS("content-type")) {
		static const char want[] = "application/grpc";
		c->bad_content_type =
		    valuelen < sizeof(want) - 1 || memcmp(value, want, sizeof(want) - 1) != 0;
	}
#undef IS
	return 0;
}

/* Splits the bytes received so far into messages and hands each to on_msg.
 * Returns false when the call ended (malformed input, or cancelled by the callback). */
static bool deliver_messages(struct grpc_call *c)
{
	struct grpc_chan *ch = c->ch;
	while (c->in.len - c->in_off >= 5) {
		const uint8_t *p = (const uint8_t *)c->in.data + c->in_off;
		uint32_t len =
		    (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
		if (p[0] != 0) {
			call_finishf(c, GRPC_INTERNAL,
			             "%s: compressed message (flag %u) not supported", c->path,
			             p[0]);
			return false;
		}
		if (len > ch->max_msg) {
			call_finishf(c, GRPC_RESOURCE_EXHAUSTED,
			             "%s: message of %u bytes exceeds the limit of %zu", c->path,
			             len, ch->max_msg);
			return false;
		}
		if (c->in.len - c->in_off - 5 < len)
			break;
		c->nmsgs++;
		if (c->o.on_msg) {
			c->busy++;
			c->o.on_msg(c, p + 5, len, c->o.arg);
			c->busy--;
			if (c->cancel_pending) {
				call_finish(c, GRPC_CANCELLED, NULL, false);
				return false;
			}
		}
		c->in_off += 5 + len;
	}
	if (c->in_off == c->in.len) {
		buf_reset(&c->in);
		c->in_off = 0;
	} else if (c->in_off > (64u << 10)) {
		memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	return true;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user)
{
	struct grpc_call *c = stream_call(s, stream_id);
	if (!c)
		return 0;
	if (c->in.len - c->in_off + len > c->ch->max_msg + 5 + (64u << 10)) {
		call_finishf(c, GRPC_RESOURCE_EXHAUSTED, "%s: reply larger than %zu bytes", c->path,
		             c->ch->max_msg);
		return 0;
	}
	buf_add(&c->in, data, len);
	deliver_messages(c);
	return 0;
}

static int http_to_grpc(int http)
{
	switch (http) {
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_UNKNOWN;
	}
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *user)
{
	struct grpc_call *c = stream_call(s, stream_id);
	if (!c)
		return 0;
	nghttp2_session_set_stream_user_data(s, stream_id, NULL);
	c->stream_id = 0;
	if (c->grpc_status < 0 && error_code != NGHTTP2_NO_ERROR) {
		int code = error_code == NGHTTP2_REFUSED_STREAM ? GRPC_UNAVAILABLE
		           : error_code == NGHTTP2_CANCEL       ? GRPC_CANCELLED
		                                                : GRPC_INTERNAL;
		call_finishf(c, code, "%s: stream reset by the server: %s", c->path,
		             nghttp2_http2_strerror(error_code));
	} else if (c->http_status != 200) {
		call_finishf(c, http_to_grpc(c->http_status), "%s: HTTP status %d", c->path,
		             c->http_status);
	} else if (c->bad_content_type) {
		call_finishf(c, GRPC_UNKNOWN, "%s: reply is not application/grpc", c->path);
	} else if (c->grpc_status < 0) {
		call_finishf(c, GRPC_INTERNAL, "%s: reply ended without grpc-status", c->path);
	} else if (c->grpc_status == GRPC_OK && c->in.len != c->in_off) {
		call_finishf(c, GRPC_INTERNAL, "%s: reply ended inside a message", c->path);
	} else {
		char *m = c->grpc_message;
		c->grpc_message = NULL;
		call_finish(c, c->grpc_status, m, true);
		free(m);
	}
	return 0;
}

/* --- connection ------------------------------------------------------------------------ */

static void try_connect(struct grpc_chan *ch);

static void close_conn(struct grpc_chan *ch)
{
	if (ch->fd >= 0) {
		loop_del_fd(ch->loop, ch->fd);
		close(ch->fd);
		ch->fd = -1;
	}
	if (ch->h2) {
		/* Streams are forgotten first so nghttp2 calls back into no call. */
		for (struct grpc_call *c = ch->calls; c; c = c->next)
			call_detach_stream(c, false);
		nghttp2_session_del(ch->h2);
		ch->h2 = NULL;
	}
	buf_reset(&ch->wbuf);
	ch->woff = 0;
	ch->want_out = false;
	ch->broken = false;
}

static uint64_t jitter(struct grpc_chan *ch, uint64_t ms)
{
	/* xorshift: +-20% so that many clients do not reconnect in step */
	ch->rnd ^= ch->rnd << 13;
	ch->rnd ^= ch->rnd >> 17;
	ch->rnd ^= ch->rnd << 5;
	uint64_t span = ms * 2 / 5;
	return ms - ms / 5 + (span ? ch->rnd % (span + 1) : 0);
}

/*
 * The connection failed or ended: calls on it fail with UNAVAILABLE (their requests may
 * or may not have reached the server), calls not yet sent fail too unless they wait for
 * ready, and a reconnect is scheduled.
 */
static void conn_fail(struct grpc_chan *ch, const char *why)
{
	bool was_ready = ch->state == GRPC_READY;
	close_conn(ch);
	log_debug("%s: %s; retrying in %llu ms", ch->target, why,
	          (unsigned long long)ch->backoff_ms);
	if (was_ready)
		log_info("%s: connection lost: %s", ch->target, why);
	loop_timer_arm(ch->loop, &ch->timer, jitter(ch, ch->backoff_ms));
	ch->backoff_ms = MIN(ch->backoff_ms * 2, ch->backoff_max);
	set_state(ch, GRPC_BACKOFF);
	/* Mark first, then finish marked calls one at a time from the head: an on_done may
	 * start calls (unmarked, they fail from their timers) or cancel marked ones, so no
	 * pointer into the list is held across a callback. */
	for (struct grpc_call *c = ch->calls; c; c = c->next)
		/* wait-for-ready covers waiting for a connection, not a request already
		 * sent on one: the server may have acted on it */
		c->doomed = !c->fail_msg && (c->sent || !(c->o.flags & GRPC_WAIT_FOR_READY));
	for (;;) {
		struct grpc_call *c = ch->calls;
		while (c && !c->doomed)
			c = c->next;
		if (!c)
			break;
		c->doomed = false;
		call_finishf(c, GRPC_UNAVAILABLE, "%s: %s: %s", c->path, ch->target, why);
	}
}

static ssize_t h2_send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                          void *user)
{
	return NGHTTP2_ERR_WOULDBLOCK; /* unused: we drive nghttp2_session_mem_send */
}

static void fail_later(struct grpc_chan *ch, const char *why)
{
	if (ch->broken)
		return;
	ch->broken = true;
	snprintf(ch->broken_why, sizeof(ch->broken_why), "%s", why);
	loop_timer_arm(ch->loop, &ch->timer, 0);
}

/* Moves bytes from nghttp2 to the socket until either runs dry. Called from the owner's
 * calls too, so it never ends calls itself: failures go through fail_later. */
static void flush(struct grpc_chan *ch)
{
	if (!ch->h2 || ch->fd < 0 || ch->in_recv || ch->broken)
		return;
	for (;;) {
		if (ch->woff == ch->wbuf.len) {
			buf_reset(&ch->wbuf);
			ch->woff = 0;
			const uint8_t *p;
			ssize_t n = 0;
			while (ch->wbuf.len < WRITE_CHUNK &&
			       (n = nghttp2_session_mem_send(ch->h2, &p)) > 0)
				buf_add(&ch->wbuf, p, (size_t)n);
			if (n < 0) {
				fail_later(ch, nghttp2_strerror((int)n));
				return;
			}
			if (ch->wbuf.len == 0)
				break;
		}
		ssize_t w =
		    send(ch->fd, ch->wbuf.data + ch->woff, ch->wbuf.len - ch->woff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			fail_later(ch, strerror(errno));
			return;
		}
		ch->woff += (size_t)w;
	}
	bool want_out = ch->woff < ch->wbuf.len;
	if (want_out != ch->want_out) {
		ch->want_out = want_out;
		loop_mod_fd(ch->loop, ch->fd, EPOLLIN | (want_out ? EPOLLOUT : 0));
	}
	if (!nghttp2_session_want_read(ch->h2) && !nghttp2_session_want_write(ch->h2) && !want_out)
		fail_later(ch, "the server closed the session (GOAWAY)");
}

static void on_readable(struct grpc_chan *ch)
{
	uint8_t buf[16384];
	for (;;) {
		ssize_t n = recv(ch->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			conn_fail(ch, strerror(errno));
			return;
		}
		if (n == 0) {
			conn_fail(ch, "connection closed by the server");
			return;
		}
		ch->in_recv++;
		ssize_t r = nghttp2_session_mem_recv(ch->h2, buf, (size_t)n);
		ch->in_recv--;
		if (r < 0) {
			char why[128];
			snprintf(why, sizeof(why), "bad HTTP/2 from the server: %s",
			         nghttp2_strerror((int)r));
			conn_fail(ch, why);
			return;
		}
		if (ch->fd < 0)
			return;
	}
}

static void on_connected(struct grpc_chan *ch);

static void on_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct grpc_chan *ch = arg;
	if (ch->state == GRPC_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_fail(ch, strerror(err));
			return;
		}
		on_connected(ch);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(ch);
	if (ch->fd >= 0)
		flush(ch);
}

static void on_connected(struct grpc_chan *ch)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_send_callback(cbs, h2_send_cb);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	int r = nghttp2_session_client_new(&ch->h2, cbs, ch);
	nghttp2_session_callbacks_del(cbs);
	if (r != 0) {
		conn_fail(ch, nghttp2_strerror(r));
		return;
	}
	nghttp2_settings_entry set[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64 << 10 },
	};
	nghttp2_submit_settings(ch->h2, NGHTTP2_FLAG_NONE, set, ARRAY_SIZE(set));
	nghttp2_session_set_local_window_size(ch->h2, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
	if (!ch->is_unix) {
		int one = 1;
		setsockopt(ch->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	loop_timer_disarm(ch->loop, &ch->timer);
	ch->backoff_ms = ch->backoff_min;
	ch->connects++;
	if (ch->connects > 1)
		log_info("%s: connected again", ch->target);
	set_state(ch, GRPC_READY);
	for (struct grpc_call *c = ch->calls; c; c = c->next) {
		if (!c->stream_id && !c->fail_msg)
			call_submit(c);
	}
	flush(ch);
}

static void try_connect(struct grpc_chan *ch)
{
	set_state(ch, GRPC_CONNECTING);
	ch->fd = socket(ch->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ch->fd < 0) {
		conn_fail(ch, strerror(errno));
		return;
	}
	int r = connect(ch->fd, (struct sockaddr *)&ch->addr, ch->addrlen);
	if (r < 0 && errno != EINPROGRESS && errno != EAGAIN) {
		char why[128];
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		conn_fail(ch, why);
		return;
	}
	if (loop_add_fd(ch->loop, ch->fd, EPOLLIN | EPOLLOUT, on_io, ch) < 0) {
		close(ch->fd);
		ch->fd = -1;
		conn_fail(ch, "cannot watch the socket");
		return;
	}
	ch->want_out = true;
	if (r == 0) {
		loop_mod_fd(ch->loop, ch->fd, EPOLLIN);
		ch->want_out = false;
		on_connected(ch);
		return;
	}
	loop_timer_arm(ch->loop, &ch->timer, ch->connect_timeout);
}

static void on_chan_timer(struct loop *l, struct loop_timer *t)
{
	struct grpc_chan *ch = container_of(t, struct grpc_chan, timer);
	if (ch->broken) {
		char why[sizeof(ch->broken_why)];
		snprintf(why, sizeof(why), "%s", ch->broken_why);
		conn_fail(ch, why);
		return;
	}
	if (ch->state == GRPC_CONNECTING) {
		conn_fail(ch, "connect timed out");
		return;
	}
	if (ch->state == GRPC_BACKOFF)
		try_connect(ch);
}

/* --- targets ------------------------------------------------------------------------- */

static int parse_target(struct grpc_chan *ch, const char *t, struct err *e)
{
	const char *path = NULL;
	if (str_has_prefix(t, "unix://"))
		path = t + 7;
	else if (str_has_prefix(t, "unix:"))
		path = t + 5;
	else if (t[0] == '/')
		path = t;
	if (path) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ch->addr;
		if (!path[0] || strlen(path) >= sizeof(un->sun_path))
			return err_set(e, -EINVAL, "grpc target %s: bad unix socket path", t);
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		ch->addrlen = sizeof(*un);
		ch->is_unix = true;
		ch->authority = xstrdup("localhost");
		return 0;
	}
	if (str_has_prefix(t, "tcp://"))
		t += 6;
	else if (str_has_prefix(t, "dns:///"))
		t += 7;
	_cleanup_free_ char *host = NULL;
	const char *port;
	if (t[0] == '[') {
		const char *end = strchr(t, ']');
		if (!end || end[1] != ':')
			return err_set(e, -EINVAL, "grpc target %s: expected [address]:port", t);
		host = xstrndup(t + 1, (size_t)(end - t - 1));
		port = end + 2;
	} else {
		const char *colon = strrchr(t, ':');
		if (!colon || colon == t)
			return err_set(e, -EINVAL,
			               "grpc target %s: expected host:port or unix:/path", t);
		host = xstrndup(t, (size_t)(colon - t));
		port = colon + 1;
	}
	uint64_t pn;
	if (!parse_u64(port, &pn) || pn == 0 || pn > 65535)
		return err_set(e, -EINVAL, "grpc target %s: bad port '%s'", t, port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0 || !res)
		return err_set(e, -EHOSTUNREACH, "grpc target %s: resolve %s: %s", t, host,
		               gai_strerror(r));
	memcpy(&ch->addr, res->ai_addr, res->ai_addrlen);
	ch->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	ch->authority = xstrdup(t);
	return 0;
}

int grpc_chan_new(struct loop *l, const struct grpc_chan_opts *o, struct grpc_chan **out,
                  struct err *e)
{
	struct grpc_chan *ch = xcalloc(1, sizeof(*ch));
	int r;

	ch->loop = l;
	ch->fd = -1;
	if (!o->target || !o->target[0]) {
		free(ch);
		return err_set(e, -EINVAL, "grpc: no target");
	}
	ch->target = xstrdup(o->target);
	if ((r = parse_target(ch, o->target, e)) < 0) {
		free(ch->target);
		free(ch->authority);
		free(ch);
		return r;
	}
	if (o->authority) {
		free(ch->authority);
		ch->authority = xstrdup(o->authority);
	}
	ch->backoff_min = o->backoff_min_ms ? o->backoff_min_ms : 100;
	ch->backoff_max = MAX(o->backoff_max_ms ? o->backoff_max_ms : 5000, ch->backoff_min);
	ch->backoff_ms = ch->backoff_min;
	ch->connect_timeout = o->connect_timeout_ms ? o->connect_timeout_ms : 5000;
	ch->max_msg = o->max_recv_msg ? o->max_recv_msg : DEFAULT_MAX_MSG;
	ch->on_state = o->on_state;
	ch->arg = o->arg;
	ch->rnd = (uint32_t)time_mono_us() | 1;
	ch->state = GRPC_BACKOFF;
	loop_timer_init(&ch->timer, on_chan_timer);
	try_connect(ch);
	*out = ch;
	return 0;
}

void grpc_chan_free(struct grpc_chan *ch)
{
	if (!ch)
		return;
	loop_timer_disarm(ch->loop, &ch->timer);
	ch->closing = true;
	close_conn(ch);
	ch->on_state = NULL;
	while (ch->calls)
		call_finishf(ch->calls, GRPC_CANCELLED, "%s: channel closed", ch->calls->path);
	buf_free(&ch->wbuf);
	free(ch->target);
	free(ch->authority);
	free(ch);
}

enum grpc_state grpc_chan_state(const struct grpc_chan *ch)
{
	return ch->state;
}

uint64_t grpc_chan_connects(const struct grpc_chan *ch)
{
	return ch->connects;
}

struct loop *grpc_chan_loop(const struct grpc_chan *ch)
{
	return ch->loop;
}

/* --- calls ------------------------------------------------------------------------------ */

int grpc_call_start(struct grpc_chan *ch, const char *path, const struct grpc_call_opts *o,
                    struct grpc_call **out)
{
	if (!ch || !path || path[0] != '/' || !o)
		return -EINVAL;
	if (ch->closing)
		return -ESHUTDOWN;
	struct grpc_call *c = xcalloc(1, sizeof(*c));
	c->ch = ch;
	c->path = xstrdup(path);
	c->o = *o;
	c->o.metadata = NULL;
	for (const char *const *m = o->metadata; m && m[0] && m[1]; m += 2) {
		c->md = xrealloc(c->md, (c->nmd + 3) * sizeof(*c->md));
		c->md[c->nmd++] = xstrdup(m[0]);
		c->md[c->nmd++] = xstrdup(m[1]);
		c->md[c->nmd] = NULL;
	}
	c->grpc_status = -1;
	loop_timer_init(&c->timer, on_call_timer);
	if (o->timeout_ms) {
		c->deadline = time_mono_ms() + o->timeout_ms;
		loop_timer_arm(ch->loop, &c->timer, o->timeout_ms);
	}
	/* append, so calls go out in the order they were made */
	struct grpc_call **pp = &ch->calls, *prev = NULL;
	while (*pp) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = c;
	c->prev = prev;
	if (ch->state == GRPC_READY)
		call_submit(c);
	else if (ch->state == GRPC_BACKOFF && !(o->flags & GRPC_WAIT_FOR_READY))
		call_fail_later(c, GRPC_UNAVAILABLE, "not connected (reconnecting with back-off)");
	if (out)
		*out = c;
	return 0;
}

int grpc_call_send(struct grpc_call *c, const void *msg, size_t len)
{
	if (c->send_closed || len > UINT32_MAX)
		return -EINVAL;
	uint8_t hdr[5] = { 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
		           (uint8_t)len };
	buf_add(&c->out, hdr, 5);
	buf_add(&c->out, msg, len);
	if (c->stream_id > 0 && c->deferred && c->ch->h2) {
		c->deferred = false;
		nghttp2_session_resume_data(c->ch->h2, c->stream_id);
	}
	flush(c->ch);
	return 0;
}

int grpc_call_send_msg(struct grpc_call *c, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = xmalloc(n ? n : 1);
	protobuf_c_message_pack(m, p);
	int r = grpc_call_send(c, p, n);
	free(p);
	return r;
}

int grpc_call_close_send(struct grpc_call *c)
{
	if (c->send_closed)
		return 0;
	c->send_closed = true;
	if (c->stream_id > 0 && c->deferred && c->ch->h2) {
		c->deferred = false;
		nghttp2_session_resume_data(c->ch->h2, c->stream_id);
	}
	flush(c->ch);
	return 0;
}

void grpc_call_cancel(struct grpc_call *c)
{
	if (!c || c->finished)
		return;
	if (c->busy) {
		c->cancel_pending = true;
		return;
	}
	struct grpc_chan *ch = c->ch;
	call_finish(c, GRPC_CANCELLED, NULL, false);
	flush(ch);
}

/* --- protobuf-c convenience ---------------------------------------------------------------- */

struct unary {
	const ProtobufCMessageDescriptor *desc;
	grpc_unary_fn fn;
	void *arg;
	ProtobufCMessage *resp;
	bool bad;
};

static void unary_msg(struct grpc_call *c, const uint8_t *msg, size_t len, void *arg)
{
	struct unary *u = arg;
	if (u->resp || u->bad) {
		u->bad = true; /* a second reply to a unary call */
		return;
	}
	u->resp = protobuf_c_message_unpack(u->desc, NULL, len, msg);
	if (!u->resp)
		u->bad = true;
}

static void unary_done(struct grpc_call *c, int code, const char *msg, void *arg)
{
	struct unary *u = arg;
	char why[256];
	if (code == GRPC_OK && (u->bad || !u->resp)) {
		snprintf(why, sizeof(why), "%s: %s", c->path,
		         u->bad
		             ? (u->resp ? "more than one reply message" : "malformed reply message")
		             : "no reply message");
		code = GRPC_INTERNAL;
		msg = why;
	}
	u->fn(code, msg, code == GRPC_OK ? u->resp : NULL, u->arg);
	if (u->resp)
		protobuf_c_message_free_unpacked(u->resp, NULL);
	free(u);
}

int grpc_unary(struct grpc_chan *ch, const char *path, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, uint64_t timeout_ms, unsigned flags,
               grpc_unary_fn fn, void *arg, struct grpc_call **out)
{
	return grpc_unary_md(ch, path, NULL, req, resp_desc, timeout_ms, flags, fn, arg, out);
}

int grpc_unary_md(struct grpc_chan *ch, const char *path, const char *const *metadata,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                  uint64_t timeout_ms, unsigned flags, grpc_unary_fn fn, void *arg,
                  struct grpc_call **out)
{
	struct grpc_call *c;
	struct unary *u = xcalloc(1, sizeof(*u));
	u->desc = resp_desc;
	u->fn = fn;
	u->arg = arg;
	struct grpc_call_opts o = { .timeout_ms = timeout_ms,
		                    .flags = flags,
		                    .metadata = metadata,
		                    .on_msg = unary_msg,
		                    .on_done = unary_done,
		                    .arg = u };
	int r = grpc_call_start(ch, path, &o, &c);
	if (r < 0) {
		free(u);
		return r;
	}
	grpc_call_send_msg(c, req);
	grpc_call_close_send(c);
	if (out)
		*out = c;
	return 0;
}

struct sync {
	bool done;
	int code;
	char msg[400];
	ProtobufCMessage *resp;
	const ProtobufCMessageDescriptor *desc;
	bool bad;
};

static void sync_msg(struct grpc_call *c, const uint8_t *msg, size_t len, void *arg)
{
	struct sync *s = arg;
	if (s->resp || s->bad) {
		s->bad = true;
		return;
	}
	if (!(s->resp = protobuf_c_message_unpack(s->desc, NULL, len, msg)))
		s->bad = true;
}

static void sync_done(struct grpc_call *c, int code, const char *msg, void *arg)
{
	struct sync *s = arg;
	s->done = true;
	s->code = code;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
	if (code == GRPC_OK && (s->bad || !s->resp)) {
		s->code = GRPC_INTERNAL;
		snprintf(s->msg, sizeof(s->msg), "%s",
		         s->bad ? "malformed or repeated reply message" : "no reply message");
	}
}

int grpc_unary_sync(struct grpc_chan *ch, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, uint64_t timeout_ms,
                    unsigned flags, ProtobufCMessage **resp, int *code, struct err *e)
{
	struct sync s = { .desc = resp_desc };
	struct grpc_call_opts o = { .timeout_ms = timeout_ms,
		                    .flags = flags,
		                    .on_msg = sync_msg,
		                    .on_done = sync_done,
		                    .arg = &s };
	struct grpc_call *c;
	int r = grpc_call_start(ch, path, &o, &c);
	if (r < 0)
		return err_set(e, r, "%s: bad call", path);
	grpc_call_send_msg(c, req);
	grpc_call_close_send(c);
	while (!s.done) {
		if ((r = loop_run_once(ch->loop, 1000)) < 0) {
			grpc_call_cancel(c);
			if (s.resp)
				protobuf_c_message_free_unpacked(s.resp, NULL);
			return err_set(e, r, "%s: event loop failed", path);
		}
	}
	if (code)
		*code = s.code;
	if (s.code != GRPC_OK) {
		if (s.resp)
			protobuf_c_message_free_unpacked(s.resp, NULL);
		return err_set(e, grpc_code_errno(s.code), "%s: %s: %s", path,
		               grpc_code_name(s.code), s.msg);
	}
	*resp = s.resp;
	return 0;
}
