/* auth_test: the cluster CA, the certificates it issues, the PKI on disk and the kubeconfig. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include "core/auth/auth.h"
#include "core/util/util.h"

static char tmpdir[64];

static int make_tmp(void **state)
{
	strcpy(tmpdir, "/tmp/tug-auth-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int remove_tmp(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void parse_crt(mbedtls_x509_crt *c, const char *pem)
{
	mbedtls_x509_crt_init(c);
	assert_int_equal(mbedtls_x509_crt_parse(c, (const void *)pem, strlen(pem) + 1), 0);
}

/* The subject as "O=..,CN=.." in DER order. */
static void subject(const mbedtls_x509_crt *c, char *out, size_t n)
{
	assert_true(mbedtls_x509_dn_gets(out, n, &c->subject) > 0);
}

static bool verifies(const char *leaf_pem, const struct auth_ca *ca)
{
	mbedtls_x509_crt leaf, root;
	uint32_t flags = 0;
	parse_crt(&leaf, leaf_pem);
	parse_crt(&root, auth_ca_cert_pem(ca));
	int rc = mbedtls_x509_crt_verify(&leaf, &root, NULL, NULL, &flags, NULL, NULL);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&root);
	return rc == 0;
}

static void test_ca_signs_a_serving_certificate_with_dns_and_ip_names(void **state)
{
	struct auth_ca *ca = NULL;
	struct err e = { 0 };
	char *cert = NULL, *key = NULL, dn[256];
	const char *sans[] = { "localhost", "127.0.0.1", "::1", "10.43.0.1", "kubernetes.default" };
	struct auth_cert_req r = {
		.cn = "kube-apiserver", .sans = sans, .nsans = 5, .usage = AUTH_USAGE_SERVER
	};

	assert_int_equal(auth_ca_new("test-ca", 3650, &ca, &e), 0);
	assert_int_equal(auth_ca_issue(ca, &r, &cert, &key, &e), 0);
	assert_true(str_has_prefix(cert, "-----BEGIN CERTIFICATE-----"));
	assert_true(str_has_prefix(key, "-----BEGIN EC PRIVATE KEY-----"));
	assert_true(verifies(cert, ca));

	mbedtls_x509_crt c;
	parse_crt(&c, cert);
	subject(&c, dn, sizeof(dn));
	assert_string_equal(dn, "CN=kube-apiserver");
	assert_int_equal(
	    mbedtls_x509_crt_check_extended_key_usage(&c, MBEDTLS_OID_SERVER_AUTH,
	                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
	    0);
	assert_int_not_equal(
	    mbedtls_x509_crt_check_extended_key_usage(&c, MBEDTLS_OID_CLIENT_AUTH,
	                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)),
	    0);
	assert_int_equal(c.ca_istrue, 0);
	mbedtls_x509_crt_free(&c);

	/* The same names pass the reuse check; one more does not. */
	struct auth_names want = { 0 };
	for (size_t i = 0; i < 5; i++)
		auth_names_add(&want, sans[i]);
	assert_int_equal(auth_cert_check(ca, cert, key, &want, 90, &e), 0);
	auth_names_add(&want, "10.0.0.9");
	assert_int_equal(auth_cert_check(ca, cert, key, &want, 90, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "10.0.0.9"));
	/* Valid for a year: not for another 400 days. */
	assert_int_equal(auth_cert_check(ca, cert, key, NULL, 400, &e), -EKEYEXPIRED);

	/* Another CA's certificate is not reused. */
	struct auth_ca *other = NULL;
	assert_int_equal(auth_ca_new("other", 10, &other, &e), 0);
	assert_int_equal(auth_cert_check(other, cert, key, NULL, 1, &e), -EKEYREJECTED);
	auth_ca_free(other);
	auth_names_free(&want);
	free(cert);
	free(key);
	auth_ca_free(ca);
}

