/* meta: name and label validation in upstream's terms, generated names, UIDs, times, versions. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/obj/obj-internal.h"

#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1035_LABEL_FMT "[a-z]([-a-z0-9]*[a-z0-9])?"
#define QUALIFIED_NAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_VALUE_FMT "(" QUALIFIED_NAME_FMT ")?"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* One DNS-1123 label of length n at s (no length limit check). */
static bool dns1123_label_ok(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool dns1123_subdomain_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return false;
	const char *p = s;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!dns1123_label_ok(p, len))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

/* name part of a qualified name, or a non-empty label value. */
static bool qualified_part_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/*
 * Builds "<too long>; <bad form>" when both rules fail, as upstream lists
 * every problem it finds.
 */
static int two_rules(struct err *e, bool too_long, size_t max, bool bad_form, const char *form)
{
	if (too_long && bad_form)
		return err_set(e, -EINVAL, "must be no more than %zu characters; %s", max, form);
	if (too_long)
		return err_set(e, -EINVAL, "must be no more than %zu characters", max);
	if (bad_form)
		return err_set(e, -EINVAL, "%s", form);
	return 0;
}

int obj_validate_dns1123_label(const char *s, struct err *e)
{
	size_t n = strlen(s);
	return two_rules(e, n > OBJ_DNS1123_LABEL_MAX, OBJ_DNS1123_LABEL_MAX,
	                 !dns1123_label_ok(s, n),
	                 "a lowercase RFC 1123 label must be made of lowercase letters, digits or "
	                 "'-', and begin and end with a letter or digit (for example 'my-name' or "
	                 "'123-abc'; checked with '" DNS1123_LABEL_FMT "')");
}

int obj_validate_dns1123_subdomain(const char *s, struct err *e)
{
	return two_rules(
	    e, strlen(s) > OBJ_DNS1123_SUBDOMAIN_MAX, OBJ_DNS1123_SUBDOMAIN_MAX,
	    !dns1123_subdomain_ok(s),
	    "a lowercase RFC 1123 subdomain must be made of lowercase letters, digits, "
	    "'-' or '.', and begin and end with a letter or digit (for example "
	    "'example.com'; checked with '" DNS1123_SUBDOMAIN_FMT "')");
}

int obj_validate_dns1035_label(const char *s, struct err *e)
{
	size_t n = strlen(s);
	bool ok = dns1123_label_ok(s, n) && s[0] >= 'a' && s[0] <= 'z';
	return two_rules(e, n > OBJ_DNS1123_LABEL_MAX, OBJ_DNS1123_LABEL_MAX, !ok,
	                 "a DNS-1035 label must be made of lowercase letters, digits or '-', begin "
	                 "with a letter and end with a letter or digit (for example 'my-name' or "
	                 "'abc-123'; checked with '" DNS1035_LABEL_FMT "')");
}

#define QUALIFIED_RULE                                                                             \
	"must be made of letters, digits, '-', '_' or '.', and begin and end with a letter or "    \
	"digit (for example 'MyName', 'my.name' or '123-abc'; checked with '" QUALIFIED_NAME_FMT   \
	"')"

int obj_validate_qualified_name(const char *s, struct err *e)
{
	const char *slash = strchr(s, '/');
	const char *name = s;
	char msg[sizeof(((struct err *)0)->msg)];
	size_t m = 0;

	msg[0] = '\0';
	if (slash && strchr(slash + 1, '/'))
		return err_set(e, -EINVAL,
		               "a qualified name " QUALIFIED_RULE
		               ", with an optional DNS subdomain prefix and '/' (for example "
		               "'example.com/MyName')");
	if (slash) {
		size_t plen = (size_t)(slash - s);
		char *prefix = xstrndup(s, plen);
		struct err pe = { 0 };
		if (plen == 0)
			m += (size_t)snprintf(msg + m, sizeof(msg) - m,
			                      "prefix part must be non-empty");
		else if (obj_validate_dns1123_subdomain(prefix, &pe) < 0)
			m += (size_t)snprintf(msg + m, sizeof(msg) - m, "prefix part %s", pe.msg);
		free(prefix);
		name = slash + 1;
	}
	size_t n = strlen(name);
	const char *problem = NULL;
	if (n == 0)
		problem = "name part must be non-empty";
	else if (n > OBJ_QUALIFIED_NAME_MAX)
		problem = "name part must be no more than 63 characters";
	if (problem && m < sizeof(msg))
		m += (size_t)snprintf(msg + m, sizeof(msg) - m, "%s%s", m ? "; " : "", problem);
	if (!qualified_part_ok(name, n) && m < sizeof(msg))
		m += (size_t)snprintf(msg + m, sizeof(msg) - m, "%sname part " QUALIFIED_RULE,
		                      m ? "; " : "");
	if (m)
		return err_set(e, -EINVAL, "%s", msg);
	return 0;
}

int obj_validate_label_value(const char *s, struct err *e)
{
	size_t n = strlen(s);
	if (n == 0)
		return 0;
	return two_rules(e, n > OBJ_LABEL_VALUE_MAX, OBJ_LABEL_VALUE_MAX, !qualified_part_ok(s, n),
	                 "a valid label must be an empty string or be made of letters, digits, "
	                 "'-', '_' or '.', and begin and end with a letter or digit (for example "
	                 "'MyValue', 'my_value' or '12345'; checked with '" LABEL_VALUE_FMT "')");
}

