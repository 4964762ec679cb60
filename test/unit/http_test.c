/* http_test: the HTTP/1.1 server as a client sees it over loopback, and its parser alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core/http/http-internal.h"
#include "core/http/http.h"
#include "core/log/log.h"
#include "core/loop/loop.h"
#include "core/util/util.h"

/* --- a server on its own loop thread ------------------------------------------------ */

struct fixture {
	struct http_tls *tls;
	struct loop *loop;
	struct http_server *srv;
	pthread_t thread;
	int port;
	char file_path[64];
};
static struct fixture fx;

/* What handlers saw, read by the test thread after the fact. */
static int ev_closed, ev_shutdown, ev_drained, shutdown_done;

static void *loop_thread(void *arg)
{
	loop_run(fx.loop);
	return NULL;
}

/* Runs fn(arg) on the loop thread and waits for it. */
struct call {
	void (*fn)(void *);
	void *arg;
	int done;
};
static void call_trampoline(void *p)
{
	struct call *c = p;
	c->fn(c->arg);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
}
static void on_loop(void (*fn)(void *), void *arg)
{
	struct call c = { fn, arg, 0 };
	loop_post(fx.loop, call_trampoline, &c);
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE))
		usleep(1000);
}

/* --- handlers ---------------------------------------------------------------------------- */

struct stream {
	struct http_req *r;
	struct loop_timer t;
	int left;
};

static void stream_tick(struct loop *l, struct loop_timer *t)
{
	struct stream *st = container_of(t, struct stream, t);
	char line[32];
	int n = snprintf(line, sizeof(line), "event %d\n", st->left);
	http_resp_write(st->r, line, (size_t)n);
	if (--st->left > 0) {
		loop_timer_arm(l, t, 5);
		return;
	}
	http_resp_end(st->r);
	free(st);
}

static void watch_event(struct http_req *r, enum http_event ev, void *arg)
{
	if (ev == HTTP_EV_CLOSED) {
		__atomic_add_fetch(&ev_closed, 1, __ATOMIC_SEQ_CST);
		http_resp_end(r);
	} else if (ev == HTTP_EV_SHUTDOWN) {
		__atomic_add_fetch(&ev_shutdown, 1, __ATOMIC_SEQ_CST);
		http_resp_write(r, "bye\n", 4);
		http_resp_end(r);
	}
}

struct flood {
	size_t sent, total;
};
static char chunk64k[64 * 1024];

static void flood_more(struct http_req *r, struct flood *f)
{
	while (f->sent < f->total && http_resp_queued(r) < 512 * 1024) {
		http_resp_write(r, chunk64k, sizeof(chunk64k));
		f->sent += sizeof(chunk64k);
	}
	if (f->sent >= f->total) {
		http_req_on_event(r, NULL, NULL);
		http_resp_end(r);
		free(f);
	}
}

static void flood_event(struct http_req *r, enum http_event ev, void *arg)
{
	struct flood *f = arg;
	if (ev == HTTP_EV_DRAINED) {
		__atomic_add_fetch(&ev_drained, 1, __ATOMIC_SEQ_CST);
		flood_more(r, f);
	} else {
		free(f);
		http_resp_end(r);
	}
}

struct async {
	struct http_req *r;
	pthread_t th;
};

static void async_reply(void *arg)
{
	struct async *a = arg;
	const char *b = http_req_alive(a->r) ? "async" : "gone";
	http_resp_header(a->r, "Content-Type", "text/plain");
	http_resp_send(a->r, 201, b, strlen(b));
	pthread_join(a->th, NULL);
	free(a);
}

/* Another thread finishes the work, as the store's writer does, and posts back. */
static void *async_worker(void *arg)
{
	usleep(50 * 1000);
	loop_post(fx.loop, async_reply, arg);
	return NULL;
}

/* Starts a stream from a timer and ends it when its output has drained. If
 * events reached the handler from inside its own calls, DRAINED would end
 * (and free) the request inside http_resp_start, before the write below. */
static void late_drained(struct http_req *r, enum http_event ev, void *arg)
{
	if (ev == HTTP_EV_DRAINED || ev == HTTP_EV_CLOSED)
		http_resp_end(r);
}

static void late_start(struct loop *l, struct loop_timer *t)
{
	struct stream *st = container_of(t, struct stream, t);
	http_req_on_event(st->r, late_drained, NULL);
	http_resp_start(st->r, 200, -1);
	http_resp_write(st->r, "late\n", 5);
	free(st);
}

/* A toy protocol after 101: echo in upper case until "bye". */
static void tunnel_data(struct http_req *r, const void *data, size_t len, void *arg)
{
	char out[256];
	size_t n = MIN(len, sizeof(out));
	if (len >= 3 && !memcmp(data, "bye", 3)) {
		http_resp_write(r, "bye", 3);
		http_resp_end(r);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)toupper(((const unsigned char *)data)[i]);
	http_resp_write(r, out, n);
}

static void tunnel_event(struct http_req *r, enum http_event ev, void *arg)
{
	if (ev == HTTP_EV_CLOSED) {
		__atomic_add_fetch(&ev_closed, 1, __ATOMIC_SEQ_CST);
		http_resp_end(r);
	}
}