static void test_client_certificate_names_user_and_every_group(void **state)
{
	struct auth_ca *ca = NULL;
	struct err e = { 0 };
	char *cert = NULL, *key = NULL, dn[256];
	const char *orgs[] = { "system:masters", "dev", "ops" };
	struct auth_cert_req r = {
		.cn = "alice", .orgs = orgs, .norgs = 3, .usage = AUTH_USAGE_CLIENT, .days = 30
	};

	assert_int_equal(auth_ca_new("test-ca", 3650, &ca, &e), 0);
	assert_int_equal(auth_ca_issue(ca, &r, &cert, &key, &e), 0);
	mbedtls_x509_crt c;
	parse_crt(&c, cert);
	subject(&c, dn, sizeof(dn));
	assert_string_equal(dn, "O=system:masters, O=dev, O=ops, CN=alice");
	assert_int_equal(
	    mbedtls_x509_crt_check_extended_key_usage(&c, MBEDTLS_OID_CLIENT_AUTH,
	                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)),
	    0);
	mbedtls_x509_crt_free(&c);
	assert_true(verifies(cert, ca));
	free(cert);
	free(key);

	r.cn = "";
	assert_int_equal(auth_ca_issue(ca, &r, &cert, &key, &e), -EINVAL);
	auth_ca_free(ca);
}

/* A CSR as a joining node would send: its own key, any subject. */
static char *make_csr(const char *subject_name)
{
	mbedtls_pk_context k;
	mbedtls_x509write_csr w;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	unsigned char pem[4096];

	mbedtls_pk_init(&k);
	mbedtls_x509write_csr_init(&w);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	assert_int_equal(mbedtls_pk_setup(&k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k),
	                                     mbedtls_ctr_drbg_random, &drbg),
	                 0);
	mbedtls_x509write_csr_set_key(&w, &k);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	assert_int_equal(mbedtls_x509write_csr_set_subject_name(&w, subject_name), 0);
	assert_int_equal(
	    mbedtls_x509write_csr_pem(&w, pem, sizeof(pem), mbedtls_ctr_drbg_random, &drbg), 0);
	mbedtls_x509write_csr_free(&w);
	mbedtls_pk_free(&k);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return xstrdup((const char *)pem);
}

