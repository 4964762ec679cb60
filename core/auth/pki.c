/* pki: the cluster CA and the certificates it issues (mbedtls 2.28 x509write), made once and reused. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include "core/auth/auth.h"
#define LOG_TAG "auth"
#include "core/log/log.h"

#define CA_DAYS 3650
#define LEAF_DAYS 365
#define RENEW_DAYS 90
#define PEM_MAX 4096

struct auth_ca {
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	char *cert_pem, *key_pem;
	char subject[256]; /* as mbedtls writes it, for the issuer of what we sign */
};

/* --- small helpers ----------------------------------------------------------------- */

void auth_names_add(struct auth_names *l, const char *s)
{
	if (auth_names_has(l, s))
		return;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

bool auth_names_has(const struct auth_names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcasecmp(l->v[i], s))
			return true;
	return false;
}

void auth_names_free(struct auth_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static const char *tls_err(int rc)
{
	static char msg[128];
	mbedtls_strerror(rc, msg, sizeof(msg));
	return msg;
}

/* A DRBG per operation: certificates are made rarely, and this keeps no global state. */
struct rng {
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
};

static int rng_init(struct rng *r, struct err *e)
{
	static const char pers[] = "tug-pki";
	mbedtls_entropy_init(&r->ent);
	mbedtls_ctr_drbg_init(&r->drbg);
	int rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->ent,
	                               (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc)
		return err_set(e, -EIO, "seed random generator: %s", tls_err(rc));
	return 0;
}

static void rng_free(struct rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->ent);
}

static int new_key(mbedtls_pk_context *pk, struct rng *r, struct err *e)
{
	int rc = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (!rc)
		rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk),
		                         mbedtls_ctr_drbg_random, &r->drbg);
	if (rc)
		return err_set(e, -EIO, "make ECDSA P-256 key: %s", tls_err(rc));
	return 0;
}

static char *key_pem(mbedtls_pk_context *pk)
{
	unsigned char buf[PEM_MAX];
	if (mbedtls_pk_write_key_pem(pk, buf, sizeof(buf)))
		return NULL;
	return xstrdup((const char *)buf);
}

/*
 * Names are built as lists rather than from "CN=..,O=.." strings: mbedtls'
 * string parser keeps one value per attribute, and a user in several groups
 * has several O entries. The writer emits the list back to front, so
 * prepending in DER order gives DER order.
 */
static void name_prepend(mbedtls_asn1_named_data **head, const char *oid, size_t oid_len,
                         const unsigned char *val, size_t val_len, int tag)
{
	mbedtls_asn1_named_data *n = mbedtls_calloc(1, sizeof(*n));
	if (!n)
		abort();
	n->oid.tag = MBEDTLS_ASN1_OID;
	n->oid.len = oid_len;
	n->oid.p = mbedtls_calloc(1, oid_len);
	n->val.tag = tag;
	n->val.len = val_len;
	n->val.p = mbedtls_calloc(1, val_len ? val_len : 1);
	if (!n->oid.p || !n->val.p)
		abort();
	memcpy(n->oid.p, oid, oid_len);
	memcpy(n->val.p, val, val_len);
	n->next = *head;
	*head = n;
}

/* Subject O=org...,CN=cn (the order kubeadm and k3s use). */
static void name_build(mbedtls_asn1_named_data **head, const char *cn, const char *const *orgs,
                       size_t norgs)
{
	for (size_t i = 0; i < norgs; i++)
		name_prepend(head, MBEDTLS_OID_AT_ORGANIZATION,
		             MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORGANIZATION), (const void *)orgs[i],
		             strlen(orgs[i]), MBEDTLS_ASN1_UTF8_STRING);
	name_prepend(head, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), (const void *)cn,
	             strlen(cn), MBEDTLS_ASN1_UTF8_STRING);
}

/* The issuer exactly as the CA's subject is encoded, so chains match byte for byte. */
static void name_copy(mbedtls_asn1_named_data **head, const mbedtls_x509_name *from)
{
	for (const mbedtls_x509_name *n = from; n && n->oid.p; n = n->next)
		name_prepend(head, (const char *)n->oid.p, n->oid.len, n->val.p, n->val.len,
		             n->val.tag);
}

/* "YYYYMMDDhhmmss" in UTC, as x509write wants validity times. */
static void x509_time(char out[32], time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y%m%d%H%M%S", &tm);
}

