/* batch: strategies of jobs and cronjobs, with the cron schedule check. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/registry/registry-internal.h"

#define JOB_UID_LABEL "batch.kubernetes.io/controller-uid"
#define JOB_NAME_LABEL "batch.kubernetes.io/job-name"
#define LEGACY_UID_LABEL "controller-uid"
#define LEGACY_NAME_LABEL "job-name"

/* --- jobs ----------------------------------------------------------------------------------- */

static void job_defaults(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec)
		return;
	if (!reg_get(spec, "completions") && !reg_get(spec, "parallelism")) {
		reg_set(spec, "completions", cJSON_CreateNumber(1));
		reg_set(spec, "parallelism", cJSON_CreateNumber(1));
	}
	reg_def_int(spec, "parallelism", 1);
	reg_def_int(spec, "backoffLimit", reg_get(spec, "backoffLimitPerIndex") ? 2147483647 : 6);
	reg_def_str(spec, "completionMode", "NonIndexed");
	reg_def_bool(spec, "suspend", false);
	reg_def_str(spec, "podReplacementPolicy",
	            reg_get(spec, "podFailurePolicy") ? "Failed" : "TerminatingOrFailed");
	reg_def_bool(spec, "manualSelector", false);
	cJSON *rule;
	const cJSON *rules = reg_at_arr(spec, "podFailurePolicy.rules");
	cJSON_ArrayForEach(rule, (cJSON *)rules)
	{
		cJSON *pat;
		const cJSON *pats = reg_get(rule, "onPodConditions");
		cJSON_ArrayForEach(pat, (cJSON_IsArray(pats) ? (cJSON *)pats : NULL))
		{
			reg_def_str(pat, "status", "True");
		}
	}
	cJSON *tmpl = reg_obj(spec, "template", true);
	reg_template_defaults(tmpl);
	/* A job without labels wears its pods' labels. */
	const cJSON *tl = reg_at_obj(tmpl, "metadata.labels");
	cJSON *meta = reg_obj(obj, "metadata", true);
	if (tl && reg_count(tl) > 0 && reg_count(reg_get(meta, "labels")) == 0 &&
	    (!reg_get(meta, "labels") || cJSON_IsObject(reg_get(meta, "labels"))))
		reg_set(meta, "labels", cJSON_Duplicate(tl, true));
}

static void add_label(cJSON *labels, const char *key, const char *val)
{
	if (!reg_get(labels, key))
		reg_set(labels, key, cJSON_CreateString(val));
}

/*
 * Unless the user manages the selector, the job selects its own pods by its uid, and labels the
 * template with uid and name (both the batch.kubernetes.io labels and the legacy ones).
 */
static void job_prepare_create(cJSON *obj)
{
	reg_reset_status(obj);
	cJSON *spec = reg_obj(obj, "spec", true);
	const char *uid = reg_at_str(obj, "metadata.uid");
	const char *name = reg_at_str(obj, "metadata.name");
	if (!spec || reg_at_bool(spec, "manualSelector", false) || !uid || !*uid || !name)
		return;
	cJSON *tmpl = reg_obj(spec, "template", true);
	cJSON *labels = reg_obj(reg_obj(tmpl, "metadata", true), "labels", true);
	if (!labels)
		return;
	add_label(labels, LEGACY_NAME_LABEL, name);
	add_label(labels, JOB_NAME_LABEL, name);
	add_label(labels, LEGACY_UID_LABEL, uid);
	add_label(labels, JOB_UID_LABEL, uid);
	cJSON *ml = reg_obj(reg_obj(spec, "selector", true), "matchLabels", true);
	if (ml)
		add_label(ml, JOB_UID_LABEL, uid);
	/* Defaults run again when upstream reads a job back, and then copy these labels onto a
	 * job that had none; do it now so that the stored job reads the same. */
	cJSON *meta = reg_obj(obj, "metadata", true);
	if (reg_count(reg_get(meta, "labels")) == 0 &&
	    (!reg_get(meta, "labels") || cJSON_IsObject(reg_get(meta, "labels"))))
		reg_set(meta, "labels", cJSON_Duplicate(labels, true));
}

