/* event: core/v1 and events.k8s.io/v1 Events, one stored form (core v1) and conversions. */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

/* core v1 name, events.k8s.io/v1 name */
static const char *const renames[][2] = {
	{ "message", "note" },
	{ "involvedObject", "regarding" },
	{ "reportingComponent", "reportingController" },
	{ "source", "deprecatedSource" },
	{ "firstTimestamp", "deprecatedFirstTimestamp" },
	{ "lastTimestamp", "deprecatedLastTimestamp" },
	{ "count", "deprecatedCount" },
};

static void rename_key(cJSON *obj, const char *from, const char *to)
{
	cJSON *it = cJSON_DetachItemFromObjectCaseSensitive(obj, from);
	if (!it)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(obj, to);
	cJSON_AddItemToObject(obj, to, it);
}

static bool is_event(const cJSON *obj, const char *api_version)
{
	return cJSON_IsObject(obj) && !strcmp(reg_at_strz(obj, "kind"), "Event") &&
	       !strcmp(reg_at_strz(obj, "apiVersion"), api_version);
}

/* Members Go always prints on a core v1 Event, empty or not. */
static void core_members(cJSON *obj)
{
	if (!cJSON_IsObject(obj))
		return;
	static const char *const nulls[] = { "eventTime", "firstTimestamp", "lastTimestamp" };
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!cJSON_GetObjectItemCaseSensitive(obj, nulls[i]))
			cJSON_AddNullToObject(obj, nulls[i]);
	if (!cJSON_GetObjectItemCaseSensitive(obj, "reportingComponent"))
		cJSON_AddStringToObject(obj, "reportingComponent", "");
	if (!cJSON_GetObjectItemCaseSensitive(obj, "reportingInstance"))
		cJSON_AddStringToObject(obj, "reportingInstance", "");
	reg_def_obj(obj, "involvedObject");
	reg_def_obj(obj, "source");
}

/* Both directions convert whatever they are given; the public functions check the form. */
static void to_core(cJSON *obj)
{
	if (!cJSON_IsObject(obj))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(renames); i++)
		rename_key(obj, renames[i][1], renames[i][0]);
	reg_set(obj, "apiVersion", cJSON_CreateString("v1"));
	/* What a core reader sees of an event made through events.k8s.io is what it would see
	 * of one made through core: Go's always-printed members included. */
	core_members(obj);
}

static void from_core(cJSON *obj)
{
	for (size_t i = 0; i < ARRAY_SIZE(renames); i++)
		rename_key(obj, renames[i][0], renames[i][1]);
	reg_set(obj, "apiVersion", cJSON_CreateString("events.k8s.io/v1"));
	/* events.k8s.io omits these when empty, where core v1 prints "" and 0. */
	static const char *const empty_str[] = {
		"reportingController", "reportingInstance", "note", "reason", "action", "type"
	};
	for (size_t i = 0; i < ARRAY_SIZE(empty_str); i++) {
		const cJSON *s = reg_get(obj, empty_str[i]);
		if (cJSON_IsString(s) && !*s->valuestring)
			cJSON_DeleteItemFromObjectCaseSensitive(obj, empty_str[i]);
	}
	const cJSON *count = reg_get(obj, "deprecatedCount");
	if (cJSON_IsNumber(count) && count->valuedouble == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "deprecatedCount");
	if (!cJSON_GetObjectItemCaseSensitive(obj, "eventTime"))
		cJSON_AddNullToObject(obj, "eventTime");
}

void reg_event_to_core(cJSON *obj)
{
	if (is_event(obj, "events.k8s.io/v1"))
		to_core(obj);
}

void reg_event_from_core(cJSON *obj)
{
	if (is_event(obj, "v1"))
		from_core(obj);
}

/* --- core/v1 -------------------------------------------------------------------------------- */

static void event_defaults(cJSON *obj)
{
	core_members(obj);
}

static void check_len(struct reg_vctx *v, const char *key, const char *s, size_t max)
{
	if (s && strlen(s) > max)
		reg_vinvalid_str(v, key, "", "can have at most %zu characters", max);
}

