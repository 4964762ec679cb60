/* str: small string parsers (numbers, durations) and prefix tests. */
#include <ctype.h>
#include <string.h>

#include "core/util/util.h"

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Go's time.ParseDuration subset that users type into flags: a bare number is seconds. */
bool parse_duration_ms(const char *s, uint64_t *out)
{
	uint64_t total = 0;
	if (!s || !*s)
		return false;
	if (parse_u64(s, &total)) {
		if (total > UINT64_MAX / 1000)
			return false;
		*out = total * 1000;
		return true;
	}
	total = 0;
	while (*s) {
		uint64_t v = 0;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s)) {
			if (v > UINT64_MAX / 10 - 10)
				return false;
			v = v * 10 + (uint64_t)(*s++ - '0');
		}
		uint64_t mult;
		if (strncmp(s, "ms", 2) == 0) {
			mult = 1;
			s += 2;
		} else if (*s == 's') {
			mult = 1000;
			s++;
		} else if (*s == 'm') {
			mult = 60000;
			s++;
		} else if (*s == 'h') {
			mult = 3600000;
			s++;
		} else {
			return false;
		}
		if (v > (UINT64_MAX - total) / mult)
			return false;
		total += v * mult;
	}
	*out = total;
	return true;
}