/* podFailurePolicy: rules with a known action and what they match on. */
static void validate_failure_policy(struct reg_vctx *v, const cJSON *spec)
{
	static const char *const actions[] = { "Count", "FailIndex", "FailJob", "Ignore", NULL };
	static const char *const ops[] = { "In", "NotIn", NULL };
	const cJSON *pfp = reg_vobj(v, spec, "podFailurePolicy"), *rule;
	if (!pfp)
		return;
	size_t m = reg_vkey(v, "podFailurePolicy");
	int i = 0;
	cJSON_ArrayForEach(rule, reg_varr(v, pfp, "rules"))
	{
		size_t m2 = reg_vkey(v, "rules");
		reg_vidx(v, i++);
		if (!cJSON_IsObject(rule)) {
			reg_vinvalid(v, NULL, rule, "must be an object");
			reg_vpop(v, m2);
			continue;
		}
		reg_venum(v, rule, "action", true, actions);
		const cJSON *codes = reg_vobj(v, rule, "onExitCodes"), *pat, *code;
		if (codes) {
			size_t m3 = reg_vkey(v, "onExitCodes");
			reg_vstr(v, codes, "containerName");
			reg_venum(v, codes, "operator", true, ops);
			int j = 0;
			cJSON_ArrayForEach(code, reg_varr(v, codes, "values"))
			{
				int64_t x;
				size_t m4 = reg_vkey(v, "values");
				reg_vidx(v, j++);
				if (!reg_json_int(code, &x))
					reg_vinvalid(v, NULL, code, "must be an integer");
				reg_vpop(v, m4);
			}
			reg_vpop(v, m3);
		}
		int j = 0;
		cJSON_ArrayForEach(pat, reg_varr(v, rule, "onPodConditions"))
		{
			size_t m3 = reg_vkey(v, "onPodConditions");
			reg_vidx(v, j++);
			if (!cJSON_IsObject(pat))
				reg_vinvalid(v, NULL, pat, "must be an object");
			else
				reg_vstr_req(v, pat, "type");
			reg_vpop(v, m3);
		}
		reg_vpop(v, m2);
	}
	reg_vpop(v, m);
}

/* The job spec itself, shared with cronjobs' jobTemplate (where the selector is generated
 * later, so it is not required). */
static void validate_job_spec(struct reg_vctx *v, const cJSON *spec, bool is_template)
{
	static const char *const modes[] = { "NonIndexed", "Indexed", NULL };
	static const char *const replacement[] = { "Failed", "TerminatingOrFailed", NULL };
	reg_vnonneg(v, spec, "parallelism", NULL);
	int64_t completions = -1;
	reg_vnonneg(v, spec, "completions", &completions);
	reg_vnonneg(v, spec, "activeDeadlineSeconds", NULL);
	reg_vnonneg(v, spec, "backoffLimit", NULL);
	reg_vnonneg(v, spec, "ttlSecondsAfterFinished", NULL);
	reg_vnonneg(v, spec, "backoffLimitPerIndex", NULL);
	reg_vnonneg(v, spec, "maxFailedIndexes", NULL);
	reg_vbool(v, spec, "suspend");
	int manual = reg_vbool(v, spec, "manualSelector");
	const char *mode = reg_venum(v, spec, "completionMode", !is_template, modes);
	if (mode && !strcmp(mode, "Indexed")) {
		if (!reg_get(spec, "completions"))
			reg_vreq(v, "completions", "when completion mode is Indexed");
		else if (completions > 100000)
			reg_vinvalid_int(
			    v, "completions", completions,
			    "must be less than or equal to 100000 when completion mode "
			    "is Indexed");
	}
	if (reg_get(spec, "backoffLimitPerIndex") && (!mode || strcmp(mode, "Indexed") != 0))
		reg_vinvalid(v, "backoffLimitPerIndex", reg_get(spec, "backoffLimitPerIndex"),
		             "requires indexed completion mode");
	const char *rp = reg_venum(v, spec, "podReplacementPolicy", false, replacement);
	if (rp && reg_get(spec, "podFailurePolicy") && strcmp(rp, "Failed") != 0) {
		static const char *const failed[] = { "Failed", NULL };
		reg_vunsupported(v, "podReplacementPolicy", rp, failed);
	}
	validate_failure_policy(v, spec);
	const cJSON *sel = reg_get(spec, "selector");
	if (!sel) {
		if (!is_template)
			reg_vreq(v, "selector", NULL);
	} else {
		reg_vselector(v, spec, "selector");
	}
	reg_template_validate(v, spec, "template", REG_TEMPLATE_JOB);
	const cJSON *labels;
	char tmp[8];
	if (reg_template_labels(spec, &labels) && cJSON_IsObject(sel) &&
	    reg_selector_string(sel, tmp, sizeof(tmp)) == 0 && !reg_selector_matches(sel, labels))
		reg_vinvalid(v, "template.metadata.labels", labels,
		             "`selector` does not match template `labels`");
	UNUSED(manual);
}

