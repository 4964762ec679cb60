/* serve: the server's HTTPS endpoint: PKI and kubeconfig at start, then the listener serving
 * the Kubernetes API (core/api) with client-certificate authentication. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/api/api.h"
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
	char *url;
};

const char *serve_url(const struct serve *s)
{
	return s->url;
}

const char *serve_ca_pem(const struct serve *s)
{
	return auth_ca_cert_pem(s->pki.ca);
}

int serve_start(struct loop *l, const struct tug_config *c, struct api *api, struct serve **out)
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
	struct http_server_opts ho = { .handler = api_http,
		                       .arg = api,
		                       .error_body = api_http_error_body };
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
	s->url = xstrdup(url);
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
	free(s->url);
	free(s);
}