static void handle(struct http_req *r, void *arg)
{
	const char *path = http_req_path(r);
	struct buf b = { 0 };

	if (!strcmp(path, "/hello")) {
		http_resp_header(r, "Content-Type", "text/plain");
		http_resp_send(r, 200, "hello", 5);
	} else if (!strcmp(path, "/echo")) {
		size_t len;
		const char *body = http_req_body(r, &len);
		buf_printf(&b, "%s %zu:", http_req_method(r), len);
		buf_add(&b, body, len);
		http_resp_send_buf(r, 200, &b);
	} else if (!strcmp(path, "/q") || str_has_prefix(path, "/q/")) {
		const char *k, *v;
		buf_printf(&b, "path=%s\n", path);
		for (size_t i = 0; http_req_query_at(r, i, &k, &v); i++)
			buf_printf(&b, "%s=%s\n", k, v);
		const char *w = http_req_query(r, "watch");
		buf_printf(&b, "watch:%s\n", w ? w : "(null)");
		http_resp_send_buf(r, 200, &b);
	} else if (!strcmp(path, "/headers")) {
		const char *x = http_req_header(r, "x-test");
		int bad = http_resp_header(r, "Bad", "a\r\nInjected: 1");
		int cl = http_resp_header(r, "Content-Length", "1");
		buf_printf(&b, "x-test=%s %d %d", x ? x : "(none)", bad, cl);
		http_resp_header(r, "X-Reply", "yes");
		http_resp_send_buf(r, 200, &b);
	} else if (!strcmp(path, "/async")) {
		struct async *a = xcalloc(1, sizeof(*a));
		a->r = r;
		pthread_create(&a->th, NULL, async_worker, a);
	} else if (!strcmp(path, "/stream")) {
		struct stream *st = xcalloc(1, sizeof(*st));
		st->r = r;
		st->left = 3;
		http_resp_header(r, "Content-Type", "text/plain");
		http_resp_start(r, 200, -1);
		loop_timer_init(&st->t, stream_tick);
		loop_timer_arm(fx.loop, &st->t, 5);
	} else if (!strcmp(path, "/late")) {
		struct stream *st = xcalloc(1, sizeof(*st));
		st->r = r;
		loop_timer_init(&st->t, late_start);
		loop_timer_arm(fx.loop, &st->t, 1);
	} else if (!strcmp(path, "/fixed")) {
		http_resp_start(r, 200, 10);
		http_resp_write(r, "01234", 5);
		http_resp_write(r, "56789", 5);
		http_resp_end(r);
	} else if (!strcmp(path, "/watch")) {
		http_req_on_event(r, watch_event, NULL);
		http_resp_start(r, 200, -1);
		http_resp_write(r, "hi\n", 3);
	} else if (!strcmp(path, "/flood")) {
		struct flood *f = xcalloc(1, sizeof(*f));
		f->total = 8 * 1024 * 1024;
		http_req_on_event(r, flood_event, f);
		http_resp_start(r, 200, (int64_t)f->total);
		flood_more(r, f);
	} else if (!strcmp(path, "/file")) {
		int fd = open(fx.file_path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		fstat(fd, &st);
		http_resp_header(r, "Content-Type", "application/octet-stream");
		http_resp_file(r, 200, fd, 0, (uint64_t)st.st_size);
	} else if (!strcmp(path, "/whoami")) {
		const struct http_identity *id = http_req_identity(r);
		buf_printf(&b, "tls=%d user=%s groups=", http_req_tls(r),
		           id ? id->user : "(anonymous)");
		for (size_t i = 0; id && i < id->ngroups; i++)
			buf_printf(&b, "%s%s", i ? "," : "", id->groups[i]);
		http_resp_send_buf(r, 200, &b);
	} else if (!strcmp(path, "/tunnel")) {
		http_resp_header(r, "Upgrade", "shout");
		http_req_on_event(r, tunnel_event, NULL);
		if (http_resp_upgrade(r, tunnel_data, NULL) < 0) {
			http_req_on_event(r, NULL, NULL);
			http_resp_send(r, 426, "upgrade required\n", 17);
		}
	} else if (!strcmp(path, "/nobody")) {
		http_resp_send(r, 204, "ignored", 7);
	} else {
		http_resp_send(r, 404, "not found\n", 10);
	}
}

static int start_server(void **state, const struct http_server_opts *extra)
{
	struct http_server_opts o = { 0 };
	struct err e = { 0 };
	if (extra)
		o = *extra;
	o.handler = handle;
	memset(&fx, 0, sizeof(fx));
	ev_closed = ev_shutdown = ev_drained = shutdown_done = 0;
	assert_int_equal(loop_new(&fx.loop), 0);
	assert_int_equal(http_server_new(fx.loop, &o, &fx.srv), 0);
	assert_int_equal(http_server_listen(fx.srv, "127.0.0.1", 0, NULL, &fx.port, &e), 0);
	assert_true(fx.port > 0);
	assert_int_equal(pthread_create(&fx.thread, NULL, loop_thread, NULL), 0);
	return 0;
}

static void free_server(void *arg)
{
	http_server_free(fx.srv);
	fx.srv = NULL;
}

static int stop_server(void **state)
{
	if (fx.srv)
		on_loop(free_server, NULL);
	loop_stop(fx.loop);
	pthread_join(fx.thread, NULL);
	loop_free(fx.loop);
	http_tls_free(fx.tls);
	if (fx.file_path[0])
		unlink(fx.file_path);
	return 0;
}

static int setup(void **state)
{
	return start_server(state, NULL);
}

/* --- a small blocking client --------------------------------------------------------------- */

static int dial(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port) };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void say(int fd, const char *s)
{
	assert_int_equal(write_all(fd, s, strlen(s)), 0);
}

struct resp {
	int status;
	char head[4096];
	struct buf body;
	bool closed; /* the server closed after it */
};

/* Reads one byte at a time into the head, then the body by its framing. */
static int rd(int fd, char *c)
{
	return (int)read(fd, c, 1);
}

static bool read_line(int fd, char *out, size_t n)
{
	size_t i = 0;
	char c;
	while (rd(fd, &c) == 1) {
		if (c == '\n') {
			if (i && out[i - 1] == '\r')
				i--;
			out[i] = '\0';
			return true;
		}
		if (i + 1 < n)
			out[i++] = c;
	}
	return false;
}

static const char *hdr(const struct resp *r, const char *name)
{
	static char v[512];
	size_t nl = strlen(name);
	for (const char *p = r->head; (p = strchr(p, '\n'));) {
		p++;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *s = p + nl + 1;
			while (*s == ' ')
				s++;
			size_t k = strcspn(s, "\r\n");
			memcpy(v, s, MIN(k, sizeof(v) - 1));
			v[MIN(k, sizeof(v) - 1)] = '\0';
			return v;
		}
	}
	return NULL;
}

