/* lease: the coordination.k8s.io Lease strategy (node heartbeats, leader election). */
#include <string.h>

#include "core/registry/registry-internal.h"

static void lease_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	reg_vkey(&v, "spec");
	int64_t d;
	if (reg_vint(&v, spec, "leaseDurationSeconds", &d) && d <= 0)
		reg_vinvalid_int(&v, "leaseDurationSeconds", d, "must be greater than 0");
	reg_vnonneg(&v, spec, "leaseTransitions", NULL);
	reg_vstr(&v, spec, "holderIdentity");
	static const char *const times[] = { "acquireTime", "renewTime" };
	for (size_t i = 0; i < ARRAY_SIZE(times); i++)
		reg_vtime(&v, spec, times[i]);
	const char *pref = reg_vstr(&v, spec, "preferredHolder");
	if (pref && *pref && !reg_get(spec, "strategy"))
		reg_vforbidden(&v, "preferredHolder",
		               "may only be specified if `strategy` is defined");
	UNUSED(old);
}

static const struct reg_column lease_columns[] = {
	{ "Name", "string", "name", "Name of the lease.", 0 },
	{ "Holder", "string", "", "Identity of the current holder.", 0 },
	{ "Age", "string", "", "Time since the lease was created.", 0 },
};

static void lease_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, reg_at_strz(obj, "spec.holderIdentity"));
	reg_cell_age(cells, obj, now);
}

const struct reg_kind reg_kind_leases = {
	.group = "coordination.k8s.io",
	.version = "v1",
	.resource = "leases",
	.kind = "Lease",
	.list_kind = "LeaseList",
	.singular = "lease",
	.short_names = "",
	.categories = "",
	.namespaced = true,
	.storage = "coordination.k8s.io/leases",
	.validate = lease_validate,
	.columns = lease_columns,
	.ncolumns = ARRAY_SIZE(lease_columns),
	.row = lease_row,
};
