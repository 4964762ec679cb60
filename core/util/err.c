/* err: the error object functions fill with a code and a human message. */
#include <stdio.h>
#include <string.h>

#include "core/util/util.h"

int err_set(struct err *e, int code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		e->code = code;
	}
	return code;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char prefix[256];
	va_list ap;

	if (!e)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* New message: "prefix: old", cut to fit. */
	size_t pl = strlen(prefix), ol = strnlen(e->msg, sizeof(e->msg) - 1),
	       cap = sizeof(e->msg) - 1;
	if (pl + 2 > cap)
		pl = cap - 2;
	if (pl + 2 + ol > cap)
		ol = cap - pl - 2;
	memmove(e->msg + pl + 2, e->msg, ol);
	memcpy(e->msg, prefix, pl);
	e->msg[pl] = ':';
	e->msg[pl + 1] = ' ';
	e->msg[pl + 2 + ol] = '\0';
	return e->code;
}

void err_clear(struct err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}