/*
 * Upstream's legacy checks, which both forms pass: names maps a field to the form's member
 * name. A "new style" event (with eventTime) must say who reported it and what happened; an old
 * one must agree with its namespace.
 */
struct ev_names {
	const char *message, *regarding, *controller;
};

static void validate_common(struct reg_vctx *v, const cJSON *obj, const struct ev_names *n)
{
	const char *ns = reg_at_strz(obj, "metadata.namespace");
	const cJSON *reg = reg_vstrfields(v, obj, n->regarding, reg_ref_fields);
	reg_vstrfields(v, obj, "related", reg_ref_fields);
	reg_vtime(v, obj, "eventTime");
	const char *rns = reg_at_strz(reg, "namespace");
	bool new_style = reg_get(obj, "eventTime") != NULL;
	size_t m = reg_vkey(v, n->regarding);
	if (!new_style) {
		/* An object without a namespace is reported in "default" (or no namespace). */
		if (!*rns ? (*ns && strcmp(ns, "default") != 0) : strcmp(ns, rns) != 0)
			reg_vinvalid_str(v, "namespace", rns, "does not match event.namespace");
	} else if (!*rns && strcmp(ns, "default") != 0 && strcmp(ns, "kube-system") != 0) {
		reg_vinvalid_str(v, "namespace", rns, "does not match event.namespace");
	}
	reg_vpop(v, m);
	const char *msg = reg_vstr(v, obj, n->message);
	const char *reason = reg_vstr(v, obj, "reason");
	const char *action = reg_vstr(v, obj, "action");
	const char *rc = reg_vstr(v, obj, n->controller);
	const char *ri = reg_vstr(v, obj, "reportingInstance");
	reg_vstr(v, obj, "type");
	if (new_style) {
		if (!rc || !*rc)
			reg_vreq(v, n->controller, NULL);
		else
			reg_vqualified(v, n->controller, rc);
		if (!ri || !*ri)
			reg_vreq(v, "reportingInstance", NULL);
		check_len(v, "reportingInstance", ri, 128);
		if (!action || !*action)
			reg_vreq(v, "action", NULL);
		check_len(v, "action", action, 128);
		if (!reason || !*reason)
			reg_vreq(v, "reason", NULL);
		check_len(v, "reason", reason, 128);
		check_len(v, n->message, msg, 1024);
	}
	const cJSON *series = reg_vobj(v, obj, "series");
	if (series) {
		size_t m2 = reg_vkey(v, "series");
		int64_t c;
		if (reg_vint(v, series, "count", &c) && c < 2)
			reg_vinvalid_int(v, "count", c, "should be at least 2");
		if (!reg_get(series, "lastObservedTime"))
			reg_vreq(v, "lastObservedTime", NULL);
		reg_vpop(v, m2);
	}
}

static void event_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const struct ev_names names = { "message", "involvedObject", "reportingComponent" };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	validate_common(&v, obj, &names);
	static const char *const source[] = { "component", "host", NULL };
	reg_vstrfields(&v, obj, "source", source);
	reg_vtime(&v, obj, "firstTimestamp");
	reg_vtime(&v, obj, "lastTimestamp");
	reg_vint(&v, obj, "count", &(int64_t){ 0 });
	UNUSED(old);
}

static const struct reg_column event_columns[] = {
	{ "Last Seen", "string", "", "Time since the event was last seen.", 0 },
	{ "Type", "string", "", "Normal or Warning.", 0 },
	{ "Reason", "string", "", "Short machine-readable reason for the event.", 0 },
	{ "Object", "string", "", "The object the event is about, as kind/name.", 0 },
	{ "Subobject", "string", "", "The part of the object, e.g. a container.", 1 },
	{ "Source", "string", "", "The component, and host, that reported the event.", 1 },
	{ "Message", "string", "", "What happened, in words.", 0 },
	{ "First Seen", "string", "", "Time since the event was first seen.", 1 },
	{ "Count", "string", "", "How many times the event happened.", 1 },
	{ "Name", "string", "name", "Name of the event object.", 1 },
};