/* Returns false if the connection ended before a status line. */
static bool read_resp(int fd, struct resp *r, bool head_request)
{
	char line[1024];
	memset(r->head, 0, sizeof(r->head));
	buf_reset(&r->body);
	r->closed = false;
	do {
		if (!read_line(fd, line, sizeof(line)))
			return false;
		r->status = atoi(line + 9);
		strcpy(r->head, line);
		for (;;) {
			assert_true(read_line(fd, line, sizeof(line)));
			if (!*line)
				break;
			strcat(r->head, "\n");
			strcat(r->head, line);
		}
	} while (r->status == 100);
	const char *cl = hdr(r, "Content-Length"), *te = hdr(r, "Transfer-Encoding");
	if (head_request || r->status == 204 || r->status == 304) {
	} else if (te && !strcasecmp(te, "chunked")) {
		for (;;) {
			assert_true(read_line(fd, line, sizeof(line)));
			size_t n = strtoul(line, NULL, 16);
			if (!n) {
				assert_true(read_line(fd, line, sizeof(line)));
				break;
			}
			buf_reserve(&r->body, n);
			size_t got = 0;
			while (got < n) {
				ssize_t k = read(fd, r->body.data + r->body.len + got, n - got);
				assert_true(k > 0);
				got += (size_t)k;
			}
			r->body.len += n;
			r->body.data[r->body.len] = '\0';
			assert_true(read_line(fd, line, sizeof(line)));
		}
	} else if (cl) {
		size_t n = strtoul(cl, NULL, 10), got = 0;
		buf_reserve(&r->body, n);
		while (got < n) {
			ssize_t k = read(fd, r->body.data + got, n - got);
			assert_true(k > 0);
			got += (size_t)k;
		}
		r->body.len = n;
		r->body.data[n] = '\0';
	} else {
		char b[4096];
		ssize_t k;
		while ((k = read(fd, b, sizeof(b))) > 0)
			buf_add(&r->body, b, (size_t)k);
		r->closed = true;
	}
	const char *conn = hdr(r, "Connection");
	if (conn && !strcasecmp(conn, "close")) {
		char c;
		r->closed = read(fd, &c, 1) == 0;
	}
	return true;
}

/* True once the server has closed fd (read gives EOF or a reset). */
static bool closed_by_server(int fd)
{
	char b[256];
	for (;;) {
		ssize_t k = read(fd, b, sizeof(b));
		if (k <= 0)
			return k == 0 || errno == ECONNRESET;
	}
}

/* One request on a fresh connection. */
static void roundtrip(const char *req, struct resp *r)
{
	int fd = dial();
	say(fd, req);
	assert_true(read_resp(fd, r, false));
	close(fd);
}

/* --- tests: the happy paths ------------------------------------------------------------------ */

static void test_get_answers_and_keeps_the_connection_alive(void **state)
{
	struct resp r = { 0 };
	int fd = dial();
	for (int i = 0; i < 3; i++) {
		say(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_true(read_resp(fd, &r, false));
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body.data, "hello");
		assert_string_equal(hdr(&r, "Content-Type"), "text/plain");
		assert_non_null(hdr(&r, "Date"));
		assert_null(hdr(&r, "Connection"));
	}
	close(fd);
	buf_free(&r.body);
}

