/* apiserver: the REST API (core/api) over HTTPS on loopback, for end-to-end tests with kubectl.
 *
 *   apiserver --data-dir DIR --kubeconfig FILE [--port-file F] [--port N]
 *
 * What `tug server` will run once it serves the API, without controllers or a node: the
 * store under DIR/db, the cluster PKI under DIR (client-certificate authentication), the
 * objects a fresh cluster has, and an admin kubeconfig in FILE. Tests use it until the server
 * serves the API itself. SIGTERM shuts down gracefully.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/api/api.h"
#include "core/auth/auth.h"
#include "core/http/http.h"
#include "core/loop/loop.h"
#include "core/util/util.h"

static struct loop *loop;
static struct http_server *srv;
static struct api *api;

/* The API is made once the port is known (its kubernetes Service points there). */
static void handle(struct http_req *r, void *arg)
{
	api_http(r, api);
}

static void on_done(void *arg)
{
	loop_stop(loop);
}

static void on_term(struct loop *l, int signo, void *arg)
{
	http_server_shutdown(srv, 5000, on_done, NULL);
}

static int die(const char *what, const struct err *e)
{
	fprintf(stderr, "apiserver: %s: %s\n", what, e->msg);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ 0 },
	};
	const char *data_dir = NULL, *kubeconfig = NULL, *port_file = NULL;
	int port = 0, c;
	struct err e = { 0 };

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data_dir = optarg;
			break;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!data_dir || !kubeconfig) {
		fprintf(stderr,
		        "usage: apiserver --data-dir DIR --kubeconfig FILE [--port-file F]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	char db[4096];
	snprintf(db, sizeof(db), "%s/db", data_dir);
	struct store *st = NULL;
	struct store_opts so = { .dir = db };
	if (store_open(&st, &so, &e) < 0)
		return die("open store", &e);
	if (loop_new(&loop) < 0)
		return 1;

	const char *const sans[] = { "localhost", "127.0.0.1" };
	struct auth_pki_opts po = { .data_dir = data_dir, .sans = sans, .nsans = 2 };
	struct auth_pki pki = { 0 };
	if (auth_pki_ensure(&po, &pki, &e) < 0)
		return die("PKI", &e);
	struct http_tls *tls = NULL;
	struct http_tls_opts to = {
		.cert_pem = pki.serving_cert,
		.key_pem = pki.serving_key,
		.client_ca_pem = auth_ca_cert_pem(pki.ca),
		.client_auth = HTTP_CLIENT_AUTH_OPTIONAL,
	};
	if (http_tls_new(&to, &tls, &e) < 0)
		return die("TLS", &e);

	struct api_opts ao = { .store = st,
		               .loop = loop,
		               .service_cidr = "10.43.0.0/16",
		               .node_port_min = 30000,
		               .node_port_max = 32767,
		               .advertise_ip = "127.0.0.1" };
	struct http_server_opts ho = { .handler = handle, .error_body = api_http_error_body };
	if (http_server_new(loop, &ho, &srv) < 0)
		return 1;
	if (http_server_listen(srv, "127.0.0.1", port, tls, &port, &e) < 0)
		return die("listen", &e);
	ao.https_port = port;
	if (api_new(&api, &ao, &e) < 0)
		return die("API", &e);
	if (api_bootstrap(api, "apiVersion: v1\nkind: Config\n", &e) < 0)
		return die("bootstrap", &e);

	char *url = auth_local_server_url("127.0.0.1", port);
	if (auth_write_kubeconfig(kubeconfig, 0600, url, auth_ca_cert_pem(pki.ca), pki.admin_cert,
	                          pki.admin_key, &e) < 0)
		return die("kubeconfig", &e);
	free(url);
	if (port_file) {
		char s[16];
		int n = snprintf(s, sizeof(s), "%d\n", port);
		write_file_atomic(port_file, s, (size_t)n, 0644);
	}
	loop_on_signal(loop, SIGTERM, on_term, NULL);
	loop_on_signal(loop, SIGINT, on_term, NULL);
	loop_run(loop);
	http_server_free(srv);
	api_free(api);
	http_tls_free(tls);
	auth_pki_free(&pki);
	loop_free(loop);
	store_close(st);
	return 0;
}
