/* auth: who a client is. Today the cluster PKI (CA, serving and client certificates, the admin
 * kubeconfig); tokens and authorization join later. */
#ifndef TUG_AUTH_H
#define TUG_AUTH_H

/*
 * Usage at server start (core/cli/node.c does this):
 *
 *	struct auth_san_opts so = { .service_cidr = "10.43.0.0/16", ... };
 *	struct auth_names sans = { 0 };
 *	auth_serving_sans(&so, &sans, &e);
 *	struct auth_pki_opts po = { .data_dir = "/var/lib/tug",
 *	                            .sans = (const char *const *)sans.v, .nsans = sans.n };
 *	struct auth_pki pki;
 *	auth_pki_ensure(&po, &pki, &e);          // makes or reuses the files in <data-dir>/server/tls
 *	auth_write_kubeconfig("/etc/tug/tug.yaml", 0600, "https://127.0.0.1:6443",
 *	                      auth_ca_cert_pem(pki.ca), pki.admin_cert, pki.admin_key, &e);
 *	// pki.serving_cert/serving_key and auth_ca_cert_pem(pki.ca) feed http_tls_new()
 *
 * Later, when a node joins:
 *	auth_ca_issue_node(pki.ca, "pi-2", csr_pem_or_NULL, &cert, &key, &e);
 *
 * All keys are ECDSA P-256 and all signatures ECDSA-SHA256: small, fast to
 * make on a Pi, and what Go's crypto/tls (kubectl) handles natively.
 */

#include <stdbool.h>
#include <stddef.h>

#include "core/util/util.h"

/* A list of strings, owned by whoever holds it (auth_names_free). */
struct auth_names {
	char **v;
	size_t n;
};
void auth_names_add(struct auth_names *l, const char *s);
bool auth_names_has(const struct auth_names *l, const char *s);
void auth_names_free(struct auth_names *l);

/* --- certificate authority ------------------------------------------------------ */

struct auth_ca;

/* Makes a self-signed CA named cn, valid for days. */
int auth_ca_new(const char *cn, unsigned days, struct auth_ca **out, struct err *e);
/* Loads a CA from PEM (the key must belong to the certificate, which must be a CA). */
int auth_ca_load(const char *cert_pem, const char *key_pem, struct auth_ca **out, struct err *e);
void auth_ca_free(struct auth_ca *ca);
const char *auth_ca_cert_pem(const struct auth_ca *ca);
const char *auth_ca_key_pem(const struct auth_ca *ca);
/* Hex SHA-256 of the CA certificate's PEM text, as k3s tokens name their CA (K10<hash>::...). */
void auth_ca_hash(const struct auth_ca *ca, char out[65]);

enum {
	AUTH_USAGE_SERVER = 1 << 0, /* extendedKeyUsage serverAuth */
	AUTH_USAGE_CLIENT = 1 << 1, /* extendedKeyUsage clientAuth */
};

struct auth_cert_req {
	const char *cn;          /* subject CN: the user for client certificates */
	const char *const *orgs; /* subject O entries: the groups */
	size_t norgs;
	const char *const *sans; /* DNS names and IP literals */
	size_t nsans;
	unsigned usage;      /* AUTH_USAGE_* */
	unsigned days;       /* validity; 0: 365 */
	const char *csr_pem; /* sign this CSR's key (its signature is checked,
	                                           its subject ignored); NULL: make a new key */
};

/*
 * Issues a certificate signed by ca. *cert_pem is new (caller frees); *key_pem
 * is the new private key (caller frees) or NULL when a CSR was given.
 */
int auth_ca_issue(struct auth_ca *ca, const struct auth_cert_req *r, char **cert_pem,
                  char **key_pem, struct err *e);

/* A kubelet client certificate: CN system:node:<name>, O system:nodes. */
int auth_ca_issue_node(struct auth_ca *ca, const char *node_name, const char *csr_pem,
                       char **cert_pem, char **key_pem, struct err *e);

/*
 * Checks a certificate we issued earlier before reusing it: signed by ca,
 * valid now and for min_days more, its key matches key_pem (if given), and
 * its SANs cover every name in want (if given). 0 when reusable; otherwise
 * -EKEYEXPIRED, -EKEYREJECTED, -ENOENT (a SAN missing) or -EINVAL (unreadable),
 * with the reason in e.
 */
int auth_cert_check(struct auth_ca *ca, const char *cert_pem, const char *key_pem,
                    const struct auth_names *want, unsigned min_days, struct err *e);

/* --- the server's PKI on disk ------------------------------------------------------ */

struct auth_pki_opts {
	const char *data_dir; /* files live in <data_dir>/server/tls */
	const char *const *sans;
	size_t nsans;
};

struct auth_pki {
	struct auth_ca *ca;
	char *serving_cert, *serving_key; /* PEM */
	char *admin_cert, *admin_key;     /* PEM; CN system:admin, O system:masters */
};

/*
 * At first start makes the CA (10 years), the serving certificate (1 year,
 * the given SANs) and the admin client certificate (1 year); keys are 0600,
 * the folder 0700. Later starts reuse them; a leaf certificate is made again
 * when it was not issued by the CA, expires within 90 days or (serving) lacks
 * a SAN. A CA with only one of its two files is an error, never replaced.
 */
int auth_pki_ensure(const struct auth_pki_opts *o, struct auth_pki *out, struct err *e);
void auth_pki_free(struct auth_pki *p);

/* --- serving names and the kubeconfig ----------------------------------------------- */

struct auth_san_opts {
	const char *service_cidr;    /* its first address (the kubernetes Service) goes in */
	const char *cluster_domain;  /* "cluster.local" */
	const char *bind_address;    /* added when it names one address */
	const char *node_name;       /* added besides the hostname */
	const char *const *node_ips; /* none: every non-loopback address of this host */
	size_t n_node_ips;
	const char *const *extra; /* --tls-san */
	size_t nextra;
};

/*
 * The names the serving certificate must cover: hostname, node name and IPs,
 * localhost, 127.0.0.1, ::1, the first service IP, kubernetes,
 * kubernetes.default, kubernetes.default.svc, kubernetes.default.svc.<domain>,
 * and every extra one. Appended to out without duplicates.
 */
int auth_serving_sans(const struct auth_san_opts *o, struct auth_names *out, struct err *e);

/*
 * Writes a kubeconfig that a stock kubectl uses as it is: one cluster, user
 * and context named "default", with the CA, client certificate and key
 * embedded in base64. Atomic replace with the given mode (e.g. 0600).
 */
int auth_write_kubeconfig(const char *path, unsigned mode, const char *server_url,
                          const char *ca_pem, const char *cert_pem, const char *key_pem,
                          struct err *e);

/* The kubeconfig of kube-public/cluster-info: server and CA, no credentials. Caller frees. */
char *auth_cluster_kubeconfig(const char *server_url, const char *ca_pem);

/* The URL kubectl on this host should use: https://127.0.0.1:<port>, or the bind address when
 * the server listens on one specific non-loopback address. Caller frees. */
char *auth_local_server_url(const char *bind_address, int port);

#endif
