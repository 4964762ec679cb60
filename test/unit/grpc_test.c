/* grpc_test: the gRPC channel against a small nghttp2 server in the same loop: unary and
 * streaming calls, errors, deadlines, malformed replies, lost servers and reconnection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <nghttp2/nghttp2.h>

#include "core/loop/loop.h"
#include "core/util/util.h"
#include "cri/grpc/grpc.h"
#include "test/unit/grpc_test.pb-c.h"

/* --- a tiny gRPC server ---------------------------------------------------------------- */

struct sconn;

struct sstream {
	struct sstream *next; /* in the connection's list, so closing frees them all */
	int32_t id;
	char path[128];
	char meta[64];  /* the x-tug-test header */
	struct buf in;  /* request bytes */
	struct buf out; /* response bytes not yet sent */
	size_t out_off;
	bool req_done, resp_started, resp_done;
	int status;
	const char *message;
};

struct server {
	struct loop *loop;
	int lfd;
	char path[108];
	struct sconn *conns[16];
	int nconns;
	int hangs; /* requests to /test.Echo/Hang seen */
};

struct sconn {
	struct server *srv;
	int fd;
	nghttp2_session *h2;
	bool dead;
	struct buf wbuf; /* bytes the socket did not take yet */
	size_t woff;
	struct sstream *streams;
};

static void sstream_free(struct sstream *st)
{
	buf_free(&st->in);
	buf_free(&st->out);
	free(st);
}

static void sconn_flush(struct sconn *sc);

static ssize_t s_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                      nghttp2_data_source *src, void *user)
{
	struct sstream *st = src->ptr;
	size_t n = MIN(len, st->out.len - st->out_off);
	memcpy(buf, st->out.data + st->out_off, n);
	st->out_off += n;
	if (st->out_off == st->out.len && st->resp_done) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		char code[8];
		snprintf(code, sizeof(code), "%d", st->status);
		nghttp2_nv tr[] = {
			{ (uint8_t *)"grpc-status", (uint8_t *)code, 11, strlen(code), 0 },
			{ (uint8_t *)"grpc-message", (uint8_t *)(st->message ? st->message : ""),
			  12, st->message ? strlen(st->message) : 0, 0 },
		};
		nghttp2_submit_trailer(s, id, tr, 2);
		return (ssize_t)n;
	}
	if (n == 0)
		return NGHTTP2_ERR_DEFERRED;
	return (ssize_t)n;
}

static void frame(struct buf *b, const void *p, size_t n)
{
	uint8_t h[5] = { 0, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	buf_add(b, h, 5);
	buf_add(b, p, n);
}

static void start_response(nghttp2_session *s, struct sstream *st)
{
	nghttp2_nv h[] = {
		{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, 0 },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0 },
	};
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = s_read };
	st->resp_started = true;
	nghttp2_submit_response(s, st->id, h, 2, &prd);
}

