/* print: table cells, timestamps and kubectl's human durations. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/registry/registry-internal.h"

void reg_cell_str(cJSON *cells, const char *s)
{
	cJSON_AddItemToArray(cells, cJSON_CreateString(s ? s : ""));
}

void reg_cell_fmt(cJSON *cells, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	reg_cell_str(cells, buf);
}

void reg_cell_int(cJSON *cells, int64_t v)
{
	cJSON_AddItemToArray(cells, cJSON_CreateNumber((double)v));
}

void reg_cell_buf(cJSON *cells, struct buf *b)
{
	reg_cell_str(cells, b->data ? b->data : "");
	buf_free(b);
}

void reg_cell_age(cJSON *cells, const cJSON *obj, int64_t now)
{
	char age[32];
	reg_since(reg_at(obj, "metadata.creationTimestamp"), now, age, sizeof(age));
	reg_cell_str(cells, age);
}

void reg_cell_containers(cJSON *cells, const cJSON *podspec)
{
	struct buf names = { 0 }, images = { 0 };
	const cJSON *c;
	int i = 0;
	cJSON_ArrayForEach(c, reg_at_arr(podspec, "containers"))
	{
		buf_printf(&names, "%s%s", i ? "," : "", reg_at_strz(c, "name"));
		buf_printf(&images, "%s%s", i ? "," : "", reg_at_strz(c, "image"));
		i++;
	}
	reg_cell_buf(cells, &names);
	reg_cell_buf(cells, &images);
}

/* Days from the civil date, so that parsing does not depend on the TZ environment (timegm is
 * not in C11). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool reg_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec;
	if (!s || strlen(s) < 20)
		return false;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
			return false;
		off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	*out =
	    days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
	return true;
}

void reg_human_duration(int64_t seconds, char *out, size_t outlen)
{
	if (seconds < -1) {
		snprintf(out, outlen, "<invalid>");
		return;
	}
	if (seconds < 0) {
		snprintf(out, outlen, "0s");
		return;
	}
	if (seconds < 120) {
		snprintf(out, outlen, "%llds", (long long)seconds);
		return;
	}
	int64_t minutes = seconds / 60;
	if (minutes < 10) {
		if (seconds % 60 == 0)
			snprintf(out, outlen, "%lldm", (long long)minutes);
		else
			snprintf(out, outlen, "%lldm%llds", (long long)minutes,
			         (long long)(seconds % 60));
		return;
	}
	if (minutes < 180) {
		snprintf(out, outlen, "%lldm", (long long)minutes);
		return;
	}
	int64_t hours = seconds / 3600;
	if (hours < 8) {
		if (minutes % 60 == 0)
			snprintf(out, outlen, "%lldh", (long long)hours);
		else
			snprintf(out, outlen, "%lldh%lldm", (long long)hours,
			         (long long)(minutes % 60));
		return;
	}
	if (hours < 48) {
		snprintf(out, outlen, "%lldh", (long long)hours);
		return;
	}
	if (hours < 24 * 8) {
		if (hours % 24 == 0)
			snprintf(out, outlen, "%lldd", (long long)(hours / 24));
		else
			snprintf(out, outlen, "%lldd%lldh", (long long)(hours / 24),
			         (long long)(hours % 24));
		return;
	}
	if (hours < 24 * 365 * 2) {
		snprintf(out, outlen, "%lldd", (long long)(hours / 24));
		return;
	}
	if (hours < 24 * 365 * 8) {
		int64_t days = hours / 24;
		if (days % 365 == 0)
			snprintf(out, outlen, "%lldy", (long long)(days / 365));
		else
			snprintf(out, outlen, "%lldy%lldd", (long long)(days / 365),
			         (long long)(days % 365));
		return;
	}
	snprintf(out, outlen, "%lldy", (long long)(hours / 24 / 365));
}

void reg_since(const cJSON *timestamp, int64_t now, char *out, size_t outlen)
{
	int64_t t;
	if (!cJSON_IsString(timestamp) || !reg_parse_time(timestamp->valuestring, &t)) {
		snprintf(out, outlen, "<unknown>");
		return;
	}
	reg_human_duration(now - t, out, outlen);
}

void reg_age(const char *created, int64_t now, char *out, size_t outlen)
{
	int64_t t;
	if (!created || !reg_parse_time(created, &t)) {
		snprintf(out, outlen, "<unknown>");
		return;
	}
	reg_human_duration(now - t, out, outlen);
}

bool reg_field_out(char *out, size_t outlen, const char *val)
{
	snprintf(out, outlen, "%s", val ? val : "");
	return true;
}

bool reg_field_int(char *out, size_t outlen, int64_t val)
{
	snprintf(out, outlen, "%lld", (long long)val);
	return true;
}
