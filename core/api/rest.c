/* rest: the Kubernetes HTTP API. Routes a request to discovery, OpenAPI, or a resource;
 * decodes bodies and query parameters; calls the engine; answers in JSON, as a Table, or
 * as a stream of watch events. Authentication is by client certificate (the HTTP layer
 * verifies it); only the health and version endpoints answer anonymous clients. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "api"
#include "core/api/rest-internal.h"
#include "core/http/http.h"
#include "core/log/log.h"
#include "core/obj/obj.h"
#include "core/schema/schema.h"

#define WATCH_QUEUE_HIGH (1u << 20) /* pause a watch beyond this much unsent output */

struct rq {
	struct http_req *r;
	struct api *a;
	const struct reg_kind *k;
	const char *ns, *name, *sub;
	const char *group, *version;
	bool table;
	const char *include_object;
	struct sel *lsel;
	struct fsel *fsel;
	struct api_user user;
	/* watch */
	struct api_watch *w;
	struct loop_timer timeout, bookmark;
	bool watching, finished;
	/* patch */
	const char *patch_type;
	cJSON *patch;
	bool force;
	const char *manager;
	/* validation warnings to send */
	struct buf warnings;
};

/* A boolean query parameter as Go's strconv.ParseBool reads it ("1", "t", "true", "True"...). */
static bool qbool(const char *v)
{
	static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
	for (size_t i = 0; v && i < ARRAY_SIZE(yes); i++)
		if (!strcmp(v, yes[i]))
			return true;
	return false;
}

/* --- answering ------------------------------------------------------------------- */

static void free_rq(struct rq *q)
{
	sel_free(q->lsel);
	fsel_free(q->fsel);
	q->lsel = NULL;
	q->fsel = NULL;
	cJSON_Delete(q->patch);
	q->patch = NULL;
	buf_free(&q->warnings);
}

static void add_warning_header(struct rq *q)
{
	if (q->warnings.len)
		http_resp_header(q->r, "Warning", q->warnings.data);
}

static void send_json(struct rq *q, int code, const cJSON *obj)
{
	struct buf b = { 0 };
	obj_print_buf(&b, obj, 0);
	http_resp_header(q->r, "Content-Type", "application/json");
	add_warning_header(q);
	struct http_req *r = q->r;
	free_rq(q);
	http_resp_send_buf(r, code, &b);
}

static void send_status(struct rq *q, const struct api_status *st)
{
	cJSON *s = api_status_json(st);
	send_json(q, st->code ? st->code : 500, s);
	cJSON_Delete(s);
}

static void fail(struct rq *q, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct rq *q, int code, const char *reason, const char *fmt, ...)
{
	struct api_status st = { .code = code, .reason = reason };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st.message, sizeof(st.message), fmt, ap);
	va_end(ap);
	send_status(q, &st);
}

static void not_found(struct rq *q)
{
	fail(q, 404, "NotFound", "the server could not find the requested resource");
}

/* The object itself, or as a one-row Table when asked. */
static void send_obj(struct rq *q, int code, cJSON *obj)
{
	if (q->table && q->k) {
		cJSON *t = rest_table(
		    q->k, &obj, 1,
		    api_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion"),
		    NULL, q->include_object);
		send_json(q, code, t);
		cJSON_Delete(t);
		return;
	}
	send_json(q, code, obj);
}

static void on_write_done(void *arg, struct api_status *st, cJSON *obj)
{
	struct rq *q = arg;
	if (st->code >= 200 && st->code < 300 && obj)
		send_obj(q, st->code, obj);
	else
		send_status(q, st);
}

/* --- decoding ------------------------------------------------------------------------ */

