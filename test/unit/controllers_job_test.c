/* controllers_job_test: Jobs run to completion with parallelism, count pods through the
 * job-tracking finalizer, back off exponentially after failures up to backoffLimit, stop at
 * activeDeadlineSeconds, go after ttlSecondsAfterFinished, run Indexed, and suspend. */
#include "test/unit/controllers-testlib.h"

#define TRACKING "batch.kubernetes.io/job-tracking"

static int setup(void **state)
{
	return tl_setup(CONTROLLERS_JOB);
}

static int teardown(void **state)
{
	return tl_teardown();
}

static const struct reg_kind *JK(void)
{
	return K("batch", "jobs");
}

static void make_job(const char *name, const char *extra)
{
	cJSON *j = jsonf("{\"metadata\":{\"name\":\"%s\"},\"spec\":{%s"
	                 "\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
	                 "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}",
	                 name, extra ? extra : "");
	assert_int_equal(create(JK(), "default", j), 201);
}

/* Live (not deleting, not finished) pods of job name, into names (may be NULL). */
static int job_pods(const char *job, char names[][64], int max)
{
	cJSON *pods = list(K("", "pods"), "default"), *p;
	int n = 0;
	cJSON_ArrayForEach(p, pods)
	{
		const char *ph = str_at(p, "status.phase");
		if (!has_label(p, "batch.kubernetes.io/job-name", job) ||
		    obj_get(p, "metadata.deletionTimestamp") || !strcmp(ph, "Succeeded") ||
		    !strcmp(ph, "Failed"))
			continue;
		if (names && n < max)
			snprintf(names[n], 64, "%s", str_at(p, "metadata.name"));
		n++;
	}
	cJSON_Delete(pods);
	return n;
}

struct jw {
	const char *job;
	int n;
};

static bool active_is(void *arg)
{
	struct jw *w = arg;
	return job_pods(w->job, NULL, 0) == w->n;
}

static void expect_active(const char *job, int n)
{
	struct jw w = { job, n };
	if (!spin_until(active_is, &w, 3000))
		fail_msg("job %s has %d active pods, want %d", job, job_pods(job, NULL, 0), n);
}

static void finish_pod(const char *name, bool ok)
{
	char ts[32];
	obj_time_format(fake_now_ms / 1000, ts);
	cJSON *p =
	    jsonf("{\"status\":{\"phase\":\"%s\",\"containerStatuses\":[{\"name\":\"c\","
	          "\"ready\":false,\"restartCount\":0,\"image\":\"busybox\",\"imageID\":\"\","
	          "\"state\":{\"terminated\":{\"exitCode\":%d,\"finishedAt\":\"%s\"}}}]}}",
	          ok ? "Succeeded" : "Failed", ok ? 0 : 1, ts);
	assert_int_equal(patch(K("", "pods"), "default", name, "status", p), 200);
}

static const char *cond(const cJSON *job, const char *type, const char *field)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(job, "status.conditions"))
	{
		if (!strcmp(str_at(c, "type"), type))
			return str_at(c, field);
	}
	return "";
}

struct cw {
	const char *job, *type;
};

static bool has_cond(void *arg)
{
	struct cw *w = arg;
	cJSON *j = get(JK(), "default", w->job);
	bool t = !strcmp(cond(j, w->type, "status"), "True");
	cJSON_Delete(j);
	return t;
}

static void expect_cond(const char *job, const char *type)
{
	struct cw w = { job, type };
	if (!spin_until(has_cond, &w, 3000))
		fail_msg("job %s never got condition %s", job, type);
}

static int pods_with_tracking(const char *job)
{
	cJSON *pods = list(K("", "pods"), "default"), *p;
	int n = 0;
	cJSON_ArrayForEach(p, pods)
	{
		const cJSON *f;
		if (!has_label(p, "batch.kubernetes.io/job-name", job))
			continue;
		cJSON_ArrayForEach(f, obj_get(p, "metadata.finalizers"))
		{
			n += !strcmp(f->valuestring, TRACKING);
		}
	}
	cJSON_Delete(pods);
	return n;
}