static time_t from_x509_time(const mbedtls_x509_time *t)
{
	struct tm tm = { .tm_year = t->year - 1900,
		         .tm_mon = t->mon - 1,
		         .tm_mday = t->day,
		         .tm_hour = t->hour,
		         .tm_min = t->min,
		         .tm_sec = t->sec };
	return timegm(&tm);
}

static bool parse_ip(const char *s, unsigned char out[16], size_t *len)
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*len = 4;
		return true;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*len = 16;
		return true;
	}
	return false;
}

/* --- writing certificates ------------------------------------------------------------ */

/* ASN.1 is written back to front; these bail out of the caller on error. */
#define W(expr)                                                                                    \
	do {                                                                                       \
		int w_ = (expr);                                                                   \
		if (w_ < 0)                                                                        \
			return w_;                                                                 \
		len += (size_t)w_;                                                                 \
	} while (0)

/* GeneralNames for subjectAltName: dNSName [2] or iPAddress [7], in the given order. */
static int write_sans(unsigned char *buf, size_t size, const char *const *sans, size_t n,
                      unsigned char **start)
{
	unsigned char *p = buf + size;
	size_t len = 0;

	for (size_t i = n; i-- > 0;) {
		unsigned char ip[16];
		size_t iplen, one = 0;
		if (parse_ip(sans[i], ip, &iplen)) {
			int w = mbedtls_asn1_write_raw_buffer(&p, buf, ip, iplen);
			if (w < 0)
				return w;
			one = (size_t)w;
			W(w);
			W(mbedtls_asn1_write_len(&p, buf, one));
			W(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7));
		} else {
			int w = mbedtls_asn1_write_raw_buffer(
			    &p, buf, (const unsigned char *)sans[i], strlen(sans[i]));
			if (w < 0)
				return w;
			one = (size_t)w;
			W(w);
			W(mbedtls_asn1_write_len(&p, buf, one));
			W(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2));
		}
	}
	W(mbedtls_asn1_write_len(&p, buf, len));
	W(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	*start = p;
	return (int)len;
}