/* Parses the body as JSON or YAML (by Content-Type); NULL after answering 400/415. */
static cJSON *decode_body(struct rq *q, bool patch_types)
{
	size_t len = 0;
	const char *body = http_req_body(q->r, &len);
	const char *ct = http_req_header(q->r, "Content-Type");
	struct err e = { 0 };
	cJSON *obj = NULL;
	char type[128] = "application/json";
	if (ct && *ct) {
		size_t n = strcspn(ct, ";");
		snprintf(type, sizeof(type), "%.*s", (int)MIN(n, sizeof(type) - 1), ct);
		for (char *p = type; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		while (n && type[strlen(type) - 1] == ' ')
			type[strlen(type) - 1] = '\0';
	}
	bool yaml =
	    !strcmp(type, "application/yaml") || !strcmp(type, "application/apply-patch+yaml");
	bool json = !strcmp(type, "application/json") ||
	            (patch_types && (!strcmp(type, "application/merge-patch+json") ||
	                             !strcmp(type, "application/strategic-merge-patch+json") ||
	                             !strcmp(type, "application/json-patch+json")));
	if (patch_types &&
	    (!strcmp(type, "application/json") || !strcmp(type, "application/yaml"))) {
		fail(q, 415, "UnsupportedMediaType",
		     "the body of the request was in an unknown format - accepted media types "
		     "include: application/json-patch+json, application/merge-patch+json, "
		     "application/apply-patch+yaml, application/strategic-merge-patch+json");
		return NULL;
	}
	/* kubectl's typed commands (create deployment, drain, certificate approve) write
	 * protobuf; patches are never protobuf. */
	bool pb = !patch_types && !strcmp(type, "application/vnd.kubernetes.protobuf");
	if (!yaml && !json && !pb) {
		fail(q, 415, "UnsupportedMediaType",
		     "the body of the request was in an unknown format - accepted media types "
		     "include: application/json, application/yaml, "
		     "application/vnd.kubernetes.protobuf");
		return NULL;
	}
	if (patch_types)
		q->patch_type = http_req_strdup(q->r, type);
	if (!len) {
		fail(q, 400, "BadRequest", "the body of the request is empty");
		return NULL;
	}
	int rc;
	if (pb) {
		char av[64];
		reg_api_version(q->k, av, sizeof(av));
		rc = schema_from_protobuf(body, len, q->sub ? NULL : av, q->sub ? NULL : q->k->kind,
		                          &obj, &e);
	} else
		rc = yaml ? obj_yaml_parse(body, len, &obj, &e) : obj_parse(body, len, &obj, &e);
	if (rc < 0) {
		fail(q, 400, "BadRequest", "the body of the request could not be decoded: %s",
		     e.msg);
		return NULL;
	}
	return obj;
}

/* fieldValidation=Strict|Warn|Ignore against the kind's schema. */
static int check_fields(struct rq *q, const cJSON *obj)
{
	const char *fv = http_req_query(q->r, "fieldValidation");
	if (fv && !strcmp(fv, "Ignore"))
		return 0;
	if (fv && *fv && strcmp(fv, "Strict") && strcmp(fv, "Warn")) {
		fail(q, 400, "BadRequest",
		     "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got %s",
		     fv);
		return -1;
	}
	char av[64];
	reg_api_version(q->k, av, sizeof(av));
	struct schema_issues is = { 0 };
	schema_check_fields(av, q->k->kind, obj, &is);
	if (!is.n) {
		schema_issues_free(&is);
		return 0;
	}
	struct buf msg = { 0 };
	for (size_t i = 0; i < is.n; i++)
		buf_printf(&msg, "%s%s", i ? ", " : "", is.v[i].message);
	bool strict = fv && !strcmp(fv, "Strict");
	if (strict) {
		fail(q, 400, "BadRequest", "strict decoding error: %s", msg.data);
		buf_free(&msg);
		schema_issues_free(&is);
		return -1;
	}
	/* Warn (kubectl's default is Strict; the API's default is Warn). */
	for (size_t i = 0; i < is.n; i++)
		buf_printf(&q->warnings, "%s299 - \"%s\"", q->warnings.len ? ", " : "",
		           is.v[i].message);
	buf_free(&msg);
	schema_issues_free(&is);
	return 0;
}

/* --- selectors ------------------------------------------------------------------------- */

struct getter_ctx {
	const struct reg_kind *k;
	const cJSON *obj;
	char buf[512];
};

static bool get_field(void *ctx, const char *field, const char **value)
{
	struct getter_ctx *g = ctx;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(g->obj, "metadata");
	if (!strcmp(field, "metadata.name")) {
		*value = api_str(m, "name") ? api_str(m, "name") : "";
		return true;
	}
	if (!strcmp(field, "metadata.namespace")) {
		*value = api_str(m, "namespace") ? api_str(m, "namespace") : "";
		return true;
	}
	if (g->k->field && g->k->field(g->obj, field, g->buf, sizeof(g->buf))) {
		*value = g->buf;
		return true;
	}
	return false;
}

static bool match(void *arg, const struct reg_kind *k, const cJSON *obj)
{
	struct rq *q = arg;
	if (q->lsel) {
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
		if (!sel_matches(q->lsel, labels))
			return false;
	}
	if (q->fsel) {
		struct getter_ctx g = { k, obj, "" };
		bool m = false;
		if (fsel_matches(q->fsel, get_field, &g, &m, NULL) < 0 || !m)
			return false;
	}
	return true;
}

/* Parses labelSelector and fieldSelector; answers 400 and returns -1 when they are bad. */
static int parse_selectors(struct rq *q, struct api_filter *f)
{
	struct err e = { 0 };
	const char *ls = http_req_query(q->r, "labelSelector");
	const char *fs = http_req_query(q->r, "fieldSelector");
	if (ls && *ls && sel_parse(ls, &q->lsel, &e) < 0) {
		fail(q, 400, "BadRequest", "unable to parse requirement: %s", e.msg);
		return -1;
	}
	if (fs && *fs) {
		if (fsel_parse(fs, &q->fsel, &e) < 0) {
			fail(q, 400, "BadRequest", "%s", e.msg);
			return -1;
		}
		/* Every field must be one this kind supports. */
		cJSON *probe = cJSON_CreateObject();
		struct getter_ctx g = { q->k, probe, "" };
		bool m;
		struct err fe = { 0 };
		int rc = fsel_matches(q->fsel, get_field, &g, &m, &fe);
		cJSON_Delete(probe);
		if (rc < 0) {
			fail(q, 400, "BadRequest", "%s", fe.msg);
			return -1;
		}
	}
	if (q->lsel || q->fsel) {
		f->match = match;
		f->arg = q;
	}
	return 0;
}

/* --- lists ----------------------------------------------------------------------------- */

struct table_items {
	cJSON **v;
	size_t n, cap;
};

static int collect(void *arg, cJSON *obj)
{
	struct table_items *t = arg;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	t->v[t->n++] = cJSON_Duplicate(obj, true);
	return 0;
}

static bool parse_limit(struct rq *q, long *limit)
{
	const char *l = http_req_query(q->r, "limit");
	uint64_t v = 0;
	*limit = 0;
	if (!l || !*l)
		return true;
	if (!parse_u64(l, &v)) {
		fail(q, 400, "BadRequest", "limit: invalid value %s", l);
		return false;
	}
	*limit = v > 1000000 ? 1000000 : (long)v;
	return true;
}

/*
 * resourceVersionMatch and sendInitialEvents, checked as upstream checks ListOptions: a
 * refusal is 422 Invalid on kind ListOptions with a cause per rule broken. A list may ask for
 * Exact or NotOlderThan of a given resourceVersion; a watch takes NotOlderThan only, and only
 * together with sendInitialEvents (the watch-list protocol); neither goes with continue.
 */
static int rv_match(struct rq *q, bool watch, enum api_rv_match *m)
{
	const char *s = http_req_query(q->r, "resourceVersionMatch");
	const char *rv = http_req_query(q->r, "resourceVersion");
	const char *sie = http_req_query(q->r, "sendInitialEvents");
	const char *cont = http_req_query(q->r, "continue");
	struct reg_errors errs = { 0 };
	bool has_match = s && *s, has_rv = rv && *rv;

	*m = API_RV_UNSET;
	if (has_match && !strcmp(s, "NotOlderThan"))
		*m = API_RV_NOT_OLDER_THAN;
	else if (has_match && !strcmp(s, "Exact") && !watch)
		*m = API_RV_EXACT;
	else if (has_match)
		reg_err(&errs, "FieldValueNotSupported", "resourceVersionMatch",
		        "Unsupported value: \"%s\": supported values: %s", s,
		        watch ? "\"NotOlderThan\"" : "\"Exact\", \"NotOlderThan\"");
	if (has_match && cont && *cont)
		reg_err(&errs, "FieldValueForbidden", "resourceVersionMatch",
		        "Forbidden: resourceVersionMatch is forbidden when continue is provided");
	if (watch) {
		if (sie && *m != API_RV_NOT_OLDER_THAN)
			reg_err(
			    &errs, "FieldValueForbidden", "resourceVersionMatch",
			    "Forbidden: sendInitialEvents requires setting resourceVersionMatch "
			    "to NotOlderThan");
		if (has_match && !sie)
			reg_err(&errs, "FieldValueForbidden", "resourceVersionMatch",
			        "Forbidden: resourceVersionMatch is forbidden for watch unless "
			        "sendInitialEvents is provided");
	} else {
		if (has_match && !has_rv)
			reg_err(
			    &errs, "FieldValueForbidden", "resourceVersionMatch",
			    "Forbidden: resourceVersionMatch is forbidden unless resourceVersion "
			    "is provided");
		if (*m == API_RV_EXACT && has_rv && !strcmp(rv, "0"))
			reg_err(&errs, "FieldValueForbidden", "resourceVersionMatch",
			        "Forbidden: resourceVersionMatch \"exact\" is forbidden for "
			        "resourceVersion \"0\"");
		if (sie)
			reg_err(&errs, "FieldValueForbidden", "sendInitialEvents",
			        "Forbidden: sendInitialEvents is forbidden for list");
	}
	if (!errs.n)
		return 0;
	struct api_status st = { .code = 422, .reason = "Invalid", .causes = errs };
	snprintf(st.kind, sizeof(st.kind), "ListOptions");
	snprintf(st.group, sizeof(st.group), "meta.k8s.io");
	int k =
	    snprintf(st.message, sizeof(st.message), "ListOptions.meta.k8s.io \"\" is invalid: ");
	for (size_t i = 0; i < errs.n && k > 0 && (size_t)k < sizeof(st.message); i++)
		k += snprintf(st.message + k, sizeof(st.message) - (size_t)k, "%s%s: %s",
		              i ? ", " : "", errs.v[i].field, errs.v[i].message);
	send_status(q, &st);
	api_status_clear(&st);
	return -1;
}

static void do_list(struct rq *q)
{
	struct api_list_opts o = { 0 };
	struct api_status st = { 0 };
	struct api_target t = { q->k, q->ns, NULL, NULL };
	if (parse_selectors(q, &o.filter) < 0 || !parse_limit(q, &o.limit) ||
	    rv_match(q, false, &o.rv_match) < 0)
		return;
	o.resource_version = http_req_query(q->r, "resourceVersion");
	o.cont = http_req_query(q->r, "continue");
	if (!q->table) {
		struct buf out = { 0 };
		if (api_list(q->a, &t, &o, &out, &st) < 0) {
			buf_free(&out);
			send_status(q, &st);
			api_status_clear(&st);
			return;
		}
		http_resp_header(q->r, "Content-Type", "application/json");
		struct http_req *r = q->r;
		free_rq(q);
		http_resp_send_buf(r, 200, &out);
		return;
	}
	/* Table: the same walk, parsed, then printed. The list's metadata comes from a
	 * JSON list of the same page (cheap next to printing). */
	struct buf out = { 0 };
	if (api_list(q->a, &t, &o, &out, &st) < 0) {
		buf_free(&out);
		send_status(q, &st);
		api_status_clear(&st);
		return;
	}
	cJSON *list = cJSON_ParseWithLength(out.data, out.len);
	buf_free(&out);
	struct table_items items = { 0 };
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
	    collect(&items, (cJSON *)it);
	const cJSON *lm = cJSON_GetObjectItemCaseSensitive(list, "metadata");
	cJSON *tbl = rest_table(q->k, items.v, items.n, api_str(lm, "resourceVersion"),
	                        api_str(lm, "continue"), q->include_object);
	for (size_t i = 0; i < items.n; i++)
		cJSON_Delete(items.v[i]);
	free(items.v);
	cJSON_Delete(list);
	send_json(q, 200, tbl);
	cJSON_Delete(tbl);
}

/* --- watch ------------------------------------------------------------------------------- */

static void watch_end(struct rq *q)
{
	if (q->finished)
		return;
	q->finished = true;
	struct loop *l = q->a->loop;
	loop_timer_disarm(l, &q->timeout);
	loop_timer_disarm(l, &q->bookmark);
	api_watch_stop(q->w);
	q->w = NULL;
	struct http_req *r = q->r;
	free_rq(q);
	http_resp_end(r);
}

static int on_watch_event(void *arg, const char *type, cJSON *obj)
{
	struct rq *q = arg;
	if (q->finished)
		return 1;
	struct buf b = { 0 };
	int rc;
	if (q->table && strcmp(type, "ERROR") && strcmp(type, "BOOKMARK")) {
		buf_printf(&b, "{\"type\":\"%s\",\"object\":", type);
		cJSON *t = rest_table(
		    q->k, &obj, 1,
		    api_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion"),
		    NULL, q->include_object);
		obj_print_buf(&b, t, 0);
		cJSON_Delete(t);
		buf_adds(&b, "}\n");
		rc = http_resp_write(q->r, b.data, b.len);
	} else {
		size_t len;
		const char *line = api_watch_line(type, obj, &len, &b);
		rc = http_resp_write(q->r, line, len);
	}
	buf_free(&b);
	if (rc < 0 || !strcmp(type, "ERROR")) {
		/* The client is gone or the watch expired: end after this turn. */
		loop_timer_arm(q->a->loop, &q->timeout, 0);
		return 1;
	}
	return http_resp_queued(q->r) > WATCH_QUEUE_HIGH ? 1 : 0;
}

static void on_watch_http(struct http_req *r, enum http_event ev, void *arg)
{
	struct rq *q = arg;
	if (ev == HTTP_EV_DRAINED) {
		if (q->w)
			api_watch_resume(q->w);
		return;
	}
	watch_end(q); /* closed, or the server shuts down */
}

static void on_watch_timeout(struct loop *l, struct loop_timer *t)
{
	watch_end(container_of(t, struct rq, timeout));
}

static void on_bookmark(struct loop *l, struct loop_timer *t)
{
	struct rq *q = container_of(t, struct rq, bookmark);
	if (q->w)
		api_watch_bookmark(q->w);
	loop_timer_arm(l, &q->bookmark, 60000);
}

static void do_watch(struct rq *q)
{
	struct api_watch_opts o = { 0 };
	struct api_status st = { 0 };
	struct api_target t = { q->k, q->ns, q->name, NULL };
	enum api_rv_match m;
	if (parse_selectors(q, &o.filter) < 0 || rv_match(q, true, &m) < 0)
		return;
	o.resource_version = http_req_query(q->r, "resourceVersion");
	const char *sie = http_req_query(q->r, "sendInitialEvents");
	o.send_initial_events = qbool(sie);
	char now[24];
	if (sie && !o.send_initial_events &&
	    (!o.resource_version || !*o.resource_version || !strcmp(o.resource_version, "0"))) {
		/* sendInitialEvents=false: from the latest revision, without the current state. */
		snprintf(now, sizeof(now), "%llu", (unsigned long long)store_rev(q->a->store));
		o.resource_version = now;
	}
	const char *ab = http_req_query(q->r, "allowWatchBookmarks");
	o.bookmarks = qbool(ab);
	uint64_t timeout = 0;
	const char *ts = http_req_query(q->r, "timeoutSeconds");
	if (ts && *ts && !parse_u64(ts, &timeout)) {
		fail(q, 400, "BadRequest", "timeoutSeconds: invalid value %s", ts);
		return;
	}
	/* The head goes first: the initial state comes as events during api_watch. A watch
	 * that cannot start (compacted revision) gets an ERROR event, as upstream sends. */
	loop_timer_init(&q->timeout, on_watch_timeout);
	loop_timer_init(&q->bookmark, on_bookmark);
	q->watching = true;
	http_resp_header(q->r, "Content-Type", "application/json");
	http_resp_start(q->r, 200, -1);
	if (api_watch(q->a, &t, &o, on_watch_event, q, &q->w, &st) < 0) {
		cJSON *s = api_status_json(&st);
		on_watch_event(q, "ERROR", s);
		cJSON_Delete(s);
		api_status_clear(&st);
		q->w = NULL;
		http_req_on_event(q->r, on_watch_http, q);
		loop_timer_arm(q->a->loop, &q->timeout, 0);
		return;
	}
	http_req_on_event(q->r, on_watch_http, q);
	/* Upstream's default is a random timeout between 30 and 60 minutes. */
	uint64_t ms = timeout ? timeout * 1000 : (1800 + (time_mono_ms() % 1800)) * 1000;
	loop_timer_arm(q->a->loop, &q->timeout, ms);
	if (o.bookmarks)
		loop_timer_arm(q->a->loop, &q->bookmark, 60000);
}

/* --- reads and writes of objects ---------------------------------------------------------- */

static void do_get(struct rq *q)
{
	struct api_target t = { q->k, q->ns, q->name, NULL };
	struct api_status st = { 0 };
	cJSON *obj = NULL;
	if (!q->table) {
		/* The stored text with its revision spliced in: no parse, no print. */
		struct buf b = { 0 };
		if (api_get_json(q->a, &t, &b, &st) < 0) {
			buf_free(&b);
			send_status(q, &st);
			api_status_clear(&st);
			return;
		}
		http_resp_header(q->r, "Content-Type", "application/json");
		add_warning_header(q);
		struct http_req *r = q->r;
		free_rq(q);
		http_resp_send_buf(r, 200, &b);
		return;
	}
	if (api_get(q->a, &t, &obj, &st) < 0) {
		send_status(q, &st);
		api_status_clear(&st);
		return;
	}
	send_obj(q, 200, obj);
	cJSON_Delete(obj);
}

static void write_opts(struct rq *q, struct api_write_opts *o)
{
	const char *dry = http_req_query(q->r, "dryRun");
	o->dry_run = dry && !strcmp(dry, "All");
	o->field_manager = http_req_query(q->r, "fieldManager");
	o->user = &q->user;
	const char *force = http_req_query(q->r, "force");
	o->force = qbool(force);
}

static bool dry_run_ok(struct rq *q)
{
	const char *dry = http_req_query(q->r, "dryRun");
	if (dry && *dry && strcmp(dry, "All")) {
		fail(q, 400, "BadRequest",
		     "dryRun: unsupported value \"%s\": supported values: \"All\"", dry);
		return false;
	}
	return true;
}

static void do_create(struct rq *q)
{
	if (!dry_run_ok(q))
		return;
	cJSON *obj = decode_body(q, false);
	if (!obj)
		return;
	if (check_fields(q, obj) < 0) {
		cJSON_Delete(obj);
		return;
	}
	struct api_write_opts o = { 0 };
	struct api_target t = { q->k, q->ns, NULL, NULL };
	write_opts(q, &o);
	api_create(q->a, &t, obj, &o, on_write_done, q);
}

static void do_update(struct rq *q)
{
	if (!dry_run_ok(q))
		return;
	cJSON *obj = decode_body(q, false);
	if (!obj)
		return;
	if ((!q->sub || !strcmp(q->sub, "status")) && check_fields(q, obj) < 0) {
		cJSON_Delete(obj);
		return;
	}
	struct api_write_opts o = { 0 };
	struct api_target t = { q->k, q->ns, q->name, q->sub };
	write_opts(q, &o);
	api_update(q->a, &t, obj, &o, on_write_done, q);
}

/* Server-side apply by core/obj's field ownership rules; the main resource of a kind with a
 * status neither merges nor owns status. */
static int rest_apply(struct rq *q, cJSON *cur, const cJSON *applied, cJSON **out, struct err *e)
{
	static const char *const ignore_status[] = { "status", NULL };
	struct apply_opts o = { .manager = q->manager,
		                .subresource = q->sub,
		                .force = q->force,
		                .ignore = !q->sub && (q->k->subresources & REG_SUB_STATUS)
		                              ? ignore_status
		                              : NULL };
	struct apply_conflicts c = { 0 };
	int rc =
	    apply_server_side(cur, applied, schema_for_object(cur ? cur : applied), &o, out, &c, e);
	apply_conflicts_free(&c);
	return rc;
}

/* Applies q->patch to the current object (or creates with apply). */
static cJSON *apply_patch(void *arg, cJSON *cur, struct api_status *st)
{
	struct rq *q = arg;
	struct err e = { 0 };
	cJSON *out = NULL;
	int rc;
	const char *pt = q->patch_type;
	if (!strcmp(pt, "application/apply-patch+yaml")) {
		rc = rest_apply(q, cur, q->patch, &out, &e);
		if (rc == APPLY_E_CONFLICT) {
			api_fail(st, 409, "Conflict", "Apply failed with %s", e.msg);
			cJSON_Delete(cur);
			return NULL;
		}
	} else if (!cur) {
		api_fail(st, 404, "NotFound", "%s \"%s\" not found", q->k->resource, q->name);
		return NULL;
	} else if (!strcmp(pt, "application/json-patch+json")) {
		rc = patch_json(cur, q->patch, &out, &e);
	} else if (!strcmp(pt, "application/merge-patch+json")) {
		rc = patch_merge(cur, q->patch, &out, &e);
	} else {
		char av[64];
		reg_api_version(q->k, av, sizeof(av));
		rc = patch_strategic(cur, q->patch, schema_for_object(cur), &out, &e);
	}
	cJSON_Delete(cur);
	if (rc < 0) {
		api_fail(st, rc == -EINVAL ? 422 : 500, rc == -EINVAL ? "Invalid" : "InternalError",
		         "%s", e.msg);
		return NULL;
	}
	return out;
}

static void do_patch(struct rq *q)
{
	if (!dry_run_ok(q))
		return;
	cJSON *p = decode_body(q, true);
	if (!p)
		return;
	q->patch = p;
	bool apply = !strcmp(q->patch_type, "application/apply-patch+yaml");
	q->manager = http_req_query(q->r, "fieldManager");
	const char *force = http_req_query(q->r, "force");
	q->force = qbool(force);
	if (apply && (!q->manager || !*q->manager)) {
		fail(q, 422, "Invalid",
		     "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
		     "is required for apply patch");
		return;
	}
	if (force && !apply) {
		fail(q, 422, "Invalid",
		     "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be "
		     "specified for non-apply patch");
		return;
	}
	if (apply && check_fields(q, p) < 0)
		return;
	struct api_write_opts o = { 0 };
	struct api_target t = { q->k, q->ns, q->name, q->sub };
	write_opts(q, &o);
	api_mutate(q->a, &t, apply_patch, q, apply && !q->sub, &o, on_write_done, q);
}

/* DeleteOptions from the query and the body. */
static bool delete_opts(struct rq *q, struct api_delete_opts *o, cJSON **body_out)
{
	memset(o, 0, sizeof(*o));
	o->grace_seconds = -1;
	o->user = &q->user;
	const char *dry = http_req_query(q->r, "dryRun");
	o->dry_run = dry && !strcmp(dry, "All");
	const char *g = http_req_query(q->r, "gracePeriodSeconds");
	uint64_t v;
	if (g && *g) {
		if (!parse_u64(g, &v)) {
			fail(q, 400, "BadRequest", "gracePeriodSeconds: invalid value %s", g);
			return false;
		}
		o->grace_seconds = (int64_t)v;
	}
	o->propagation = http_req_query(q->r, "propagationPolicy");
	const char *orphan = http_req_query(q->r, "orphanDependents");
	if (qbool(orphan) && !o->propagation)
		o->propagation = "Orphan";
	size_t len = 0;
	http_req_body(q->r, &len);
	if (len) {
		cJSON *b = decode_body(q, false);
		if (!b)
			return false;
		const cJSON *gp = cJSON_GetObjectItemCaseSensitive(b, "gracePeriodSeconds");
		if (cJSON_IsNumber(gp))
			o->grace_seconds = (int64_t)gp->valuedouble;
		const char *pp = api_str(b, "propagationPolicy");
		if (pp)
			o->propagation = http_req_strdup(q->r, pp);
		const cJSON *od = cJSON_GetObjectItemCaseSensitive(b, "orphanDependents");
		if (cJSON_IsTrue(od) && !o->propagation)
			o->propagation = "Orphan";
		const cJSON *pre = cJSON_GetObjectItemCaseSensitive(b, "preconditions");
		if (api_str(pre, "uid"))
			o->precondition_uid = http_req_strdup(q->r, api_str(pre, "uid"));
		if (api_str(pre, "resourceVersion"))
			o->precondition_rv = http_req_strdup(q->r, api_str(pre, "resourceVersion"));
		const cJSON *dr = cJSON_GetObjectItemCaseSensitive(b, "dryRun");
		if (cJSON_GetArraySize(dr) > 0)
			o->dry_run = true;
		if (body_out)
			*body_out = b;
		else
			cJSON_Delete(b);
	}
	return true;
}

static void do_delete(struct rq *q)
{
	struct api_delete_opts o;
	if (!dry_run_ok(q) || !delete_opts(q, &o, NULL))
		return;
	struct api_target t = { q->k, q->ns, q->name, NULL };
	api_delete(q->a, &t, &o, on_write_done, q);
}

static void do_delete_collection(struct rq *q)
{
	struct api_delete_opts o;
	struct api_filter f = { 0 };
	if (!dry_run_ok(q) || !delete_opts(q, &o, NULL) || parse_selectors(q, &f) < 0)
		return;
	struct api_target t = { q->k, q->ns, NULL, NULL };
	api_delete_collection(q->a, &t, &f, &o, on_write_done, q);
}

/* --- subresources ----------------------------------------------------------------------- */

static cJSON *scale_of(const struct reg_kind *k, const cJSON *obj)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "kind", "Scale");
	cJSON_AddStringToObject(s, "apiVersion", "autoscaling/v1");
	cJSON *m = cJSON_AddObjectToObject(s, "metadata");
	const cJSON *om = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	static const char *const keep[] = { "name", "namespace", "uid", "resourceVersion",
		                            "creationTimestamp" };
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if (api_str(om, keep[i]))
			cJSON_AddStringToObject(m, keep[i], api_str(om, keep[i]));
	int64_t rep = 0, srep = 0;
	obj_get_i64(obj, k->scale_replicas ? k->scale_replicas : "spec.replicas", &rep);
	obj_get_i64(obj, k->scale_status_replicas ? k->scale_status_replicas : "status.replicas",
	            &srep);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(s, "spec"), "replicas", (double)rep);
	cJSON *st = cJSON_AddObjectToObject(s, "status");
	cJSON_AddNumberToObject(st, "replicas", (double)srep);
	const cJSON *ls = obj_get(obj, k->scale_selector ? k->scale_selector : "spec.selector");
	struct sel *sel = NULL;
	if (ls && sel_from_label_selector(ls, &sel, NULL) == 0) {
		char *str = sel_string(sel);
		cJSON_AddStringToObject(st, "selector", str);
		free(str);
	}
	sel_free(sel);
	return s;
}

