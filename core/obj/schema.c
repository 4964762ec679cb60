/* schema: list/map semantics of built-in kinds' fields, from upstream's patch and list tags. */
#include <string.h>

#include "core/obj/obj-internal.h"

/*
 * Only what changes behaviour is described: lists that merge (strategic
 * merge patch) or have keys (server-side apply), atomic structs and maps,
 * and the struct fields leading to them. Everything else is generic: objects
 * merge key by key and lists are replaced whole, which is what upstream does
 * for untagged fields.
 */

#define FIELD(n, t)                                                                                \
	{                                                                                          \
		.name = n, .type = t                                                               \
	}
#define MAPF(n)                                                                                    \
	{                                                                                          \
		.name = n, .map = true                                                             \
	}
#define ATOMIC_MAPF(n)                                                                             \
	{                                                                                          \
		.name = n, .type = &t_atomic, .map = true                                          \
	}
/* patchStrategy=merge, patchMergeKey=k, listType=map, listMapKey=k */
#define KEYED(n, t, k)                                                                             \
	{                                                                                          \
		.name = n, .type = t, .list = SCH_LIST_MAP, .smp = SMP_MERGE, .smp_key = k,        \
		.keys = {                                                                          \
			k                                                                          \
		}                                                                                  \
	}
#define END                                                                                        \
	{                                                                                          \
		.name = NULL                                                                       \
	}

/* Any atomic struct or map: ObjectReference, LabelSelector, NodeSelector, ... */
static const struct schema_field no_fields[] = { END };
static const struct schema_type t_atomic = { "atomic", true, no_fields };

/* Conditions keyed by type, in every status that has them. */
#define CONDITIONS KEYED("conditions", NULL, "type")

/* ---- meta/v1 ------------------------------------------------------------------ */

static const struct schema_field objectmeta_fields[] = {
	MAPF("labels"),
	MAPF("annotations"),
	{ .name = "finalizers", .list = SCH_LIST_SET, .smp = SMP_MERGE },
	KEYED("ownerReferences", &t_atomic, "uid"),
	FIELD("managedFields", NULL),
	END,
};
static const struct schema_type t_objectmeta = { "ObjectMeta", false, objectmeta_fields };

/* ---- core/v1 pods ----------------------------------------------------------------- */

static const struct schema_field envvarsource_fields[] = {
	FIELD("configMapKeyRef", &t_atomic), FIELD("secretKeyRef", &t_atomic),
	FIELD("fieldRef", &t_atomic),        FIELD("resourceFieldRef", &t_atomic),
	FIELD("fileKeyRef", &t_atomic),      END,
};
static const struct schema_type t_envvarsource = { "EnvVarSource", false, envvarsource_fields };

static const struct schema_field envvar_fields[] = { FIELD("valueFrom", &t_envvarsource), END };
static const struct schema_type t_envvar = { "EnvVar", false, envvar_fields };

static const struct schema_field resources_fields[] = {
	MAPF("limits"),
	MAPF("requests"),
	{ .name = "claims", .list = SCH_LIST_MAP, .keys = { "name" } },
	END,
};
static const struct schema_type t_resources = { "ResourceRequirements", false, resources_fields };

static const struct schema_field container_fields[] = {
	{ .name = "ports",
	  .list = SCH_LIST_MAP,
	  .smp = SMP_MERGE,
	  .smp_key = "containerPort",
	  .keys = { "containerPort", "protocol" },
	  .key_defaults = { NULL, "\"TCP\"" } },
	KEYED("env", &t_envvar, "name"),
	KEYED("volumeMounts", NULL, "mountPath"),
	KEYED("volumeDevices", NULL, "devicePath"),
	FIELD("resources", &t_resources),
	END,
};
static const struct schema_type t_container = { "Container", false, container_fields };

static const struct schema_field volume_fields[] = { END };
static const struct schema_type t_volume = { "Volume", false, volume_fields };

static const struct schema_field nodeaffinity_fields[] = {
	FIELD("requiredDuringSchedulingIgnoredDuringExecution", &t_atomic),
	END,
};
static const struct schema_type t_nodeaffinity = { "NodeAffinity", false, nodeaffinity_fields };
static const struct schema_field affinity_fields[] = { FIELD("nodeAffinity", &t_nodeaffinity),
	                                               END };
static const struct schema_type t_affinity = { "Affinity", false, affinity_fields };

static const struct schema_field spreadconstraint_fields[] = { FIELD("labelSelector", &t_atomic),
	                                                       END };
static const struct schema_type t_spreadconstraint = { "TopologySpreadConstraint", false,
	                                               spreadconstraint_fields };

