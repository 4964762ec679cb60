/* watch_fanout: one write fanned out to many watchers over TLS, timed from the client side
 * with epoll, so that the client's own cost stays small next to what it measures:
 *   watch_fanout PORT TOKEN [WATCHERS [WRITES]]
 * Prints delivery latency (write sent -> event decrypted at a watcher) p50/p99/max, the
 * spread between the first and the last watcher of each write (the fan-out itself), and the
 * first watcher's latency (the write's commit, fsync included), in milliseconds. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

struct tconn {
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	char buf[8192];
	size_t len;
	bool got;
};

static mbedtls_ssl_config conf;
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static const char *port, *token;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "watch_fanout: %s: %d\n", what, rc);
	exit(1);
}

static void tconnect(struct tconn *c)
{
	int rc;
	mbedtls_net_init(&c->net);
	mbedtls_ssl_init(&c->ssl);
	if ((rc = mbedtls_net_connect(&c->net, "127.0.0.1", port, MBEDTLS_NET_PROTO_TCP)) != 0)
		die("connect", rc);
	if ((rc = mbedtls_ssl_setup(&c->ssl, &conf)) != 0)
		die("ssl setup", rc);
	mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send, mbedtls_net_recv, NULL);
	while ((rc = mbedtls_ssl_handshake(&c->ssl)) != 0)
		if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
			die("handshake", rc);
}

static void tsend(struct tconn *c, const char *method, const char *path, const char *ctype,
                  const char *body)
{
	char req[4096];
	int n = snprintf(req, sizeof(req),
	                 "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
	                 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
	                 method, path, token, ctype, strlen(body), body);
	for (int off = 0; off < n;) {
		int rc = mbedtls_ssl_write(&c->ssl, (unsigned char *)req + off, (size_t)(n - off));
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE || rc == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (rc < 0)
			die("write", rc);
		off += rc;
	}
}

static void tread_more(struct tconn *c)
{
	for (;;) {
		int rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)c->buf + c->len,
		                          sizeof(c->buf) - 1 - c->len);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (rc <= 0)
			die("read", rc);
		c->len += (size_t)rc;
		c->buf[c->len] = '\0';
		return;
	}
}

/* Reads (blocking) one response head, and its body when it has a Content-Length: a watch's
 * head only, a write's whole response. */
static void tread_response(struct tconn *c)
{
	char *end;
	c->len = 0;
	c->buf[0] = '\0';
	while (!(end = strstr(c->buf, "\r\n\r\n")))
		tread_more(c);
	const char *cl = strstr(c->buf, "Content-Length: ");
	if (!cl || cl > end)
		return;
	size_t want = (size_t)(end + 4 - c->buf) + strtoul(cl + 16, NULL, 10);
	if (want >= sizeof(c->buf))
		die("response too large", (int)want);
	while (c->len < want)
		tread_more(c);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: watch_fanout PORT TOKEN [WATCHERS [WRITES]]\n");
		return 2;
	}
	port = argv[1];
	token = argv[2];
	int nw = argc > 3 ? atoi(argv[3]) : 100, writes = argc > 4 ? atoi(argv[4]) : 30;
	if (nw < 1 || writes < 1)
		return 2;
	mbedtls_ssl_config_init(&conf);
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0);
	mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	                            MBEDTLS_SSL_PRESET_DEFAULT);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);

	char name[64], path[512], body[256];
	snprintf(name, sizeof(name), "fan%ld", (long)time(NULL) * 100000 + (long)getpid());
	struct tconn *w = calloc(1, sizeof(*w)), *ws = calloc((size_t)nw, sizeof(*ws));
	tconnect(w);
	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"n\":\"0\"}}",
	         name);
	tsend(w, "POST", "/api/v1/namespaces/default/configmaps", "application/json", body);
	tread_response(w);
	char *p = strstr(w->buf, "\"resourceVersion\":\"");
	if (!p)
		die("create failed", 0);
	unsigned long long rv = strtoull(p + 19, NULL, 10);

	int ep = epoll_create1(0);
	snprintf(path, sizeof(path),
	         "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%%3D%s"
	         "&resourceVersion=%llu",
	         name, rv);
	for (int i = 0; i < nw; i++) {
		tconnect(&ws[i]);
		tsend(&ws[i], "GET", path, "application/json", "");
		tread_response(&ws[i]);
		mbedtls_net_set_nonblock(&ws[i].net);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, ws[i].net.fd, &ev);
	}
	double *lat = calloc((size_t)(nw * writes), sizeof(double)),
	       *spread = calloc((size_t)writes, sizeof(double));
	double *firsts = calloc((size_t)writes, sizeof(double));
	size_t nl = 0;
	int lost = 0;
	struct epoll_event evs[128];
	for (int k = 1; k <= writes; k++) {
		char want[32];
		snprintf(want, sizeof(want), "\"n\":\"%d\"", k);
		snprintf(body, sizeof(body), "{\"data\":{\"n\":\"%d\"}}", k);
		snprintf(path, sizeof(path), "/api/v1/namespaces/default/configmaps/%s", name);
		for (int i = 0; i < nw; i++)
			ws[i].got = false;
		int left = nw;
		double first = 0, last = 0, t0 = now_ms();
		tsend(w, "PATCH", path, "application/merge-patch+json", body);
		while (left) {
			int n = epoll_wait(ep, evs, 128, 5000);
			if (n <= 0) {
				lost += left;
				break;
			}
			for (int e = 0; e < n; e++) {
				struct tconn *c = &ws[evs[e].data.u32];
				for (;;) {
					if (c->len > sizeof(c->buf) - 1024) {
						memmove(c->buf, c->buf + c->len - 512, 512);
						c->len = 512;
					}
					int rc = mbedtls_ssl_read(&c->ssl,
					                          (unsigned char *)c->buf + c->len,
					                          sizeof(c->buf) - 1 - c->len);
					if (rc <= 0)
						break;
					c->len += (size_t)rc;
					c->buf[c->len] = '\0';
				}
				if (!c->got && strstr(c->buf, want)) {
					double t = now_ms() - t0;
					lat[nl++] = t;
					if (!first)
						first = t;
					last = t;
					c->got = true;
					c->len = 0;
					c->buf[0] = '\0';
					left--;
				}
			}
		}
		spread[k - 1] = last - first;
		firsts[k - 1] = first;
		tread_response(w); /* the PATCH's response */
	}
	qsort(lat, nl, sizeof(double), cmp);
	qsort(spread, (size_t)writes, sizeof(double), cmp);
	qsort(firsts, (size_t)writes, sizeof(double), cmp);
	if (!nl)
		die("no event arrived", 0);
	printf(
	    "%d watchers, %d writes: delivery p50 %.2f ms, p99 %.2f ms, max %.2f ms; first-to-last "
	    "spread p50 %.2f ms, max %.2f ms; first watcher p50 %.2f ms, max %.2f ms; %zu of %d "
	    "delivered\n",
	    nw, writes, lat[nl / 2], lat[(size_t)((double)nl * 0.99) - (nl >= 100 ? 1 : 0)],
	    lat[nl - 1], spread[writes / 2], spread[writes - 1], firsts[writes / 2],
	    firsts[writes - 1], nl, nw * writes);
	return lost ? 1 : 0;
}