static void on_scale_done(void *arg, struct api_status *st, cJSON *obj)
{
	struct rq *q = arg;
	if (st->code >= 200 && st->code < 300 && obj) {
		cJSON *s = scale_of(q->k, obj);
		q->table = false;
		send_json(q, st->code, s);
		cJSON_Delete(s);
		return;
	}
	send_status(q, st);
}

/* A patch of the Scale: applied to the Scale, whose replicas go to the object. */
static cJSON *patch_scale(void *arg, cJSON *cur, struct api_status *st)
{
	struct rq *q = arg;
	if (!cur) {
		api_fail(st, 404, "NotFound", "%s \"%s\" not found", q->k->resource, q->name);
		return NULL;
	}
	cJSON *scale = scale_of(q->k, cur), *out = NULL;
	struct err e = { 0 };
	int rc;
	if (!strcmp(q->patch_type, "application/json-patch+json"))
		rc = patch_json(scale, q->patch, &out, &e);
	else
		rc = patch_merge(scale, q->patch, &out, &e);
	cJSON_Delete(scale);
	int64_t rep;
	if (rc < 0 || !obj_get_i64(out, "spec.replicas", &rep) || rep < 0) {
		cJSON_Delete(out);
		cJSON_Delete(cur);
		api_fail(st, 422, "Invalid",
		         "Scale.autoscaling \"%s\" is invalid: spec.replicas: %s", q->name,
		         rc < 0 ? e.msg : "must be a non-negative integer");
		return NULL;
	}
	cJSON_Delete(out);
	obj_set_i64(cur, q->k->scale_replicas ? q->k->scale_replicas : "spec.replicas", rep, NULL);
	return cur;
}

