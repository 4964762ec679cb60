/* controllers_cronjob_test: cron schedules parse and step as upstream's (robfig v3 standard)
 * parser does, in time zones too; CronJobs start Jobs named by the scheduled minute, with
 * Allow, Forbid and Replace, suspend, startingDeadlineSeconds and history limits, on a fake
 * clock. */
#include "core/controllers/workloads-internal.h"
#include "test/unit/controllers-testlib.h"

static int64_t at(const char *rfc3339)
{
	int64_t s;
	int32_t ns;
	assert_int_equal(obj_time_parse(rfc3339, &s, &ns, NULL), 0);
	return s;
}

static void expect_next(const char *spec, const char *from, const char *tz, const char *want)
{
	struct wl_cron c;
	struct err e = { 0 };
	if (wl_cron_parse(spec, &c, &e) < 0)
		fail_msg("parse %s: %s", spec, e.msg);
	int64_t got = wl_cron_next(&c, at(from), tz);
	char buf[32];
	obj_time_format(got, buf);
	if (got != at(want))
		fail_msg("next of \"%s\" after %s (%s): %s, want %s", spec, from, tz ? tz : "local",
		         got < 0 ? "none" : buf, want);
}

static void expect_prev(const char *spec, const char *from, const char *want)
{
	struct wl_cron c;
	assert_int_equal(wl_cron_parse(spec, &c, NULL), 0);
	int64_t got = wl_cron_prev(&c, at(from), "UTC");
	char buf[32];
	obj_time_format(got, buf);
	if (got != at(want))
		fail_msg("prev of \"%s\" at %s: %s, want %s", spec, from, buf, want);
}

static void test_schedules_parse_and_step_like_upstream(void **state)
{
	expect_next("*/15 * * * *", "2024-01-01T10:07:00Z", "UTC", "2024-01-01T10:15:00Z");
	expect_next("*/15 * * * *", "2024-01-01T10:15:00Z", "UTC", "2024-01-01T10:30:00Z");
	expect_next("5 * * * *", "2024-01-01T10:07:30Z", "UTC", "2024-01-01T11:05:00Z");
	/* Weekdays at 9 (Friday the 5th, then Monday the 8th). */
	expect_next("0 9 * * 1-5", "2024-01-05T09:30:00Z", "UTC", "2024-01-08T09:00:00Z");
	expect_next("30 6-16/4 * * 1-5", "2024-01-01T06:31:00Z", "UTC", "2024-01-01T10:30:00Z");
	/* Names, in any case. */
	expect_next("0 0 1 jan,JUL *", "2024-02-01T00:00:00Z", "UTC", "2024-07-01T00:00:00Z");
	expect_next("0 12 * * SUN", "2024-01-01T00:00:00Z", "UTC", "2024-01-07T12:00:00Z");
	expect_next("0 0 * * mon-wed", "2024-01-04T00:00:00Z", "UTC", "2024-01-08T00:00:00Z");
	/* Day of month OR day of week when both are restricted; AND when one is "*". */
	expect_next("0 0 13 * FRI", "2024-01-01T00:00:00Z", "UTC", "2024-01-05T00:00:00Z");
	expect_next("0 0 13 * *", "2024-01-01T00:00:00Z", "UTC", "2024-01-13T00:00:00Z");
	expect_next("0 0 */2 * MON", "2024-01-02T00:00:00Z", "UTC", "2024-01-03T00:00:00Z");
	/* "a/step" runs from a to the maximum. */
	expect_next("50/5 * * * *", "2024-01-01T10:51:00Z", "UTC", "2024-01-01T10:55:00Z");
	expect_next("0 0 29 2 *", "2024-03-01T00:00:00Z", "UTC", "2028-02-29T00:00:00Z");
	/* Descriptors. */
	expect_next("@hourly", "2024-01-01T10:07:00Z", "UTC", "2024-01-01T11:00:00Z");
	expect_next("@daily", "2024-01-01T10:07:00Z", "UTC", "2024-01-02T00:00:00Z");
	expect_next("@midnight", "2024-01-01T10:07:00Z", "UTC", "2024-01-02T00:00:00Z");
	expect_next("@weekly", "2024-01-01T10:07:00Z", "UTC", "2024-01-07T00:00:00Z");
	expect_next("@monthly", "2024-01-01T10:07:00Z", "UTC", "2024-02-01T00:00:00Z");
	expect_next("@yearly", "2024-01-01T10:07:00Z", "UTC", "2025-01-01T00:00:00Z");
	expect_next("@annually", "2024-01-01T10:07:00Z", "UTC", "2025-01-01T00:00:00Z");
	expect_next("@every 90m", "2024-01-01T10:07:00Z", "UTC", "2024-01-01T11:37:00Z");
	/* Never: the 31st of February. */
	struct wl_cron c;
	assert_int_equal(wl_cron_parse("59 23 31 2 *", &c, NULL), 0);
	assert_int_equal(wl_cron_next(&c, at("2024-01-01T00:00:00Z"), "UTC"), -1);
	/* The previous run, at or before a time. */
	expect_prev("0 9 * * 1-5", "2024-01-08T08:00:00Z", "2024-01-05T09:00:00Z");
	expect_prev("0 9 * * 1-5", "2024-01-08T09:00:00Z", "2024-01-08T09:00:00Z");
	expect_prev("*/10 * * * *", "2024-01-01T10:09:59Z", "2024-01-01T10:00:00Z");
	expect_prev("0 0 29 2 *", "2027-06-01T00:00:00Z", "2024-02-29T00:00:00Z");
}