/* Called when the request is complete (or, for the stream method, on each change). */
static void handle(struct sconn *sc, struct sstream *st)
{
	nghttp2_session *s = sc->h2;
	const char *m = st->path;
	if (!strcmp(m, "/test.Echo/Stream")) {
		if (!st->resp_started)
			start_response(s, st);
		/* echo every whole message received so far */
		size_t off = 0;
		while (st->in.len - off >= 5) {
			const uint8_t *p = (const uint8_t *)st->in.data + off;
			size_t n =
			    (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
			if (st->in.len - off - 5 < n)
				break;
			buf_add(&st->out, p, 5 + n);
			off += 5 + n;
		}
		if (off) {
			memmove(st->in.data, st->in.data + off, st->in.len - off);
			st->in.len -= off;
		}
		if (st->req_done)
			st->resp_done = true;
		nghttp2_session_resume_data(s, st->id);
		return;
	}
	if (!st->req_done)
		return;
	if (!strcmp(m, "/test.Echo/Unary")) {
		buf_add(&st->out, st->in.data, st->in.len); /* already framed */
	} else if (!strcmp(m, "/test.Echo/Error")) {
		nghttp2_nv h[] = {
			{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, 0 },
			{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0 },
			{ (uint8_t *)"grpc-status", (uint8_t *)"5", 11, 1, 0 },
			{ (uint8_t *)"grpc-message", (uint8_t *)"no%20such%20thing", 12, 17, 0 },
		};
		nghttp2_submit_response(s, st->id, h, 4, NULL); /* trailers-only */
		return;
	} else if (!strcmp(m, "/test.Echo/Meta")) {
		Tugtest__Echo r = TUGTEST__ECHO__INIT;
		uint8_t out[128];
		r.text = st->meta;
		r.n = 42;
		frame(&st->out, out, tugtest__echo__pack(&r, out));
	} else if (!strcmp(m, "/test.Echo/Hang")) {
		sc->srv->hangs++;
		return;
	} else if (!strcmp(m, "/test.Echo/Bad")) {
		frame(&st->out, "\xff\xff\xff\xff", 4); /* not protobuf */
	} else if (!strcmp(m, "/test.Echo/Truncated")) {
		buf_add(&st->out,
		        "\0\0\0\0\x0a"
		        "abc",
		        8); /* says 10 bytes, has 3 */
	} else if (!strcmp(m, "/test.Echo/Huge")) {
		buf_add(&st->out, "\0\x7f\xff\xff\xff", 5); /* says 2 GiB */
	} else if (!strcmp(m, "/test.Echo/Garbage")) {
		/* not HTTP/2 at all: the client must drop the connection */
		/* a SETTINGS frame whose length is not a multiple of 6: a connection error */
		ssize_t w =
		    write(sc->fd, "\x00\x00\x05\x04\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05", 14);
		(void)w;
		return;
	} else {
		nghttp2_nv h[] = {
			{ (uint8_t *)":status", (uint8_t *)"404", 7, 3, 0 },
		};
		nghttp2_submit_response(s, st->id, h, 1, NULL);
		return;
	}
	st->status = 0;
	st->resp_done = true;
	start_response(s, st);
}

static int s_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct sconn *sc = user;
	struct sstream *st = xcalloc(1, sizeof(*st));
	st->id = f->hd.stream_id;
	st->next = sc->streams;
	sc->streams = st;
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
	return 0;
}

static int s_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                    const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
	struct sstream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (st && nl == 5 && !memcmp(name, ":path", 5))
		snprintf(st->path, sizeof(st->path), "%.*s", (int)vl, (const char *)value);
	if (st && nl == 10 && !memcmp(name, "x-tug-test", 10))
		snprintf(st->meta, sizeof(st->meta), "%.*s", (int)vl, (const char *)value);
	return 0;
}

static int s_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                  void *user)
{
	struct sstream *st = nghttp2_session_get_stream_user_data(s, id);
	if (st)
		buf_add(&st->in, d, n);
	return 0;
}

static int s_frame(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct sconn *sc = user;
	struct sstream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (!st || (f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS))
		return 0;
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
		st->req_done = true;
	handle(sc, st);
	return 0;
}

static int s_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct sconn *sc = user;
	struct sstream *st = nghttp2_session_get_stream_user_data(s, id);
	for (struct sstream **pp = &sc->streams; st && *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			sstream_free(st);
			break;
		}
	}
	return 0;
}

static void sconn_close(struct sconn *sc)
{
	struct server *srv = sc->srv;
	loop_del_fd(srv->loop, sc->fd);
	close(sc->fd);
	nghttp2_session_del(sc->h2);
	buf_free(&sc->wbuf);
	while (sc->streams) {
		struct sstream *n = sc->streams->next;
		sstream_free(sc->streams);
		sc->streams = n;
	}
	for (int i = 0; i < srv->nconns; i++) {
		if (srv->conns[i] == sc) {
			srv->conns[i] = srv->conns[--srv->nconns];
			break;
		}
	}
	free(sc);
}