static void do_scale(struct rq *q, const char *method)
{
	struct api_target t = { q->k, q->ns, q->name, NULL };
	struct api_write_opts o = { 0 };
	write_opts(q, &o);
	if (!strcmp(method, "GET")) {
		struct api_status st = { 0 };
		cJSON *obj = NULL;
		if (api_get(q->a, &t, &obj, &st) < 0) {
			send_status(q, &st);
			api_status_clear(&st);
			return;
		}
		cJSON *s = scale_of(q->k, obj);
		cJSON_Delete(obj);
		send_json(q, 200, s);
		cJSON_Delete(s);
		return;
	}
	if (!strcmp(method, "PUT")) {
		cJSON *obj = decode_body(q, false);
		if (!obj)
			return;
		t.sub = "scale";
		api_update(q->a, &t, obj, &o, on_scale_done, q);
		return;
	}
	cJSON *p = decode_body(q, true);
	if (!p)
		return;
	q->patch = p;
	api_mutate(q->a, &t, patch_scale, q, false, &o, on_scale_done, q);
}

static void on_status_success(void *arg, struct api_status *st, cJSON *obj)
{
	struct rq *q = arg;
	if (st->code >= 200 && st->code < 300) {
		struct api_status ok = { .code = 201 };
		send_status(q, &ok);
		return;
	}
	send_status(q, st);
}