static void test_a_job_runs_to_completion_with_parallelism(void **state)
{
	make_job("calc", "\"completions\":3,\"parallelism\":2,");
	expect_active("calc", 2);
	char names[4][64];
	job_pods("calc", names, 4);
	cJSON *p = get(K("", "pods"), "default", names[0]);
	assert_string_equal(str_at(p, "metadata.ownerReferences[0].kind"), "Job");
	assert_string_equal(str_at(p, "metadata.finalizers[0]"), TRACKING);
	assert_true(str_has_prefix(str_at(p, "metadata.name"), "calc-"));
	cJSON_Delete(p);
	finish_pod(names[0], true);
	expect_active("calc", 2); /* a third pod replaces the finished one */
	job_pods("calc", names, 4);
	finish_pod(names[0], true);
	finish_pod(names[1], true);
	expect_cond("calc", "Complete");
	cJSON *j = get(JK(), "default", "calc");
	assert_int_equal((int)obj_get(j, "status.succeeded")->valuedouble, 3);
	assert_null(obj_get(j, "status.active"));
	assert_string_equal(cond(j, "SuccessCriteriaMet", "status"), "True");
	assert_string_equal(cond(j, "Complete", "reason"), "CompletionsReached");
	assert_non_null(obj_get(j, "status.completionTime"));
	assert_non_null(obj_get(j, "status.startTime"));
	assert_int_equal(cJSON_GetArraySize(obj_get(j, "status.uncountedTerminatedPods.succeeded")),
	                 0);
	cJSON_Delete(j);
	spin(100);
	assert_int_equal(pods_with_tracking("calc"), 0);
	expect_events("default", "calc", "Completed", 1);
	expect_events("default", "calc", "SuccessfulCreate", 3);
}

static void test_failures_back_off_exponentially_until_the_backoff_limit(void **state)
{
	make_job("flaky", "\"backoffLimit\":2,");
	expect_active("flaky", 1);
	char names[2][64];
	job_pods("flaky", names, 2);
	finish_pod(names[0], false);
	/* The first retry waits 10 s. */
	spin(300);
	assert_int_equal(job_pods("flaky", NULL, 0), 0);
	advance(9);
	spin(200);
	assert_int_equal(job_pods("flaky", NULL, 0), 0);
	advance(2);
	expect_active("flaky", 1);
	/* The second 20 s. */
	job_pods("flaky", names, 2);
	finish_pod(names[0], false);
	spin(300);
	advance(15);
	spin(200);
	assert_int_equal(job_pods("flaky", NULL, 0), 0);
	advance(6);
	expect_active("flaky", 1);
	/* The third failure passes backoffLimit 2: no more pods, the job fails. */
	job_pods("flaky", names, 2);
	finish_pod(names[0], false);
	expect_cond("flaky", "Failed");
	cJSON *j = get(JK(), "default", "flaky");
	assert_string_equal(cond(j, "FailureTarget", "reason"), "BackoffLimitExceeded");
	assert_string_equal(cond(j, "Failed", "reason"), "BackoffLimitExceeded");
	assert_string_equal(cond(j, "Failed", "message"),
	                    "Job has reached the specified backoff limit");
	assert_int_equal((int)obj_get(j, "status.failed")->valuedouble, 3);
	cJSON_Delete(j);
	advance(400);
	spin(200);
	assert_int_equal(job_pods("flaky", NULL, 0), 0);
	expect_events("default", "flaky", "BackoffLimitExceeded", 1);
	assert_int_equal(pods_with_tracking("flaky"), 0);
}

