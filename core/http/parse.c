/* parse: HTTP/1.1 request heads, chunked bodies, query strings and percent-decoding (RFC 9112). */
#include <string.h>
#include <strings.h>

#include "core/http/http-internal.h"

/* tchar from RFC 9110: the characters of methods and field names. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field values: visible ASCII, obs-text, space and tab; no other control characters. */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_pct_decode(char *s, bool plus_space)
{
	char *w = s;
	for (const char *p = s; *p; p++) {
		if (*p == '%') {
			int hi = hexval((unsigned char)p[1]),
			    lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else if (*p == '+' && plus_space) {
			*w++ = ' ';
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (int)(w - s);
}

size_t http_skip_empty_lines(const char *buf, size_t len)
{
	size_t i = 0;
	for (;;) {
		if (i < len && buf[i] == '\n')
			i += 1;
		else if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
			i += 2;
		else
			return i;
	}
}

size_t http_head_end(const char *buf, size_t len, size_t *scan)
{
	size_t i = *scan;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			break;
		i = (size_t)(nl - buf);
		if (i + 1 >= len) {
			*scan = i;
			return 0;
		}
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r') {
			if (i + 2 >= len) {
				*scan = i;
				return 0;
			}
			if (buf[i + 2] == '\n')
				return i + 3;
		}
		i++;
	}
	*scan = len;
	return 0;
}

bool http_method_prefix_ok(const char *buf, size_t len)
{
	for (size_t i = 0; i < len && i <= 32; i++) {
		if (buf[i] == ' ')
			return i > 0;
		if (!is_tchar((unsigned char)buf[i]))
			return false;
	}
	return len <= 32;
}

const char *http_head_field(const struct http_head *h, const char *name)
{
	for (size_t i = 0; i < h->nfields; i++)
		if (!strcasecmp(h->fields[i].name, name))
			return h->fields[i].value;
	return NULL;
}

/* Calls fn for each element of a comma-separated list value, trimmed; stops at nonzero. */
static int each_token(const char *v, int (*fn)(const char *tok, size_t n, void *arg), void *arg)
{
	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		const char *s = v;
		while (*v && *v != ',')
			v++;
		const char *e = v;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > s) {
			int rc = fn(s, (size_t)(e - s), arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

struct conn_tokens {
	bool close, keep_alive, upgrade;
};

static int on_connection_token(const char *t, size_t n, void *arg)
{
	struct conn_tokens *ct = arg;
	if (n == 5 && !strncasecmp(t, "close", 5))
		ct->close = true;
	else if (n == 10 && !strncasecmp(t, "keep-alive", 10))
		ct->keep_alive = true;
	else if (n == 7 && !strncasecmp(t, "upgrade", 7))
		ct->upgrade = true;
	return 0;
}

struct te_state {
	size_t count;
	bool last_chunked, chunked_seen;
	bool unknown;
};

static int on_te_token(const char *t, size_t n, void *arg)
{
	struct te_state *te = arg;
	te->count++;
	te->last_chunked = n == 7 && !strncasecmp(t, "chunked", 7);
	if (te->last_chunked) {
		if (te->chunked_seen)
			return 1; /* chunked twice: framing we refuse to guess at */
		te->chunked_seen = true;
	} else {
		te->unknown = true;
	}
	return 0;
}

/* Splits the request target into path and query, accepting origin-form, absolute-form
 * (which a server must accept) and "*" for OPTIONS. */
static int parse_target(char *target, const char *method, struct arena *a, struct http_head *h,
                        const char **why)
{
	char *p = target;

	if (!strcmp(target, "*")) {
		if (strcmp(method, "OPTIONS")) {
			*why = "'*' is a target only for OPTIONS";
			return 400;
		}
		h->path = "*";
		h->raw_query = "";
		return 0;
	}
	if (!strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8)) {
		p = strchr(p, ':') + 3;
		char *slash = p + strcspn(p, "/?");
		if (slash == p) {
			*why = "absolute target without a host";
			return 400;
		}
		p = slash;
	} else if (*p != '/') {
		*why = "request target is not a path";
		return 400;
	}
	if (strchr(p, '#')) {
		*why = "request target has a fragment";
		return 400;
	}
	char *q = strchr(p, '?');
	size_t plen = q ? (size_t)(q - p) : strlen(p);
	char *path = plen ? arena_strndup(a, p, plen) : arena_strndup(a, "/", 1);
	if (http_pct_decode(path, false) < 0) {
		*why = "malformed percent-escape in the path";
		return 400;
	}
	h->path = path;
	h->raw_query = q ? q + 1 : "";
	return 0;
}

static int parse_request_line(char *line, const struct http_limits *lim, struct arena *a,
                              struct http_head *h, const char **why)
{
	char *sp1 = strchr(line, ' ');
	if (!sp1 || sp1 == line) {
		*why = "malformed request line";
		return 400;
	}
	*sp1 = '\0';
	for (char *m = line; *m; m++) {
		if (!is_tchar((unsigned char)*m)) {
			*why = "malformed method";
			return 400;
		}
	}
	if (sp1 - line > 32) {
		*why = "method too long";
		return 501;
	}
	char *target = sp1 + 1;
	char *sp2 = strchr(target, ' ');
	if (!sp2) {
		/* HTTP/0.9 and garbage alike. */
		*why = "malformed request line";
		return 400;
	}
	*sp2 = '\0';
	size_t tlen = (size_t)(sp2 - target);
	if (tlen > lim->max_uri_bytes) {
		*why = "request target too long";
		return 414;
	}
	if (tlen == 0) {
		*why = "empty request target";
		return 400;
	}
	for (char *t = target; *t; t++) {
		unsigned char c = (unsigned char)*t;
		if (c <= 0x20 || c >= 0x7f) {
			*why = "invalid character in the request target";
			return 400;
		}
	}
	char *ver = sp2 + 1;
	if (strncmp(ver, "HTTP/", 5) || !(ver[5] >= '0' && ver[5] <= '9') || ver[6] != '.' ||
	    !(ver[7] >= '0' && ver[7] <= '9') || ver[8]) {
		*why = "malformed HTTP version";
		return 400;
	}
	if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1')) {
		*why = "HTTP version not supported";
		return 505;
	}
	h->minor = ver[7] - '0';
	h->method = line;
	h->target = arena_strndup(a, target, tlen);
	h->is_head = !strcmp(line, "HEAD");
	return parse_target(target, line, a, h, why);
}

int http_parse_head(const char *buf, size_t len, const struct http_limits *lim, struct arena *a,
                    struct http_head *h, const char **why)
{
	char *copy = arena_strndup(a, buf, len);
	char *p = copy, *end = copy + len;
	size_t cap = 16;
	int host_count = 0;
	bool have_cl = false;
	struct conn_tokens ct = { 0 };
	struct te_state te = { 0 };
	const char *expect = NULL;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	h->fields = arena_alloc(a, cap * sizeof(*h->fields));
	*why = "";

	for (int lineno = 0;; lineno++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			*why = "head does not end with a blank line";
			return 400;
		}
		char *eol = nl;
		if (eol > p && eol[-1] == '\r')
			eol--;
		*eol = '\0';
		if (memchr(p, '\r', (size_t)(eol - p)) || memchr(p, '\0', (size_t)(eol - p))) {
			*why = "stray CR or NUL in the head";
			return 400;
		}
		char *line = p;
		p = nl + 1;
		if (lineno == 0) {
			int rc = parse_request_line(line, lim, a, h, why);
			if (rc)
				return rc;
			continue;
		}
		if (!*line)
			break; /* the blank line */
		if (*line == ' ' || *line == '\t') {
			*why = "obsolete line folding";
			return 400;
		}
		char *colon = strchr(line, ':');
		if (!colon || colon == line) {
			*why = "malformed header line";
			return 400;
		}
		*colon = '\0';
		for (char *n = line; *n; n++) {
			if (!is_tchar((unsigned char)*n)) {
				*why = "malformed header name";
				return 400;
			}
		}
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		char *ve = v + strlen(v);
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			*--ve = '\0';
		for (char *c = v; *c; c++) {
			if (!is_field_char((unsigned char)*c)) {
				*why = "control character in a header value";
				return 400;
			}
		}
		if (h->nfields >= lim->max_headers) {
			*why = "too many header fields";
			return 431;
		}
		if (h->nfields == cap) {
			struct http_field *nf = arena_alloc(a, 2 * cap * sizeof(*nf));
			memcpy(nf, h->fields, cap * sizeof(*nf));
			h->fields = nf;
			cap *= 2;
		}
		h->fields[h->nfields++] = (struct http_field){ line, v };

		if (!strcasecmp(line, "Content-Length")) {
			uint64_t n;
			if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18 ||
			    !parse_u64(v, &n)) {
				*why = "malformed Content-Length";
				return 400;
			}
			if (have_cl && (uint64_t)h->content_length != n) {
				*why = "conflicting Content-Length fields";
				return 400;
			}
			have_cl = true;
			h->content_length = (int64_t)n;
		} else if (!strcasecmp(line, "Transfer-Encoding")) {
			if (each_token(v, on_te_token, &te)) {
				*why = "chunked applied twice";
				return 400;
			}
		} else if (!strcasecmp(line, "Connection")) {
			each_token(v, on_connection_token, &ct);
		} else if (!strcasecmp(line, "Host")) {
			host_count++;
		} else if (!strcasecmp(line, "Expect")) {
			expect = v;
		}
	}

	if (h->minor == 1 && host_count != 1) {
		*why = host_count ? "more than one Host field" : "missing Host field";
		return 400;
	}
	if (te.count) {
		/* Both framings at once is how requests are smuggled; refuse. */
		if (have_cl) {
			*why = "both Transfer-Encoding and Content-Length";
			return 400;
		}
		if (h->minor == 0) {
			*why = "Transfer-Encoding in an HTTP/1.0 request";
			return 400;
		}
		if (!te.last_chunked) {
			*why = "the last transfer coding is not chunked";
			return te.unknown ? 501 : 400;
		}
		if (te.unknown) {
			*why = "transfer coding not supported";
			return 501;
		}
		h->chunked = true;
	}
	if (expect) {
		if (strcasecmp(expect, "100-continue")) {
			*why = "unsupported expectation";
			return 417;
		}
		h->expect_continue = h->minor == 1;
	}
	h->keep_alive = h->minor == 1 ? !ct.close : (ct.keep_alive && !ct.close);
	h->upgrade = h->minor == 1 && ct.upgrade && http_head_field(h, "Upgrade");
	if (h->content_length > 0 && (uint64_t)h->content_length > lim->max_body_bytes) {
		*why = "request body too large";
		return 413;
	}
	return 0;
}

