/* tls: mbedtls 2.28 under the HTTP server: handshakes on non-blocking sockets, ALPN,
 * and the client identity from a verified certificate. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "core/http/http-internal.h"

struct http_tls {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert, ca;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	enum http_client_auth auth;
};

/*
 * mbedtls asks the socket for exactly what it needs next: a record's 5-byte
 * header, then its body, then finds nothing more; three syscalls for one
 * small request. Reading ahead into a small buffer makes it one.
 */
#define TLS_READAHEAD 4096

struct tls_conn {
	mbedtls_ssl_context ssl;
	struct http_tls *t;
	int fd;
	size_t roff, rlen;
	unsigned char rbuf[TLS_READAHEAD];
};

/*
 * ECDHE with AEAD only. mbedtls 2.28 has AES-NI on x86 but no ARMv8 crypto
 * extensions, and the Raspberry Pi 4 has none anyway: there ChaCha20-Poly1305
 * is several times faster than AES-GCM in software, so it goes first.
 */
static const int ciphersuites[] = {
#if defined(__x86_64__) || defined(__i386__)
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
#else
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
#endif
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0,
};

/* We speak HTTP/1.1 only; clients that offer h2 as well pick this. */
static const char *alpn_list[] = { "http/1.1", NULL };

static const char *tls_strerror(int rc)
{
	static char msg[160];
	mbedtls_strerror(rc, msg, sizeof(msg));
	return msg;
}

int http_tls_new(const struct http_tls_opts *o, struct http_tls **out, struct err *e)
{
	struct http_tls *t = xcalloc(1, sizeof(*t));
	static const char pers[] = "tug-http";
	int rc;

	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->cert);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_pk_init(&t->key);
	mbedtls_entropy_init(&t->entropy);
	mbedtls_ctr_drbg_init(&t->drbg);
	t->auth = o->client_auth;

	if (!o->cert_pem || !o->key_pem) {
		rc = err_set(e, -EINVAL, "TLS: a certificate and a key are needed");
		goto fail;
	}
	if ((rc = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
	                                (const unsigned char *)pers, sizeof(pers) - 1))) {
		rc = err_set(e, -EIO, "TLS: seed random generator: %s", tls_strerror(rc));
		goto fail;
	}
	if ((rc = mbedtls_x509_crt_parse(&t->cert, (const unsigned char *)o->cert_pem,
	                                 strlen(o->cert_pem) + 1))) {
		rc = err_set(e, -EINVAL, "TLS: server certificate: %s", tls_strerror(rc));
		goto fail;
	}
	if ((rc = mbedtls_pk_parse_key(&t->key, (const unsigned char *)o->key_pem,
	                               strlen(o->key_pem) + 1, NULL, 0))) {
		rc = err_set(e, -EINVAL, "TLS: server key: %s", tls_strerror(rc));
		goto fail;
	}
	if ((rc = mbedtls_pk_check_pair(&t->cert.pk, &t->key))) {
		rc = err_set(e, -EINVAL, "TLS: the key does not belong to the certificate");
		goto fail;
	}
	if (o->client_auth != HTTP_CLIENT_AUTH_NONE) {
		if (!o->client_ca_pem) {
			rc = err_set(e, -EINVAL, "TLS: client authentication needs a CA");
			goto fail;
		}
		if ((rc = mbedtls_x509_crt_parse(&t->ca, (const unsigned char *)o->client_ca_pem,
		                                 strlen(o->client_ca_pem) + 1))) {
			rc = err_set(e, -EINVAL, "TLS: client CA: %s", tls_strerror(rc));
			goto fail;
		}
	}
	if ((rc = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_SERVER,
	                                      MBEDTLS_SSL_TRANSPORT_STREAM,
	                                      MBEDTLS_SSL_PRESET_DEFAULT))) {
		rc = err_set(e, -EIO, "TLS: defaults: %s", tls_strerror(rc));
		goto fail;
	}
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
	mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&t->conf, ciphersuites);
	mbedtls_ssl_conf_renegotiation(&t->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	if ((rc = mbedtls_ssl_conf_alpn_protocols(&t->conf, alpn_list)) ||
	    (rc = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key))) {
		rc = err_set(e, -EINVAL, "TLS: configure: %s", tls_strerror(rc));
		goto fail;
	}
	switch (o->client_auth) {
	case HTTP_CLIENT_AUTH_NONE:
		mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
		break;
	case HTTP_CLIENT_AUTH_OPTIONAL:
		/* The handshake completes whatever the client sends; the verify
		 * result decides whether the request gets an identity. Kubernetes
		 * answers 401 rather than failing the handshake, and so do we. */
		mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
		break;
	case HTTP_CLIENT_AUTH_REQUIRED:
		mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
		break;
	}
	*out = t;
	return 0;
fail:
	http_tls_free(t);
	return rc;
}

void http_tls_free(struct http_tls *t)
{
	if (!t)
		return;
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->cert);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_pk_free(&t->key);
	mbedtls_ctr_drbg_free(&t->drbg);
	mbedtls_entropy_free(&t->entropy);
	free(t);
}

