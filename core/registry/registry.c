/* registry: the table of served kinds in discovery order, and lookups into it. */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

/*
 * Discovery order: the core group first, then groups by upstream's priority (apps,
 * events.k8s.io, batch, certificates, rbac, coordination, discovery); resources alphabetical
 * within a group, as /api/v1 and /apis/<group>/<version> list them.
 */
const struct reg_kind *const reg_kinds[] = {
	&reg_kind_configmaps,
	&reg_kind_endpoints,
	&reg_kind_events,
	&reg_kind_limitranges,
	&reg_kind_namespaces,
	&reg_kind_nodes,
	&reg_kind_persistentvolumeclaims,
	&reg_kind_pods,
	&reg_kind_resourcequotas,
	&reg_kind_secrets,
	&reg_kind_serviceaccounts,
	&reg_kind_services,
	&reg_kind_controllerrevisions,
	&reg_kind_daemonsets,
	&reg_kind_deployments,
	&reg_kind_replicasets,
	&reg_kind_statefulsets,
	&reg_kind_events_v1,
	&reg_kind_cronjobs,
	&reg_kind_jobs,
	&reg_kind_certificatesigningrequests,
	&reg_kind_clusterrolebindings,
	&reg_kind_clusterroles,
	&reg_kind_rolebindings,
	&reg_kind_roles,
	&reg_kind_leases,
	&reg_kind_endpointslices,
	NULL,
};
const size_t reg_nkinds = ARRAY_SIZE(reg_kinds) - 1;

const struct reg_kind *reg_lookup(const char *group, const char *version, const char *resource)
{
	for (size_t i = 0; i < reg_nkinds; i++) {
		const struct reg_kind *k = reg_kinds[i];
		if (!strcmp(k->group, group) && !strcmp(k->version, version) &&
		    !strcmp(k->resource, resource))
			return k;
	}
	return NULL;
}

const struct reg_kind *reg_lookup_kind(const char *api_version, const char *kind)
{
	char av[128];
	for (size_t i = 0; i < reg_nkinds; i++) {
		const struct reg_kind *k = reg_kinds[i];
		if (strcmp(k->kind, kind) != 0)
			continue;
		reg_api_version(k, av, sizeof(av));
		if (!strcmp(av, api_version))
			return k;
	}
	return NULL;
}

void reg_api_version(const struct reg_kind *k, char *out, size_t outlen)
{
	if (*k->group)
		snprintf(out, outlen, "%s/%s", k->group, k->version);
	else
		snprintf(out, outlen, "%s", k->version);
}

/* What the API server prints for a kind without a printer of its own. */
const struct reg_column reg_default_columns[2] = {
	{ "Name", "string", "name", "Name of the object, unique in its scope.", 0 },
	{ "Created At", "date", "", "When the object was created.", 0 },
};

void reg_default_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	UNUSED(now);
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	/* Upstream reprints the time in UTC seconds; a missing one prints as Go's zero time. */
	int64_t t;
	char buf[32];
	if (reg_parse_time(reg_at_str(obj, "metadata.creationTimestamp"), &t))
		time_rfc3339(buf, t);
	else
		snprintf(buf, sizeof(buf), "0001-01-01T00:00:00Z");
	reg_cell_str(cells, buf);
}