static void event_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	char first[32], last[32];
	if (reg_get(obj, "firstTimestamp"))
		reg_since(reg_get(obj, "firstTimestamp"), now, first, sizeof(first));
	else
		reg_since(reg_get(obj, "eventTime"), now, first, sizeof(first));
	if (reg_get(obj, "lastTimestamp"))
		reg_since(reg_get(obj, "lastTimestamp"), now, last, sizeof(last));
	else
		snprintf(last, sizeof(last), "%s", first);
	int64_t count = reg_at_int(obj, "count", 0);
	const cJSON *series = reg_at_obj(obj, "series");
	if (series) {
		reg_since(reg_get(series, "lastObservedTime"), now, last, sizeof(last));
		count = reg_at_int(series, "count", 0);
	} else if (count == 0) {
		count = 1; /* singleton events of the new API carry no count */
	}
	const cJSON *io = reg_at_obj(obj, "involvedObject");
	char kind[128];
	snprintf(kind, sizeof(kind), "%s", reg_at_strz(io, "kind"));
	for (char *p = kind; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	const char *name = reg_at_strz(io, "name");
	const char *comp = reg_at_strz(obj, "source.component");
	const char *host = reg_at_strz(obj, "source.host");
	if (!*comp)
		comp = reg_at_strz(obj, "reportingComponent");
	if (!*host)
		host = reg_at_strz(obj, "reportingInstance");
	/* Message without surrounding whitespace. */
	const char *msg = reg_at_strz(obj, "message");
	while (*msg == ' ' || *msg == '\t' || *msg == '\n' || *msg == '\r')
		msg++;
	size_t ml = strlen(msg);
	while (ml && (msg[ml - 1] == ' ' || msg[ml - 1] == '\t' || msg[ml - 1] == '\n' ||
	              msg[ml - 1] == '\r'))
		ml--;
	char *trimmed = xstrndup(msg, ml);

	reg_cell_str(cells, last);
	reg_cell_str(cells, reg_at_strz(obj, "type"));
	reg_cell_str(cells, reg_at_strz(obj, "reason"));
	if (*name)
		reg_cell_fmt(cells, "%s/%s", kind, name);
	else
		reg_cell_str(cells, kind);
	reg_cell_str(cells, reg_at_strz(io, "fieldPath"));
	if (*host)
		reg_cell_fmt(cells, "%s, %s", comp, host);
	else
		reg_cell_str(cells, comp);
	reg_cell_str(cells, trimmed);
	reg_cell_str(cells, first);
	reg_cell_int(cells, count);
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	free(trimmed);
}

static const char *const regarding_fields[] = { "kind",       "namespace",       "name",     "uid",
	                                        "apiVersion", "resourceVersion", "fieldPath" };

static bool event_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	if (str_has_prefix(field, "involvedObject.")) {
		const char *f = field + strlen("involvedObject.");
		for (size_t i = 0; i < ARRAY_SIZE(regarding_fields); i++)
			if (!strcmp(f, regarding_fields[i]))
				return reg_field_out(out, outlen,
				                     reg_at_str(reg_at(obj, "involvedObject"), f));
		return false;
	}
	if (!strcmp(field, "reason") || !strcmp(field, "type") ||
	    !strcmp(field, "reportingComponent"))
		return reg_field_out(out, outlen, reg_at_str(obj, field));
	/* Events made through events.k8s.io have no source but a reporting controller. */
	if (!strcmp(field, "source")) {
		const char *s = reg_at_str(obj, "source.component");
		return reg_field_out(out, outlen,
		                     s && *s ? s : reg_at_str(obj, "reportingComponent"));
	}
	return false;
}

const struct reg_kind reg_kind_events = {
	.group = "",
	.version = "v1",
	.resource = "events",
	.kind = "Event",
	.list_kind = "EventList",
	.singular = "event",
	.short_names = "ev",
	.categories = "",
	.namespaced = true,
	.storage = "core/events",
	.defaults = event_defaults,
	.validate = event_validate,
	.columns = event_columns,
	.ncolumns = ARRAY_SIZE(event_columns),
	.row = event_row,
	.field = event_field,
};