static void job_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	if (!spec && reg_get(obj, "spec"))
		return;
	if (!reg_at_bool(spec, "manualSelector", false) && !*reg_at_strz(obj, "metadata.uid") &&
	    !old)
		reg_vreq(&v, "metadata.uid", NULL);
	reg_vkey(&v, "spec");
	validate_job_spec(&v, spec, false);
	const cJSON *ospec = reg_at_obj(old, "spec");
	if (old && ospec) {
		reg_vimmutable(&v, spec, ospec, "selector");
		reg_vimmutable(&v, spec, ospec, "completionMode");
		reg_vimmutable(&v, spec, ospec, "podFailurePolicy");
		reg_vimmutable(&v, spec, ospec, "backoffLimitPerIndex");
		/* Indexed jobs may scale completions and parallelism together (elastic). */
		bool elastic =
		    !strcmp(reg_at_strz(spec, "completionMode"), "Indexed") &&
		    reg_at_int(spec, "completions", -1) == reg_at_int(spec, "parallelism", -2) &&
		    reg_at_int(ospec, "completions", -1) == reg_at_int(ospec, "parallelism", -2);
		if (!elastic)
			reg_vimmutable(&v, spec, ospec, "completions");
		reg_vimmutable(&v, spec, ospec, "template");
	}
}

static void job_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *st = reg_vobj(&v, obj, "status");
	reg_vkey(&v, "status");
	static const char *const counts[] = { "active", "succeeded", "failed", "terminating",
		                              "ready" };
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		reg_vnonneg(&v, st, counts[i], NULL);
	reg_varr(&v, st, "conditions");
	UNUSED(old);
}

static const struct reg_column job_columns[] = {
	{ "Name", "string", "name", "Name of the job.", 0 },
	{ "Status", "string", "", "Running, Complete, Failed, Suspended, Terminating, ...", 0 },
	{ "Completions", "string", "", "Successful pods out of those needed.", 0 },
	{ "Duration", "string", "", "How long the job ran, or has been running.", 0 },
	{ "Age", "string", "", "Time since the job was created.", 0 },
	{ "Containers", "string", "", "Names of the template's containers.", 1 },
	{ "Images", "string", "", "Images of the template's containers.", 1 },
	{ "Selector", "string", "", "Label selector of the job's pods.", 1 },
};

static bool job_cond(const cJSON *obj, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, reg_at_arr(obj, "status.conditions"))
	{
		if (!strcmp(reg_at_strz(c, "type"), type))
			return !strcmp(reg_at_strz(c, "status"), "True");
	}
	return false;
}