static void sconn_flush(struct sconn *sc)
{
	const uint8_t *p;
	ssize_t n;
	/* Both ends share one thread, so the server must never block on a full socket. */
	for (;;) {
		if (sc->woff == sc->wbuf.len) {
			buf_reset(&sc->wbuf);
			sc->woff = 0;
			while (sc->wbuf.len < 65536 &&
			       (n = nghttp2_session_mem_send(sc->h2, &p)) > 0)
				buf_add(&sc->wbuf, p, (size_t)n);
			if (!sc->wbuf.len)
				break;
		}
		ssize_t w = send(sc->fd, sc->wbuf.data + sc->woff, sc->wbuf.len - sc->woff,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			sc->dead = true;
			return;
		}
		sc->woff += (size_t)w;
	}
	loop_mod_fd(sc->srv->loop, sc->fd, EPOLLIN | (sc->woff < sc->wbuf.len ? EPOLLOUT : 0));
}

static void on_sconn(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct sconn *sc = arg;
	uint8_t buf[16384];
	if (ev & EPOLLIN) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		bool again = n < 0 && errno == EAGAIN;
		if (!again && (n <= 0 || nghttp2_session_mem_recv(sc->h2, buf, (size_t)n) < 0)) {
			sconn_close(sc);
			return;
		}
	}
	sconn_flush(sc);
	if (sc->dead)
		sconn_close(sc);
}

static void on_accept(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct server *srv = arg;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	struct sconn *sc = xcalloc(1, sizeof(*sc));
	sc->srv = srv;
	sc->fd = c;
	nghttp2_session_callbacks *cbs;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, s_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, s_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, s_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, s_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, s_close);
	nghttp2_session_server_new(&sc->h2, cbs, sc);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(sc->h2, NGHTTP2_FLAG_NONE, NULL, 0);
	srv->conns[srv->nconns++] = sc;
	loop_add_fd(l, c, EPOLLIN, on_sconn, sc);
	sconn_flush(sc);
}

/* Listens on a unix socket (path set) or on 127.0.0.1 (port returned). */
static int server_start(struct server *srv, struct loop *l, const char *path)
{
	int port = 0;
	srv->loop = l;
	if (path) {
		struct sockaddr_un un = { .sun_family = AF_UNIX };
		snprintf(srv->path, sizeof(srv->path), "%s", path);
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
		unlink(path);
		srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(bind(srv->lfd, (struct sockaddr *)&un, sizeof(un)), 0);
	} else {
		struct sockaddr_in in = { .sin_family = AF_INET,
			                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(in);
		srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(bind(srv->lfd, (struct sockaddr *)&in, sizeof(in)), 0);
		getsockname(srv->lfd, (struct sockaddr *)&in, &len);
		port = ntohs(in.sin_port);
	}
	assert_int_equal(listen(srv->lfd, 16), 0);
	loop_add_fd(l, srv->lfd, EPOLLIN, on_accept, srv);
	return port;
}

static void server_stop(struct server *srv)
{
	while (srv->nconns)
		sconn_close(srv->conns[0]);
	loop_del_fd(srv->loop, srv->lfd);
	close(srv->lfd);
	if (srv->path[0])
		unlink(srv->path);
}

/* --- fixtures ---------------------------------------------------------------------------- */

struct fx {
	struct loop *loop;
	struct server srv;
	struct grpc_chan *ch;
	char dir[64], sock[128];
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tug-grpc-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/s.sock", f->dir);
	assert_int_equal(loop_new(&f->loop), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	grpc_chan_free(f->ch);
	if (f->srv.lfd > 0)
		server_stop(&f->srv);
	loop_free(f->loop);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void chan(struct fx *f, const char *target)
{
	struct grpc_chan_opts o = { .target = target, .backoff_min_ms = 20, .backoff_max_ms = 100 };
	struct err e = { 0 };
	assert_int_equal(grpc_chan_new(f->loop, &o, &f->ch, &e), 0);
}

/* Runs the loop until *flag is set or about 5 s pass. */
static void run_until(struct fx *f, const bool *flag)
{
	uint64_t end = time_mono_ms() + 5000;
	while (!*flag && time_mono_ms() < end)
		loop_run_once(f->loop, 50);
	assert_true(*flag);
}

static int echo_call(struct fx *f, const char *path, const char *text, uint64_t tmo, unsigned flags,
                     char *out_text, size_t out_len, struct err *e)
{
	Tugtest__Echo req = TUGTEST__ECHO__INIT, *resp = NULL;
	req.text = (char *)text;
	req.n = 42;
	int r = grpc_unary_sync(f->ch, path, &req.base, &tugtest__echo__descriptor, tmo, flags,
	                        (ProtobufCMessage **)&resp, NULL, e);
	if (r == 0) {
		assert_int_equal(resp->n, 42);
		snprintf(out_text, out_len, "%s", resp->text);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
	return r;
}

/* --- tests ---------------------------------------------------------------------------------- */

static void test_unary_call_echoes_the_request_over_a_unix_socket(void **state)
{
	struct fx *f = *state;
	char got[64];
	struct err e = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "hello", 2000, 0, got, sizeof(got), &e),
	                 0);
	assert_string_equal(got, "hello");
	assert_int_equal(grpc_chan_state(f->ch), GRPC_READY);
}

static void test_unary_call_works_over_tcp(void **state)
{
	struct fx *f = *state;
	char got[64], target[64];
	struct err e = { 0 };
	int port = server_start(&f->srv, f->loop, NULL);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	chan(f, target);
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "tcp", 2000, 0, got, sizeof(got), &e), 0);
	assert_string_equal(got, "tcp");
}