/* --- events.k8s.io/v1 ----------------------------------------------------------------------- */

static void event_v1_defaults(cJSON *obj)
{
	if (cJSON_IsObject(obj) && !cJSON_GetObjectItemCaseSensitive(obj, "eventTime"))
		cJSON_AddNullToObject(obj, "eventTime");
}

static void event_v1_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const struct ev_names names = { "note", "regarding", "reportingController" };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	if (!old) {
		if (!reg_get(obj, "eventTime"))
			reg_vreq(&v, "eventTime", NULL);
		const char *type = reg_vstr(&v, obj, "type");
		if (!type || (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0))
			reg_vinvalid_str(&v, "type", type ? type : "", "must be Normal or Warning");
		static const char *const unset[] = { "deprecatedFirstTimestamp",
			                             "deprecatedLastTimestamp" };
		for (size_t i = 0; i < ARRAY_SIZE(unset); i++)
			if (reg_get(obj, unset[i]))
				reg_vinvalid(&v, unset[i], reg_get(obj, unset[i]),
				             "needs to be unset");
		if (reg_at_int(obj, "deprecatedCount", 0) != 0)
			reg_vinvalid(&v, "deprecatedCount", reg_get(obj, "deprecatedCount"),
			             "needs to be unset");
		static const char *const source[] = { "component", "host", NULL };
		reg_vstrfields(&v, obj, "deprecatedSource", source);
		if (*reg_at_strz(obj, "deprecatedSource.component") ||
		    *reg_at_strz(obj, "deprecatedSource.host"))
			reg_vinvalid(&v, "deprecatedSource", reg_get(obj, "deprecatedSource"),
			             "needs to be unset");
		validate_common(&v, obj, &names);
		return;
	}
	static const char *const fixed[] = {
		"regarding",        "reason", "note",    "type",
		"eventTime",        "action", "related", "reportingController",
		"reportingInstance"
	};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		reg_vimmutable(&v, obj, old, fixed[i]);
	validate_common(&v, obj, &names);
}

static void event_v1_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	/* The row is the core one; the object is of this kind whatever its apiVersion says. */
	cJSON *core = cJSON_Duplicate(obj, true);
	to_core(core);
	event_row(core, now, cells);
	cJSON_Delete(core);
}

/* events.k8s.io names for the same selectable fields; reads either form, so that the engine may
 * filter before or after from_storage. */
static bool event_v1_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	const cJSON *reg = reg_at(obj, "regarding");
	if (!reg)
		reg = reg_at(obj, "involvedObject");
	if (str_has_prefix(field, "regarding.")) {
		const char *f = field + strlen("regarding.");
		for (size_t i = 0; i < ARRAY_SIZE(regarding_fields); i++)
			if (!strcmp(f, regarding_fields[i]))
				return reg_field_out(out, outlen, reg_at_str(reg, f));
		return false;
	}
	if (!strcmp(field, "reason") || !strcmp(field, "type"))
		return reg_field_out(out, outlen, reg_at_str(obj, field));
	if (!strcmp(field, "reportingController")) {
		const char *s = reg_at_str(obj, "reportingController");
		return reg_field_out(out, outlen, s ? s : reg_at_str(obj, "reportingComponent"));
	}
	return false;
}

const struct reg_kind reg_kind_events_v1 = {
	.group = "events.k8s.io",
	.version = "v1",
	.resource = "events",
	.kind = "Event",
	.list_kind = "EventList",
	.singular = "event",
	.short_names = "ev",
	.categories = "",
	.namespaced = true,
	.storage = "core/events",
	.defaults = event_v1_defaults,
	.validate = event_v1_validate,
	.columns = event_columns,
	.ncolumns = ARRAY_SIZE(event_columns),
	.row = event_v1_row,
	.field = event_v1_field,
	.to_storage = reg_event_to_core,
	.from_storage = reg_event_from_core,
};