static void test_bad_schedules_are_refused_with_a_reason(void **state)
{
	static const char *const bad[] = {
		"* * * *",      "* * * * * *", "60 * * * *",       "* 24 * * *",
		"* * 0 * *",    "* * * 13 *",  "* * * * 7",        "*/0 * * * *",
		"5-1 * * * *",  "a * * * *",   "1-2-3 * * * *",    "1/2/3 * * * *",
		"@fortnightly", "@every x",    "TZ=UTC * * * * *", "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct wl_cron c;
		struct err e = { 0 };
		if (wl_cron_parse(bad[i], &c, &e) != -EINVAL)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_true(e.msg[0] != '\0');
	}
	struct err e = { 0 };
	struct wl_cron c;
	wl_cron_parse("61 * * * *", &c, &e);
	assert_string_equal(e.msg, "end of range (61) above maximum (59): 61");
	wl_cron_parse("* * * *", &c, &e);
	assert_string_equal(e.msg, "expected exactly 5 fields, found 4: * * * *");
}

static void test_schedules_follow_their_time_zone(void **state)
{
	if (!wl_tz_valid("Asia/Tokyo") || !wl_tz_valid("Europe/Berlin"))
		skip(); /* no tzdata on this system */
	/* 9:00 in Tokyo is midnight UTC. */
	expect_next("0 9 * * *", "2024-01-01T00:30:00Z", "Asia/Tokyo", "2024-01-02T00:00:00Z");
	/* Berlin skips 02:30 on 31 March 2024 (clocks go from 2:00 to 3:00). */
	expect_next("30 2 * * *", "2024-03-30T12:00:00Z", "Europe/Berlin", "2024-04-01T00:30:00Z");
	expect_next("0 12 * * *", "2024-07-01T00:00:00Z", "Europe/Berlin", "2024-07-01T10:00:00Z");
	char buf[40];
	wl_cron_format(at("2024-07-01T10:00:00Z"), "Europe/Berlin", buf);
	assert_string_equal(buf, "2024-07-01T12:00:00+02:00");
	wl_cron_format(at("2024-01-01T10:00:00Z"), "UTC", buf);
	assert_string_equal(buf, "2024-01-01T10:00:00Z");
	assert_false(wl_tz_valid("Mars/Olympus"));
	assert_false(wl_tz_valid("../etc/passwd"));
	assert_true(wl_tz_valid("UTC"));
}

/* --- the controller -------------------------------------------------------------------------- */

static int setup(void **state)
{
	return tl_setup(CONTROLLERS_CRONJOB);
}

static int teardown(void **state)
{
	return tl_teardown();
}

static const struct reg_kind *CK(void)
{
	return K("batch", "cronjobs");
}

static const struct reg_kind *JK(void)
{
	return K("batch", "jobs");
}

