/* controllers_deployment_test: Deployments roll out through hashed ReplicaSets, keep
 * availability in a rolling update, recreate, undo, pause, time out and clean up history,
 * with the ReplicaSet controller and a pretend kubelet making pods ready. */
#include "test/unit/controllers-testlib.h"

static int setup(void **state)
{
	if (tl_setup(CONTROLLERS_REPLICASET | CONTROLLERS_DEPLOYMENT) < 0)
		return -1;
	make_node("n1", NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	return tl_teardown();
}

static const struct reg_kind *DK(void)
{
	return K("apps", "deployments");
}

static const struct reg_kind *RSK(void)
{
	return K("apps", "replicasets");
}

static void make_deployment(const char *name, int replicas, const char *image, const char *extra)
{
	cJSON *d = jsonf("{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":%d,"
	                 "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},%s"
	                 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
	                 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]}}}}",
	                 name, replicas, name, extra ? extra : "", name, image);
	assert_int_equal(create(DK(), "default", d), 201);
}

static void set_image(const char *name, const char *image)
{
	assert_int_equal(patch(DK(), "default", name, NULL,
	                       jsonf("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
	                             "\"c\",\"image\":\"%s\"}]}}}}",
	                             image)),
	                 200);
}

/* The pretend kubelet: binds new pods to n1, makes at most max_ready of the unready ones
 * ready, and ends pods being deleted. Returns how many it made ready. */
static int kubelet_step(int max_ready)
{
	cJSON *pods = list(K("", "pods"), "default"), *p;
	int made = 0;
	cJSON_ArrayForEach(p, pods)
	{
		const char *name = str_at(p, "metadata.name");
		if (obj_get(p, "metadata.deletionTimestamp")) {
			del(K("", "pods"), "default", name, 0);
			continue;
		}
		if (!*str_at(p, "spec.nodeName"))
			bind("default", name, "n1");
		if (made < max_ready && strcmp(str_at(p, "status.phase"), "Running")) {
			set_ready("default", name, true);
			made++;
		}
	}
	cJSON_Delete(pods);
	return made;
}

static int ready_pods(void)
{
	cJSON *pods = list(K("", "pods"), "default"), *p;
	int n = 0;
	cJSON_ArrayForEach(p, pods)
	{
		if (obj_get(p, "metadata.deletionTimestamp"))
			continue;
		const cJSON *c;
		cJSON_ArrayForEach(c, obj_get(p, "status.conditions"))
		{
			if (!strcmp(str_at(c, "type"), "Ready") &&
			    !strcmp(str_at(c, "status"), "True"))
				n++;
		}
	}
	cJSON_Delete(pods);
	return n;
}

static const char *cond_field(const cJSON *obj, const char *type, const char *field)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(obj, "status.conditions"))
	{
		if (!strcmp(str_at(c, "type"), type))
			return str_at(c, field);
	}
	return "";
}

/* What kubectl rollout status waits for. */
static bool rolled_out(void *arg)
{
	const char *name = arg;
	cJSON *d = get(DK(), "default", name);
	int64_t want = 0, gen = 0, og = 0, up = 0, rep = 0, av = 0;
	obj_get_i64(d, "spec.replicas", &want);
	obj_get_i64(d, "metadata.generation", &gen);
	obj_get_i64(d, "status.observedGeneration", &og);
	obj_get_i64(d, "status.updatedReplicas", &up);
	obj_get_i64(d, "status.replicas", &rep);
	obj_get_i64(d, "status.availableReplicas", &av);
	bool ok = og >= gen && up == want && rep == up && av == up &&
	          !strcmp(cond_field(d, "Progressing", "reason"), "NewReplicaSetAvailable");
	cJSON_Delete(d);
	return ok;
}

/* Runs the pretend kubelet until the deployment is rolled out. */
static bool roll_out(const char *name, int per_step)
{
	int limit = getenv("TUG_TEST_QEMU") ? 800 : 200;
	for (int i = 0; i < limit; i++) {
		if (rolled_out((void *)name))
			return true;
		kubelet_step(per_step);
		spin(20);
	}
	return rolled_out((void *)name);
}

/* The ReplicaSets of a deployment, oldest first by revision. */
static cJSON *sets_of(const char *app)
{
	cJSON *all = list(RSK(), "default"), *out = cJSON_CreateArray(), *rs;
	cJSON_ArrayForEach(rs, all)
	{
		if (has_label(rs, "app", app) && !obj_get(rs, "metadata.deletionTimestamp"))
			cJSON_AddItemToArray(out, cJSON_Duplicate(rs, true));
	}
	cJSON_Delete(all);
	return out;
}