static void test_query_and_path_are_percent_decoded(void **state)
{
	struct resp r = { 0 };
	roundtrip("GET /q/a%20b%2Fc?labelSelector=app%3Dweb%2Ctier+in+(x)&watch&empty=&x=%E2%9C%93 "
	          "HTTP/1.1\r\nHost: x\r\n\r\n",
	          &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "path=/q/a b/c\nlabelSelector=app=web,tier in (x)\n"
	                                 "watch=\nempty=\nx=\xE2\x9C\x93\nwatch:\n");
	roundtrip("GET /q HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_string_equal(r.body.data, "path=/q\nwatch:(null)\n");
	buf_free(&r.body);
}

static void test_absolute_form_target_is_served_like_a_path(void **state)
{
	struct resp r = { 0 };
	roundtrip("GET http://example.com/q?a=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "path=/q\na=1\nwatch:(null)\n");
	buf_free(&r.body);
}

static void test_request_headers_reach_the_handler_and_response_headers_are_checked(void **state)
{
	struct resp r = { 0 };
	roundtrip("GET /headers HTTP/1.1\r\nHost: x\r\nX-Test:   spaced value  \r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "x-test=spaced value -22 -22");
	assert_string_equal(hdr(&r, "X-Reply"), "yes");
	assert_null(hdr(&r, "Injected"));
	buf_free(&r.body);
}

static void test_body_with_content_length_is_read_whole(void **state)
{
	struct resp r = { 0 };
	int fd = dial();
	/* The head and the body in separate writes, the body split too. */
	say(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
	usleep(10000);
	say(fd, "hello ");
	usleep(10000);
	say(fd, "world");
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "POST 11:hello world");
	close(fd);
	buf_free(&r.body);
}

static void test_large_body_arrives_intact(void **state)
{
	struct resp r = { 0 };
	size_t n = 2 * 1024 * 1024;
	char *body = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		body[i] = (char)('a' + i % 26);
	int fd = dial();
	char head[128];
	snprintf(head, sizeof(head), "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
	         n);
	say(fd, head);
	assert_int_equal(write_all(fd, body, n), 0);
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, n + strlen("PUT 2097152:"));
	assert_memory_equal(r.body.data + strlen("PUT 2097152:"), body, n);
	close(fd);
	free(body);
	buf_free(&r.body);
}

static void test_chunked_body_is_decoded_with_extensions_and_trailers(void **state)
{
	struct resp r = { 0 };
	roundtrip("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	          "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
	          &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "POST 11:hello world");
	buf_free(&r.body);
}

static void test_pipelined_requests_are_answered_in_order(void **state)
{
	struct resp r = { 0 };
	int fd = dial();
	say(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
	        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	        "GET /async HTTP/1.1\r\nHost: x\r\n\r\n"
	        "GET /q?n=4 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "hello");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "POST 3:abc");
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body.data, "async");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "path=/q\nn=4\nwatch:(null)\n");
	close(fd);
	buf_free(&r.body);
}

static void test_async_handler_answers_after_work_on_another_thread(void **state)
{
	struct resp r = { 0 };
	roundtrip("GET /async HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body.data, "async");
	buf_free(&r.body);
}

static void test_http10_closes_unless_keep_alive_is_asked(void **state)
{
	struct resp r = { 0 };
	int fd = dial();
	say(fd, "GET /hello HTTP/1.0\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 200);
	assert_true(r.closed);
	close(fd);

	fd = dial();
	say(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(hdr(&r, "Connection"), "keep-alive");
	say(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "hello");
	close(fd);

	/* Connection: close from an HTTP/1.1 client is honoured too. */
	fd = dial();
	say(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_true(r.closed);
	close(fd);
	buf_free(&r.body);
}

static void test_head_gets_length_but_no_body(void **state)
{
	struct resp r = { 0 };
	int fd = dial();
	say(fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, true));
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Content-Length"), "5");
	/* The next response starts right where the head ended. */
	say(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "hello");
	say(fd, "GET /nobody HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 204);
	assert_null(hdr(&r, "Content-Length"));
	say(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "hello");
	close(fd);
	buf_free(&r.body);
}

static void test_expect_continue_gets_100_before_the_body(void **state)
{
	char line[256];
	struct resp r = { 0 };
	int fd = dial();
	say(fd,
	    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "HTTP/1.1 100 Continue");
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "");
	say(fd, "ok");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "POST 2:ok");
	close(fd);
	buf_free(&r.body);
}

static void test_streamed_response_is_chunked_and_complete(void **state)
{
	struct resp r = { 0 };
	int fd = dial();
	say(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(hdr(&r, "Transfer-Encoding"), "chunked");
	assert_string_equal(r.body.data, "event 3\nevent 2\nevent 1\n");
	/* Started later from a timer, ended from its DRAINED event. */
	say(fd, "GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "late\n");
	/* The connection is reusable after the last chunk. */
	say(fd, "GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(hdr(&r, "Content-Length"), "10");
	assert_string_equal(r.body.data, "0123456789");
	close(fd);

	/* An HTTP/1.0 client gets the stream ended by the connection closing. */
	fd = dial();
	say(fd, "GET /stream HTTP/1.0\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_null(hdr(&r, "Transfer-Encoding"));
	assert_string_equal(r.body.data, "event 3\nevent 2\nevent 1\n");
	assert_true(r.closed);
	close(fd);
	buf_free(&r.body);
}

static void test_client_leaving_a_stream_tells_the_handler(void **state)
{
	char line[64];
	int fd = dial();
	say(fd, "GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
	while (read_line(fd, line, sizeof(line)) && strcmp(line, "hi"))
		;
	close(fd);
	for (int i = 0; i < 500 && !__atomic_load_n(&ev_closed, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	assert_int_equal(ev_closed, 1);

	/* A half-close (shutdown of the client's write side) ends a stream too. */
	fd = dial();
	say(fd, "GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
	while (read_line(fd, line, sizeof(line)) && strcmp(line, "hi"))
		;
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 500 && __atomic_load_n(&ev_closed, __ATOMIC_SEQ_CST) < 2; i++)
		usleep(10000);
	assert_int_equal(ev_closed, 2);
	assert_true(closed_by_server(fd));
	close(fd);
}

static void test_half_closed_client_still_gets_its_answer(void **state)
{
	struct resp r = { 0 };
	int fd = dial();
	say(fd, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n");
	shutdown(fd, SHUT_WR);
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body.data, "async");
	assert_true(closed_by_server(fd));
	close(fd);
	buf_free(&r.body);
}

static void test_slow_reader_gets_backpressure_and_drain_events(void **state)
{
	char head[1024];
	int fd = dial();
	/* 8 MiB is more than loopback's socket buffers hold, so the server's
	 * queue has to wait for us. */
	say(fd, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
	usleep(100000); /* let the server's queue fill up */
	size_t total = 0;
	char *b = xmalloc(65536);
	size_t want = 8 * 1024 * 1024;
	/* Skip the head, then count body bytes. */
	size_t hl = 0;
	while (hl < 4 || memcmp(head + hl - 4, "\r\n\r\n", 4)) {
		assert_int_equal(read(fd, head + hl, 1), 1);
		hl++;
	}
	while (total < want) {
		ssize_t k = read(fd, b, 65536);
		if (k <= 0)
			fail_msg("read %zd after %zu bytes: %s", k, total, strerror(errno));
		total += (size_t)k;
	}
	assert_int_equal(total, want);
	assert_true(__atomic_load_n(&ev_drained, __ATOMIC_SEQ_CST) > 0);
	free(b);
	close(fd);
}

static void test_file_is_sent_whole(void **state)
{
	struct resp r = { 0 };
	size_t n = 3 * 1024 * 1024 + 17;
	strcpy(fx.file_path, "/tmp/tug-http-test.XXXXXX");
	int fd = mkstemp(fx.file_path);
	char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7);
	assert_int_equal(write_all(fd, data, n), 0);
	close(fd);
	fd = dial();
	say(fd, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.body.len, n);
	assert_memory_equal(r.body.data, data, n);
	say(fd, "HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, true));
	assert_int_equal(strtoul(hdr(&r, "Content-Length"), NULL, 10), n);
	say(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_string_equal(r.body.data, "hello");
	close(fd);
	free(data);
	buf_free(&r.body);
}

static void test_upgrade_switches_to_a_raw_tunnel(void **state)
{
	struct resp r = { 0 };
	char b[64];
	int fd = dial();
	/* Bytes right behind the request already belong to the new protocol. */
	say(fd, "GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: "
	        "shout\r\n\r\nhello");
	assert_true(read_resp(fd, &r, true));
	assert_int_equal(r.status, 101);
	assert_string_equal(hdr(&r, "Connection"), "Upgrade");
	assert_string_equal(hdr(&r, "Upgrade"), "shout");
	assert_int_equal(read(fd, b, 5), 5);
	assert_memory_equal(b, "HELLO", 5);
	say(fd, "abc");
	assert_int_equal(read(fd, b, 3), 3);
	assert_memory_equal(b, "ABC", 3);
	say(fd, "bye");
	assert_int_equal(read(fd, b, 3), 3);
	assert_memory_equal(b, "bye", 3);
	assert_true(closed_by_server(fd));
	close(fd);

	/* The client leaving a tunnel tells the handler. */
	fd = dial();
	say(fd, "GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: "
	        "shout\r\n\r\n");
	assert_true(read_resp(fd, &r, true));
	assert_int_equal(r.status, 101);
	close(fd);
	for (int i = 0; i < 500 && !__atomic_load_n(&ev_closed, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	assert_int_equal(ev_closed, 1);

	/* Without asking, there is no upgrade. */
	roundtrip("GET /tunnel HTTP/1.1\r\nHost: x\r\nUpgrade: shout\r\n\r\n", &r);
	assert_int_equal(r.status, 426);
	buf_free(&r.body);
}

/* --- tests: bad input --------------------------------------------------------------------- */

struct bad_case {
	const char *req;
	int status;
};

static void test_malformed_requests_get_4xx_and_the_server_stays_up(void **state)
{
	static const struct bad_case cases[] = {
		{ "GARBAGE\r\n\r\n", 400 },
		{ "\x16\x03\x01\x02\x00\x01", 400 }, /* a TLS hello, no line end in sight */
		{ "GET /\r\n\r\n", 400 },
		{ "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400 },
		{ "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET nopath HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
		{ "GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n\r\n", 400 },                       /* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 }, /* two */
		{ "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400 },
		{ "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET /q?a=%G0 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: "
		  "2\r\n\r\nab",
		  400 },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		  400 },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		  400 },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
		  400 },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "fffffffffffffffff\r\n",
		  400 },
		{ "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417 },
		{ "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 404 },
		{ "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	};
	struct resp r = { 0 };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int fd = dial();
		say(fd, cases[i].req);
		assert_true(read_resp(fd, &r, false));
		if (r.status != cases[i].status)
			fail_msg("case %zu (%s): got %d, want %d", i, cases[i].req, r.status,
			         cases[i].status);
		if (cases[i].status != 404)
			assert_true(closed_by_server(fd));
		close(fd);
	}
	roundtrip("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	buf_free(&r.body);
}

static int setup_small_limits(void **state)
{
	struct http_server_opts o = {
		.max_header_bytes = 2048,
		.max_uri_bytes = 512,
		.max_body_bytes = 1024,
		.max_headers = 10,
		.header_timeout_ms = 300,
		.idle_timeout_ms = 300,
		.body_timeout_ms = 300,
	};
	return start_server(state, &o);
}

static void test_limits_answer_413_414_431(void **state)
{
	struct resp r = { 0 };
	struct buf b = { 0 };

	buf_printf(&b, "GET /%0600d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
	roundtrip(b.data, &r);
	assert_int_equal(r.status, 414);

	/* A request line so long that it never ends within the head limit. */
	buf_reset(&b);
	buf_printf(&b, "GET /%05000d", 0);
	int fd = dial();
	say(fd, b.data);
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 414);
	close(fd);

	buf_reset(&b);
	buf_adds(&b, "GET /hello HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 40; i++)
		buf_printf(&b, "X-Filler-%d: %080d\r\n", i, 0);
	buf_adds(&b, "\r\n");
	roundtrip(b.data, &r);
	assert_int_equal(r.status, 431);

	buf_reset(&b);
	buf_adds(&b, "GET /hello HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 12; i++)
		buf_printf(&b, "X-%d: 1\r\n", i);
	buf_adds(&b, "\r\n");
	roundtrip(b.data, &r);
	assert_int_equal(r.status, 431);

	roundtrip("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", &r);
	assert_int_equal(r.status, 413);

	buf_reset(&b);
	buf_adds(&b, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++)
		buf_printf(&b, "200\r\n%0512d\r\n", 0);
	buf_adds(&b, "0\r\n\r\n");
	roundtrip(b.data, &r);
	assert_int_equal(r.status, 413);

	roundtrip("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	buf_free(&b);
	buf_free(&r.body);
}

static void test_slow_and_idle_clients_are_timed_out(void **state)
{
	struct resp r = { 0 };

	/* Half a head, then nothing: 408 and closed. */
	int fd = dial();
	say(fd, "GET /hello HTTP/1.1\r\nHo");
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 408);
	close(fd);

	/* Drip-feeding the head does not extend the deadline. */
	fd = dial();
	say(fd, "GET /hello HTTP/1.1\r\n");
	bool got = false;
	for (int i = 0; i < 100 && !got; i++) {
		usleep(20000);
		if (send(fd, "X", 1, MSG_NOSIGNAL) < 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		got = poll(&p, 1, 0) > 0;
	}
	assert_true(got);
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 408);
	close(fd);

	/* A body that stops arriving. */
	fd = dial();
	say(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 408);
	close(fd);

	/* Connected but silent, and idle after a response: closed quietly. */
	fd = dial();
	assert_true(closed_by_server(fd));
	close(fd);
	fd = dial();
	say(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_true(closed_by_server(fd));
	close(fd);
	buf_free(&r.body);
}

static int setup_few_conns(void **state)
{
	struct http_server_opts o = { .max_conns = 4 };
	return start_server(state, &o);
}

static void test_connections_beyond_the_limit_wait_for_a_slot(void **state)
{
	struct resp r = { 0 };
	int fds[12];
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		fds[i] = dial(); /* the kernel's backlog takes them all */
		say(fds[i], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	}
	for (int i = 0; i < 50 && http_server_conns(fx.srv) < 4; i++)
		usleep(10000);
	assert_int_equal(http_server_conns(fx.srv), 4);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		assert_true(read_resp(fds[i], &r, false));
		assert_int_equal(r.status, 200);
		close(fds[i]);
	}
	buf_free(&r.body);
}

static void test_many_connections_are_served_at_once(void **state)
{
	enum { N = 200 };
	static int fds[N];
	struct resp r = { 0 };
	for (int i = 0; i < N; i++)
		fds[i] = dial();
	for (int i = 0; i < N; i++)
		say(fds[i], "GET /async HTTP/1.1\r\nHost: x\r\n\r\n");
	for (int i = 0; i < N; i++) {
		assert_true(read_resp(fds[i], &r, false));
		assert_int_equal(r.status, 201);
		close(fds[i]);
	}
	buf_free(&r.body);
}

/* --- graceful shutdown --------------------------------------------------------------------- */

static void on_shutdown_done(void *arg)
{
	__atomic_store_n(&shutdown_done, 1, __ATOMIC_SEQ_CST);
}

static void begin_shutdown(void *arg)
{
	http_server_shutdown(fx.srv, 5000, on_shutdown_done, NULL);
}

static void test_shutdown_finishes_requests_ends_watches_and_refuses_new_ones(void **state)
{
	struct resp r = { 0 };
	char line[64];
	int idle = dial();
	say(idle, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(idle, &r, false));
	int watch = dial();
	say(watch, "GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
	while (read_line(watch, line, sizeof(line)) && strcmp(line, "hi"))
		;
	int busy = dial();
	say(busy, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n");
	usleep(10000);

	on_loop(begin_shutdown, NULL);

	assert_true(closed_by_server(idle));
	assert_true(read_resp(busy, &r, false));
	assert_int_equal(r.status, 201);
	assert_string_equal(hdr(&r, "Connection"), "close");
	assert_true(r.closed);
	/* The watch ends with what its handler wrote on SHUTDOWN, then a last chunk. */
	struct buf rest = { 0 };
	char b[256];
	ssize_t k;
	while ((k = read(watch, b, sizeof(b))) > 0)
		buf_add(&rest, b, (size_t)k);
	assert_non_null(strstr(rest.data, "bye\n"));
	assert_non_null(strstr(rest.data, "0\r\n\r\n"));
	for (int i = 0; i < 500 && !__atomic_load_n(&shutdown_done, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	assert_int_equal(shutdown_done, 1);
	assert_int_equal(ev_shutdown, 1);

	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	close(idle);
	close(watch);
	close(busy);
	buf_free(&rest);
	buf_free(&r.body);
}

/* --- the parser alone ---------------------------------------------------------------------- */

static void test_percent_decoding_rejects_malformed_escapes(void **state)
{
	char s1[] = "a%2Fb+c%41", s2[] = "a%2Fb+c", s3[] = "%4", s4[] = "%00", s5[] = "%g1";
	assert_int_equal(http_pct_decode(s1, true), 6);
	assert_string_equal(s1, "a/b cA");
	assert_int_equal(http_pct_decode(s2, false), 5);
	assert_string_equal(s2, "a/b+c");
	assert_int_equal(http_pct_decode(s3, false), -EINVAL);
	assert_int_equal(http_pct_decode(s4, false), -EINVAL);
	assert_int_equal(http_pct_decode(s5, false), -EINVAL);
}

static void test_chunked_decoder_handles_every_split(void **state)
{
	const char *in =
	    "4\r\nWiki\r\n5;x=y\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: v\r\n\r\nNEXT";
	size_t n = strlen(in) - 4;
	for (size_t split = 0; split <= n; split++) {
		struct http_chunked c = { 0 };
		char *body = NULL;
		size_t len = 0, cap = 0;
		bool done = false;
		ssize_t a = http_chunked_feed(&c, in, split, &body, &len, &cap, 1024, &done);
		assert_int_equal(a, (ssize_t)split);
		ssize_t b = http_chunked_feed(&c, in + split, strlen(in) - split, &body, &len, &cap,
		                              1024, &done);
		assert_true(done);
		assert_int_equal((size_t)a + (size_t)b, n);
		assert_string_equal(body, "Wikipedia in\r\n\r\nchunks.");
		free(body);
	}
}

static void test_head_end_is_found_across_partial_reads(void **state)
{
	const char *h = "GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
	size_t full = strlen(h) - 4;
	for (size_t cut = 0; cut < full; cut++) {
		size_t scan = 0;
		assert_int_equal(http_head_end(h, cut, &scan), 0);
		assert_int_equal(http_head_end(h, strlen(h), &scan), full);
	}
	size_t scan = 0;
	assert_int_equal(http_head_end("GET / HTTP/1.0\n\n", 16, &scan), 16);
}

/* --- TLS --------------------------------------------------------------------------------- */

#ifdef CONFIG_TUG_TLS
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#include "http_test_certs.h"

static int start_tls_server(enum http_client_auth auth)
{
	struct http_tls_opts t = {
		.cert_pem = server_crt,
		.key_pem = server_key,
		.client_ca_pem = ca_crt,
		.client_auth = auth,
	};
	/* Garbage that looks like the start of a handshake is closed on the
	 * handshake deadline; keep it short so the test is. */
	struct http_server_opts o = { .handler = handle, .header_timeout_ms = 1500 };
	struct err e = { 0 };
	memset(&fx, 0, sizeof(fx));
	ev_closed = ev_shutdown = ev_drained = shutdown_done = 0;
	assert_int_equal(http_tls_new(&t, &fx.tls, &e), 0);
	assert_int_equal(loop_new(&fx.loop), 0);
	assert_int_equal(http_server_new(fx.loop, &o, &fx.srv), 0);
	assert_int_equal(http_server_listen(fx.srv, "127.0.0.1", 0, fx.tls, &fx.port, &e), 0);
	assert_int_equal(pthread_create(&fx.thread, NULL, loop_thread, NULL), 0);
	return 0;
}

static int setup_tls(void **state)
{
	return start_tls_server(HTTP_CLIENT_AUTH_OPTIONAL);
}

static int setup_tls_required(void **state)
{
	return start_tls_server(HTTP_CLIENT_AUTH_REQUIRED);
}

/* A blocking mbedtls client that trusts the test CA. */
struct tls_client {
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_net_context net;
};

static const char *alpn_h2_and_h1[] = { "h2", "http/1.1", NULL };

/* Returns the handshake's result (0 on success). */
static int tls_open(struct tls_client *c, const char *cert, const char *key)
{
	memset(c, 0, sizeof(*c));
	mbedtls_ssl_init(&c->ssl);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_x509_crt_init(&c->cert);
	mbedtls_pk_init(&c->key);
	mbedtls_entropy_init(&c->ent);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_net_init(&c->net);
	c->net.fd = dial();
	assert_int_equal(mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->ent, NULL, 0),
	                 0);
	assert_int_equal(mbedtls_x509_crt_parse(&c->ca, (const void *)ca_crt, sizeof(ca_crt)), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
	                                             MBEDTLS_SSL_TRANSPORT_STREAM,
	                                             MBEDTLS_SSL_PRESET_DEFAULT),
	                 0);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_alpn_protocols(&c->conf, alpn_h2_and_h1);
	if (cert) {
		assert_int_equal(
		    mbedtls_x509_crt_parse(&c->cert, (const void *)cert, strlen(cert) + 1), 0);
		assert_int_equal(
		    mbedtls_pk_parse_key(&c->key, (const void *)key, strlen(key) + 1, NULL, 0), 0);
		assert_int_equal(mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key), 0);
	}
	assert_int_equal(mbedtls_ssl_setup(&c->ssl, &c->conf), 0);
	assert_int_equal(mbedtls_ssl_set_hostname(&c->ssl, "localhost"), 0);
	mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send, mbedtls_net_recv, NULL);
	return mbedtls_ssl_handshake(&c->ssl);
}

static void tls_close(struct tls_client *c)
{
	mbedtls_ssl_free(&c->ssl);
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_x509_crt_free(&c->cert);
	mbedtls_pk_free(&c->key);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->ent);
	mbedtls_net_free(&c->net);
}

/* Sends req and reads until the server closes; the caller frees the result. */
static char *tls_exchange(struct tls_client *c, const char *req, size_t *len)
{
	struct buf b = { 0 };
	unsigned char tmp[16384];
	size_t off = 0, n = strlen(req);
	while (off < n) {
		int w = mbedtls_ssl_write(&c->ssl, (const void *)(req + off), n - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	for (;;) {
		int r = mbedtls_ssl_read(&c->ssl, tmp, sizeof(tmp));
		if (r <= 0)
			break;
		buf_add(&b, tmp, (size_t)r);
	}
	if (len)
		*len = b.len;
	buf_addc(&b, '\0');
	return buf_steal(&b);
}

static char *whoami(const char *cert, const char *key)
{
	struct tls_client c;
	assert_int_equal(tls_open(&c, cert, key), 0);
	assert_string_equal(mbedtls_ssl_get_alpn_protocol(&c.ssl), "http/1.1");
	char *out =
	    tls_exchange(&c, "GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", NULL);
	tls_close(&c);
	return out;
}

static void test_tls_client_certificate_names_user_and_groups(void **state)
{
	char *out = whoami(alice_crt, alice_key);
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "tls=1 user=alice groups=dev,ops"));
	free(out);
}

static void test_tls_without_or_with_unusable_certificate_is_anonymous(void **state)
{
	const char *certs[][2] = {
		{ NULL, NULL },               /* none */
		{ eve_crt, eve_key },         /* another CA's */
		{ mallory_crt, mallory_key }, /* not for client auth */
		{ nocn_crt, nocn_key },       /* no common name */
	};
	for (size_t i = 0; i < ARRAY_SIZE(certs); i++) {
		char *out = whoami(certs[i][0], certs[i][1]);
		if (!strstr(out, "tls=1 user=(anonymous) groups=\n") &&
		    !strstr(out, "user=(anonymous)"))
			fail_msg("case %zu: %s", i, out);
		free(out);
	}
}

static void test_tls_keeps_alive_and_answers_pipelined_requests(void **state)
{
	struct tls_client c;
	assert_int_equal(tls_open(&c, alice_crt, alice_key), 0);
	char *out = tls_exchange(&c,
	                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
	                         "GET /async HTTP/1.1\r\nHost: x\r\n\r\n"
	                         "GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	                         NULL);
	const char *a = strstr(out, "hello"), *b = strstr(out, "async"),
	           *w = strstr(out, "user=alice");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(w);
	assert_true(a < b && b < w);
	free(out);
	tls_close(&c);
}

static void test_tls_sends_large_files_and_streams(void **state)
{
	size_t n = 1024 * 1024 + 3, len;
	strcpy(fx.file_path, "/tmp/tug-http-test.XXXXXX");
	int fd = mkstemp(fx.file_path);
	char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 13);
	assert_int_equal(write_all(fd, data, n), 0);
	close(fd);
	struct tls_client c;
	assert_int_equal(tls_open(&c, NULL, NULL), 0);
	char *out =
	    tls_exchange(&c, "GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &len);
	char *body = strstr(out, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(len - (size_t)(body - out), n);
	assert_memory_equal(body, data, n);
	free(out);
	tls_close(&c);
	free(data);

	assert_int_equal(tls_open(&c, NULL, NULL), 0);
	out =
	    tls_exchange(&c, "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", NULL);
	assert_non_null(strstr(out, "event 3\n"));
	assert_non_null(strstr(out, "event 1\n\r\n0\r\n\r\n"));
	free(out);
	tls_close(&c);
}

static void test_plain_http_and_garbage_on_the_tls_port_are_refused(void **state)
{
	struct resp r = { 0 };
	int fd = dial();
	say(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_resp(fd, &r, false));
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body.data, "HTTP request to an HTTPS server"));
	close(fd);

	fd = dial();
	say(fd, "\x16\x03\x01\x00\x05hello, this is not a handshake at all");
	assert_true(closed_by_server(fd));
	close(fd);
	fd = dial();
	say(fd, "\x01\x02\x03");
	assert_true(closed_by_server(fd));
	close(fd);
	/* A client that connects and never finishes its handshake is not served either,
	 * and none of this disturbs the next client. */
	char *out = whoami(alice_crt, alice_key);
	assert_non_null(strstr(out, "user=alice"));
	free(out);
	buf_free(&r.body);
}

static void test_tls_required_mode_refuses_clients_without_certificates(void **state)
{
	struct tls_client c;
	assert_int_not_equal(tls_open(&c, NULL, NULL), 0);
	tls_close(&c);
	assert_int_not_equal(tls_open(&c, eve_crt, eve_key), 0);
	tls_close(&c);
	char *out = whoami(alice_crt, alice_key);
	assert_non_null(strstr(out, "user=alice groups=dev,ops"));
	free(out);
}

static void test_tls_config_rejects_a_key_of_another_certificate(void **state)
{
	struct http_tls_opts t = { .cert_pem = server_crt, .key_pem = alice_key };
	struct http_tls *tls = NULL;
	struct err e = { 0 };
	assert_int_equal(http_tls_new(&t, &tls, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "does not belong"));
	t.key_pem = "not a key";
	assert_int_equal(http_tls_new(&t, &tls, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "server key"));
}
#endif

int main(void)
{
	if (getenv("HTTP_TEST_DEBUG"))
		log_set_level(LOG_LVL_DEBUG);
	if (getenv("HTTP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("HTTP_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percent_decoding_rejects_malformed_escapes),
		cmocka_unit_test(test_chunked_decoder_handles_every_split),
		cmocka_unit_test(test_head_end_is_found_across_partial_reads),
		cmocka_unit_test_setup_teardown(test_get_answers_and_keeps_the_connection_alive,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(test_query_and_path_are_percent_decoded, setup,
		                                stop_server),
		cmocka_unit_test_setup_teardown(test_absolute_form_target_is_served_like_a_path,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(
		    test_request_headers_reach_the_handler_and_response_headers_are_checked, setup,
		    stop_server),
		cmocka_unit_test_setup_teardown(test_body_with_content_length_is_read_whole, setup,
		                                stop_server),
		cmocka_unit_test_setup_teardown(test_large_body_arrives_intact, setup, stop_server),
		cmocka_unit_test_setup_teardown(
		    test_chunked_body_is_decoded_with_extensions_and_trailers, setup, stop_server),
		cmocka_unit_test_setup_teardown(test_pipelined_requests_are_answered_in_order,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(
		    test_async_handler_answers_after_work_on_another_thread, setup, stop_server),
		cmocka_unit_test_setup_teardown(test_http10_closes_unless_keep_alive_is_asked,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(test_head_gets_length_but_no_body, setup,
		                                stop_server),
		cmocka_unit_test_setup_teardown(test_expect_continue_gets_100_before_the_body,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(test_streamed_response_is_chunked_and_complete,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(test_client_leaving_a_stream_tells_the_handler,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(test_half_closed_client_still_gets_its_answer,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(test_slow_reader_gets_backpressure_and_drain_events,
		                                setup, stop_server),
		cmocka_unit_test_setup_teardown(test_file_is_sent_whole, setup, stop_server),
		cmocka_unit_test_setup_teardown(test_upgrade_switches_to_a_raw_tunnel, setup,
		                                stop_server),
		cmocka_unit_test_setup_teardown(
		    test_malformed_requests_get_4xx_and_the_server_stays_up, setup, stop_server),
		cmocka_unit_test_setup_teardown(test_limits_answer_413_414_431, setup_small_limits,
		                                stop_server),
		cmocka_unit_test_setup_teardown(test_slow_and_idle_clients_are_timed_out,
		                                setup_small_limits, stop_server),
		cmocka_unit_test_setup_teardown(test_connections_beyond_the_limit_wait_for_a_slot,
		                                setup_few_conns, stop_server),
		cmocka_unit_test_setup_teardown(test_many_connections_are_served_at_once, setup,
		                                stop_server),
		cmocka_unit_test_setup_teardown(
		    test_shutdown_finishes_requests_ends_watches_and_refuses_new_ones, setup,
		    stop_server),
#ifdef CONFIG_TUG_TLS
		cmocka_unit_test_setup_teardown(test_tls_client_certificate_names_user_and_groups,
		                                setup_tls, stop_server),
		cmocka_unit_test_setup_teardown(
		    test_tls_without_or_with_unusable_certificate_is_anonymous, setup_tls,
		    stop_server),
		cmocka_unit_test_setup_teardown(test_tls_keeps_alive_and_answers_pipelined_requests,
		                                setup_tls, stop_server),
		cmocka_unit_test_setup_teardown(test_tls_sends_large_files_and_streams, setup_tls,
		                                stop_server),
		cmocka_unit_test_setup_teardown(
		    test_plain_http_and_garbage_on_the_tls_port_are_refused, setup_tls,
		    stop_server),
		cmocka_unit_test_setup_teardown(
		    test_tls_required_mode_refuses_clients_without_certificates, setup_tls_required,
		    stop_server),
		cmocka_unit_test(test_tls_config_rejects_a_key_of_another_certificate),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