static void do_binding(struct rq *q)
{
	cJSON *b = decode_body(q, false);
	if (!b)
		return;
	struct api_write_opts o = { 0 };
	write_opts(q, &o);
	api_bind(q->a, q->ns, q->name, b, &o, on_status_success, q);
	cJSON_Delete(b);
}

static void do_eviction(struct rq *q)
{
	cJSON *b = decode_body(q, false);
	if (!b)
		return;
	struct api_delete_opts o = { .grace_seconds = -1, .user = &q->user };
	const cJSON *dopt = obj_get(b, "deleteOptions");
	int64_t g;
	if (obj_get_i64(dopt, "gracePeriodSeconds", &g))
		o.grace_seconds = g;
	if (obj_get_str(dopt, "preconditions.uid"))
		o.precondition_uid = http_req_strdup(q->r, obj_get_str(dopt, "preconditions.uid"));
	cJSON_Delete(b);
	struct api_target t = { q->k, q->ns, q->name, NULL };
	api_delete(q->a, &t, &o, on_status_success, q);
}

/* namespaces/finalize: sets spec.finalizers from the body. */
static cJSON *finalize_ns(void *arg, cJSON *cur, struct api_status *st)
{
	struct rq *q = arg;
	if (!cur) {
		api_fail(st, 404, "NotFound", "namespaces \"%s\" not found", q->name);
		return NULL;
	}
	const cJSON *f = obj_get(q->patch, "spec.finalizers");
	obj_set(cur, "spec.finalizers", f ? cJSON_Duplicate(f, true) : cJSON_CreateArray(), NULL);
	return cur;
}