static const struct schema_field podspec_fields[] = {
	{ .name = "volumes",
	  .type = &t_volume,
	  .list = SCH_LIST_MAP,
	  .smp = SMP_MERGE | SMP_RETAIN_KEYS,
	  .smp_key = "name",
	  .keys = { "name" } },
	KEYED("initContainers", &t_container, "name"),
	KEYED("containers", &t_container, "name"),
	KEYED("ephemeralContainers", &t_container, "name"),
	KEYED("imagePullSecrets", &t_atomic, "name"),
	KEYED("hostAliases", NULL, "ip"),
	{ .name = "topologySpreadConstraints",
	  .type = &t_spreadconstraint,
	  .list = SCH_LIST_MAP,
	  .smp = SMP_MERGE,
	  .smp_key = "topologyKey",
	  .keys = { "topologyKey", "whenUnsatisfiable" } },
	KEYED("schedulingGates", NULL, "name"),
	{ .name = "resourceClaims",
	  .list = SCH_LIST_MAP,
	  .smp = SMP_MERGE | SMP_RETAIN_KEYS,
	  .smp_key = "name",
	  .keys = { "name" } },
	ATOMIC_MAPF("nodeSelector"),
	FIELD("affinity", &t_affinity),
	MAPF("overhead"),
	FIELD("resources", &t_resources),
	END,
};
static const struct schema_type t_podspec = { "PodSpec", false, podspec_fields };

static const struct schema_field podstatus_fields[] = {
	CONDITIONS,
	/* hostIPs merge by ip in a strategic patch but are atomic for apply. */
	{ .name = "hostIPs", .smp = SMP_MERGE, .smp_key = "ip" },
	KEYED("podIPs", NULL, "ip"),
	{ .name = "resourceClaimStatuses",
	  .list = SCH_LIST_MAP,
	  .smp = SMP_MERGE | SMP_RETAIN_KEYS,
	  .smp_key = "name",
	  .keys = { "name" } },
	END,
};
static const struct schema_type t_podstatus = { "PodStatus", false, podstatus_fields };

static const struct schema_field pod_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_podspec),
	FIELD("status", &t_podstatus),
	END,
};
static const struct schema_type t_pod = { "Pod", false, pod_fields };

static const struct schema_field podtemplatespec_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_podspec),
	END,
};
static const struct schema_type t_podtemplatespec = { "PodTemplateSpec", false,
	                                              podtemplatespec_fields };

static const struct schema_field podtemplate_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("template", &t_podtemplatespec),
	END,
};
static const struct schema_type t_podtemplate = { "PodTemplate", false, podtemplate_fields };

/* ---- core/v1 others ------------------------------------------------------------------ */

static const struct schema_field status_conditions_fields[] = { CONDITIONS, END };
static const struct schema_type t_status_conditions = { "StatusWithConditions", false,
	                                                status_conditions_fields };

static const struct schema_field servicespec_fields[] = {
	{ .name = "ports",
	  .list = SCH_LIST_MAP,
	  .smp = SMP_MERGE,
	  .smp_key = "port",
	  .keys = { "port", "protocol" },
	  .key_defaults = { NULL, "\"TCP\"" } },
	ATOMIC_MAPF("selector"),
	END,
};
static const struct schema_type t_servicespec = { "ServiceSpec", false, servicespec_fields };
static const struct schema_field service_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_servicespec),
	FIELD("status", &t_status_conditions),
	END,
};
static const struct schema_type t_service = { "Service", false, service_fields };

static const struct schema_field nodespec_fields[] = {
	{ .name = "podCIDRs", .list = SCH_LIST_SET, .smp = SMP_MERGE },
	END,
};
static const struct schema_type t_nodespec = { "NodeSpec", false, nodespec_fields };
static const struct schema_field nodestatus_fields[] = {
	CONDITIONS, KEYED("addresses", NULL, "type"), MAPF("capacity"), MAPF("allocatable"), END,
};
static const struct schema_type t_nodestatus = { "NodeStatus", false, nodestatus_fields };
static const struct schema_field node_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_nodespec),
	FIELD("status", &t_nodestatus),
	END,
};
static const struct schema_type t_node = { "Node", false, node_fields };

static const struct schema_field with_status_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("status", &t_status_conditions),
	END,
};
/* Namespace, PersistentVolumeClaim: conditions by type in status. */
static const struct schema_type t_with_status = { "WithStatusConditions", false,
	                                          with_status_fields };

static const struct schema_field data_fields[] = {
	FIELD("metadata", &t_objectmeta), MAPF("data"), MAPF("binaryData"), MAPF("stringData"), END,
};
/* ConfigMap, Secret. */
static const struct schema_type t_data = { "WithData", false, data_fields };

static const struct schema_field serviceaccount_fields[] = {
	FIELD("metadata", &t_objectmeta),
	/* Strategic merge by name; no listType, so atomic for apply. */
	{ .name = "secrets",
	  .type = &t_atomic,
	  .list = SCH_LIST_MAP,
	  .smp = SMP_MERGE,
	  .smp_key = "name",
	  .keys = { "name" } },
	END,
};
static const struct schema_type t_serviceaccount = { "ServiceAccount", false,
	                                             serviceaccount_fields };

static const struct schema_field event_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("involvedObject", &t_atomic),
	FIELD("regarding", &t_atomic),
	FIELD("related", &t_atomic),
	END,
};
static const struct schema_type t_event = { "Event", false, event_fields };

