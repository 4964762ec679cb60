/* registry-internal: helpers shared by the strategy files (JSON access, causes, cells, quantities). */
#ifndef TUG_REGISTRY_INTERNAL_H
#define TUG_REGISTRY_INTERNAL_H

#include <stdarg.h>

#include "core/obj/obj.h"
#include "core/registry/registry.h"
#include "core/util/util.h"

/*
 * Reading JSON. Every getter tolerates a NULL or wrongly typed container and answers "absent";
 * strategies read user input, and a string where an object belongs must never crash us.
 * A JSON null counts as absent, as Go's decoder leaves the field unset.
 */
const cJSON *reg_get(const cJSON *o, const char *key);
/* Dotted path of object keys: "spec.template.spec". */
const cJSON *reg_at(const cJSON *o, const char *path);
const char *reg_at_str(const cJSON *o, const char *path);
/* The member named key exactly (label and annotation keys have dots), when it is a string. */
const char *reg_get_str(const cJSON *o, const char *key);
/* The string, or "" when absent or not a string. */
const char *reg_at_strz(const cJSON *o, const char *path);
int64_t reg_at_int(const cJSON *o, const char *path, int64_t dflt);
bool reg_at_bool(const cJSON *o, const char *path, bool dflt);
const cJSON *reg_at_arr(const cJSON *o, const char *path);
const cJSON *reg_at_obj(const cJSON *o, const char *path);
/* Number of members of an array or object; 0 for anything else. */
int reg_count(const cJSON *o);
/* True for an integral JSON number that fits in int64. */
bool reg_json_int(const cJSON *item, int64_t *out);

/*
 * Writing defaults. Each does nothing when o is not an object or the member has a non-null value
 * of any type: a wrong type is validation's to report, not ours to overwrite.
 */
/* The object member key, created when absent or null (if create); NULL when it is not an object. */
cJSON *reg_obj(cJSON *o, const char *key, bool create);
void reg_set(cJSON *o, const char *key, cJSON *item);
/* Sets a string when absent, null or "" (Go's zero value is "unset" for plain strings). */
void reg_def_str(cJSON *o, const char *key, const char *val);
/* Sets a number when absent or null (pointer fields: an explicit 0 is kept). */
void reg_def_int(cJSON *o, const char *key, int64_t val);
/* Sets a number when absent, null or 0 (plain int fields, where 0 means unset). */
void reg_def_int0(cJSON *o, const char *key, int64_t val);
void reg_def_bool(cJSON *o, const char *key, bool val);
/* Adds an empty object when absent or null (Go prints such struct fields as {}). */
void reg_def_obj(cJSON *o, const char *key);
/* Replaces status with {} (create ignores a client's status, as upstream's strategies do);
 * returns the new status object. */
cJSON *reg_reset_status(cJSON *obj);

/*
 * Validation context: the causes and the field path being checked. Paths are built in place with
 * push/pop so that nested validators need no allocation.
 */
struct reg_vctx {
	struct reg_errors *errs;
	size_t len;
	char path[256];
};
void reg_vinit(struct reg_vctx *v, struct reg_errors *errs, const char *root);
/* Appends ".key" (or "key" at the root), "[i]" or "[key]"; returns the mark for reg_vpop. */
size_t reg_vkey(struct reg_vctx *v, const char *key);
size_t reg_vidx(struct reg_vctx *v, int i);
size_t reg_vmap(struct reg_vctx *v, const char *key);
void reg_vpop(struct reg_vctx *v, size_t mark);