static void job_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *spec = reg_at_obj(obj, "spec");
	long long ok = (long long)reg_at_int(obj, "status.succeeded", 0);
	char completions[64], duration[32] = "";
	int64_t c, par = reg_at_int(spec, "parallelism", 0);
	if (reg_json_int(reg_get(spec, "completions"), &c))
		snprintf(completions, sizeof(completions), "%lld/%lld", ok, (long long)c);
	else if (par > 1)
		snprintf(completions, sizeof(completions), "%lld/1 of %lld", ok, (long long)par);
	else
		snprintf(completions, sizeof(completions), "%lld/1", ok);
	int64_t start, end;
	if (reg_parse_time(reg_at_str(obj, "status.startTime"), &start)) {
		if (!reg_parse_time(reg_at_str(obj, "status.completionTime"), &end))
			end = now;
		reg_human_duration(end - start, duration, sizeof(duration));
	}
	const char *status = "Running";
	if (job_cond(obj, "Complete"))
		status = "Complete";
	else if (job_cond(obj, "Failed"))
		status = "Failed";
	else if (reg_at(obj, "metadata.deletionTimestamp"))
		status = "Terminating";
	else if (job_cond(obj, "Suspended"))
		status = "Suspended";
	else if (job_cond(obj, "FailureTarget"))
		status = "FailureTarget";
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, status);
	reg_cell_str(cells, completions);
	reg_cell_str(cells, duration);
	reg_cell_age(cells, obj, now);
	reg_cell_containers(cells, reg_at(spec, "template.spec"));
	struct buf sel = { 0 };
	reg_format_selector(reg_get(spec, "selector"), &sel);
	reg_cell_buf(cells, &sel);
}

static bool job_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	if (!strcmp(field, "status.successful"))
		return reg_field_int(out, outlen, reg_at_int(obj, "status.succeeded", 0));
	return false;
}

const struct reg_kind reg_kind_jobs = {
	.group = "batch",
	.version = "v1",
	.resource = "jobs",
	.kind = "Job",
	.list_kind = "JobList",
	.singular = "job",
	.short_names = "",
	.categories = "all",
	.namespaced = true,
	.subresources = REG_SUB_STATUS,
	.storage = "batch/jobs",
	.defaults = job_defaults,
	.prepare_create = job_prepare_create,
	.validate = job_validate,
	.validate_status = job_validate_status,
	.columns = job_columns,
	.ncolumns = ARRAY_SIZE(job_columns),
	.row = job_row,
	.field = job_field,
};

/* --- cron schedules ------------------------------------------------------------------------- */

/* Month names count from 1, day names from 0 (SUN). */
static int name_value(const char *s, size_t n, const char *const *names)
{
	for (int i = 0; names && names[i]; i++)
		if (strlen(names[i]) == n && !strncasecmp(s, names[i], n))
			return !strcmp(names[0], "JAN") ? i + 1 : i;
	return -1;
}

/* One number or name of a field; -1 when it is neither. */
static int cron_value(const char *s, size_t n, const char *const *names)
{
	if (n == 0)
		return -1;
	if (isalpha((unsigned char)s[0]))
		return name_value(s, n, names);
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) || v > 1000)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* A field of a standard cron line: lists of "*", "?", "a", "a-b", each optionally "/step". */
static const char *cron_field(const char *f, size_t len, int lo, int hi, const char *const *names)
{
	const char *end = f + len;
	while (f < end) {
		const char *comma = memchr(f, ',', (size_t)(end - f));
		const char *part_end = comma ? comma : end;
		const char *slash = memchr(f, '/', (size_t)(part_end - f));
		const char *range_end = slash ? slash : part_end;
		if (range_end - f == 1 && (*f == '*' || *f == '?')) {
			/* all values */
		} else {
			const char *dash = memchr(f, '-', (size_t)(range_end - f));
			int a = cron_value(f, (size_t)((dash ? dash : range_end) - f), names);
			int b =
			    dash ? cron_value(dash + 1, (size_t)(range_end - dash - 1), names) : a;
			if (a < 0 || b < 0)
				return "failed to parse a value";
			if (a < lo || b > hi)
				return "value out of range";
			if (a > b)
				return "beginning of range is after the end";
		}
		if (slash) {
			int step = cron_value(slash + 1, (size_t)(part_end - slash - 1), NULL);
			if (step <= 0)
				return "step must be a positive number";
		}
		f = comma ? comma + 1 : end;
	}
	return NULL;
}

