/* serve: the server's HTTPS endpoint: PKI and kubeconfig at start, the listener, and until the
 * REST API lands, the health and version endpoints with client-certificate authentication. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/auth/auth.h"
#include "core/cli/serve.h"
#include "core/http/http.h"
#define LOG_TAG "api"
#include "core/log/log.h"

struct serve {
	struct loop *loop;
	struct http_server *http;
	struct http_tls *tls;
	struct auth_pki pki;
	int port;
};

/* Kubernetes' Status reasons for the codes the server may answer on its own. */
static const char *status_reason(int code)
{
	switch (code) {
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "NotFound";
	case 405:
		return "MethodNotAllowed";
	case 408:
		return "Timeout";
	case 413:
		return "RequestEntityTooLarge";
	case 415:
		return "UnsupportedMediaType";
	case 429:
		return "TooManyRequests";
	case 503:
		return "ServiceUnavailable";
	default:
		return code >= 500 ? "InternalError" : "BadRequest";
	}
}

static void json_string(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			buf_printf(b, "\\u%04x", *p);
		else
			buf_addc(b, (char)*p);
	}
	buf_addc(b, '"');
}

/* A metav1.Status, which kubectl prints as "Error from server (Reason): message". */
static void status_json(struct buf *b, int code, const char *message)
{
	buf_adds(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
	            "\"status\":\"Failure\",\"message\":");
	json_string(b, message);
	buf_printf(b, ",\"reason\":\"%s\",\"code\":%d}\n", status_reason(code), code);
}

static const char *error_body(void *arg, int status, const char *message, struct buf *out)
{
	status_json(out, status, message && *message ? message : http_status_text(status));
	return "application/json";
}

static void send_status(struct http_req *r, int code, const char *message)
{
	struct buf b = { 0 };
	status_json(&b, code, message);
	http_resp_header(r, "Content-Type", "application/json");
	http_resp_header(r, "Cache-Control", "no-cache, private");
	http_resp_send_buf(r, code, &b);
}

/* Anonymous clients may ask whether the server lives and what it is; nothing else. */
static bool is_public(const char *path)
{
	static const char *const pub[] = { "/healthz", "/livez", "/readyz", "/version" };
	for (size_t i = 0; i < ARRAY_SIZE(pub); i++) {
		size_t n = strlen(pub[i]);
		if (!strncmp(path, pub[i], n) && (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

static void handle(struct http_req *r, void *arg)
{
	const char *path = http_req_path(r);
	const char *method = http_req_method(r);

	if (!http_req_identity(r) && !is_public(path)) {
		send_status(r, 401, "Unauthorized");
		return;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		send_status(r, 405,
		            "the server does not allow this method on the requested resource");
		return;
	}
	if (!strcmp(path, "/healthz") || !strcmp(path, "/livez") || !strcmp(path, "/readyz")) {
		http_resp_header(r, "Content-Type", "text/plain; charset=utf-8");
		http_resp_header(r, "X-Content-Type-Options", "nosniff");
		http_resp_send(r, 200, "ok", 2);
		return;
	}
	if (!strcmp(path, "/version")) {
		struct buf b = { 0 };
		buf_printf(
		    &b,
		    "{\n  \"major\": \"1\",\n  \"minor\": \"32\",\n"
		    "  \"gitVersion\": \"v1.32.0+tug%s\",\n  \"gitCommit\": \"%s\",\n"
		    "  \"gitTreeState\": \"clean\",\n  \"buildDate\": \"1970-01-01T00:00:00Z\",\n"
		    "  \"goVersion\": \"none (C11)\",\n  \"compiler\": \"gcc\",\n"
		    "  \"platform\": \"linux/%s\"\n}",
		    TUG_VERSION, TUG_COMMIT,
#if defined(__aarch64__)
		    "arm64"
#elif defined(__arm__)
		    "arm"
#else
		    "amd64"
#endif
		);
		http_resp_header(r, "Content-Type", "application/json");
		http_resp_send_buf(r, 200, &b);
		return;
	}
	send_status(r, 404, "the server could not find the requested resource");
}

int serve_start(struct loop *l, const struct tug_config *c, struct serve **out)
{
	struct serve *s = xcalloc(1, sizeof(*s));
	struct auth_names sans = { 0 };
	struct err e = { 0 };
	char *url = NULL;
	int rc;

	s->loop = l;
	struct auth_san_opts so = {
		.service_cidr = c->service_cidr,
		.cluster_domain = c->cluster_domain,
		.bind_address = c->bind_address,
		.node_name = c->node_name,
		.node_ips = (const char *const *)c->node_ip.v,
		.n_node_ips = c->node_ip.n,
		.extra = (const char *const *)c->tls_san.v,
		.nextra = c->tls_san.n,
	};
	if ((rc = auth_serving_sans(&so, &sans, &e)) < 0)
		goto fail;
	if (c->advertise_address && *c->advertise_address)
		auth_names_add(&sans, c->advertise_address);
	struct auth_pki_opts po = { .data_dir = c->data_dir,
		                    .sans = (const char *const *)sans.v,
		                    .nsans = sans.n };
	if ((rc = auth_pki_ensure(&po, &s->pki, &e)) < 0)
		goto fail;
	struct http_tls_opts to = {
		.cert_pem = s->pki.serving_cert,
		.key_pem = s->pki.serving_key,
		.client_ca_pem = auth_ca_cert_pem(s->pki.ca),
		.client_auth = HTTP_CLIENT_AUTH_OPTIONAL,
	};
	if ((rc = http_tls_new(&to, &s->tls, &e)) < 0)
		goto fail;
	struct http_server_opts ho = { .handler = handle, .arg = s, .error_body = error_body };
	if ((rc = http_server_new(l, &ho, &s->http)) < 0) {
		err_set(&e, rc, "start HTTP server");
		goto fail;
	}
	if ((rc = http_server_listen(s->http, c->bind_address, (int)c->https_listen_port, s->tls,
	                             &s->port, &e)) < 0)
		goto fail;
	url = auth_local_server_url(c->bind_address, s->port);
	unsigned mode = (unsigned)strtoul(c->write_kubeconfig_mode, NULL, 8);
	if (c->write_kubeconfig && *c->write_kubeconfig) {
		if ((rc = auth_write_kubeconfig(c->write_kubeconfig, mode, url,
		                                auth_ca_cert_pem(s->pki.ca), s->pki.admin_cert,
		                                s->pki.admin_key, &e)) < 0)
			goto fail;
		log_info("wrote kubeconfig %s", c->write_kubeconfig);
	}
	log_info("API server listening on https://%s:%d (kubectl: %s)", c->bind_address, s->port,
	         url);
	free(url);
	auth_names_free(&sans);
	*out = s;
	return 0;
fail:
	log_error("API server: %s", e.msg);
	free(url);
	auth_names_free(&sans);
	serve_free(s);
	return rc;
}

void serve_shutdown(struct serve *s, uint32_t timeout_ms, void (*done)(void *arg), void *arg)
{
	http_server_shutdown(s->http, timeout_ms, done, arg);
}

void serve_free(struct serve *s)
{
	if (!s)
		return;
	http_server_free(s->http);
	http_tls_free(s->tls);
	auth_pki_free(&s->pki);
	free(s);
}