static const struct schema_field quota_spec_fields[] = { MAPF("hard"), END };
static const struct schema_type t_quota_spec = { "ResourceQuotaSpec", false, quota_spec_fields };
static const struct schema_field quota_status_fields[] = { MAPF("hard"), MAPF("used"), END };
static const struct schema_type t_quota_status = { "ResourceQuotaStatus", false,
	                                           quota_status_fields };
static const struct schema_field quota_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_quota_spec),
	FIELD("status", &t_quota_status),
	END,
};
static const struct schema_type t_quota = { "ResourceQuota", false, quota_fields };

/* ---- apps/v1, batch/v1 --------------------------------------------------------------- */

static const struct schema_field workloadspec_fields[] = {
	FIELD("selector", &t_atomic),
	FIELD("template", &t_podtemplatespec),
	{ .name = "strategy", .smp = SMP_RETAIN_KEYS },
	END,
};
static const struct schema_type t_workloadspec = { "WorkloadSpec", false, workloadspec_fields };
static const struct schema_field workload_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_workloadspec),
	FIELD("status", &t_status_conditions),
	END,
};
/* Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController. */
static const struct schema_type t_workload = { "Workload", false, workload_fields };

static const struct schema_field jobstatus_fields[] = {
	/* Strategic merge by type, but atomic for apply. */
	{ .name = "conditions", .smp = SMP_MERGE, .smp_key = "type" },
	END,
};
static const struct schema_type t_jobstatus = { "JobStatus", false, jobstatus_fields };
static const struct schema_field jobspec_fields[] = {
	FIELD("selector", &t_atomic),
	FIELD("template", &t_podtemplatespec),
	END,
};
static const struct schema_type t_jobspec = { "JobSpec", false, jobspec_fields };
static const struct schema_field job_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_jobspec),
	FIELD("status", &t_jobstatus),
	END,
};
static const struct schema_type t_job = { "Job", false, job_fields };

static const struct schema_field jobtemplate_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_jobspec),
	END,
};
static const struct schema_type t_jobtemplate = { "JobTemplateSpec", false, jobtemplate_fields };
static const struct schema_field cronjobspec_fields[] = { FIELD("jobTemplate", &t_jobtemplate),
	                                                  END };
static const struct schema_type t_cronjobspec = { "CronJobSpec", false, cronjobspec_fields };
static const struct schema_field cronjob_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("spec", &t_cronjobspec),
	END,
};
static const struct schema_type t_cronjob = { "CronJob", false, cronjob_fields };

/* ---- others --------------------------------------------------------------------------- */

static const struct schema_field rolebinding_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("roleRef", &t_atomic),
	END,
};
static const struct schema_type t_rolebinding = { "RoleBinding", false, rolebinding_fields };

static const struct schema_field csrstatus_fields[] = {
	/* listType=map by type for apply, no patch strategy (replaced) for strategic merge. */
	{ .name = "conditions", .list = SCH_LIST_MAP, .keys = { "type" } },
	END,
};
static const struct schema_type t_csrstatus = { "CertificateSigningRequestStatus", false,
	                                        csrstatus_fields };
static const struct schema_field csr_fields[] = {
	FIELD("metadata", &t_objectmeta),
	FIELD("status", &t_csrstatus),
	END,
};
static const struct schema_type t_csr = { "CertificateSigningRequest", false, csr_fields };

static const struct schema_field generic_fields[] = { FIELD("metadata", &t_objectmeta), END };
/* Any other built-in kind: only metadata has merge semantics. */
static const struct schema_type t_generic = { "Object", false, generic_fields };

static const struct {
	const char *kind;
	const struct schema_type *type;
} kinds[] = {
	{ "Pod", &t_pod },
	{ "PodTemplate", &t_podtemplate },
	{ "Service", &t_service },
	{ "Node", &t_node },
	{ "Namespace", &t_with_status },
	{ "PersistentVolumeClaim", &t_with_status },
	{ "ConfigMap", &t_data },
	{ "Secret", &t_data },
	{ "ServiceAccount", &t_serviceaccount },
	{ "Event", &t_event },
	{ "ResourceQuota", &t_quota },
	{ "Deployment", &t_workload },
	{ "ReplicaSet", &t_workload },
	{ "StatefulSet", &t_workload },
	{ "DaemonSet", &t_workload },
	{ "ReplicationController", &t_workload },
	{ "Job", &t_job },
	{ "CronJob", &t_cronjob },
	{ "RoleBinding", &t_rolebinding },
	{ "ClusterRoleBinding", &t_rolebinding },
	{ "CertificateSigningRequest", &t_csr },
};

const struct schema_type *schema_for_kind(const char *kind)
{
	for (size_t i = 0; kind && i < ARRAY_SIZE(kinds); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].type;
	return &t_generic;
}

const struct schema_type *schema_for_object(const cJSON *obj)
{
	return schema_for_kind(obj_get_str(obj, "kind"));
}

const struct schema_field *schema_field(const struct schema_type *t, const char *name)
{
	if (!t || !name)
		return NULL;
	for (const struct schema_field *f = t->fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}
