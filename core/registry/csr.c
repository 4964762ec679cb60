/* csr: the certificates.k8s.io CertificateSigningRequest strategy (requests, approval, status). */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

static const char *const usages[] = { "signing",
	                              "digital signature",
	                              "content commitment",
	                              "key encipherment",
	                              "key agreement",
	                              "data encipherment",
	                              "cert sign",
	                              "crl sign",
	                              "encipher only",
	                              "decipher only",
	                              "any",
	                              "server auth",
	                              "client auth",
	                              "code signing",
	                              "email protection",
	                              "s/mime",
	                              "ipsec end system",
	                              "ipsec tunnel",
	                              "ipsec user",
	                              "timestamping",
	                              "ocsp signing",
	                              "microsoft sgc",
	                              "netscape sgc",
	                              NULL };

static void csr_prepare_create(cJSON *obj)
{
	/* Nobody creates a pre-approved request. */
	reg_reset_status(obj);
}

/* The spec says who asked, and only the API server may write that. */
static void csr_set_requestor(cJSON *obj, const struct reg_user *user)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec || !user)
		return;
	reg_set(spec, "username", cJSON_CreateString(user->name ? user->name : ""));
	if (user->uid && *user->uid)
		reg_set(spec, "uid", cJSON_CreateString(user->uid));
	else
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "uid");
	cJSON *groups = cJSON_CreateArray();
	for (size_t i = 0; i < user->ngroups; i++)
		cJSON_AddItemToArray(groups, cJSON_CreateString(user->groups[i]));
	reg_set(spec, "groups", groups);
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "extra");
}

/* Updates through the main resource change metadata only. */
static void csr_prepare_update(cJSON *obj, const cJSON *old)
{
	const cJSON *spec = reg_get(old, "spec");
	if (spec && cJSON_IsObject(obj))
		reg_set(obj, "spec", cJSON_Duplicate(spec, true));
}

static bool pem_contains(const char *b64, const char *type)
{
	size_t n = 0;
	unsigned char *raw = reg_base64_decode(b64, &n);
	if (!raw)
		return false;
	char begin[64];
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", type);
	bool ok = strstr((char *)raw, begin) != NULL;
	free(raw);
	return ok;
}

static void csr_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	reg_vkey(&v, "spec");
	const char *req = reg_vstr_req(&v, spec, "request");
	if (req && !pem_contains(req, "CERTIFICATE REQUEST"))
		reg_vinvalid(&v, "request", NULL, "PEM block type must be CERTIFICATE REQUEST");
	const char *signer = reg_vstr_req(&v, spec, "signerName");
	if (signer && (!strchr(signer, '/') || obj_validate_qualified_name(signer, NULL)))
		reg_vinvalid_str(&v, "signerName", signer,
		                 "must be a fully qualified domain and path of the form "
		                 "'example.com/signer-name'");
	const cJSON *us = reg_varr(&v, spec, "usages"), *u;
	if (reg_count(us) == 0 && (!reg_get(spec, "usages") || us))
		reg_vreq(&v, "usages", NULL);
	int i = 0;
	cJSON_ArrayForEach(u, us)
	{
		size_t m = reg_vkey(&v, "usages");
		reg_vidx(&v, i++);
		bool ok = false;
		for (int k = 0; cJSON_IsString(u) && usages[k]; k++)
			ok |= !strcmp(u->valuestring, usages[k]);
		if (!ok)
			reg_vunsupported(&v, NULL, cJSON_IsString(u) ? u->valuestring : "", usages);
		reg_vpop(&v, m);
	}
	int64_t secs;
	if (reg_vint(&v, spec, "expirationSeconds", &secs) && secs < 600)
		reg_vinvalid_int(&v, "expirationSeconds", secs,
		                 "may not specify a duration less than 600 seconds (10 minutes)");
	UNUSED(old);
}