static void test_server_status_and_decoded_message_reach_the_caller(void **state)
{
	struct fx *f = *state;
	char got[64];
	struct err e = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	assert_int_equal(echo_call(f, "/test.Echo/Error", "x", 2000, 0, got, sizeof(got), &e),
	                 -ENOENT);
	assert_non_null(strstr(e.msg, "NOT_FOUND: no such thing"));
	assert_int_equal(echo_call(f, "/test.Echo/Nope", "x", 2000, 0, got, sizeof(got), &e),
	                 -ENOSYS);
	assert_non_null(strstr(e.msg, "HTTP status 404"));
}

struct metarec {
	bool done;
	int code;
	char text[64];
};

static void meta_done(int code, const char *msg, ProtobufCMessage *resp, void *arg)
{
	struct metarec *r = arg;
	r->done = true;
	r->code = code;
	if (resp)
		snprintf(r->text, sizeof(r->text), "%s", ((Tugtest__Echo *)resp)->text);
}

static void test_call_metadata_reaches_the_server(void **state)
{
	struct fx *f = *state;
	struct metarec r = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	const char *md[] = { "x-tug-test", "k8s.io", NULL };
	Tugtest__Echo req = TUGTEST__ECHO__INIT;
	assert_int_equal(grpc_unary_md(f->ch, "/test.Echo/Meta", md, &req.base,
	                               &tugtest__echo__descriptor, 2000, GRPC_WAIT_FOR_READY,
	                               meta_done, &r, NULL),
	                 0);
	run_until(f, &r.done);
	assert_int_equal(r.code, GRPC_OK);
	assert_string_equal(r.text, "k8s.io");
}

static void test_deadline_ends_a_call_the_server_never_answers(void **state)
{
	struct fx *f = *state;
	char got[64];
	struct err e = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	uint64_t t0 = time_mono_ms();
	assert_int_equal(echo_call(f, "/test.Echo/Hang", "x", 100, 0, got, sizeof(got), &e),
	                 -ETIMEDOUT);
	assert_true(time_mono_ms() - t0 >= 100);
	assert_non_null(strstr(e.msg, "DEADLINE_EXCEEDED"));
	assert_int_equal(f->srv.hangs, 1);
	/* the connection is still good for the next call */
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "after", 2000, 0, got, sizeof(got), &e),
	                 0);
	assert_string_equal(got, "after");
	assert_int_equal(grpc_chan_connects(f->ch), 1);
}

struct streamrec {
	char got[8][16];
	int n;
	bool done;
	int code;
	struct grpc_call *call;
};

