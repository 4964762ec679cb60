/* log: leveled messages to stderr in a form journald and syslog understand. */
#ifndef TUG_LOG_H
#define TUG_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug". */
bool log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level lvl, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Each file defines LOG_TAG (its module) before using these. */
#define log_error(...) log_msg(LOG_LVL_ERROR, LOG_TAG, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, LOG_TAG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, LOG_TAG, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LVL_DEBUG)                                              \
			log_msg(LOG_LVL_DEBUG, LOG_TAG, __VA_ARGS__);                              \
	} while (0)

#endif
