/* http_parse_fuzz: libFuzzer target for request heads, chunked bodies, queries and escapes.
 *
 * The input is what a client sends. The first byte picks how the bytes are
 * split into reads, so incremental parsing is checked against parsing all at
 * once: both must agree on where a head ends and what a chunked body holds.
 */
#include <stdint.h>
#include <string.h>

#include "core/http/http-internal.h"

/* A disagreement is a bug; make libFuzzer keep the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static const struct http_limits lim = {
	.max_header_bytes = 8192,
	.max_uri_bytes = 2048,
	.max_body_bytes = 65536,
	.max_headers = 32,
};

static void check_head(const struct http_head *h)
{
	CHECK(h->method && *h->method);
	CHECK(h->path && (h->path[0] == '/' || !strcmp(h->path, "*")));
	CHECK(h->minor == 0 || h->minor == 1);
	CHECK(!(h->chunked && h->content_length >= 0));
	CHECK(h->content_length <= (int64_t)lim.max_body_bytes);
	for (size_t i = 0; i < h->nfields; i++) {
		CHECK(*h->fields[i].name);
		CHECK(!strpbrk(h->fields[i].value, "\r\n"));
	}
	for (size_t i = 0; i < h->nquery; i++)
		CHECK(h->query[i].name && h->query[i].value);
}

/* Decodes body in reads of `step` bytes; returns the consumed count or a negative status. */
static ssize_t chunked(const char *in, size_t n, size_t step, char **out, size_t *len, bool *done)
{
	struct http_chunked c = { 0 };
	size_t cap = 0, used = 0;
	*out = NULL;
	*len = 0;
	*done = false;
	while (used < n && !*done) {
		size_t k = MIN(step, n - used);
		ssize_t r =
		    http_chunked_feed(&c, in + used, k, out, len, &cap, lim.max_body_bytes, done);
		if (r < 0)
			return r;
		CHECK((size_t)r <= k);
		used += (size_t)r;
		if ((size_t)r < k)
			CHECK(*done);
	}
	return (ssize_t)used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = data[0] % 23 + 1;
	const char *buf = (const char *)data + 1;
	size_t n = size - 1;

	/* Where the head ends, at once and read by read. */
	size_t skip = http_skip_empty_lines(buf, n);
	const char *hb = buf + skip;
	size_t hn = n - skip, scan = 0;
	size_t end = http_head_end(hb, hn, &scan);
	size_t scan2 = 0, end2 = 0;
	for (size_t got = step; !end2; got += step) {
		end2 = http_head_end(hb, MIN(got, hn), &scan2);
		if (got >= hn)
			break;
	}
	CHECK(end == end2);
	(void)http_method_prefix_ok(hb, hn);

	struct arena a;
	arena_init(&a, 256);
	if (end) {
		struct http_head h;
		const char *why = NULL;
		int rc = http_parse_head(hb, end, &lim, &a, &h, &why);
		CHECK(why != NULL);
		if (rc == 0) {
			check_head(&h);
			if (http_parse_query(&h, &a) == 0)
				check_head(&h);
			(void)http_head_field(&h, "host");
			if (h.chunked) {
				char *b1, *b2;
				size_t l1, l2;
				bool d1, d2;
				ssize_t r1 = chunked(hb + end, hn - end, hn + 1, &b1, &l1, &d1);
				ssize_t r2 = chunked(hb + end, hn - end, step, &b2, &l2, &d2);
				CHECK(r1 == r2);
				if (r1 >= 0) {
					CHECK(d1 == d2 && l1 == l2);
					CHECK(!l1 || !memcmp(b1, b2, l1));
					CHECK(l1 <= lim.max_body_bytes);
				}
				free(b1);
				free(b2);
			}
		} else {
			CHECK(rc >= 400 && rc < 600);
		}
	}
	/* Percent-decoding of arbitrary text never grows it. */
	char *s = arena_strndup(&a, buf, n);
	size_t before = strlen(s);
	int dl = http_pct_decode(s, step & 1);
	CHECK(dl < 0 || (size_t)dl <= before);
	arena_free(&a);
	return 0;
}