static void stream_msg(struct grpc_call *c, const uint8_t *msg, size_t len, void *arg)
{
	struct streamrec *r = arg;
	Tugtest__Echo *m = tugtest__echo__unpack(NULL, len, msg);
	assert_non_null(m);
	if (r->n < 8)
		snprintf(r->got[r->n++], 16, "%s", m->text);
	tugtest__echo__free_unpacked(m, NULL);
}

static void stream_done(struct grpc_call *c, int code, const char *msg, void *arg)
{
	struct streamrec *r = arg;
	r->done = true;
	r->code = code;
}

static void send_text(struct grpc_call *c, const char *text)
{
	Tugtest__Echo m = TUGTEST__ECHO__INIT;
	m.text = (char *)text;
	assert_int_equal(grpc_call_send_msg(c, &m.base), 0);
}

static void test_bidi_stream_answers_each_message_as_it_is_sent(void **state)
{
	struct fx *f = *state;
	struct streamrec r = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	struct grpc_call_opts o = {
		.timeout_ms = 5000, .on_msg = stream_msg, .on_done = stream_done, .arg = &r
	};
	assert_int_equal(grpc_call_start(f->ch, "/test.Echo/Stream", &o, &r.call), 0);
	send_text(r.call, "one");
	uint64_t end = time_mono_ms() + 5000;
	while (r.n < 1 && time_mono_ms() < end)
		loop_run_once(f->loop, 50);
	assert_int_equal(r.n, 1); /* answered before the request side ended */
	send_text(r.call, "two");
	send_text(r.call, "three");
	grpc_call_close_send(r.call);
	run_until(f, &r.done);
	assert_int_equal(r.code, GRPC_OK);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.got[0], "one");
	assert_string_equal(r.got[2], "three");
}

struct many {
	int done, ok;
};

static void many_done(int code, const char *msg, ProtobufCMessage *resp, void *arg)
{
	struct many *m = arg;
	m->done++;
	if (code == GRPC_OK && resp && ((Tugtest__Echo *)resp)->n == 7)
		m->ok++;
}

static void test_many_concurrent_calls_share_one_connection(void **state)
{
	struct fx *f = *state;
	struct many m = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	Tugtest__Echo req = TUGTEST__ECHO__INIT;
	req.text = "x";
	req.n = 7;
	for (int i = 0; i < 200; i++)
		assert_int_equal(grpc_unary(f->ch, "/test.Echo/Unary", &req.base,
		                            &tugtest__echo__descriptor, 5000, GRPC_WAIT_FOR_READY,
		                            many_done, &m, NULL),
		                 0);
	uint64_t end = time_mono_ms() + 5000;
	while (m.done < 200 && time_mono_ms() < end)
		loop_run_once(f->loop, 50);
	assert_int_equal(m.ok, 200);
	assert_int_equal(grpc_chan_connects(f->ch), 1);
	assert_int_equal(f->srv.nconns, 1);
}

static void test_malformed_truncated_and_huge_replies_are_errors(void **state)
{
	struct fx *f = *state;
	char got[64];
	struct err e = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	assert_int_equal(echo_call(f, "/test.Echo/Bad", "x", 2000, 0, got, sizeof(got), &e), -EIO);
	assert_non_null(strstr(e.msg, "INTERNAL"));
	assert_int_equal(echo_call(f, "/test.Echo/Truncated", "x", 2000, 0, got, sizeof(got), &e),
	                 -EIO);
	assert_non_null(strstr(e.msg, "inside a message"));
	assert_int_equal(echo_call(f, "/test.Echo/Huge", "x", 2000, 0, got, sizeof(got), &e),
	                 -ENOSPC);
	assert_non_null(strstr(e.msg, "RESOURCE_EXHAUSTED"));
	/* none of that broke the connection */
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "ok", 2000, 0, got, sizeof(got), &e), 0);
	assert_int_equal(grpc_chan_connects(f->ch), 1);
}