/* Non-blocking socket I/O for mbedtls. */
static int bio_send(void *ctx, const unsigned char *p, size_t n)
{
	struct tls_conn *c = ctx;
	for (;;) {
		ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0)
			return (int)r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		if (errno == EPIPE || errno == ECONNRESET)
			return MBEDTLS_ERR_NET_CONN_RESET;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int bio_recv(void *ctx, unsigned char *p, size_t n)
{
	struct tls_conn *c = ctx;
	if (c->roff < c->rlen) {
		size_t k = MIN(n, c->rlen - c->roff);
		memcpy(p, c->rbuf + c->roff, k);
		c->roff += k;
		return (int)k;
	}
	for (;;) {
		ssize_t r;
		if (n >= sizeof(c->rbuf)) {
			r = recv(c->fd, p, n, 0); /* large reads need no help */
		} else {
			r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
			if (r > 0) {
				c->rlen = (size_t)r;
				c->roff = MIN(n, (size_t)r);
				memcpy(p, c->rbuf, c->roff);
				return (int)c->roff;
			}
		}
		if (r >= 0)
			return (int)r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_READ;
		if (errno == ECONNRESET)
			return MBEDTLS_ERR_NET_CONN_RESET;
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

int tls_conn_new(struct http_tls *t, int fd, struct tls_conn **out)
{
	struct tls_conn *c = xcalloc(1, sizeof(*c));
	c->t = t;
	c->fd = fd;
	mbedtls_ssl_init(&c->ssl);
	if (mbedtls_ssl_setup(&c->ssl, &t->conf)) {
		mbedtls_ssl_free(&c->ssl);
		free(c);
		return -ENOMEM;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	*out = c;
	return 0;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	mbedtls_ssl_free(&c->ssl);
	free(c);
}

static int map(int rc)
{
	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return TLS_WANT_READ;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_WANT_WRITE;
	if (rc == MBEDTLS_ERR_NET_CONN_RESET)
		return -ECONNRESET;
	return -EPROTO;
}

int tls_conn_handshake(struct tls_conn *c, const char **why)
{
	int rc = mbedtls_ssl_handshake(&c->ssl);
	if (rc == 0)
		return 0;
	if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
		*why = tls_strerror(rc);
	return map(rc);
}

ssize_t tls_conn_read(struct tls_conn *c, void *p, size_t n)
{
	int rc = mbedtls_ssl_read(&c->ssl, p, n);
	if (rc > 0)
		return rc;
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return map(rc);
}

ssize_t tls_conn_write(struct tls_conn *c, const void *p, size_t n)
{
	int rc = mbedtls_ssl_write(&c->ssl, p, n);
	if (rc >= 0)
		return rc;
	return map(rc);
}

bool tls_conn_pending(struct tls_conn *c)
{
	return c->roff < c->rlen || mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 ||
	       mbedtls_ssl_check_pending(&c->ssl);
}

void tls_conn_close_notify(struct tls_conn *c)
{
	mbedtls_ssl_close_notify(&c->ssl);
}

const char *tls_conn_alpn(struct tls_conn *c)
{
	return mbedtls_ssl_get_alpn_protocol(&c->ssl);
}

/* An ASN.1 string from a name, as a C string; NULL if it holds a NUL. */
static char *name_value(struct arena *a, const mbedtls_x509_name *n)
{
	if (memchr(n->val.p, 0, n->val.len))
		return NULL;
	return arena_strndup(a, (const char *)n->val.p, n->val.len);
}

struct http_identity *tls_conn_identity(struct tls_conn *c, struct arena *a)
{
	const mbedtls_x509_crt *crt;
	const char *user = NULL;
	size_t ngroups = 0;

	if (c->t->auth == HTTP_CLIENT_AUTH_NONE)
		return NULL;
	crt = mbedtls_ssl_get_peer_cert(&c->ssl);
	if (!crt || mbedtls_ssl_get_verify_result(&c->ssl) != 0)
		return NULL;
	/* A certificate limited to other uses (say, serving) is no client
	 * credential. One without the extension may be used for anything. */
	if (mbedtls_x509_crt_check_extended_key_usage(crt, MBEDTLS_OID_CLIENT_AUTH,
	                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)))
		return NULL;
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
		if (n->oid.p && !MBEDTLS_OID_CMP(MBEDTLS_OID_AT_ORGANIZATION, &n->oid))
			ngroups++;
	struct http_identity *id = arena_alloc(a, sizeof(*id));
	const char **groups = arena_alloc(a, (ngroups + 1) * sizeof(*groups));
	size_t g = 0;
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next) {
		if (!n->oid.p)
			continue;
		if (!MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid)) {
			user = name_value(a, n);
			if (!user)
				return NULL;
		} else if (!MBEDTLS_OID_CMP(MBEDTLS_OID_AT_ORGANIZATION, &n->oid)) {
			const char *v = name_value(a, n);
			if (!v)
				return NULL;
			groups[g++] = v;
		}
	}
	/* Kubernetes refuses a client certificate without a common name. */
	if (!user || !*user)
		return NULL;
	groups[g] = NULL;
	id->user = user;
	id->groups = groups;
	id->ngroups = g;
	return id;
}