int http_parse_query(struct http_head *h, struct arena *a)
{
	if (h->query_parsed)
		return 0;
	h->query_parsed = true;
	const char *q = h->raw_query;
	size_t n = 0, i = 0;

	for (const char *c = q; *c; c++)
		n += *c == '&';
	h->query = arena_alloc(a, (n + 1) * sizeof(*h->query));
	while (*q) {
		size_t len = strcspn(q, "&");
		if (len) {
			char *pair = arena_strndup(a, q, len);
			char *eq = strchr(pair, '=');
			char *val = pair + len; /* the arena copy's NUL: writable, unlike "" */
			if (eq) {
				*eq = '\0';
				val = eq + 1;
			}
			if (http_pct_decode(pair, true) < 0 || http_pct_decode(val, true) < 0) {
				h->nquery = 0;
				return -EINVAL;
			}
			h->query[i++] = (struct http_field){ pair, val };
		}
		q += len;
		if (*q == '&')
			q++;
	}
	h->nquery = i;
	return 0;
}

/* --- chunked ---------------------------------------------------------------------- */

enum {
	CH_SIZE,
	CH_EXT,
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_END,
	CH_DATA_LF,
	CH_TRAILER,
	CH_TRAILER_LINE,
	CH_TRAILER_LF,
	CH_DONE,
};