static void make_cj(const char *name, const char *schedule, const char *extra)
{
	cJSON *cj = jsonf("{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"schedule\":\"%s\",%s"
	                  "\"jobTemplate\":{\"metadata\":{\"labels\":{\"cron\":\"%s\"}},"
	                  "\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
	                  "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}}}",
	                  name, schedule, extra ? extra : "", name);
	assert_int_equal(create(CK(), "default", cj), 201);
	spin(50);
}

/* Jobs of cronjob name (not being deleted), oldest name first, into names. */
static int jobs_of(const char *cj, char names[][64], int max)
{
	cJSON *jobs = list(JK(), "default"), *j;
	int n = 0;
	cJSON_ArrayForEach(j, jobs)
	{
		if (!has_label(j, "cron", cj) || obj_get(j, "metadata.deletionTimestamp"))
			continue;
		if (names && n < max)
			snprintf(names[n], 64, "%s", str_at(j, "metadata.name"));
		n++;
	}
	cJSON_Delete(jobs);
	return n;
}

struct jw {
	const char *cj;
	int n;
};

static bool jobs_are(void *arg)
{
	struct jw *w = arg;
	return jobs_of(w->cj, NULL, 0) == w->n;
}

static void expect_jobs(const char *cj, int n)
{
	struct jw w = { cj, n };
	if (!spin_until(jobs_are, &w, 3000))
		fail_msg("cronjob %s has %d jobs, want %d", cj, jobs_of(cj, NULL, 0), n);
	spin(50);
	if (jobs_of(cj, NULL, 0) != n)
		fail_msg("cronjob %s went on to %d jobs, want %d", cj, jobs_of(cj, NULL, 0), n);
}

/* To the next whole minute, plus extra seconds. */
static void to_next_minute(int extra)
{
	int64_t s = fake_now_ms / 1000;
	advance(60 - s % 60 + extra);
}

static void complete(const char *job)
{
	char ts[32];
	obj_time_format(fake_now_ms / 1000, ts);
	assert_int_equal(patch(JK(), "default", job, "status",
	                       jsonf("{\"status\":{\"startTime\":\"%s\",\"completionTime\":\"%s\","
	                             "\"succeeded\":1,\"conditions\":[{\"type\":\"Complete\","
	                             "\"status\":\"True\"}]}}",
	                             ts, ts)),
	                 200);
}

static int active_count(const char *cj)
{
	cJSON *o = get(CK(), "default", cj);
	int n = cJSON_GetArraySize(obj_get(o, "status.active"));
	cJSON_Delete(o);
	return n;
}

struct aw {
	const char *cj;
	int n;
};

static bool active_is(void *arg)
{
	struct aw *w = arg;
	return active_count(w->cj) == w->n;
}

static void test_jobs_start_on_schedule_named_by_the_minute(void **state)
{
	make_cj("tick", "* * * * *", NULL);
	spin(200);
	expect_jobs("tick", 0);
	to_next_minute(2);
	expect_jobs("tick", 1);
	char names[4][64];
	jobs_of("tick", names, 4);
	int64_t minute = fake_now_ms / 1000 / 60;
	char want[64];
	snprintf(want, sizeof(want), "tick-%lld", (long long)minute);
	assert_string_equal(names[0], want);
	cJSON *j = get(JK(), "default", want);
	assert_string_equal(str_at(j, "metadata.ownerReferences[0].kind"), "CronJob");
	char ts[32];
	obj_time_format(minute * 60, ts);
	assert_string_equal(
	    str_at(j, "metadata.annotations.batch\\.kubernetes\\.io/cronjob-scheduled-timestamp"),
	    ts);
	cJSON_Delete(j);
	struct aw a1 = { "tick", 1 };
	assert_true(spin_until(active_is, &a1, 2000));
	cJSON *cj = get(CK(), "default", "tick");
	assert_string_equal(str_at(cj, "status.lastScheduleTime"), ts);
	assert_string_equal(str_at(cj, "status.active[0].name"), want);
	cJSON_Delete(cj);
	/* Allow: the next minute starts another while the first runs. */
	to_next_minute(1);
	expect_jobs("tick", 2);
	struct aw a2 = { "tick", 2 };
	assert_true(spin_until(active_is, &a2, 2000));
	expect_events("default", "tick", "SuccessfulCreate", 2);
}