static int write_eku(unsigned char *buf, size_t size, unsigned usage, unsigned char **start)
{
	unsigned char *p = buf + size;
	size_t len = 0;

	if (usage & AUTH_USAGE_CLIENT)
		W(mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_CLIENT_AUTH,
		                         MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
	if (usage & AUTH_USAGE_SERVER)
		W(mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_SERVER_AUTH,
		                         MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
	W(mbedtls_asn1_write_len(&p, buf, len));
	W(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	*start = p;
	return (int)len;
}
#undef W

struct cert_spec {
	const char *cn; /* subject */
	const char *const *orgs;
	size_t norgs;
	const mbedtls_x509_name *issuer; /* NULL: self-signed */
	mbedtls_pk_context *subject_key, *issuer_key;
	bool ca;
	unsigned usage;
	const char *const *sans;
	size_t nsans;
	unsigned days;
};

/* Signs one certificate; returns its PEM (caller frees) in *out. */
static int write_cert(const struct cert_spec *s, struct rng *r, char **out, struct err *e)
{
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	unsigned char serial_bytes[16], ext[2048], pem[PEM_MAX], *start;
	char nb[32], na[32];
	time_t now = time(NULL);
	int rc;

	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	/* A random positive 127-bit serial, as CAs are expected to use. */
	if ((rc = mbedtls_ctr_drbg_random(&r->drbg, serial_bytes, sizeof(serial_bytes))))
		goto fail;
	serial_bytes[0] &= 0x7f;
	serial_bytes[0] |= 0x01;
	if ((rc = mbedtls_mpi_read_binary(&serial, serial_bytes, sizeof(serial_bytes))))
		goto fail;
	/* Backdated an hour: boards' clocks drift, and a certificate that is not
	 * valid yet fails as surely as an expired one. */
	x509_time(nb, now - 3600);
	x509_time(na, now + (time_t)s->days * 86400);
	name_build(&w.subject, s->cn, s->orgs, s->norgs);
	if (s->issuer)
		name_copy(&w.issuer, s->issuer);
	else
		name_build(&w.issuer, s->cn, s->orgs, s->norgs);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, s->subject_key);
	mbedtls_x509write_crt_set_issuer_key(&w, s->issuer_key);
	if ((rc = mbedtls_x509write_crt_set_serial(&w, &serial)) ||
	    (rc = mbedtls_x509write_crt_set_validity(&w, nb, na)) ||
	    (rc = mbedtls_x509write_crt_set_basic_constraints(&w, s->ca, s->ca ? 0 : -1)) ||
	    (rc = mbedtls_x509write_crt_set_subject_key_identifier(&w)) ||
	    (rc = mbedtls_x509write_crt_set_authority_key_identifier(&w)))
		goto fail;
	if (s->ca)
		rc = mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_KEY_CERT_SIGN |
		                                                 MBEDTLS_X509_KU_CRL_SIGN |
		                                                 MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
	else
		rc = mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
		                                                 MBEDTLS_X509_KU_KEY_ENCIPHERMENT);
	if (rc)
		goto fail;
	if (s->usage) {
		int n = write_eku(ext, sizeof(ext), s->usage, &start);
		if (n < 0 ||
		    (rc = mbedtls_x509write_crt_set_extension(
		         &w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
		         MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, start, (size_t)n))) {
			rc = n < 0 ? n : rc;
			goto fail;
		}
	}
	if (s->nsans) {
		int n = write_sans(ext, sizeof(ext), s->sans, s->nsans, &start);
		if (n < 0 ||
		    (rc = mbedtls_x509write_crt_set_extension(
		         &w, MBEDTLS_OID_SUBJECT_ALT_NAME,
		         MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, start, (size_t)n))) {
			rc = n < 0 ? n : rc;
			goto fail;
		}
	}
	if ((rc = mbedtls_x509write_crt_pem(&w, pem, sizeof(pem), mbedtls_ctr_drbg_random,
	                                    &r->drbg)))
		goto fail;
	*out = xstrdup((const char *)pem);
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
	return 0;
fail:
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
	return err_set(e, -EINVAL, "sign certificate for %s: %s", s->cn, tls_err(rc));
}

/* --- the CA --------------------------------------------------------------------------- */

static struct auth_ca *ca_alloc(void)
{
	struct auth_ca *ca = xcalloc(1, sizeof(*ca));
	mbedtls_x509_crt_init(&ca->crt);
	mbedtls_pk_init(&ca->key);
	return ca;
}

void auth_ca_free(struct auth_ca *ca)
{
	if (!ca)
		return;
	mbedtls_x509_crt_free(&ca->crt);
	mbedtls_pk_free(&ca->key);
	free(ca->cert_pem);
	if (ca->key_pem)
		explicit_bzero(ca->key_pem, strlen(ca->key_pem));
	free(ca->key_pem);
	free(ca);
}

int auth_ca_load(const char *cert_pem, const char *key_pem, struct auth_ca **out, struct err *e)
{
	struct auth_ca *ca = ca_alloc();
	int rc;

	if ((rc = mbedtls_x509_crt_parse(&ca->crt, (const unsigned char *)cert_pem,
	                                 strlen(cert_pem) + 1))) {
		err_set(e, -EINVAL, "CA certificate: %s", tls_err(rc));
		goto fail;
	}
	if ((rc = mbedtls_pk_parse_key(&ca->key, (const unsigned char *)key_pem,
	                               strlen(key_pem) + 1, NULL, 0))) {
		err_set(e, -EINVAL, "CA key: %s", tls_err(rc));
		goto fail;
	}
	if (mbedtls_pk_check_pair(&ca->crt.pk, &ca->key)) {
		err_set(e, -EINVAL, "CA key does not belong to the CA certificate");
		goto fail;
	}
	if (!ca->crt.ca_istrue) {
		err_set(e, -EINVAL, "CA certificate is not a CA (basicConstraints)");
		goto fail;
	}
	if (mbedtls_x509_dn_gets(ca->subject, sizeof(ca->subject), &ca->crt.subject) < 0) {
		err_set(e, -EINVAL, "CA subject too long");
		goto fail;
	}
	ca->cert_pem = xstrdup(cert_pem);
	ca->key_pem = xstrdup(key_pem);
	*out = ca;
	return 0;
fail:
	auth_ca_free(ca);
	return -EINVAL;
}

int auth_ca_new(const char *cn, unsigned days, struct auth_ca **out, struct err *e)
{
	struct rng r;
	mbedtls_pk_context key;
	char *cert = NULL, *kp = NULL;
	int rc;

	mbedtls_pk_init(&key);
	if ((rc = rng_init(&r, e)) < 0 || (rc = new_key(&key, &r, e)) < 0)
		goto out;
	struct cert_spec s = { .cn = cn,
		               .subject_key = &key,
		               .issuer_key = &key,
		               .ca = true,
		               .days = days ? days : CA_DAYS };
	if ((rc = write_cert(&s, &r, &cert, e)) < 0)
		goto out;
	if (!(kp = key_pem(&key))) {
		rc = err_set(e, -EINVAL, "write CA key");
		goto out;
	}
	rc = auth_ca_load(cert, kp, out, e);
out:
	if (kp)
		explicit_bzero(kp, strlen(kp));
	free(kp);
	free(cert);
	mbedtls_pk_free(&key);
	rng_free(&r);
	return rc;
}

const char *auth_ca_cert_pem(const struct auth_ca *ca)
{
	return ca->cert_pem;
}

const char *auth_ca_key_pem(const struct auth_ca *ca)
{
	return ca->key_pem;
}

void auth_ca_hash(const struct auth_ca *ca, char out[65])
{
	unsigned char h[32];
	mbedtls_sha256_ret((const unsigned char *)ca->cert_pem, strlen(ca->cert_pem), h, 0);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Checks a CSR's self-signature, so nobody gets a certificate for a key they do not hold. */
static int csr_check(mbedtls_x509_csr *csr, struct err *e)
{
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(csr->sig_md);
	if (!md || mbedtls_md(md, csr->cri.p, csr->cri.len, hash))
		return err_set(e, -EINVAL, "CSR: unsupported signature hash");
	if (mbedtls_pk_verify_ext(csr->sig_pk, csr->sig_opts, &csr->pk, csr->sig_md, hash,
	                          mbedtls_md_get_size(md), csr->sig.p, csr->sig.len))
		return err_set(e, -EKEYREJECTED, "CSR: signature does not match its key");
	return 0;
}

int auth_ca_issue(struct auth_ca *ca, const struct auth_cert_req *req, char **cert_pem,
                  char **key_pem_out, struct err *e)
{
	struct rng r;
	mbedtls_pk_context key;
	mbedtls_x509_csr csr;
	mbedtls_pk_context *subject_key = &key;
	int rc;

	*cert_pem = NULL;
	if (key_pem_out)
		*key_pem_out = NULL;
	mbedtls_pk_init(&key);
	mbedtls_x509_csr_init(&csr);
	if (!req->cn || !*req->cn) {
		rc = err_set(e, -EINVAL, "issue certificate: a common name is needed");
		goto out;
	}
	if ((rc = rng_init(&r, e)) < 0)
		goto out_rng;
	if (req->csr_pem) {
		int prc = mbedtls_x509_csr_parse(&csr, (const unsigned char *)req->csr_pem,
		                                 strlen(req->csr_pem) + 1);
		if (prc) {
			rc = err_set(e, -EINVAL, "CSR: %s", tls_err(prc));
			goto out_rng;
		}
		if ((rc = csr_check(&csr, e)) < 0)
			goto out_rng;
		subject_key = &csr.pk;
	} else if ((rc = new_key(&key, &r, e)) < 0) {
		goto out_rng;
	}
	struct cert_spec s = { .cn = req->cn,
		               .orgs = req->orgs,
		               .norgs = req->norgs,
		               .issuer = &ca->crt.subject,
		               .subject_key = subject_key,
		               .issuer_key = &ca->key,
		               .usage = req->usage,
		               .sans = req->sans,
		               .nsans = req->nsans,
		               .days = req->days ? req->days : LEAF_DAYS };
	if ((rc = write_cert(&s, &r, cert_pem, e)) < 0)
		goto out_rng;
	if (!req->csr_pem && key_pem_out) {
		if (!(*key_pem_out = key_pem(&key))) {
			free(*cert_pem);
			*cert_pem = NULL;
			rc = err_set(e, -EINVAL, "write key for %s", req->cn);
		}
	}
out_rng:
	rng_free(&r);
out:
	mbedtls_pk_free(&key);
	mbedtls_x509_csr_free(&csr);
	return rc;
}

int auth_ca_issue_node(struct auth_ca *ca, const char *node_name, const char *csr_pem,
                       char **cert_pem, char **key_pem_out, struct err *e)
{
	static const char *const orgs[] = { "system:nodes" };
	if (!node_name || !*node_name)
		return err_set(e, -EINVAL, "node certificate: empty node name");
	char *cn = xasprintf("system:node:%s", node_name);
	struct auth_cert_req r = {
		.cn = cn,
		.orgs = orgs,
		.norgs = 1,
		.usage = AUTH_USAGE_CLIENT,
		.csr_pem = csr_pem,
	};
	int rc = auth_ca_issue(ca, &r, cert_pem, key_pem_out, e);
	free(cn);
	return rc;
}

/* --- checking what is on disk ------------------------------------------------------------- */

static bool crt_has_san(const mbedtls_x509_crt *crt, const char *name)
{
	unsigned char ip[16];
	size_t iplen = 0;
	bool is_ip = parse_ip(name, ip, &iplen);

	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
		int type = s->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK;
		if (is_ip && type == 7 && s->buf.len == iplen && !memcmp(s->buf.p, ip, iplen))
			return true;
		if (!is_ip && type == 2 && s->buf.len == strlen(name) &&
		    !strncasecmp((const char *)s->buf.p, name, s->buf.len))
			return true;
	}
	return false;
}

int auth_cert_check(struct auth_ca *ca, const char *cert_pem, const char *key_pem,
                    const struct auth_names *want, unsigned min_days, struct err *e)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	uint32_t flags = 0;
	int rc = 0;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	if (mbedtls_x509_crt_parse(&crt, (const unsigned char *)cert_pem, strlen(cert_pem) + 1)) {
		rc = err_set(e, -EINVAL, "unreadable certificate");
		goto out;
	}
	if (mbedtls_x509_crt_verify(&crt, &ca->crt, NULL, NULL, &flags, NULL, NULL)) {
		char why[256];
		mbedtls_x509_crt_verify_info(why, sizeof(why), "", flags);
		why[strcspn(why, "\n")] = '\0';
		rc = err_set(e, -EKEYREJECTED, "not valid under the CA: %s", why);
		goto out;
	}
	time_t left = from_x509_time(&crt.valid_to) - time(NULL);
	if (left < (time_t)min_days * 86400) {
		rc = err_set(e, -EKEYEXPIRED, "expires in %lld days", (long long)(left / 86400));
		goto out;
	}
	if (key_pem) {
		if (mbedtls_pk_parse_key(&key, (const unsigned char *)key_pem, strlen(key_pem) + 1,
		                         NULL, 0) ||
		    mbedtls_pk_check_pair(&crt.pk, &key)) {
			rc = err_set(e, -EKEYREJECTED, "key does not belong to the certificate");
			goto out;
		}
	}
	for (size_t i = 0; want && i < want->n; i++) {
		if (!crt_has_san(&crt, want->v[i])) {
			rc = err_set(e, -ENOENT, "does not name %s", want->v[i]);
			goto out;
		}
	}
out:
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	return rc;
}