/* --- routing --------------------------------------------------------------------------- */

/* pods/log: the pod must exist; the kubelet that runs it answers. */
static void do_pod_log(struct rq *q)
{
	struct api_target t = { q->k, q->ns, q->name, NULL };
	struct api_status st = { 0 };
	cJSON *pod = NULL;
	if (api_get(q->a, &t, &pod, &st) < 0) {
		send_status(q, &st);
		api_status_clear(&st);
		return;
	}
	struct http_req *r = q->r;
	struct api *a = q->a;
	free_rq(q);
	a->pod_log(a->pod_log_arg, r, pod);
	cJSON_Delete(pod);
}

static bool is_public(const char *path)
{
	static const char *const pub[] = { "/healthz", "/livez", "/readyz", "/version" };
	for (size_t i = 0; i < ARRAY_SIZE(pub); i++) {
		size_t n = strlen(pub[i]);
		if (!strncmp(path, pub[i], n) && (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

static bool wants_table(const char *accept)
{
	return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

static const char *aggregated_version(const char *accept)
{
	if (!accept || !strstr(accept, "as=APIGroupDiscoveryList"))
		return NULL;
	/* The first listed version we serve wins. */
	const char *v2 = strstr(accept, "v=v2;");
	const char *v2b = strstr(accept, "v=v2beta1");
	if (v2 && (!v2b || v2 < v2b))
		return "apidiscovery.k8s.io/v2";
	if (v2b)
		return "apidiscovery.k8s.io/v2beta1";
	if (strstr(accept, "v=v2"))
		return "apidiscovery.k8s.io/v2";
	return NULL;
}

static void send_discovery(struct rq *q, cJSON *doc, const char *ctype)
{
	if (!doc) {
		not_found(q);
		return;
	}
	struct buf b = { 0 };
	obj_print_buf(&b, doc, 0);
	cJSON_Delete(doc);
	http_resp_header(q->r, "Content-Type", ctype ? ctype : "application/json");
	struct http_req *r = q->r;
	free_rq(q);
	http_resp_send_buf(r, 200, &b);
}

static void send_text(struct rq *q, int code, const char *ctype, const char *text, size_t len)
{
	http_resp_header(q->r, "Content-Type", ctype);
	struct http_req *r = q->r;
	free_rq(q);
	http_resp_send(r, code, text, len);
}

/* Splits path into at most max segments (empty ones dropped). */
static size_t split(char *path, char **seg, size_t max)
{
	size_t n = 0;
	for (char *p = strtok(path, "/"); p && n < max; p = strtok(NULL, "/"))
		seg[n++] = p;
	return n;
}

static void route_resource(struct rq *q, char **seg, size_t n, const char *method)
{
	bool watch = false;
	const char *w = http_req_query(q->r, "watch");
	if (qbool(w))
		watch = true;
	if (n && !strcmp(seg[0], "watch")) {
		watch = true;
		seg++;
		n--;
	}
	if (n == 0) {
		not_found(q);
		return;
	}
	const char *ns = NULL, *res, *name = NULL, *sub = NULL;
	if (!strcmp(seg[0], "namespaces") && n >= 3) {
		ns = seg[1];
		res = seg[2];
		name = n >= 4 ? seg[3] : NULL;
		sub = n >= 5 ? seg[4] : NULL;
		if (n > 5) {
			not_found(q);
			return;
		}
	} else {
		res = seg[0];
		name = n >= 2 ? seg[1] : NULL;
		sub = n >= 3 ? seg[2] : NULL;
		if (n > 3) {
			not_found(q);
			return;
		}
	}
	const struct reg_kind *k = reg_lookup(q->group, q->version, res);
	if (!k || (ns && !k->namespaced)) {
		not_found(q);
		return;
	}
	if (!k->namespaced && !strcmp(res, "namespaces") && name && n == 3 &&
	    !strcmp(seg[0], "namespaces")) {
		/* /api/v1/namespaces/x/status or /finalize were split as ns/res above. */
	}
	/* /api/v1/namespaces/{name}[/{sub}] is the namespace object itself. */
	if (!strcmp(seg[0], "namespaces") && !q->group[0] &&
	    (n == 2 || (n == 3 && (!strcmp(seg[2], "status") || !strcmp(seg[2], "finalize"))))) {
		k = reg_lookup("", "v1", "namespaces");
		ns = NULL;
		name = seg[1];
		sub = n == 3 ? seg[2] : NULL;
	}
	if (!k) {
		not_found(q);
		return;
	}
	q->k = k;
	q->ns = ns;
	q->name = name;
	q->sub = sub;
	if (name && !api_valid_name(name, false) && strcmp(method, "POST")) {
		/* Names that could never exist are simply not found (no key games). */
		if (strlen(name) > 253 || strchr(name, '/')) {
			not_found(q);
			return;
		}
	}
	bool m_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	if (sub) {
		unsigned need = !strcmp(sub, "status")        ? REG_SUB_STATUS
		                : !strcmp(sub, "scale")       ? REG_SUB_SCALE
		                : !strcmp(sub, "binding")     ? REG_SUB_BINDING
		                : !strcmp(sub, "eviction")    ? REG_SUB_EVICTION
		                : !strcmp(sub, "log")         ? REG_SUB_LOG
		                : !strcmp(sub, "exec")        ? REG_SUB_EXEC
		                : !strcmp(sub, "attach")      ? REG_SUB_EXEC
		                : !strcmp(sub, "portforward") ? REG_SUB_EXEC
		                : !strcmp(sub, "approval")    ? REG_SUB_APPROVAL
		                : !strcmp(sub, "proxy")       ? REG_SUB_PROXY
		                                              : 0;
		bool finalize = !strcmp(sub, "finalize") && !strcmp(k->resource, "namespaces");
		if (!need && !finalize) {
			not_found(q);
			return;
		}
		if (need && !(k->subresources & need)) {
			not_found(q);
			return;
		}
		if (!strcmp(sub, "status") || !strcmp(sub, "approval")) {
			if (m_get) {
				do_get(q);
			} else if (!strcmp(method, "PUT")) {
				q->sub = "status";
				do_update(q);
			} else if (!strcmp(method, "PATCH")) {
				q->sub = "status";
				do_patch(q);
			} else {
				fail(q, 405, "MethodNotAllowed",
				     "the server does not allow this method on the requested "
				     "resource");
			}
			return;
		}
		if (!strcmp(sub, "scale")) {
			if (m_get || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))
				do_scale(q, m_get ? "GET" : method);
			else
				fail(q, 405, "MethodNotAllowed",
				     "the server does not allow this method on the requested "
				     "resource");
			return;
		}
		if (!strcmp(sub, "binding") && !strcmp(method, "POST")) {
			do_binding(q);
			return;
		}
		if (!strcmp(sub, "eviction") && !strcmp(method, "POST")) {
			do_eviction(q);
			return;
		}
		if (finalize && !strcmp(method, "PUT")) {
			cJSON *b = decode_body(q, false);
			if (!b)
				return;
			q->patch = b;
			struct api_write_opts o = { 0 };
			write_opts(q, &o);
			struct api_target t = { k, NULL, name, "finalize" };
			api_mutate(q->a, &t, finalize_ns, q, false, &o, on_write_done, q);
			return;
		}
		if (!strcmp(sub, "log") && m_get && q->a->pod_log) {
			do_pod_log(q);
			return;
		}
		if (!strcmp(sub, "log") || !strcmp(sub, "exec") || !strcmp(sub, "attach") ||
		    !strcmp(sub, "portforward") || !strcmp(sub, "proxy")) {
			fail(q, 503, "ServiceUnavailable",
			     "%s is served by the node's kubelet, which this server does not run "
			     "yet",
			     sub);
			return;
		}
		fail(q, 405, "MethodNotAllowed",
		     "the server does not allow this method on the requested resource");
		return;
	}
	if (!name) {
		if (m_get)
			watch ? do_watch(q) : do_list(q);
		else if (!strcmp(method, "POST"))
			do_create(q);
		else if (!strcmp(method, "DELETE"))
			do_delete_collection(q);
		else
			fail(q, 405, "MethodNotAllowed",
			     "the server does not allow this method on the requested resource");
		return;
	}
	if (m_get && watch)
		do_watch(q);
	else if (m_get)
		do_get(q);
	else if (!strcmp(method, "PUT"))
		do_update(q);
	else if (!strcmp(method, "PATCH"))
		do_patch(q);
	else if (!strcmp(method, "DELETE"))
		do_delete(q);
	else if (!strcmp(method, "POST"))
		fail(q, 405, "MethodNotAllowed",
		     "the server does not allow this method on the requested resource");
	else
		fail(q, 405, "MethodNotAllowed",
		     "the server does not allow this method on the requested resource");
}

/* "Bearer <token>" matching the admin token, compared in constant time. */
static bool bearer_is_admin(const struct api *a, const char *auth)
{
	if (!a->admin_token || !auth || strncmp(auth, "Bearer ", 7))
		return false;
	const char *t = auth + 7;
	size_t n = strlen(a->admin_token);
	if (strlen(t) != n)
		return false;
	unsigned char diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(t[i] ^ a->admin_token[i]);
	return diff == 0;
}

void api_http(struct http_req *r, void *arg)
{
	struct api *a = arg;
	struct rq *q = http_req_alloc(r, sizeof(*q));
	memset(q, 0, sizeof(*q));
	q->r = r;
	q->a = a;
	const char *path = http_req_path(r);
	const char *method = http_req_method(r);
	const char *accept = http_req_header(r, "Accept");

	if (is_public(path)) {
		if (!strncmp(path, "/version", 8)) {
			/* Upstream indents this one document. */
			struct buf b = { 0 };
			cJSON *v = rest_version();
			obj_print_buf(&b, v, OBJ_PRINT_INDENT);
			cJSON_Delete(v);
			http_resp_header(q->r, "Content-Type", "application/json");
			free_rq(q);
			http_resp_send_buf(r, 200, &b);
			return;
		}
		send_text(q, 200, "text/plain; charset=utf-8", "ok", 2);
		return;
	}
	const struct http_identity *id = http_req_identity(r);
	if (id) {
		q->user.name = id->user;
		q->user.groups = id->groups;
		q->user.ngroups = id->ngroups;
	} else if (bearer_is_admin(a, http_req_header(r, "Authorization"))) {
		static const char *const masters[] = { "system:masters" };
		q->user.name = "system:admin";
		q->user.groups = masters;
		q->user.ngroups = 1;
	} else {
		fail(q, 401, "Unauthorized", "Unauthorized");
		return;
	}
	q->table = wants_table(accept);
	q->include_object = http_req_query(r, "includeObject");

	char *p = http_req_strdup(r, path);
	char *seg[16];
	size_t n = split(p, seg, ARRAY_SIZE(seg));
	for (size_t i = 0; i < n; i++)
		if (!strcmp(seg[i], ".") || !strcmp(seg[i], "..")) {
			not_found(q);
			return;
		}
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	if (n >= 1 && !strcmp(seg[0], "openapi")) {
		if (!get) {
			fail(q, 405, "MethodNotAllowed",
			     "the server does not allow this method on the requested resource");
			return;
		}
		if (n == 2 && !strcmp(seg[1], "v2")) {
			size_t len;
			/* kubectl 1.20 reads only the protobuf form of v2. */
			if (accept && strstr(accept, SCHEMA_OPENAPI_V2_PB_ACCEPT)) {
				const char *pb = schema_openapi_v2_pb(&len);
				http_resp_header(q->r, "ETag", schema_openapi_etag(pb));
				send_text(q, 200, SCHEMA_OPENAPI_V2_PB_TYPE, pb, len);
				return;
			}
			const char *doc = schema_openapi_v2(&len);
			http_resp_header(q->r, "ETag", schema_openapi_etag(doc));
			send_text(q, 200, "application/json", doc, len);
			return;
		}
		if (n == 2 && !strcmp(seg[1], "v3")) {
			size_t len;
			const char *doc = schema_openapi_v3_index(&len);
			send_text(q, 200, "application/json", doc, len);
			return;
		}
		if (n >= 3 && !strcmp(seg[1], "v3")) {
			char gv[256] = "";
			for (size_t i = 2; i < n; i++)
				snprintf(gv + strlen(gv), sizeof(gv) - strlen(gv), "%s%s",
				         i > 2 ? "/" : "", seg[i]);
			size_t len;
			const char *doc = schema_openapi_v3(gv, &len);
			if (!doc) {
				not_found(q);
				return;
			}
			send_text(q, 200, "application/json", doc, len);
			return;
		}
		not_found(q);
		return;
	}
	if (n >= 1 && !strcmp(seg[0], "api")) {
		if (n == 1 && get) {
			const char *agg = aggregated_version(accept);
			if (agg) {
				char ct[160];
				snprintf(ct, sizeof(ct),
				         "application/"
				         "json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList",
				         strchr(agg, '/') + 1);
				send_discovery(q, rest_aggregated(true, agg), ct);
				return;
			}
			char addr[128];
			snprintf(addr, sizeof(addr), "%s:%d", a->advertise_ip, a->https_port);
			send_discovery(q, rest_api_versions(addr), NULL);
			return;
		}
		if (n >= 2 && strcmp(seg[1], "v1")) {
			not_found(q);
			return;
		}
		if (n == 2 && get) {
			send_discovery(q, rest_resource_list("", "v1"), NULL);
			return;
		}
		q->group = "";
		q->version = "v1";
		route_resource(q, seg + 2, n - 2, method);
		return;
	}
	if (n >= 1 && !strcmp(seg[0], "apis")) {
		if (n == 1 && get) {
			const char *agg = aggregated_version(accept);
			if (agg) {
				char ct[160];
				snprintf(ct, sizeof(ct),
				         "application/"
				         "json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList",
				         strchr(agg, '/') + 1);
				send_discovery(q, rest_aggregated(false, agg), ct);
				return;
			}
			send_discovery(q, rest_api_group_list(), NULL);
			return;
		}
		if (n == 2 && get) {
			send_discovery(q, rest_api_group(seg[1]), NULL);
			return;
		}
		if (n == 3 && get) {
			send_discovery(q, rest_resource_list(seg[1], seg[2]), NULL);
			return;
		}
		if (n >= 4) {
			q->group = seg[1];
			q->version = seg[2];
			route_resource(q, seg + 3, n - 3, method);
			return;
		}
	}
	not_found(q);
}

const char *api_http_error_body(void *arg, int status, const char *message, struct buf *out)
{
	struct api_status st = { .code = status };
	st.reason = status == 413                                     ? "RequestEntityTooLarge"
	            : status == 408                                   ? "Timeout"
	            : status == 414 || status == 431 || status == 400 ? "BadRequest"
	                                                              : "InternalError";
	snprintf(st.message, sizeof(st.message), "%s", message);
	cJSON *s = api_status_json(&st);
	obj_print_buf(out, s, 0);
	cJSON_Delete(s);
	return "application/json";
}