static const char *ann(const cJSON *obj, const char *key)
{
	const cJSON *v = obj_child(obj_get(obj, "metadata.annotations"), key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static cJSON *set_with_image(const char *app, const char *image)
{
	cJSON *sets = sets_of(app), *rs, *found = NULL;
	cJSON_ArrayForEach(rs, sets)
	{
		if (!strcmp(str_at(rs, "spec.template.spec.containers[0].image"), image))
			found = cJSON_Duplicate(rs, true);
	}
	cJSON_Delete(sets);
	return found;
}

static void test_a_deployment_gets_a_hashed_replicaset_with_revision_annotations(void **state)
{
	make_deployment("web", 3, "nginx:1", NULL);
	assert_true(roll_out("web", 3));
	cJSON *sets = sets_of("web");
	assert_int_equal(cJSON_GetArraySize(sets), 1);
	cJSON *rs = cJSON_GetArrayItem(sets, 0);
	const char *hash = str_at(rs, "metadata.labels.pod-template-hash");
	assert_true(strlen(hash) >= 6);
	char name[64];
	snprintf(name, sizeof(name), "web-%s", hash);
	assert_string_equal(str_at(rs, "metadata.name"), name);
	assert_string_equal(str_at(rs, "spec.selector.matchLabels.pod-template-hash"), hash);
	assert_string_equal(str_at(rs, "spec.template.metadata.labels.pod-template-hash"), hash);
	assert_string_equal(ann(rs, "deployment.kubernetes.io/revision"), "1");
	assert_string_equal(ann(rs, "deployment.kubernetes.io/desired-replicas"), "3");
	assert_string_equal(ann(rs, "deployment.kubernetes.io/max-replicas"), "4");
	assert_string_equal(str_at(rs, "metadata.ownerReferences[0].kind"), "Deployment");
	cJSON *d = get(DK(), "default", "web");
	assert_string_equal(ann(d, "deployment.kubernetes.io/revision"), "1");
	assert_string_equal(cond_field(d, "Available", "status"), "True");
	assert_string_equal(cond_field(d, "Available", "reason"), "MinimumReplicasAvailable");
	assert_string_equal(cond_field(d, "Progressing", "status"), "True");
	char msg[128];
	snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has successfully progressed.", name);
	assert_string_equal(cond_field(d, "Progressing", "message"), msg);
	cJSON_Delete(d);
	cJSON_Delete(sets);
	expect_events("default", "web", "ScalingReplicaSet", 1);

	/* kubectl scale: the scale subresource, then one set takes it all. */
	assert_int_equal(
	    patch(DK(), "default", "web", "scale", jsonf("{\"spec\":{\"replicas\":5}}")), 200);
	assert_true(roll_out("web", 5));
	assert_int_equal(get_int(RSK(), "default", name, "spec.replicas"), 5);
	assert_int_equal(count_pods("default", "app", "web", false), 5);
}

static void test_a_rolling_update_keeps_availability_within_max_unavailable(void **state)
{
	make_deployment("api", 4, "api:1",
	                "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
	                "{\"maxUnavailable\":1,\"maxSurge\":1}},");
	assert_true(roll_out("api", 4));
	set_image("api", "api:2");
	int min_seen = 4, max_pods = 0;
	bool done = false;
	for (int i = 0; i < 300 && !done; i++) {
		/* One pod becomes ready per step, slower than the controllers react. */
		kubelet_step(1);
		for (int k = 0; k < 10; k++) {
			loop_run_once(lp, 2);
			int r = ready_pods();
			min_seen = MIN(min_seen, r);
			max_pods = MAX(max_pods, count_pods("default", "app", "api", false));
		}
		done = rolled_out("api");
	}
	assert_true(done);
	print_message("min ready %d, max pods %d\n", min_seen, max_pods);
	assert_true(min_seen >= 3); /* replicas - maxUnavailable */
	assert_true(max_pods <= 5); /* replicas + maxSurge */
	cJSON *old = set_with_image("api", "api:1"), *cur = set_with_image("api", "api:2");
	assert_int_equal((int)obj_get(old, "spec.replicas")->valuedouble, 0);
	assert_int_equal((int)obj_get(cur, "spec.replicas")->valuedouble, 4);
	assert_string_equal(ann(cur, "deployment.kubernetes.io/revision"), "2");
	cJSON_Delete(old);
	cJSON_Delete(cur);
	assert_int_equal(count_pods("default", "app", "api", false), 4);
}

static void test_recreate_removes_every_old_pod_before_creating_new_ones(void **state)
{
	make_deployment("db", 2, "db:1", "\"strategy\":{\"type\":\"Recreate\"},");
	assert_true(roll_out("db", 2));
	set_image("db", "db:2");
	/* Old pods terminate (their kubelet has not ended them yet): nothing new meanwhile. */
	spin(300);
	cJSON *pods = list(K("", "pods"), "default"), *p;
	int old_terminating = 0, fresh = 0;
	cJSON_ArrayForEach(p, pods)
	{
		if (!has_label(p, "app", "db"))
			continue;
		if (!strcmp(str_at(p, "spec.containers[0].image"), "db:2"))
			fresh++;
		else if (obj_get(p, "metadata.deletionTimestamp"))
			old_terminating++;
	}
	cJSON_Delete(pods);
	assert_int_equal(old_terminating, 2);
	assert_int_equal(fresh, 0);
	assert_null(set_with_image("db", "db:2"));
	assert_true(roll_out("db", 2));
	cJSON *cur = set_with_image("db", "db:2");
	assert_int_equal((int)obj_get(cur, "spec.replicas")->valuedouble, 2);
	cJSON_Delete(cur);
}

/* What kubectl rollout undo sends: a JSON patch replacing the template (the set's, without
 * its hash label) and the annotations. */
static void rollout_undo_to(const char *name, const cJSON *rs)
{
	cJSON *d = get(DK(), "default", name);
	cJSON *tmpl = cJSON_Duplicate(obj_get(rs, "spec.template"), true);
	obj_delete(tmpl, "metadata.labels.pod-template-hash");
	cJSON *anns = cJSON_CreateObject();
	static const char *const skip[] = { "deployment.kubernetes.io/revision",
		                            "deployment.kubernetes.io/revision-history",
		                            "deployment.kubernetes.io/desired-replicas",
		                            "deployment.kubernetes.io/max-replicas",
		                            "kubectl.kubernetes.io/last-applied-configuration" };
	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (*ann(d, skip[i]))
			cJSON_AddStringToObject(anns, skip[i], ann(d, skip[i]));
	const cJSON *a;
	cJSON_ArrayForEach(a, obj_get(rs, "metadata.annotations"))
	{
		bool skipped = false;
		for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
			skipped |= !strcmp(a->string, skip[i]);
		if (!skipped)
			cJSON_AddStringToObject(anns, a->string, a->valuestring);
	}
	cJSON *ops = cJSON_CreateArray(), *op = cJSON_CreateObject();
	cJSON_AddStringToObject(op, "op", "replace");
	cJSON_AddStringToObject(op, "path", "/spec/template");
	cJSON_AddItemToObject(op, "value", tmpl);
	cJSON_AddItemToArray(ops, op);
	op = cJSON_CreateObject();
	cJSON_AddStringToObject(op, "op", "replace");
	cJSON_AddStringToObject(op, "path", "/metadata/annotations");
	cJSON_AddItemToObject(op, "value", anns);
	cJSON_AddItemToArray(ops, op);
	cJSON *out = NULL;
	struct err e = { 0 };
	assert_int_equal(patch_json(d, ops, &out, &e), 0);
	/* A patch applies to whatever is current: no resourceVersion precondition. */
	obj_delete(out, "metadata.resourceVersion");
	struct result r = { 0 };
	client_update(cl, DK(), "default", name, NULL, out, on_result, &r);
	spin_until(result_done, &r, 2000);
	assert_int_equal(r.code, 200);
	cJSON_Delete(ops);
	cJSON_Delete(d);
}

static void test_rollout_undo_brings_back_the_old_revision(void **state)
{
	make_deployment("app", 2, "app:1", NULL);
	assert_true(roll_out("app", 2));
	assert_int_equal(
	    patch(DK(), "default", "app", NULL,
	          jsonf("{\"metadata\":{\"annotations\":{\"kubernetes.io/change-cause\":"
	                "\"v2\"}}}")),
	    200);
	set_image("app", "app:2");
	assert_true(roll_out("app", 2));
	cJSON *v1 = set_with_image("app", "app:1"), *v2 = set_with_image("app", "app:2");
	assert_string_equal(ann(v1, "deployment.kubernetes.io/revision"), "1");
	assert_string_equal(ann(v2, "deployment.kubernetes.io/revision"), "2");
	assert_string_equal(ann(v2, "kubernetes.io/change-cause"), "v2");
	rollout_undo_to("app", v1);
	assert_true(roll_out("app", 2));
	cJSON_Delete(v1);
	cJSON_Delete(v2);
	v1 = set_with_image("app", "app:1");
	v2 = set_with_image("app", "app:2");
	assert_string_equal(ann(v1, "deployment.kubernetes.io/revision"), "3");
	assert_string_equal(ann(v1, "deployment.kubernetes.io/revision-history"), "1");
	assert_int_equal((int)obj_get(v1, "spec.replicas")->valuedouble, 2);
	assert_int_equal((int)obj_get(v2, "spec.replicas")->valuedouble, 0);
	cJSON *d = get(DK(), "default", "app");
	assert_string_equal(ann(d, "deployment.kubernetes.io/revision"), "3");
	assert_string_equal(str_at(d, "spec.template.spec.containers[0].image"), "app:1");
	cJSON_Delete(d);
	cJSON_Delete(v1);
	cJSON_Delete(v2);
	/* rollout restart: a template annotation makes a new revision. */
	assert_int_equal(
	    patch(DK(), "default", "app", NULL,
	          jsonf("{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{"
	                "\"kubectl.kubernetes.io/restartedAt\":\"2025-01-01T00:00:00Z\"}}}}}")),
	    200);
	assert_true(roll_out("app", 2));
	d = get(DK(), "default", "app");
	assert_string_equal(ann(d, "deployment.kubernetes.io/revision"), "4");
	cJSON_Delete(d);
}

static void test_a_paused_deployment_waits_and_resumes(void **state)
{
	make_deployment("p", 2, "p:1", NULL);
	assert_true(roll_out("p", 2));
	assert_int_equal(patch(DK(), "default", "p", NULL, jsonf("{\"spec\":{\"paused\":true}}")),
	                 200);
	set_image("p", "p:2");
	spin(200);
	assert_null(set_with_image("p", "p:2"));
	cJSON *d = get(DK(), "default", "p");
	assert_string_equal(cond_field(d, "Progressing", "status"), "Unknown");
	assert_string_equal(cond_field(d, "Progressing", "reason"), "DeploymentPaused");
	cJSON_Delete(d);
	assert_int_equal(patch(DK(), "default", "p", NULL, jsonf("{\"spec\":{\"paused\":false}}")),
	                 200);
	assert_true(roll_out("p", 2));
	cJSON *cur = set_with_image("p", "p:2");
	assert_non_null(cur);
	cJSON_Delete(cur);
}

static bool timed_out(void *arg)
{
	cJSON *d = get(DK(), "default", arg);
	bool t = !strcmp(cond_field(d, "Progressing", "reason"), "ProgressDeadlineExceeded") &&
	         !strcmp(cond_field(d, "Progressing", "status"), "False");
	cJSON_Delete(d);
	return t;
}

static void test_no_progress_within_the_deadline_is_reported(void **state)
{
	make_deployment("slow", 2, "slow:1", "\"progressDeadlineSeconds\":30,");
	spin(300); /* pods exist but no kubelet makes them ready */
	assert_false(timed_out("slow"));
	advance(20);
	assert_false(timed_out("slow"));
	advance(11);
	assert_true(spin_until(timed_out, "slow", 2000));
	cJSON *d = get(DK(), "default", "slow");
	assert_string_equal(cond_field(d, "Available", "status"), "False");
	cJSON_Delete(d);
}

static void test_old_replicasets_beyond_the_history_limit_are_deleted(void **state)
{
	make_deployment("h", 1, "h:1", "\"revisionHistoryLimit\":1,");
	assert_true(roll_out("h", 1));
	set_image("h", "h:2");
	assert_true(roll_out("h", 1));
	set_image("h", "h:3");
	assert_true(roll_out("h", 1));
	spin(200);
	cJSON *sets = sets_of("h");
	assert_int_equal(cJSON_GetArraySize(sets), 2);
	cJSON_Delete(sets);
	cJSON *gone = set_with_image("h", "h:1");
	assert_null(gone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_deployment_gets_a_hashed_replicaset_with_revision_annotations, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_rolling_update_keeps_availability_within_max_unavailable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_recreate_removes_every_old_pod_before_creating_new_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollout_undo_brings_back_the_old_revision,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_paused_deployment_waits_and_resumes, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_no_progress_within_the_deadline_is_reported,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_old_replicasets_beyond_the_history_limit_are_deleted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