#define CHUNK_LINE_MAX 4096
#define CHUNK_TRAILER_MAX (16 * 1024)

static void body_append(char **body, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + n + 1)
			c *= 2;
		*body = xrealloc(*body, c);
		*cap = c;
	}
	memcpy(*body + *len, p, n);
	*len += n;
	(*body)[*len] = '\0';
}

ssize_t http_chunked_feed(struct http_chunked *c, const char *in, size_t n, char **body,
                          size_t *len, size_t *cap, size_t max, bool *done)
{
	size_t i = 0;

	*done = c->state == CH_DONE;
	while (i < n && c->state != CH_DONE) {
		unsigned char ch = (unsigned char)in[i];
		switch (c->state) {
		case CH_SIZE: {
			int hv = hexval(ch);
			if (hv >= 0) {
				if (++c->digits > 16)
					return -400;
				c->left = c->left * 16 + (uint64_t)hv;
				i++;
				break;
			}
			if (!c->digits)
				return -400;
			if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CH_EXT;
				c->line = c->digits;
				i++;
			} else if (ch == '\r') {
				c->state = CH_SIZE_LF;
				i++;
			} else if (ch == '\n') {
				c->state = CH_SIZE_LF;
			} else {
				return -400;
			}
			break;
		}
		case CH_EXT:
			if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else if (ch == '\n') {
				c->state = CH_SIZE_LF;
				continue;
			} else if (ch < 0x20 && ch != '\t') {
				return -400;
			} else if (++c->line > CHUNK_LINE_MAX) {
				return -400;
			}
			i++;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -400;
			i++;
			c->digits = 0;
			c->line = 0;
			if (c->left == 0) {
				c->state = CH_TRAILER;
			} else {
				if (c->left > max || *len + c->left > max)
					return -413;
				c->state = CH_DATA;
			}
			break;
		case CH_DATA: {
			size_t k = (size_t)MIN((uint64_t)(n - i), c->left);
			body_append(body, len, cap, in + i, k);
			c->left -= k;
			i += k;
			if (!c->left)
				c->state = CH_DATA_END;
			break;
		}
		case CH_DATA_END:
			if (ch == '\r')
				c->state = CH_DATA_LF;
			else if (ch == '\n')
				c->state = CH_SIZE;
			else
				return -400;
			i++;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -400;
			c->state = CH_SIZE;
			i++;
			break;
		case CH_TRAILER:
			if (ch == '\r') {
				c->state = CH_TRAILER_LF;
			} else if (ch == '\n') {
				c->state = CH_DONE;
			} else {
				c->state = CH_TRAILER_LINE;
				continue;
			}
			i++;
			break;
		case CH_TRAILER_LINE:
			if (++c->trailer > CHUNK_TRAILER_MAX)
				return -400;
			if (ch == '\n')
				c->state = CH_TRAILER;
			i++;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return -400;
			c->state = CH_DONE;
			i++;
			break;
		}
	}
	if (c->state == CH_DONE) {
		*done = true;
		if (!*body)
			body_append(body, len, cap, "", 0);
	}
	return (ssize_t)i;
}