static void test_forbid_skips_runs_while_one_is_active(void **state)
{
	make_cj("solo", "* * * * *", "\"concurrencyPolicy\":\"Forbid\",");
	to_next_minute(1);
	expect_jobs("solo", 1);
	struct aw a1 = { "solo", 1 };
	assert_true(spin_until(active_is, &a1, 2000));
	to_next_minute(1);
	expect_jobs("solo", 1);
	expect_events("default", "solo", "JobAlreadyActive", 1);
	char names[2][64];
	jobs_of("solo", names, 2);
	complete(names[0]);
	/* The run held back is still the latest one due: it starts now (as upstream). */
	expect_jobs("solo", 2);
	assert_true(spin_until(active_is, &a1, 2000));
	cJSON *cj = get(CK(), "default", "solo");
	assert_non_null(obj_get(cj, "status.lastSuccessfulTime"));
	assert_string_not_equal(str_at(cj, "status.active[0].name"), names[0]);
	cJSON_Delete(cj);
	expect_events("default", "solo", "SawCompletedJob", 1);
}

static void test_replace_stops_the_running_job_for_the_new_one(void **state)
{
	make_cj("swap", "* * * * *", "\"concurrencyPolicy\":\"Replace\",");
	to_next_minute(1);
	expect_jobs("swap", 1);
	char first[2][64];
	jobs_of("swap", first, 2);
	struct aw a1 = { "swap", 1 };
	assert_true(spin_until(active_is, &a1, 2000));
	to_next_minute(1);
	expect_jobs("swap", 1);
	char now[2][64];
	jobs_of("swap", now, 2);
	assert_string_not_equal(now[0], first[0]);
	assert_true(spin_until(active_is, &a1, 2000));
	cJSON *cj = get(CK(), "default", "swap");
	assert_string_equal(str_at(cj, "status.active[0].name"), now[0]);
	cJSON_Delete(cj);
}

static void test_suspended_cronjobs_and_missed_deadlines_start_nothing(void **state)
{
	make_cj("off", "* * * * *", "\"suspend\":true,");
	make_cj("late", "* * * * *", "\"startingDeadlineSeconds\":10,");
	/* 30 s after the minute: too late for a 10 s deadline. */
	to_next_minute(30);
	spin(200);
	expect_jobs("off", 0);
	expect_jobs("late", 0);
	/* 5 s after the next one: in time. */
	to_next_minute(5);
	expect_jobs("late", 1);
	expect_jobs("off", 0);
}

static void test_history_limits_keep_the_newest_finished_jobs(void **state)
{
	make_cj("hist", "* * * * *", "\"successfulJobsHistoryLimit\":1,");
	for (int i = 0; i < 3; i++) {
		to_next_minute(1);
		expect_jobs("hist", i == 0 ? 1 : 2);
		char names[4][64];
		int n = jobs_of("hist", names, 4);
		for (int k = 0; k < n; k++) {
			cJSON *j = get(JK(), "default", names[k]);
			bool done = obj_get(j, "status.completionTime") != NULL;
			cJSON_Delete(j);
			if (!done)
				complete(names[k]);
		}
		spin(100);
		controllers_workloads_resync(wl);
		expect_jobs("hist", 1);
	}
}

static void test_an_unknown_time_zone_is_reported(void **state)
{
	make_cj("mars", "* * * * *", "\"timeZone\":\"Mars/Olympus\",");
	to_next_minute(1);
	expect_jobs("mars", 0);
	assert_true(count_events("default", "mars", "UnknownTimeZone") >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedules_parse_and_step_like_upstream),
		cmocka_unit_test(test_bad_schedules_are_refused_with_a_reason),
		cmocka_unit_test(test_schedules_follow_their_time_zone),
		cmocka_unit_test_setup_teardown(test_jobs_start_on_schedule_named_by_the_minute,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_forbid_skips_runs_while_one_is_active, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_replace_stops_the_running_job_for_the_new_one,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_suspended_cronjobs_and_missed_deadlines_start_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_limits_keep_the_newest_finished_jobs,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_unknown_time_zone_is_reported, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