static const char *cron_check(const char *s, char *buf, size_t buflen)
{
	static const char *const months[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
		                              "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
	static const char *const days[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL };
	static const char *const descriptors[] = { "@yearly", "@annually", "@monthly", "@weekly",
		                                   "@daily",  "@midnight", "@hourly",  NULL };
	while (*s == ' ')
		s++;
	if (*s == '@') {
		for (int i = 0; descriptors[i]; i++)
			if (!strcmp(s, descriptors[i]))
				return NULL;
		uint64_t ms;
		if (str_has_prefix(s, "@every ") && parse_duration_ms(s + 7, &ms) && ms > 0)
			return NULL;
		snprintf(buf, buflen, "unrecognized descriptor: %s", s);
		return buf;
	}
	const char *f[5];
	size_t len[5];
	int n = 0;
	for (const char *p = s; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *st = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (n < 5) {
			f[n] = st;
			len[n] = (size_t)(p - st);
		}
		n++;
	}
	if (n != 5) {
		snprintf(buf, buflen, "expected exactly 5 fields, found %d: %s", n, s);
		return buf;
	}
	static const int lo[] = { 0, 0, 1, 1, 0 }, hi[] = { 59, 23, 31, 12, 6 };
	const char *const *names[] = { NULL, NULL, NULL, months, days };
	for (int i = 0; i < 5; i++) {
		const char *e = cron_field(f[i], len[i], lo[i], hi[i], names[i]);
		if (e) {
			snprintf(buf, buflen, "%s in field %d: %.*s", e, i + 1, (int)len[i], f[i]);
			return buf;
		}
	}
	return NULL;
}

/* --- cronjobs ------------------------------------------------------------------------------- */

static void cj_defaults(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec)
		return;
	reg_def_str(spec, "concurrencyPolicy", "Allow");
	reg_def_bool(spec, "suspend", false);
	reg_def_int(spec, "successfulJobsHistoryLimit", 3);
	reg_def_int(spec, "failedJobsHistoryLimit", 1);
	cJSON *jt = reg_obj(spec, "jobTemplate", true);
	cJSON *meta = reg_obj(jt, "metadata", true);
	if (meta && !cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp"))
		cJSON_AddNullToObject(meta, "creationTimestamp");
	reg_template_defaults(reg_obj(reg_obj(jt, "spec", true), "template", true));
}

static void cj_prepare_create(cJSON *obj)
{
	reg_reset_status(obj);
}

static void cj_validate_name(const char *name, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, "metadata");
	reg_vdns_subdomain(&v, "name", name);
	/* Job names get an 11-character suffix and must stay labels of at most 63. */
	if (strlen(name) > 52)
		reg_vinvalid_str(&v, "name", name, "must be no more than 52 characters");
}