static void test_a_job_past_its_active_deadline_fails_and_stops_its_pods(void **state)
{
	make_job("slow", "\"parallelism\":2,\"completions\":4,\"activeDeadlineSeconds\":30,");
	expect_active("slow", 2);
	advance(20);
	spin(100);
	expect_active("slow", 2);
	advance(11);
	expect_cond("slow", "Failed");
	cJSON *j = get(JK(), "default", "slow");
	assert_string_equal(cond(j, "Failed", "reason"), "DeadlineExceeded");
	assert_int_equal((int)obj_get(j, "status.failed")->valuedouble, 2);
	cJSON_Delete(j);
	assert_int_equal(count_pods("default", "batch.kubernetes.io/job-name", "slow", true), 0);
}

static bool job_deleting(void *arg)
{
	cJSON *j = get(JK(), "default", arg);
	bool d = !j || obj_get(j, "metadata.deletionTimestamp");
	cJSON_Delete(j);
	return d;
}

static void test_a_finished_job_goes_after_its_ttl(void **state)
{
	make_job("once", "\"ttlSecondsAfterFinished\":60,");
	expect_active("once", 1);
	char names[1][64];
	job_pods("once", names, 1);
	finish_pod(names[0], true);
	expect_cond("once", "Complete");
	advance(30);
	assert_false(job_deleting("once"));
	advance(31);
	assert_true(spin_until(job_deleting, "once", 2000));
}

static void test_an_indexed_job_runs_one_pod_per_index(void **state)
{
	make_job("idx", "\"completions\":3,\"parallelism\":3,\"completionMode\":\"Indexed\",");
	expect_active("idx", 3);
	char names[3][64];
	job_pods("idx", names, 3);
	bool seen[3] = { false, false, false };
	for (int i = 0; i < 3; i++) {
		cJSON *p = get(K("", "pods"), "default", names[i]);
		const char *ix =
		    str_at(p, "metadata.annotations.batch\\.kubernetes\\.io/job-completion-index");
		int n = atoi(ix);
		assert_true(n >= 0 && n < 3);
		seen[n] = true;
		char host[32];
		snprintf(host, sizeof(host), "idx-%d", n);
		assert_string_equal(str_at(p, "spec.hostname"), host);
		assert_string_equal(str_at(p, "spec.containers[0].env[0].name"),
		                    "JOB_COMPLETION_INDEX");
		if (n == 1)
			finish_pod(names[i], true);
		cJSON_Delete(p);
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	expect_active("idx", 2);
	spin(200);
	cJSON *j = get(JK(), "default", "idx");
	assert_string_equal(str_at(j, "status.completedIndexes"), "1");
	cJSON_Delete(j);
	job_pods("idx", names, 3);
	finish_pod(names[0], true);
	finish_pod(names[1], true);
	expect_cond("idx", "Complete");
	j = get(JK(), "default", "idx");
	assert_string_equal(str_at(j, "status.completedIndexes"), "0-2");
	assert_int_equal((int)obj_get(j, "status.succeeded")->valuedouble, 3);
	cJSON_Delete(j);
}

static bool resumed(void *arg)
{
	cJSON *j = get(JK(), "default", arg);
	bool r = !strcmp(cond(j, "Suspended", "status"), "False");
	cJSON_Delete(j);
	return r;
}

static void test_a_suspended_job_has_no_pods_until_resumed(void **state)
{
	make_job("later", "\"suspend\":true,");
	spin(300);
	assert_int_equal(job_pods("later", NULL, 0), 0);
	expect_cond("later", "Suspended");
	assert_int_equal(
	    patch(JK(), "default", "later", NULL, jsonf("{\"spec\":{\"suspend\":false}}")), 200);
	expect_active("later", 1);
	assert_true(spin_until(resumed, "later", 2000));
	cJSON *j = get(JK(), "default", "later");
	assert_string_equal(cond(j, "Suspended", "status"), "False");
	assert_string_equal(cond(j, "Suspended", "reason"), "JobResumed");
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_job_runs_to_completion_with_parallelism,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failures_back_off_exponentially_until_the_backoff_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_job_past_its_active_deadline_fails_and_stops_its_pods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_finished_job_goes_after_its_ttl, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_an_indexed_job_runs_one_pod_per_index, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_suspended_job_has_no_pods_until_resumed,
		                                setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