/* Status and approval: conditions well formed, never both approved and denied. */
static void csr_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const statuses[] = { "False", "True", "Unknown", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, "status");
	const cJSON *st = reg_at_obj(obj, "status");
	const cJSON *conds = reg_varr(&v, st, "conditions"), *c;
	bool approved = false, denied = false;
	int i = 0;
	cJSON_ArrayForEach(c, conds)
	{
		size_t m = reg_vkey(&v, "conditions");
		reg_vidx(&v, i);
		const char *type = reg_vstr_req(&v, c, "type");
		if (type) {
			if (!strcmp(type, "Approved")) {
				approved = true;
				if (denied)
					reg_vinvalid_str(&v, "type", type,
					                 "Approved and Denied conditions are "
					                 "mutually exclusive");
			} else if (!strcmp(type, "Denied")) {
				denied = true;
				if (approved)
					reg_vinvalid_str(&v, "type", type,
					                 "Approved and Denied conditions are "
					                 "mutually exclusive");
			}
			const cJSON *o;
			int j = 0;
			cJSON_ArrayForEach(o, conds)
			{
				if (j++ >= i)
					break;
				if (!strcmp(reg_at_strz(o, "type"), type)) {
					reg_vduplicate(&v, "type", reg_get(c, "type"));
					break;
				}
			}
		}
		reg_venum(&v, c, "status", true, statuses);
		reg_vpop(&v, m);
		i++;
	}
	const char *cert = reg_vstr(&v, st, "certificate");
	if (cert && *cert && !pem_contains(cert, "CERTIFICATE"))
		reg_vinvalid(&v, "certificate", NULL,
		             "must contain at least one CERTIFICATE PEM block");
	UNUSED(old);
}

static const struct reg_column csr_columns[] = {
	{ "Name", "string", "name", "Name of the request.", 0 },
	{ "Age", "string", "", "Time since the request was made.", 0 },
	{ "SignerName", "string", "", "The signer asked to issue the certificate.", 0 },
	{ "Requestor", "string", "", "The user who made the request.", 0 },
	{ "RequestedDuration", "string", "", "Validity asked for, if any.", 0 },
	{ "Condition", "string", "", "Pending, Approved or Denied, and Failed or Issued.", 0 },
};

static void csr_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	bool approved = false, denied = false, failed = false;
	const cJSON *c;
	cJSON_ArrayForEach(c, reg_at_arr(obj, "status.conditions"))
	{
		const char *t = reg_at_strz(c, "type");
		approved |= !strcmp(t, "Approved");
		denied |= !strcmp(t, "Denied");
		failed |= !strcmp(t, "Failed");
	}
	char cond[64];
	snprintf(cond, sizeof(cond), "%s%s%s",
	         denied     ? "Denied"
	         : approved ? "Approved"
	                    : "Pending",
	         failed ? ",Failed" : "", *reg_at_strz(obj, "status.certificate") ? ",Issued" : "");
	const char *signer = reg_at_strz(obj, "spec.signerName");
	char dur[32] = "<none>";
	int64_t secs;
	if (reg_json_int(reg_at(obj, "spec.expirationSeconds"), &secs))
		reg_human_duration(secs, dur, sizeof(dur));
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_age(cells, obj, now);
	reg_cell_str(cells, *signer ? signer : "<none>");
	reg_cell_str(cells, reg_at_strz(obj, "spec.username"));
	reg_cell_str(cells, dur);
	reg_cell_str(cells, cond);
}

static bool csr_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	if (!strcmp(field, "spec.signerName"))
		return reg_field_out(out, outlen, reg_at_str(obj, "spec.signerName"));
	return false;
}

const struct reg_kind reg_kind_certificatesigningrequests = {
	.group = "certificates.k8s.io",
	.version = "v1",
	.resource = "certificatesigningrequests",
	.kind = "CertificateSigningRequest",
	.list_kind = "CertificateSigningRequestList",
	.singular = "certificatesigningrequest",
	.short_names = "csr",
	.categories = "",
	.namespaced = false,
	.subresources = REG_SUB_STATUS | REG_SUB_APPROVAL,
	.storage = "certificates.k8s.io/certificatesigningrequests",
	.prepare_create = csr_prepare_create,
	.prepare_update = csr_prepare_update,
	.validate = csr_validate,
	.validate_status = csr_validate_status,
	.set_requestor = csr_set_requestor,
	.columns = csr_columns,
	.ncolumns = ARRAY_SIZE(csr_columns),
	.row = csr_row,
	.field = csr_field,
};