/* Causes at the current path, or at its child key when key is non-NULL. detail may be NULL. */
void reg_vreq(struct reg_vctx *v, const char *key, const char *detail);
void reg_vinvalid(struct reg_vctx *v, const char *key, const cJSON *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void reg_vinvalid_str(struct reg_vctx *v, const char *key, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void reg_vinvalid_int(struct reg_vctx *v, const char *key, int64_t value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* supported is NULL-terminated, in the order upstream lists it. */
void reg_vunsupported(struct reg_vctx *v, const char *key, const char *value,
                      const char *const *supported);
void reg_vduplicate(struct reg_vctx *v, const char *key, const cJSON *value);
void reg_vforbidden(struct reg_vctx *v, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reg_vtoolong(struct reg_vctx *v, const char *key, int max);

/*
 * Typed getters for validation: the member when present with the right type; NULL/false when
 * absent; a FieldValueInvalid cause (and NULL/false) when present with the wrong type.
 */
const char *reg_vstr(struct reg_vctx *v, const cJSON *o, const char *key);
/* A string that must not be empty: Required when absent or "", else as reg_vstr. NULL unless a
 * non-empty string. */
const char *reg_vstr_req(struct reg_vctx *v, const cJSON *o, const char *key);
/* True when the member is absent, null or "": what Required means for a string. */
bool reg_vmissing(const cJSON *o, const char *key);
bool reg_vint(struct reg_vctx *v, const cJSON *o, const char *key, int64_t *out);
/* -1 absent (or wrong type, reported), else 0/1. */
int reg_vbool(struct reg_vctx *v, const cJSON *o, const char *key);
const cJSON *reg_vobj(struct reg_vctx *v, const cJSON *o, const char *key);
const cJSON *reg_varr(struct reg_vctx *v, const cJSON *o, const char *key);
/* A list whose items must all be strings (commands, verbs); reports the others. */
const cJSON *reg_vstrlist(struct reg_vctx *v, const cJSON *o, const char *key);
/* An object at key whose members named in fields (NULL-terminated) must be strings. */
const cJSON *reg_vstrfields(struct reg_vctx *v, const cJSON *o, const char *key,
                            const char *const *fields);
/* The members of an ObjectReference (involvedObject, regarding, targetRef). */
extern const char *const reg_ref_fields[];
/* An RFC 3339 time (metav1.Time or MicroTime) when present; true when present and valid. */
bool reg_vtime(struct reg_vctx *v, const cJSON *o, const char *key);
/* An object whose values must all be strings (labels, selectors, data); reports others. */
const cJSON *reg_vstrmap(struct reg_vctx *v, const cJSON *o, const char *key);
/* Field must be >= 0 / > 0 when present. Returns the value in *out when it was an integer. */
bool reg_vnonneg(struct reg_vctx *v, const cJSON *o, const char *key, int64_t *out);
bool reg_vpositive(struct reg_vctx *v, const cJSON *o, const char *key, int64_t *out);
/* Enum check of an optional string member; returns the value when present. */
const char *reg_venum(struct reg_vctx *v, const cJSON *o, const char *key, bool required,
                      const char *const *supported);
/* Old and new differ at key: "field is immutable". */
void reg_vimmutable(struct reg_vctx *v, const cJSON *o, const cJSON *old, const char *key);
bool reg_json_equal(const cJSON *a, const cJSON *b);

/* Name rules core/obj does not have (config map keys, RBAC path segments). Each returns NULL
 * when valid, else a description of the rule that was broken. DNS names, qualified names and
 * label values are core/obj's obj_validate_*. */
const char *reg_check_config_key(const char *s);
const char *reg_check_path_segment(const char *s);
/* IANA service name rules can break several ways at once; calls report() for each. */
void reg_check_port_name(struct reg_vctx *v, const char *key, const char *name);
bool reg_is_ip(const char *s);
bool reg_is_cidr(const char *s);

/* Field checks shared by kinds: an Invalid cause with the rule's message when s breaks it. */
bool reg_vrule(struct reg_vctx *v, const char *key, const char *s,
               int (*rule)(const char *s, struct err *e));
void reg_vdns_label(struct reg_vctx *v, const char *key, const char *s);
void reg_vdns_subdomain(struct reg_vctx *v, const char *key, const char *s);
void reg_vqualified(struct reg_vctx *v, const char *key, const char *s);
void reg_vlabel_value(struct reg_vctx *v, const char *key, const char *s);
void reg_vlabels(struct reg_vctx *v, const cJSON *o, const char *key);
void reg_vport(struct reg_vctx *v, const cJSON *o, const char *key, bool required);
/* metav1.LabelSelector at key: labels, expressions and their operators. */
void reg_vselector(struct reg_vctx *v, const cJSON *o, const char *key);
/* The same for a selector that is itself the current path (list elements). */
void reg_vselector_obj(struct reg_vctx *v, const cJSON *sel);
bool reg_selector_empty(const cJSON *sel);
bool reg_selector_matches(const cJSON *sel, const cJSON *labels);
/* labels.FormatLabels: "a=b,c=d" sorted by key, "<none>" when empty. */
void reg_format_labels(const cJSON *map, struct buf *b);
/* metav1.FormatLabelSelector: the selector string, "<none>" when it selects everything/nothing. */
void reg_format_selector(const cJSON *sel, struct buf *b);

/* Pod specs, shared by pods and every pod template. */
enum reg_podspec_use {
	REG_POD,             /* a Pod */
	REG_TEMPLATE_ALWAYS, /* deployments, replicasets, daemonsets, statefulsets */
	REG_TEMPLATE_JOB,    /* jobs and cronjob job templates */
};
void reg_podspec_defaults(cJSON *spec, bool is_pod);
void reg_template_defaults(cJSON *tmpl);
void reg_podspec_validate(struct reg_vctx *v, const cJSON *spec, enum reg_podspec_use use);
/* A PodTemplateSpec at key: labels, then spec. */
/* The labels of spec.template, for the selector check: false when template, its metadata or
 * the labels have a wrong type (reported already), else *labels (NULL when there are none). */
bool reg_template_labels(const cJSON *spec, const cJSON **labels);
void reg_template_validate(struct reg_vctx *v, const cJSON *o, const char *key,
                           enum reg_podspec_use use);
/* Canonical quantities in a resource list, rounded up to milli units (SetDefaults_ResourceList). */
void reg_resource_list_defaults(cJSON *list);
void reg_vresource_list(struct reg_vctx *v, const cJSON *o, const char *key);

/* The kinds, one per strategy file row (registry.c orders them for discovery). */
extern const struct reg_kind reg_kind_namespaces, reg_kind_nodes, reg_kind_pods, reg_kind_services,
    reg_kind_endpoints, reg_kind_configmaps, reg_kind_secrets, reg_kind_events,
    reg_kind_serviceaccounts, reg_kind_resourcequotas, reg_kind_limitranges,
    reg_kind_persistentvolumeclaims, reg_kind_deployments, reg_kind_replicasets,
    reg_kind_statefulsets, reg_kind_daemonsets, reg_kind_controllerrevisions, reg_kind_jobs,
    reg_kind_cronjobs, reg_kind_leases, reg_kind_endpointslices, reg_kind_events_v1, reg_kind_roles,
    reg_kind_rolebindings, reg_kind_clusterroles, reg_kind_clusterrolebindings,
    reg_kind_certificatesigningrequests;

/* The table kinds without a printer of their own get: Name and Created At. */
extern const struct reg_column reg_default_columns[2];
void reg_default_row(const cJSON *obj, int64_t now, cJSON *cells);

/* Cells. */
void reg_cell_str(cJSON *cells, const char *s);
void reg_cell_fmt(cJSON *cells, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reg_cell_int(cJSON *cells, int64_t v);
void reg_cell_age(cJSON *cells, const cJSON *obj, int64_t now);
/* Containers and Images columns of a pod spec, comma-joined. */
void reg_cell_containers(cJSON *cells, const cJSON *podspec);
void reg_cell_buf(cJSON *cells, struct buf *b);

/* Time. */
/* Parses RFC 3339 (optional fraction and offset) into unix seconds; false when invalid. */
bool reg_parse_time(const char *s, int64_t *out);
/* duration.HumanDuration of a number of seconds. */
void reg_human_duration(int64_t seconds, char *out, size_t outlen);
/* translateTimestampSince: "<unknown>" for a missing timestamp. */
void reg_since(const cJSON *timestamp, int64_t now, char *out, size_t outlen);

/* Field selector helpers. */
bool reg_field_out(char *out, size_t outlen, const char *val);
bool reg_field_int(char *out, size_t outlen, int64_t val);

/* base64 (standard alphabet). Decode returns a new buffer (caller frees) or NULL. */
char *reg_base64_encode(const unsigned char *p, size_t n);
unsigned char *reg_base64_decode(const char *s, size_t *outlen);

/* Quantities are core/obj's (qty_*): a string or a JSON number, NULL-safe; false when item is
 * not a quantity. */
bool reg_qty(const cJSON *item, struct qty *q);
/* Rounds the magnitude up to whole thousandths, as upstream's defaulting of resource lists. */
void reg_qty_round_milli(struct qty *q);

#endif