int obj_validate_labels(const cJSON *labels, struct err *e)
{
	if (!labels || jis_null(labels))
		return 0;
	if (!jis_obj(labels))
		return err_set(e, -EINVAL, "labels must be an object of strings, not a %s",
		               jtype_name(labels));
	for (const cJSON *c = labels->child; c; c = c->next) {
		if (obj_validate_qualified_name(c->string, e) < 0)
			return err_wrap(e, "label key \"%.100s\"", c->string);
		if (!jis_str(c))
			return err_set(e, -EINVAL,
			               "label \"%.100s\": value must be a string, not a %s",
			               c->string, jtype_name(c));
		if (obj_validate_label_value(c->valuestring, e) < 0)
			return err_wrap(e, "label \"%.100s\": value \"%.80s\"", c->string,
			                c->valuestring);
	}
	return 0;
}

int obj_validate_annotations(const cJSON *annotations, struct err *e)
{
	size_t total = 0;
	if (!annotations || jis_null(annotations))
		return 0;
	if (!jis_obj(annotations))
		return err_set(e, -EINVAL, "annotations must be an object of strings, not a %s",
		               jtype_name(annotations));
	for (const cJSON *c = annotations->child; c; c = c->next) {
		/* Upstream checks the lowercased key: annotation keys may use capitals freely. */
		char *low = xstrdup(c->string);
		for (char *p = low; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		int r = obj_validate_qualified_name(low, e);
		free(low);
		if (r < 0)
			return err_wrap(e, "annotation key \"%.100s\"", c->string);
		if (!jis_str(c))
			return err_set(e, -EINVAL,
			               "annotation \"%.100s\": value must be a string, not a %s",
			               c->string, jtype_name(c));
		total += strlen(c->string) + strlen(c->valuestring);
	}
	if (total > OBJ_ANNOTATIONS_MAX)
		return err_set(e, -EINVAL,
		               "annotations may not have more than %d bytes in all (%zu)",
		               OBJ_ANNOTATIONS_MAX, total);
	return 0;
}

/* ---- randomness, names, UIDs ------------------------------------------------ */

void obj_random(void *p, size_t n)
{
	unsigned char *b = p;
	while (n) {
		ssize_t r = getrandom(b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* Old kernels: fall back to the device. */
			int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
			if (fd < 0 || read(fd, b, n) != (ssize_t)n) {
				fprintf(stderr, "<2>tug: no random source\n");
				abort();
			}
			close(fd);
			return;
		}
		b += r;
		n -= (size_t)r;
	}
}

void obj_generate_name(const char *base, char out[64])
{
	static const char alphabet[] = OBJ_GENERATE_NAME_ALPHABET;
	unsigned char r[5];
	size_t n = strlen(base);
	if (n > 58)
		n = 58;
	memcpy(out, base, n);
	obj_random(r, sizeof(r));
	for (size_t i = 0; i < 5; i++)
		out[n + i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
	out[n + 5] = '\0';
}

void obj_uid(char out[37])
{
	unsigned char u[16];
	obj_random(u, sizeof(u));
	u[6] = (unsigned char)((u[6] & 0x0F) | 0x40); /* version 4 */
	u[8] = (unsigned char)((u[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
	         u[13], u[14], u[15]);
}

/* ---- times --------------------------------------------------------------- */

void obj_time_format(int64_t sec, char out[32])
{
	struct tm tm;
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, 32, "1970-01-01T00:00:00Z");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void obj_microtime_format(int64_t usec, char out[40])
{
	struct tm tm;
	int64_t sec = usec / 1000000, frac = usec % 1000000;
	if (frac < 0) {
		frac += 1000000;
		sec--;
	}
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, 40, "1970-01-01T00:00:00.000000Z");
		return;
	}
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%06ldZ", base, (long)frac);
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int obj_time_parse(const char *s, int64_t *sec, int32_t *nsec, struct err *e)
{
	const char *p = s;
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	int32_t ns = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		goto bad;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &se))
		goto bad;
	if (*p == '.') {
		int n = 0;
		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		while (*p >= '0' && *p <= '9') {
			if (n < 9) {
				ns = ns * 10 + (*p - '0');
				n++;
			}
			p++;
		}
		for (; n < 9; n++)
			ns *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			goto bad;
	} else {
		goto bad;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		goto bad;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		goto bad;
	*sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	       sign * (oh * 3600 + om * 60);
	if (nsec)
		*nsec = ns;
	return 0;
bad:
	return err_set(e, -EINVAL,
	               "invalid time \"%.64s\": want RFC 3339, e.g. 2006-01-02T15:04:05Z", s);
}

/* ---- resource versions ------------------------------------------------------ */

int obj_rv_parse(const char *s, uint64_t *out, struct err *e)
{
	if (!s || !parse_u64(s, out))
		return err_set(e, -EINVAL, "invalid resource version \"%.64s\"", s ? s : "");
	return 0;
}

void obj_rv_format(uint64_t rv, char out[24])
{
	snprintf(out, 24, "%llu", (unsigned long long)rv);
}
