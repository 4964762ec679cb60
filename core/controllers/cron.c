/* cron: standard cron schedules as upstream's CronJob controller reads them (robfig/cron v3's
 * standard parser): parsing, the next and the previous scheduled minute, time zones. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/controllers/workloads-internal.h"

#define STAR (1ull << 63)
#define YEARS 5

struct bounds {
	int min, max;
	const char *const *names; /* index i is value min + i... or NULL */
	int name_base;            /* value of names[0] */
	const char *what;
};

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
	                              "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const struct bounds fields[5] = {
	{ 0, 59, NULL, 0, "minute" },       { 0, 23, NULL, 0, "hour" },
	{ 1, 31, NULL, 0, "day of month" }, { 1, 12, months, 1, "month" },
	{ 0, 6, days, 0, "day of week" },
};

static int parse_int(const char *s, size_t n, int *out, struct err *e)
{
	char buf[32];
	if (n == 0 || n >= sizeof(buf))
		return err_set(e, -EINVAL, "failed to parse int from %.*s", (int)n, s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)buf[i]))
			return err_set(e, -EINVAL, "failed to parse int from %s", buf);
	long v = strtol(buf, NULL, 10);
	if (v > 1000000)
		return err_set(e, -EINVAL, "failed to parse int from %s", buf);
	*out = (int)v;
	return 0;
}

static int parse_value(const char *s, size_t n, const struct bounds *b, int *out, struct err *e)
{
	for (int i = 0; b->names && b->names[i]; i++)
		if (strlen(b->names[i]) == n && !strncasecmp(s, b->names[i], n)) {
			*out = b->name_base + i;
			return 0;
		}
	return parse_int(s, n, out, e);
}

/* One range of a field: "*", "?", "a", "a-b", each optionally "/step" ("a/step" is a-max). */
static int parse_range(const char *s, size_t n, const struct bounds *b, uint64_t *bits,
                       struct err *e)
{
	const char *slash = memchr(s, '/', n);
	size_t rn = slash ? (size_t)(slash - s) : n;
	if (slash && memchr(slash + 1, '/', n - rn - 1))
		return err_set(e, -EINVAL, "too many slashes: %.*s", (int)n, s);
	int start, end, step = 1;
	uint64_t extra = 0;
	bool single = false;
	if (rn == 1 && (s[0] == '*' || s[0] == '?')) {
		start = b->min;
		end = b->max;
		extra = STAR;
	} else {
		const char *dash = memchr(s, '-', rn);
		if (dash && memchr(dash + 1, '-', rn - (size_t)(dash - s) - 1))
			return err_set(e, -EINVAL, "too many hyphens: %.*s", (int)n, s);
		int rc = parse_value(s, dash ? (size_t)(dash - s) : rn, b, &start, e);
		if (rc < 0)
			return rc;
		if (dash) {
			rc = parse_value(dash + 1, rn - (size_t)(dash - s) - 1, b, &end, e);
			if (rc < 0)
				return rc;
		} else {
			end = start;
			single = true;
		}
	}
	if (slash) {
		int rc = parse_int(slash + 1, n - rn - 1, &step, e);
		if (rc < 0)
			return rc;
		if (single)
			end = b->max;
		if (step > 1)
			extra = 0;
	}
	if (start < b->min)
		return err_set(e, -EINVAL, "beginning of range (%d) below minimum (%d): %.*s",
		               start, b->min, (int)n, s);
	if (end > b->max)
		return err_set(e, -EINVAL, "end of range (%d) above maximum (%d): %.*s", end,
		               b->max, (int)n, s);
	if (start > end)
		return err_set(e, -EINVAL, "beginning of range (%d) beyond end of range (%d): %.*s",
		               start, end, (int)n, s);
	if (step == 0)
		return err_set(e, -EINVAL, "step of range should be a positive number: %.*s",
		               (int)n, s);
	for (int i = start; i <= end; i += step)
		*bits |= 1ull << i;
	*bits |= extra;
	return 0;
}