static void test_node_certificate_is_system_node_from_a_csr_or_a_new_key(void **state)
{
	struct auth_ca *ca = NULL;
	struct err e = { 0 };
	char *cert = NULL, *key = NULL, dn[256];

	assert_int_equal(auth_ca_new("test-ca", 3650, &ca, &e), 0);
	/* The subject the node asks for is ignored: the CA decides who it is. */
	char *csr = make_csr("CN=system:admin,O=system:masters");
	assert_int_equal(auth_ca_issue_node(ca, "pi-2", csr, &cert, &key, &e), 0);
	assert_null(key);
	mbedtls_x509_crt c;
	mbedtls_x509_csr q;
	parse_crt(&c, cert);
	subject(&c, dn, sizeof(dn));
	assert_string_equal(dn, "O=system:nodes, CN=system:node:pi-2");
	mbedtls_x509_csr_init(&q);
	assert_int_equal(mbedtls_x509_csr_parse(&q, (const void *)csr, strlen(csr) + 1), 0);
	unsigned char a[256], b[256];
	int la = mbedtls_pk_write_pubkey_der(&c.pk, a, sizeof(a));
	int lb = mbedtls_pk_write_pubkey_der(&q.pk, b, sizeof(b));
	assert_int_equal(la, lb);
	assert_memory_equal(a + sizeof(a) - la, b + sizeof(b) - lb, (size_t)la);
	mbedtls_x509_csr_free(&q);
	mbedtls_x509_crt_free(&c);
	assert_true(verifies(cert, ca));
	free(cert);

	/* A CSR whose signature does not match its key is refused. */
	char *bad = xstrdup(csr);
	char *mid = strstr(bad, "\n") + 40;
	*mid = *mid == 'A' ? 'B' : 'A';
	assert_true(auth_ca_issue_node(ca, "pi-2", bad, &cert, &key, &e) < 0);
	free(bad);
	free(csr);

	assert_int_equal(auth_ca_issue_node(ca, "pi-3", NULL, &cert, &key, &e), 0);
	assert_non_null(key);
	assert_true(verifies(cert, ca));
	free(cert);
	free(key);
	assert_int_equal(auth_ca_issue_node(ca, "", NULL, &cert, &key, &e), -EINVAL);
	auth_ca_free(ca);
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static char *slurp(const char *dir, const char *name)
{
	char p[256], *s = NULL;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(read_file(p, &s, NULL, 0), 0);
	return s;
}

static void test_pki_is_made_once_reused_and_renewed_when_names_change(void **state)
{
	const char *sans1[] = { "localhost", "127.0.0.1", "kubernetes" };
	const char *sans2[] = { "localhost", "127.0.0.1", "kubernetes", "gw.example.com" };
	struct auth_pki_opts o = { .data_dir = tmpdir, .sans = sans1, .nsans = 3 };
	struct auth_pki p1, p2, p3;
	struct err e = { 0 };
	char tls[128];

	umask(022);
	snprintf(tls, sizeof(tls), "%s/server/tls", tmpdir);
	assert_int_equal(auth_pki_ensure(&o, &p1, &e), 0);
	assert_int_equal(mode_of(tmpdir, "server/tls"), 0700);
	assert_int_equal(mode_of(tls, "ca.key"), 0600);
	assert_int_equal(mode_of(tls, "serving.key"), 0600);
	assert_int_equal(mode_of(tls, "admin.key"), 0600);
	assert_int_equal(mode_of(tls, "ca.crt"), 0644);
	assert_true(verifies(p1.serving_cert, p1.ca));
	assert_true(verifies(p1.admin_cert, p1.ca));
	mbedtls_x509_crt c;
	char dn[128];
	parse_crt(&c, p1.admin_cert);
	subject(&c, dn, sizeof(dn));
	assert_string_equal(dn, "O=system:masters, CN=system:admin");
	mbedtls_x509_crt_free(&c);

	/* Second start: everything reused as it is. */
	assert_int_equal(auth_pki_ensure(&o, &p2, &e), 0);
	assert_string_equal(auth_ca_cert_pem(p1.ca), auth_ca_cert_pem(p2.ca));
	assert_string_equal(p1.serving_cert, p2.serving_cert);
	assert_string_equal(p1.admin_cert, p2.admin_cert);
	auth_pki_free(&p2);

	/* A new --tls-san: a new serving certificate under the same CA. */
	o.sans = sans2;
	o.nsans = 4;
	assert_int_equal(auth_pki_ensure(&o, &p3, &e), 0);
	assert_string_equal(auth_ca_cert_pem(p1.ca), auth_ca_cert_pem(p3.ca));
	assert_string_not_equal(p1.serving_cert, p3.serving_cert);
	assert_string_equal(p1.admin_cert, p3.admin_cert);
	char *on_disk = slurp(tls, "serving.crt");
	assert_string_equal(on_disk, p3.serving_cert);
	free(on_disk);
	struct auth_names want = { 0 };
	auth_names_add(&want, "gw.example.com");
	assert_int_equal(auth_cert_check(p3.ca, p3.serving_cert, p3.serving_key, &want, 1, &e), 0);
	auth_names_free(&want);
	auth_pki_free(&p3);

	/* A damaged serving certificate is replaced. */
	char path[256];
	snprintf(path, sizeof(path), "%s/serving.crt", tls);
	assert_int_equal(write_file_atomic(path, "junk", 4, 0644), 0);
	assert_int_equal(auth_pki_ensure(&o, &p2, &e), 0);
	assert_true(verifies(p2.serving_cert, p2.ca));
	auth_pki_free(&p2);

	/* Half a CA is never silently replaced. */
	snprintf(path, sizeof(path), "%s/ca.key", tls);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(auth_pki_ensure(&o, &p2, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "ca.key"));
	auth_pki_free(&p1);
}

static void test_serving_names_cover_what_clients_dial(void **state)
{
	struct auth_names n = { 0 };
	struct err e = { 0 };
	const char *ips[] = { "192.168.1.20" };
	const char *extra[] = { "Gateway.Example.com", "203.0.113.9" };
	struct auth_san_opts o = {
		.service_cidr = "10.43.0.0/16",
		.cluster_domain = "cluster.local",
		.bind_address = "0.0.0.0",
		.node_name = "pi-1",
		.node_ips = ips,
		.n_node_ips = 1,
		.extra = extra,
		.nextra = 2,
	};
	assert_int_equal(auth_serving_sans(&o, &n, &e), 0);
	const char *must[] = { "localhost",
		               "127.0.0.1",
		               "pi-1",
		               "192.168.1.20",
		               "10.43.0.1",
		               "kubernetes",
		               "kubernetes.default",
		               "kubernetes.default.svc",
		               "kubernetes.default.svc.cluster.local",
		               "gateway.example.com",
		               "203.0.113.9" };
	for (size_t i = 0; i < ARRAY_SIZE(must); i++)
		if (!auth_names_has(&n, must[i]))
			fail_msg("missing %s", must[i]);
	assert_false(auth_names_has(&n, "0.0.0.0"));
	auth_names_free(&n);

	o.service_cidr = "fd00:43::/108";
	o.bind_address = "192.168.1.20";
	o.n_node_ips = 0; /* this host's own addresses instead */
	assert_int_equal(auth_serving_sans(&o, &n, &e), 0);
	assert_true(auth_names_has(&n, "fd00:43::1"));
	assert_true(auth_names_has(&n, "192.168.1.20"));
	auth_names_free(&n);

	o.service_cidr = "nonsense";
	assert_int_equal(auth_serving_sans(&o, &n, &e), -EINVAL);
	auth_names_free(&n);
}

static char *yaml_value(const char *doc, const char *key)
{
	const char *p = strstr(doc, key);
	assert_non_null(p);
	p += strlen(key);
	while (*p == ' ')
		p++;
	return xstrndup(p, strcspn(p, "\n"));
}

static char *unb64(const char *s)
{
	size_t n = strlen(s), olen = 0;
	char *out = xmalloc(n + 1);
	assert_int_equal(mbedtls_base64_decode((unsigned char *)out, n, &olen, (const void *)s, n),
	                 0);
	out[olen] = '\0';
	return out;
}

static void test_kubeconfig_embeds_credentials_with_the_asked_mode(void **state)
{
	char path[128], *doc = NULL;
	struct err e = { 0 };
	snprintf(path, sizeof(path), "%s/etc/tug/tug.yaml", tmpdir);
	umask(077);
	assert_int_equal(auth_write_kubeconfig(path, 0644, "https://127.0.0.1:6443", "CA PEM\n",
	                                       "CERT PEM\n", "KEY PEM\n", &e),
	                 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(read_file(path, &doc, NULL, 0), 0);
	char *server = yaml_value(doc, "server:");
	assert_string_equal(server, "https://127.0.0.1:6443");
	const char *keys[] = { "certificate-authority-data:", "client-certificate-data:",
		               "client-key-data:" };
	const char *want[] = { "CA PEM\n", "CERT PEM\n", "KEY PEM\n" };
	for (int i = 0; i < 3; i++) {
		char *v = yaml_value(doc, keys[i]), *d = unb64(v);
		assert_string_equal(d, want[i]);
		free(v);
		free(d);
	}
	assert_non_null(strstr(doc, "current-context: default\n"));
	free(server);
	free(doc);

	/* Rewritten on the next start, with a tighter mode. */
	assert_int_equal(
	    auth_write_kubeconfig(path, 0600, "https://127.0.0.1:7443", "a", "b", "c", &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	umask(022);

	char *u = auth_local_server_url("0.0.0.0", 6443);
	assert_string_equal(u, "https://127.0.0.1:6443");
	free(u);
	u = auth_local_server_url("192.168.1.20", 6443);
	assert_string_equal(u, "https://192.168.1.20:6443");
	free(u);
	u = auth_local_server_url("fd00::5", 6443);
	assert_string_equal(u, "https://[fd00::5]:6443");
	free(u);
}

static void test_ca_hash_is_the_sha256_of_its_pem(void **state)
{
	struct auth_ca *ca = NULL, *again = NULL;
	struct err e = { 0 };
	char h1[65], h2[65];
	assert_int_equal(auth_ca_new("hash-ca", 10, &ca, &e), 0);
	auth_ca_hash(ca, h1);
	assert_int_equal(strlen(h1), 64);
	assert_int_equal(auth_ca_load(auth_ca_cert_pem(ca), auth_ca_key_pem(ca), &again, &e), 0);
	auth_ca_hash(again, h2);
	assert_string_equal(h1, h2);
	/* A leaf certificate is not a CA. */
	char *cert = NULL, *key = NULL;
	struct auth_cert_req r = { .cn = "leaf", .usage = AUTH_USAGE_CLIENT };
	assert_int_equal(auth_ca_issue(ca, &r, &cert, &key, &e), 0);
	auth_ca_free(again);
	again = NULL;
	assert_int_equal(auth_ca_load(cert, key, &again, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a CA"));
	free(cert);
	free(key);
	auth_ca_free(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_signs_a_serving_certificate_with_dns_and_ip_names),
		cmocka_unit_test(test_client_certificate_names_user_and_every_group),
		cmocka_unit_test(test_node_certificate_is_system_node_from_a_csr_or_a_new_key),
		cmocka_unit_test_setup_teardown(
		    test_pki_is_made_once_reused_and_renewed_when_names_change, make_tmp,
		    remove_tmp),
		cmocka_unit_test(test_serving_names_cover_what_clients_dial),
		cmocka_unit_test_setup_teardown(
		    test_kubeconfig_embeds_credentials_with_the_asked_mode, make_tmp, remove_tmp),
		cmocka_unit_test(test_ca_hash_is_the_sha256_of_its_pem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
