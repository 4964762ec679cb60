/* http_conn_fuzz: libFuzzer target for the server's connection state machine.
 *
 * The input is a client's byte stream, written over a socketpair to a
 * server on a private loop in reads sized by the first byte; then the client
 * half-closes and finally closes. Handlers answer at once, later (a timer),
 * in a stream, or short of their promised length. Whatever the bytes, every
 * connection must be gone at the end, and ASan/UBSan must stay quiet.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http/http.h"
#include "core/log/log.h"
#include "core/loop/loop.h"

static struct loop *loop;
static struct http_server *srv;

struct later {
	struct loop_timer t;
	struct http_req *r;
	int kind;
};

static void later_fire(struct loop *l, struct loop_timer *t)
{
	struct later *x = container_of(t, struct later, t);
	if (x->kind == 0) {
		http_resp_send(x->r, 202, "later\n", 6);
	} else {
		http_resp_write(x->r, "tick\n", 5);
		http_resp_end(x->r);
	}
	free(x);
}

static void on_event(struct http_req *r, enum http_event ev, void *arg)
{
	struct later *x = arg;
	if (ev == HTTP_EV_CLOSED || ev == HTTP_EV_SHUTDOWN) {
		loop_timer_disarm(loop, &x->t);
		if (x->kind == 0)
			http_resp_send(r, 503, NULL, 0);
		else
			http_resp_end(r);
		free(x);
	}
}

static void tunnel_data(struct http_req *r, const void *data, size_t len, void *arg)
{
	if (len && ((const char *)data)[0] == 'q') {
		http_resp_end(r);
		return;
	}
	http_resp_write(r, data, len);
}

static void tunnel_event(struct http_req *r, enum http_event ev, void *arg)
{
	if (ev != HTTP_EV_DRAINED)
		http_resp_end(r);
}

static void handle(struct http_req *r, void *arg)
{
	const char *p = http_req_path(r);
	size_t len;
	const char *body = http_req_body(r, &len);
	const char *k, *v;

	for (size_t i = 0; http_req_query_at(r, i, &k, &v); i++)
		(void)http_req_printf(r, "%s=%s", k, v);
	for (size_t i = 0; http_req_header_at(r, i, &k, &v); i++)
		(void)http_req_strdup(r, v);
	(void)http_req_identity(r);
	http_resp_header(r, "X-Path", p); /* may refuse: that is fine */
	switch (p[1]) {
	case 'a':   /* answered from a timer */
	case 's': { /* streamed */
		struct later *x = calloc(1, sizeof(*x));
		x->r = r;
		x->kind = p[1] == 's';
		loop_timer_init(&x->t, later_fire);
		http_req_on_event(r, on_event, x);
		if (x->kind) {
			http_resp_start(r, 200, -1);
			http_resp_write(r, body, len);
		}
		loop_timer_arm(loop, &x->t, 0);
		break;
	}
	case 'f': /* fixed length, ended short: the connection must close */
		http_resp_start(r, 200, 10);
		http_resp_write(r, "abc", 3);
		http_resp_end(r);
		break;
	case 'n':
		http_resp_send(r, 204, "x", 1);
		break;
	case 'u': /* a tunnel that echoes until the client leaves */
		http_req_on_event(r, tunnel_event, NULL);
		if (http_resp_upgrade(r, tunnel_data, NULL) < 0) {
			http_req_on_event(r, NULL, NULL);
			http_resp_send(r, 426, NULL, 0);
		}
		break;
	default:
		http_resp_send(r, 200, body, len);
	}
}

static void setup(void)
{
	struct http_server_opts o = {
		.handler = handle,
		.max_header_bytes = 4096,
		.max_uri_bytes = 1024,
		.max_body_bytes = 16384,
		.max_headers = 20,
		.max_stream_queue = 65536,
	};
	log_set_level(LOG_LVL_ERROR);
	if (loop_new(&loop) < 0 || http_server_new(loop, &o, &srv) < 0)
		__builtin_trap();
}

static void drain(int fd)
{
	char b[65536];
	while (read(fd, b, sizeof(b)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	if (!loop)
		setup();
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] * 7 % 509 + 1;
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (http_server_adopt(srv, sv[0], NULL) < 0) {
		close(sv[1]);
		return 0;
	}
	for (size_t off = 0; off < size;) {
		ssize_t w = write(sv[1], data + off, MIN(step, size - off));
		if (w > 0)
			off += (size_t)w;
		loop_run_once(loop, 0);
		drain(sv[1]);
		if (w <= 0 && !http_server_conns(srv))
			break; /* the server closed on us */
	}
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 50 && http_server_conns(srv); i++) {
		loop_run_once(loop, 0);
		drain(sv[1]);
	}
	close(sv[1]);
	for (int i = 0; i < 50 && http_server_conns(srv); i++)
		loop_run_once(loop, 0);
	/* Lingering closes wait for our FIN; everything else must be gone. */
	if (http_server_conns(srv))
		__builtin_trap();
	return 0;
}