static void test_garbage_http2_fails_the_call_and_the_channel_reconnects(void **state)
{
	struct fx *f = *state;
	char got[64];
	struct err e = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	assert_int_equal(echo_call(f, "/test.Echo/Garbage", "x", 2000, 0, got, sizeof(got), &e),
	                 -ECONNREFUSED);
	assert_non_null(strstr(e.msg, "UNAVAILABLE"));
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "again", 3000, GRPC_WAIT_FOR_READY, got,
	                           sizeof(got), &e),
	                 0);
	assert_string_equal(got, "again");
	assert_int_equal(grpc_chan_connects(f->ch), 2);
}

static void test_no_server_fails_fast_unless_waiting_for_ready(void **state)
{
	struct fx *f = *state;
	char got[64];
	struct err e = { 0 };
	chan(f, f->sock); /* nothing listens yet */
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "x", 2000, 0, got, sizeof(got), &e),
	                 -ECONNREFUSED);
	assert_int_equal(grpc_chan_state(f->ch), GRPC_BACKOFF);
	/* a waiting call succeeds once a server appears */
	struct many m = { 0 };
	Tugtest__Echo req = TUGTEST__ECHO__INIT;
	req.text = "late";
	req.n = 7;
	assert_int_equal(grpc_unary(f->ch, "/test.Echo/Unary", &req.base,
	                            &tugtest__echo__descriptor, 5000, GRPC_WAIT_FOR_READY,
	                            many_done, &m, NULL),
	                 0);
	for (int i = 0; i < 3; i++)
		loop_run_once(f->loop, 30);
	assert_int_equal(m.done, 0);
	server_start(&f->srv, f->loop, f->sock);
	uint64_t end = time_mono_ms() + 5000;
	while (!m.done && time_mono_ms() < end)
		loop_run_once(f->loop, 50);
	assert_int_equal(m.ok, 1);
	/* a waiting call still honours its deadline (made once the client saw the server go:
	 * a request already sent on a connection that then fails is not sent again) */
	server_stop(&f->srv);
	f->srv.lfd = 0;
	end = time_mono_ms() + 5000;
	while (grpc_chan_state(f->ch) == GRPC_READY && time_mono_ms() < end)
		loop_run_once(f->loop, 50);
	assert_int_equal(
	    echo_call(f, "/test.Echo/Unary", "x", 150, GRPC_WAIT_FOR_READY, got, sizeof(got), &e),
	    -ETIMEDOUT);
}

static void test_server_restart_is_followed_by_reconnect(void **state)
{
	struct fx *f = *state;
	char got[64];
	struct err e = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "a", 2000, 0, got, sizeof(got), &e), 0);
	/* a call in flight when the server goes away fails with UNAVAILABLE, even one that
	 * waits for ready: it was sent, and is not sent twice */
	struct many m = { 0 };
	Tugtest__Echo req = TUGTEST__ECHO__INIT;
	req.text = "x";
	assert_int_equal(grpc_unary(f->ch, "/test.Echo/Hang", &req.base, &tugtest__echo__descriptor,
	                            5000, GRPC_WAIT_FOR_READY, many_done, &m, NULL),
	                 0);
	while (f->srv.hangs == 0)
		loop_run_once(f->loop, 50);
	server_stop(&f->srv);
	uint64_t end = time_mono_ms() + 5000;
	while (!m.done && time_mono_ms() < end)
		loop_run_once(f->loop, 50);
	assert_int_equal(m.done, 1);
	assert_int_equal(m.ok, 0);
	server_start(&f->srv, f->loop, f->sock);
	assert_int_equal(
	    echo_call(f, "/test.Echo/Unary", "b", 3000, GRPC_WAIT_FOR_READY, got, sizeof(got), &e),
	    0);
	assert_string_equal(got, "b");
	assert_int_equal(grpc_chan_connects(f->ch), 2);
}