static bool tz_ok(const char *tz)
{
	if (!*tz || tz[0] == '/' || strstr(tz, ".."))
		return false;
	for (const char *p = tz; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return false;
	return true;
}

static void cj_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const policies[] = { "Allow", "Forbid", "Replace", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	if (!spec && reg_get(obj, "spec"))
		return;
	reg_vkey(&v, "spec");
	const char *sched = reg_vstr(&v, spec, "schedule");
	const char *tz = reg_vstr(&v, spec, "timeZone");
	char buf[256];
	if (!sched || !*sched) {
		if (!reg_get(spec, "schedule") || sched)
			reg_vreq(&v, "schedule", NULL);
	} else if (strstr(sched, "TZ=")) {
		reg_vinvalid_str(
		    &v, "schedule", sched,
		    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
	} else {
		const char *e = cron_check(sched, buf, sizeof(buf));
		if (e)
			reg_vinvalid_str(&v, "schedule", sched, "%s", e);
	}
	if (tz && !tz_ok(tz))
		reg_vinvalid_str(&v, "timeZone", tz, "unknown time zone %s", tz);
	reg_venum(&v, spec, "concurrencyPolicy", true, policies);
	reg_vnonneg(&v, spec, "startingDeadlineSeconds", NULL);
	reg_vnonneg(&v, spec, "successfulJobsHistoryLimit", NULL);
	reg_vnonneg(&v, spec, "failedJobsHistoryLimit", NULL);
	reg_vbool(&v, spec, "suspend");
	const cJSON *jt = reg_vobj(&v, spec, "jobTemplate");
	size_t m = reg_vkey(&v, "jobTemplate");
	const cJSON *jmeta = reg_vobj(&v, jt, "metadata");
	if (jmeta) {
		size_t m2 = reg_vkey(&v, "metadata");
		reg_vlabels(&v, jmeta, "labels");
		reg_vpop(&v, m2);
	}
	const cJSON *jspec = reg_vobj(&v, jt, "spec");
	static const cJSON empty = { .type = cJSON_Object };
	reg_vkey(&v, "spec");
	validate_job_spec(&v, jspec ? jspec : &empty, true);
	reg_vpop(&v, m);
	UNUSED(old);
}

static void cj_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *st = reg_vobj(&v, obj, "status");
	reg_vkey(&v, "status");
	reg_varr(&v, st, "active");
	reg_vstr(&v, st, "lastScheduleTime");
	reg_vstr(&v, st, "lastSuccessfulTime");
	UNUSED(old);
}

static const struct reg_column cj_columns[] = {
	{ "Name", "string", "name", "Name of the cron job.", 0 },
	{ "Schedule", "string", "", "When jobs run, in cron format.", 0 },
	{ "Timezone", "string", "", "Time zone the schedule is read in.", 0 },
	{ "Suspend", "boolean", "", "Whether new runs are held back.", 0 },
	{ "Active", "integer", "", "Jobs running now.", 0 },
	{ "Last Schedule", "string", "", "Time since a job was last scheduled.", 0 },
	{ "Age", "string", "", "Time since the cron job was created.", 0 },
	{ "Containers", "string", "", "Names of the template's containers.", 1 },
	{ "Images", "string", "", "Images of the template's containers.", 1 },
	{ "Selector", "string", "", "Label selector of the jobs' pods.", 1 },
};

static void cj_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *spec = reg_at_obj(obj, "spec");
	const cJSON *suspend = reg_get(spec, "suspend");
	const char *tz = reg_at_str(spec, "timeZone");
	char last[32] = "<none>";
	if (reg_get(reg_at_obj(obj, "status"), "lastScheduleTime"))
		reg_since(reg_at(obj, "status.lastScheduleTime"), now, last, sizeof(last));
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, reg_at_strz(spec, "schedule"));
	reg_cell_str(cells, tz ? tz : "<none>");
	reg_cell_str(cells, cJSON_IsBool(suspend) ? (cJSON_IsTrue(suspend) ? "True" : "False")
	                                          : "<unset>");
	reg_cell_int(cells, reg_count(reg_at_arr(obj, "status.active")));
	reg_cell_str(cells, last);
	reg_cell_age(cells, obj, now);
	reg_cell_containers(cells, reg_at(spec, "jobTemplate.spec.template.spec"));
	struct buf sel = { 0 };
	reg_format_selector(reg_at(spec, "jobTemplate.spec.selector"), &sel);
	reg_cell_buf(cells, &sel);
}

const struct reg_kind reg_kind_cronjobs = {
	.group = "batch",
	.version = "v1",
	.resource = "cronjobs",
	.kind = "CronJob",
	.list_kind = "CronJobList",
	.singular = "cronjob",
	.short_names = "cj",
	.categories = "all",
	.namespaced = true,
	.subresources = REG_SUB_STATUS,
	.storage = "batch/cronjobs",
	.defaults = cj_defaults,
	.prepare_create = cj_prepare_create,
	.validate = cj_validate,
	.validate_status = cj_validate_status,
	.validate_name = cj_validate_name,
	.columns = cj_columns,
	.ncolumns = ARRAY_SIZE(cj_columns),
	.row = cj_row,
};
