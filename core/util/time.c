/* time: monotonic and wall clocks, and Kubernetes-style timestamps. */
#include <stdio.h>
#include <time.h>

#include "core/util/util.h"

uint64_t time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t time_mono_ms(void)
{
	return time_mono_us() / 1000u;
}

uint64_t time_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void time_rfc3339(char out[32], int64_t unix_sec)
{
	struct tm tm;
	time_t t = (time_t)unix_sec;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