static int parse_field(const char *s, size_t n, const struct bounds *b, uint64_t *bits,
                       struct err *e)
{
	*bits = 0;
	while (n) {
		const char *comma = memchr(s, ',', n);
		size_t k = comma ? (size_t)(comma - s) : n;
		if (k) {
			int rc = parse_range(s, k, b, bits, e);
			if (rc < 0)
				return rc;
		}
		if (!comma)
			break;
		n -= k + 1;
		s = comma + 1;
	}
	if (!*bits)
		return err_set(e, -EINVAL, "empty %s field", b->what);
	return 0;
}

static uint64_t all_bits(int f)
{
	uint64_t b = 0;
	for (int i = fields[f].min; i <= fields[f].max; i++)
		b |= 1ull << i;
	return b | STAR;
}

int wl_cron_parse(const char *spec, struct wl_cron *c, struct err *e)
{
	memset(c, 0, sizeof(*c));
	if (!spec)
		return err_set(e, -EINVAL, "empty spec string");
	while (isspace((unsigned char)*spec))
		spec++;
	if (!*spec)
		return err_set(e, -EINVAL, "empty spec string");
	if (str_has_prefix(spec, "TZ=") || str_has_prefix(spec, "CRON_TZ="))
		return err_set(e, -EINVAL,
		               "cannot use TZ or CRON_TZ in schedule, use timeZone field");
	if (*spec == '@') {
		static const struct {
			const char *name;
			int minute, hour, dom, month, dow; /* -1: every value */
		} desc[] = {
			{ "@yearly", 0, 0, 1, 1, -1 },    { "@annually", 0, 0, 1, 1, -1 },
			{ "@monthly", 0, 0, 1, -1, -1 },  { "@weekly", 0, 0, -1, -1, 0 },
			{ "@daily", 0, 0, -1, -1, -1 },   { "@midnight", 0, 0, -1, -1, -1 },
			{ "@hourly", 0, -1, -1, -1, -1 },
		};
		for (size_t i = 0; i < ARRAY_SIZE(desc); i++) {
			if (strcmp(spec, desc[i].name))
				continue;
			int v[5] = { desc[i].minute, desc[i].hour, desc[i].dom, desc[i].month,
				     desc[i].dow };
			uint64_t *out[5] = { &c->minute, &c->hour, &c->dom, &c->month, &c->dow };
			for (int f = 0; f < 5; f++)
				*out[f] = v[f] < 0 ? all_bits(f) : 1ull << v[f];
			return 0;
		}
		uint64_t ms;
		if (str_has_prefix(spec, "@every ")) {
			if (!parse_duration_ms(spec + 7, &ms))
				return err_set(e, -EINVAL, "failed to parse duration %s", spec);
			/* Whole seconds, at least one, as robfig's Every. */
			c->every_s = ms < 1000 ? 1 : (int64_t)(ms / 1000);
			return 0;
		}
		return err_set(e, -EINVAL, "unrecognized descriptor: %s", spec);
	}
	const char *f[6];
	size_t len[6];
	int n = 0;
	for (const char *p = spec; *p;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *st = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (n < 6) {
			f[n] = st;
			len[n] = (size_t)(p - st);
		}
		n++;
	}
	if (n != 5)
		return err_set(e, -EINVAL, "expected exactly 5 fields, found %d: %s", n, spec);
	uint64_t *out[5] = { &c->minute, &c->hour, &c->dom, &c->month, &c->dow };
	for (int i = 0; i < 5; i++) {
		int rc = parse_field(f[i], len[i], &fields[i], out[i], e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- time zones ------------------------------------------------------------------------------ */

bool wl_tz_valid(const char *tz)
{
	if (!tz || !*tz)
		return true; /* the process's local time */
	if (!strcmp(tz, "UTC") || !strcmp(tz, "Etc/UTC"))
		return true;
	if (tz[0] == '/' || strstr(tz, "..") || !strcasecmp(tz, "Local"))
		return false;
	const char *dir = getenv("TZDIR");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/*
 * Broken-down times in a zone through TZ and the C library (the loop thread is the only one
 * that converts times). zone_enter swaps TZ in, zone_leave restores it.
 */
struct zone {
	char *saved;
	bool had, swapped;
};

static void zone_enter(struct zone *z, const char *tz)
{
	memset(z, 0, sizeof(*z));
	if (!tz || !*tz)
		return;
	const char *cur = getenv("TZ");
	z->had = cur != NULL;
	z->saved = cur ? xstrdup(cur) : NULL;
	z->swapped = true;
	setenv("TZ", tz, 1);
	tzset();
}

static void zone_leave(struct zone *z)
{
	if (!z->swapped)
		return;
	if (z->had)
		setenv("TZ", z->saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(z->saved);
}

static time_t normalize(struct tm *tm)
{
	tm->tm_isdst = -1;
	time_t t = mktime(tm);
	localtime_r(&t, tm);
	return t;
}

static bool day_matches(const struct wl_cron *c, const struct tm *tm)
{
	bool dom = c->dom & (1ull << tm->tm_mday);
	bool dow = c->dow & (1ull << tm->tm_wday);
	/* robfig: with either field a plain "*", both must match; otherwise either may. */
	if ((c->dom & STAR) || (c->dow & STAR))
		return dom && dow;
	return dom || dow;
}

int64_t wl_cron_next(const struct wl_cron *c, int64_t t, const char *tz)
{
	if (c->every_s)
		return t + c->every_s;
	struct zone z;
	zone_enter(&z, tz);
	/* The first whole minute after t. */
	time_t x = (time_t)(t - (((t % 60) + 60) % 60) + 60);
	struct tm tm;
	localtime_r(&x, &tm);
	int limit = tm.tm_year + YEARS;
	bool added = false;
	int64_t out = -1;
wrap:
	if (tm.tm_year > limit)
		goto done;
	while (!(c->month & (1ull << (tm.tm_mon + 1)))) {
		if (!added) {
			added = true;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		}
		tm.tm_mon++;
		normalize(&tm);
		if (tm.tm_mon == 0)
			goto wrap;
	}
	while (!day_matches(c, &tm)) {
		if (!added) {
			added = true;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		}
		tm.tm_mday++;
		tm.tm_hour = 0;
		normalize(&tm);
		if (tm.tm_mday == 1)
			goto wrap;
	}
	while (!(c->hour & (1ull << tm.tm_hour))) {
		if (!added) {
			added = true;
			tm.tm_min = tm.tm_sec = 0;
		}
		time_t h = normalize(&tm) + 3600;
		localtime_r(&h, &tm);
		if (tm.tm_hour == 0)
			goto wrap;
	}
	while (!(c->minute & (1ull << tm.tm_min))) {
		added = true;
		time_t m = normalize(&tm) + 60;
		localtime_r(&m, &tm);
		if (tm.tm_min == 0)
			goto wrap;
	}
	out = (int64_t)normalize(&tm);
done:
	zone_leave(&z);
	return out;
}

int64_t wl_cron_prev(const struct wl_cron *c, int64_t t, const char *tz)
{
	if (c->every_s)
		return -1; /* no fixed grid */
	struct zone z;
	zone_enter(&z, tz);
	time_t x = (time_t)(t - (((t % 60) + 60) % 60));
	struct tm tm;
	localtime_r(&x, &tm);
	int limit = tm.tm_year - YEARS;
	int64_t out = -1;
	/* Each mismatch jumps to the last minute before the mismatching month, day or hour
	 * began, then every field is checked again. */
	for (;;) {
		if (tm.tm_year < limit)
			break;
		if (!(c->month & (1ull << (tm.tm_mon + 1)))) {
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!(c->hour & (1ull << tm.tm_hour))) {
			tm.tm_min = tm.tm_sec = 0;
		} else if (!(c->minute & (1ull << tm.tm_min))) {
			tm.tm_sec = 0;
		} else {
			out = (int64_t)normalize(&tm);
			break;
		}
		x = normalize(&tm) - 60;
		localtime_r(&x, &tm);
	}
	zone_leave(&z);
	return out;
}

void wl_cron_format(int64_t t, const char *tz, char out[40])
{
	struct zone z;
	zone_enter(&z, tz);
	time_t x = (time_t)t;
	struct tm tm;
	localtime_r(&x, &tm);
	zone_leave(&z);
	long off = tm.tm_gmtoff;
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	if (off == 0) {
		snprintf(out + n, 40 - n, "Z");
		return;
	}
	char sign = off < 0 ? '-' : '+';
	off = off < 0 ? -off : off;
	snprintf(out + n, 40 - n, "%c%02ld:%02ld", sign, off / 3600, (off % 3600) / 60);
}