static void test_a_call_made_as_the_server_vanishes_fails_later_not_inside_the_call(void **state)
{
	struct fx *f = *state;
	char got[64];
	struct err e = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "a", 2000, 0, got, sizeof(got), &e), 0);
	server_stop(&f->srv); /* the client has not noticed yet: its next write fails */
	f->srv.lfd = 0;
	struct many m = { 0 };
	Tugtest__Echo req = TUGTEST__ECHO__INIT;
	req.text = "x";
	for (int i = 0; i < 3; i++)
		assert_int_equal(grpc_unary(f->ch, "/test.Echo/Unary", &req.base,
		                            &tugtest__echo__descriptor, 2000, 0, many_done, &m,
		                            NULL),
		                 0);
	assert_int_equal(m.done, 0); /* no callback ran inside grpc_unary */
	uint64_t end = time_mono_ms() + 5000;
	while (m.done < 3 && time_mono_ms() < end)
		loop_run_once(f->loop, 50);
	assert_int_equal(m.done, 3);
	assert_int_equal(m.ok, 0);
}

struct restart {
	struct grpc_chan *ch;
	int code, again;
};

static void start_again(struct grpc_call *c, int code, const char *msg, void *arg)
{
	struct restart *r = arg;
	struct grpc_call_opts o = { .on_done = start_again, .arg = r };
	r->code = code;
	r->again = grpc_call_start(r->ch, "/test.Echo/Hang", &o, NULL);
}

static void test_freeing_a_channel_cancels_calls_and_refuses_new_ones(void **state)
{
	struct fx *f = *state;
	struct restart r = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	r.ch = f->ch;
	struct grpc_call_opts o = { .on_done = start_again, .arg = &r };
	struct grpc_call *c;
	assert_int_equal(grpc_call_start(f->ch, "/test.Echo/Hang", &o, &c), 0);
	grpc_call_close_send(c);
	for (int i = 0; i < 3; i++)
		loop_run_once(f->loop, 20);
	grpc_chan_free(f->ch);
	f->ch = NULL;
	assert_int_equal(r.code, GRPC_CANCELLED);
	assert_int_equal(r.again, -ESHUTDOWN);
}

static void test_cancelled_call_never_calls_back(void **state)
{
	struct fx *f = *state;
	struct streamrec r = { 0 };
	char got[64];
	struct err e = { 0 };
	server_start(&f->srv, f->loop, f->sock);
	chan(f, f->sock);
	struct grpc_call_opts o = { .timeout_ms = 100, .on_done = stream_done, .arg = &r };
	assert_int_equal(grpc_call_start(f->ch, "/test.Echo/Hang", &o, &r.call), 0);
	grpc_call_close_send(r.call);
	loop_run_once(f->loop, 20);
	grpc_call_cancel(r.call);
	for (int i = 0; i < 5; i++)
		loop_run_once(f->loop, 40);
	assert_false(r.done);
	assert_int_equal(echo_call(f, "/test.Echo/Unary", "c", 2000, 0, got, sizeof(got), &e), 0);
}

static void test_bad_targets_are_refused_with_a_reason(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	struct grpc_chan *ch = NULL;
	struct grpc_chan_opts o = { .target = "localhost" };
	assert_int_equal(grpc_chan_new(f->loop, &o, &ch, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "host:port"));
	o.target = "127.0.0.1:99999";
	assert_int_equal(grpc_chan_new(f->loop, &o, &ch, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "bad port"));
	o.target = "unix:";
	assert_int_equal(grpc_chan_new(f->loop, &o, &ch, &e), -EINVAL);
	assert_string_equal(grpc_code_name(GRPC_UNAVAILABLE), "UNAVAILABLE");
	assert_string_equal(grpc_code_name(99), "CODE_99");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_unary_call_echoes_the_request_over_a_unix_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unary_call_works_over_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_server_status_and_decoded_message_reach_the_caller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_metadata_reaches_the_server, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_deadline_ends_a_call_the_server_never_answers,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_bidi_stream_answers_each_message_as_it_is_sent,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_concurrent_calls_share_one_connection,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_malformed_truncated_and_huge_replies_are_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_garbage_http2_fails_the_call_and_the_channel_reconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_server_fails_fast_unless_waiting_for_ready,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_restart_is_followed_by_reconnect, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_call_made_as_the_server_vanishes_fails_later_not_inside_the_call, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_freeing_a_channel_cancels_calls_and_refuses_new_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_call_never_calls_back, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_bad_targets_are_refused_with_a_reason, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
