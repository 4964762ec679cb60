/* log: one line per message. Under systemd (JOURNAL_STREAM set) lines carry a
 * "<N>" priority prefix that journald turns into the syslog level; elsewhere
 * they carry a timestamp and the level's name. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log/log.h"

static enum log_level level = LOG_LVL_INFO;
static int journal = -1;

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

enum log_level log_get_level(void)
{
	return level;
}

bool log_parse_level(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level lvl;
	} names[] = { { "error", LOG_LVL_ERROR },
		      { "warn", LOG_LVL_WARN },
		      { "warning", LOG_LVL_WARN },
		      { "info", LOG_LVL_INFO },
		      { "debug", LOG_LVL_DEBUG } };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].lvl;
			return true;
		}
	}
	return false;
}

static const char *level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERROR:
		return "ERROR";
	case LOG_LVL_WARN:
		return "WARN ";
	case LOG_LVL_INFO:
		return "INFO ";
	default:
		return "DEBUG";
	}
}

void log_msg(enum log_level lvl, const char *tag, const char *fmt, ...)
{
	char line[2048];
	size_t n = 0;
	va_list ap;

	if (lvl > level)
		return;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (journal) {
		n = (size_t)snprintf(line, sizeof(line), "<%d>%s: ", (int)lvl, tag);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n +=
		    (size_t)snprintf(line + n, sizeof(line) - n,
		                     ".%03ldZ %s %s: ", ts.tv_nsec / 1000000, level_name(lvl), tag);
	}
	va_start(ap, fmt);
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* One write per line so lines from threads do not interleave. */
	n = strlen(line);
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}