/* --- on disk ------------------------------------------------------------------------------- */

static char *path_in(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int load_pem(const char *dir, const char *name, char **out, struct err *e)
{
	_cleanup_free_ char *p = path_in(dir, name);
	int rc = read_file(p, out, NULL, 1 << 20);
	if (rc < 0)
		return err_set(e, rc, "read %s: %s", p, strerror(-rc));
	return 0;
}

static int save_pem(const char *dir, const char *name, const char *pem, unsigned mode,
                    struct err *e)
{
	_cleanup_free_ char *p = path_in(dir, name);
	int rc = write_file_atomic(p, pem, strlen(pem), mode);
	if (rc < 0)
		return err_set(e, rc, "write %s: %s", p, strerror(-rc));
	return 0;
}

static int ensure_ca(const char *dir, struct auth_ca **ca, struct err *e)
{
	_cleanup_free_ char *cp = path_in(dir, "ca.crt"), *kp = path_in(dir, "ca.key");
	_cleanup_free_ char *cert = NULL, *key = NULL;
	bool have_c = exists(cp), have_k = exists(kp);
	int rc;

	if (have_c && have_k) {
		if ((rc = load_pem(dir, "ca.crt", &cert, e)) < 0 ||
		    (rc = load_pem(dir, "ca.key", &key, e)) < 0)
			return rc;
		rc = auth_ca_load(cert, key, ca, e);
		explicit_bzero(key, strlen(key));
		if (rc < 0)
			return err_wrap(e, "load %s", cp);
		return 0;
	}
	/* Replacing half a CA would orphan every certificate issued under it. */
	if (have_c || have_k)
		return err_set(e, -ENOENT, "%s exists but %s does not; restore it or remove both",
		               have_c ? cp : kp, have_c ? kp : cp);
	char cn[64];
	snprintf(cn, sizeof(cn), "tug-ca@%lld", (long long)time(NULL));
	if ((rc = auth_ca_new(cn, CA_DAYS, ca, e)) < 0)
		return rc;
	if ((rc = save_pem(dir, "ca.key", auth_ca_key_pem(*ca), 0600, e)) < 0 ||
	    (rc = save_pem(dir, "ca.crt", auth_ca_cert_pem(*ca), 0644, e)) < 0) {
		auth_ca_free(*ca);
		*ca = NULL;
		return rc;
	}
	log_info("made cluster CA %s in %s", cn, dir);
	return 0;
}

/* Reuses name.crt/name.key when still good, else issues and saves new ones. */
static int ensure_leaf(const char *dir, const char *name, struct auth_ca *ca,
                       const struct auth_cert_req *req, const struct auth_names *want, char **cert,
                       char **key, struct err *e)
{
	_cleanup_free_ char *crt_name = xasprintf("%s.crt", name);
	_cleanup_free_ char *key_name = xasprintf("%s.key", name);
	_cleanup_free_ char *cp = path_in(dir, crt_name), *kp = path_in(dir, key_name);
	struct err why = { 0 };
	int rc;

	*cert = *key = NULL;
	if (exists(cp) && exists(kp)) {
		if (load_pem(dir, crt_name, cert, &why) == 0 &&
		    load_pem(dir, key_name, key, &why) == 0 &&
		    auth_cert_check(ca, *cert, *key, want, RENEW_DAYS, &why) == 0)
			return 0;
		log_info("%s: making a new one: %s", cp, why.msg);
		free(*cert);
		free(*key);
		*cert = *key = NULL;
	}
	if ((rc = auth_ca_issue(ca, req, cert, key, e)) < 0)
		return rc;
	if ((rc = save_pem(dir, key_name, *key, 0600, e)) < 0 ||
	    (rc = save_pem(dir, crt_name, *cert, 0644, e)) < 0)
		return rc;
	return 0;
}

int auth_pki_ensure(const struct auth_pki_opts *o, struct auth_pki *out, struct err *e)
{
	static const char *const admin_orgs[] = { "system:masters" };
	struct auth_names want = { 0 };
	char *dir = xasprintf("%s/server/tls", o->data_dir);
	int rc;

	memset(out, 0, sizeof(*out));
	if (time(NULL) < 1704067200) /* 2024-01-01 */
		log_warn(
		    "the clock says %lld: certificates made now will look wrong once it is set",
		    (long long)time(NULL));
	if ((rc = mkdir_p(dir, 0700)) < 0) {
		rc = err_set(e, rc, "create %s: %s", dir, strerror(-rc));
		goto out;
	}
	chmod(dir, 0700);
	if ((rc = ensure_ca(dir, &out->ca, e)) < 0)
		goto out;
	for (size_t i = 0; i < o->nsans; i++)
		auth_names_add(&want, o->sans[i]);
	struct auth_cert_req serving = {
		.cn = "kube-apiserver",
		.sans = (const char *const *)want.v,
		.nsans = want.n,
		.usage = AUTH_USAGE_SERVER,
	};
	struct auth_cert_req admin = {
		.cn = "system:admin",
		.orgs = admin_orgs,
		.norgs = 1,
		.usage = AUTH_USAGE_CLIENT,
	};
	if ((rc = ensure_leaf(dir, "serving", out->ca, &serving, &want, &out->serving_cert,
	                      &out->serving_key, e)) < 0 ||
	    (rc = ensure_leaf(dir, "admin", out->ca, &admin, NULL, &out->admin_cert,
	                      &out->admin_key, e)) < 0)
		goto out;
out:
	if (rc < 0)
		auth_pki_free(out);
	auth_names_free(&want);
	free(dir);
	return rc;
}

static void free_secret(char **p)
{
	if (*p)
		explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

void auth_pki_free(struct auth_pki *p)
{
	auth_ca_free(p->ca);
	p->ca = NULL;
	free(p->serving_cert);
	free(p->admin_cert);
	p->serving_cert = p->admin_cert = NULL;
	free_secret(&p->serving_key);
	free_secret(&p->admin_key);
}
