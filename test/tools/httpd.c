/* httpd: core/http serving a fixed body, for end-to-end tests with real clients and the benchmark.
 *
 *   httpd [--addr 127.0.0.1] [--port 0] [--port-file F] [--body FILE] [--file FILE]
 *         [--cert F --key F [--client-ca F]] [--max-conns N] [--header-timeout-ms N]
 *
 * GET /json answers the body (a pod's JSON by default) from memory, /file the
 * --file via sendfile, /whoami the client identity, /stream three chunks, /async
 * after a round trip through another thread; everything else is 404.
 * SIGTERM shuts down gracefully; the exit status is 0 when that went cleanly.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/http/http.h"
#include "core/log/log.h"
#include "core/loop/loop.h"
#include "core/util/util.h"

static const char default_body[] =
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web-0\",\"namespace\":"
    "\"default\",\"uid\":\"6b1f3c1e-8a53-4a53-9e4b-0c8f1d6f2a11\",\"resourceVersion\":\"1042\","
    "\"creationTimestamp\":\"2024-05-01T10:00:00Z\",\"labels\":{\"app\":\"web\"}},\"spec\":{"
    "\"containers\":[{\"name\":\"web\",\"image\":\"busybox:1.36\",\"command\":[\"httpd\",\"-f\"],"
    "\"resources\":{\"limits\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}],\"nodeName\":\"pi-1\"},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.42.0.7\"}}\n";

static struct loop *loop;
static struct http_server *srv;
static char *body;
static size_t body_len;
static const char *file_path;

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
		loop_timer_arm(l, t, 10);
		return;
	}
	http_resp_end(st->r);
	free(st);
}

static void async_reply(void *arg)
{
	http_resp_send(arg, 200, "async\n", 6);
}

static void *async_worker(void *arg)
{
	loop_post(loop, async_reply, arg);
	return NULL;
}

static void handle(struct http_req *r, void *arg)
{
	const char *p = http_req_path(r);
	struct buf b = { 0 };

	if (!strcmp(p, "/json")) {
		http_resp_header(r, "Content-Type", "application/json");
		http_resp_send(r, 200, body, body_len);
	} else if (!strcmp(p, "/file") && file_path) {
		int fd = open(file_path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			http_resp_send(r, 500, "cannot open\n", 12);
			return;
		}
		http_resp_header(r, "Content-Type", "application/octet-stream");
		http_resp_file(r, 200, fd, 0, (uint64_t)st.st_size);
	} else if (!strcmp(p, "/whoami")) {
		const struct http_identity *id = http_req_identity(r);
		buf_printf(&b, "user=%s groups=", id ? id->user : "(anonymous)");
		for (size_t i = 0; id && i < id->ngroups; i++)
			buf_printf(&b, "%s%s", i ? "," : "", id->groups[i]);
		buf_addc(&b, '\n');
		http_resp_send_buf(r, 200, &b);
	} else if (!strcmp(p, "/stream")) {
		struct stream *st = xcalloc(1, sizeof(*st));
		st->r = r;
		st->left = 3;
		http_resp_start(r, 200, -1);
		loop_timer_init(&st->t, stream_tick);
		loop_timer_arm(loop, &st->t, 10);
	} else if (!strcmp(p, "/async")) {
		pthread_t th;
		if (pthread_create(&th, NULL, async_worker, r) != 0) {
			http_resp_send(r, 503, "no thread\n", 10);
			return;
		}
		pthread_detach(th);
	} else if (!strcmp(p, "/echo")) {
		size_t len;
		const char *in = http_req_body(r, &len);
		buf_printf(&b, "%zu:", len);
		buf_add(&b, in, len);
		http_resp_send_buf(r, 200, &b);
	} else {
		http_resp_send(r, 404, "404 page not found\n", 19);
	}
}

static void on_done(void *arg)
{
	loop_stop(loop);
}

static void on_term(struct loop *l, int signo, void *arg)
{
	http_server_shutdown(srv, 5000, on_done, NULL);
}

static char *slurp(const char *path, size_t *len)
{
	char *s = NULL;
	if (read_file(path, &s, len, 0) < 0) {
		fprintf(stderr, "httpd: cannot read %s\n", path);
		exit(2);
	}
	return s;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "body", required_argument, NULL, 'b' },
		{ "file", required_argument, NULL, 'f' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "client-ca", required_argument, NULL, 'C' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "header-timeout-ms", required_argument, NULL, 'h' },
		{ "debug", no_argument, NULL, 'd' },
		{ 0 },
	};
	const char *addr = "127.0.0.1", *port_file = NULL, *cert = NULL, *key = NULL, *ca = NULL;
	struct http_server_opts o = { .handler = handle };
	struct http_tls *tls = NULL;
	struct err e = { 0 };
	int port = 0, c;

	body = (char *)default_body;
	body_len = sizeof(default_body) - 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'b':
			body = slurp(optarg, &body_len);
			break;
		case 'f':
			file_path = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'C':
			ca = optarg;
			break;
		case 'm':
			o.max_conns = (unsigned)atoi(optarg);
			break;
		case 'h':
			o.header_timeout_ms = (uint32_t)atoi(optarg);
			break;
		case 'd':
			log_set_level(LOG_LVL_DEBUG);
			break;
		default:
			return 2;
		}
	}
	if (loop_new(&loop) < 0 || http_server_new(loop, &o, &srv) < 0)
		return 1;
	if (cert) {
		size_t n;
		_cleanup_free_ char *cp = slurp(cert, &n), *kp = slurp(key, &n);
		_cleanup_free_ char *cap = ca ? slurp(ca, &n) : NULL;
		struct http_tls_opts t = {
			.cert_pem = cp,
			.key_pem = kp,
			.client_ca_pem = cap,
			.client_auth = ca ? HTTP_CLIENT_AUTH_OPTIONAL : HTTP_CLIENT_AUTH_NONE,
		};
		if (http_tls_new(&t, &tls, &e) < 0) {
			fprintf(stderr, "httpd: %s\n", e.msg);
			return 1;
		}
	}
	if (http_server_listen(srv, addr, port, tls, &port, &e) < 0) {
		fprintf(stderr, "httpd: %s\n", e.msg);
		return 1;
	}
	if (port_file) {
		char s[16];
		int n = snprintf(s, sizeof(s), "%d\n", port);
		write_file_atomic(port_file, s, (size_t)n, 0644);
	}
	loop_on_signal(loop, SIGTERM, on_term, NULL);
	loop_on_signal(loop, SIGINT, on_term, NULL);
	loop_run(loop);
	http_server_free(srv);
	http_tls_free(tls);
	loop_free(loop);
	if (body != default_body)
		free(body);
	return 0;
}
