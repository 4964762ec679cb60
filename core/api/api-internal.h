/* api internals shared by its files. */
#ifndef TUG_API_INTERNAL_H
#define TUG_API_INTERNAL_H

#include "core/api/api.h"

struct api {
	struct store *store;
	struct loop *loop;
	uint32_t svc_net, svc_mask; /* IPv4 service range, host order */
	int np_min, np_max;
	char *advertise_ip;
	int https_port;
	api_pod_log_fn pod_log; /* the kubelet's pods/log, when this process runs one */
	void *pod_log_arg;
	char *admin_token;
	int writes; /* writes in flight: api_free lets them finish */
};

/* Stored form: canonical JSON without metadata.resourceVersion, apiVersion, kind and
 * metadata first (so a list can splice revisions in without parsing). */
char *api_to_storage(cJSON *obj, size_t *len);
/* Parses a stored value and sets metadata.resourceVersion. NULL if it is not JSON. */
cJSON *api_from_storage(const char *val, size_t len, uint64_t rev);
/* The same, converted to k's served form (events.k8s.io Events are stored as core Events). */
cJSON *api_from_storage_kind(const struct reg_kind *k, const char *val, size_t len, uint64_t rev);
/* Appends the stored value with its resourceVersion to out. */
void api_splice_rv(struct buf *out, const char *val, size_t len, uint64_t rev);

/* Metadata helpers. */
void api_new_uid(char out[37]);
void api_now(char out[32]);
void api_random_suffix(char out[6]);
cJSON *api_meta(cJSON *obj); /* metadata object, created if missing */
const char *api_str(const cJSON *obj, const char *name);
bool api_valid_name(const char *s, bool label);
/* Validates metadata (name, namespace, labels, annotations, generateName) into errs. */
void api_validate_meta(const struct reg_kind *k, const cJSON *obj, struct reg_errors *errs);

/* Admission on create/update, after defaults: allocations, namespace lifecycle. */
int api_admit(struct api *a, const struct reg_kind *k, cJSON *obj, const cJSON *old,
              struct store_op *extra, size_t *nextra, char **owned, struct api_status *st);
/* Releases what a deleted object held (ClusterIPs, node ports) as extra ops. */
void api_release(struct api *a, const struct reg_kind *k, const cJSON *obj, struct store_op *extra,
                 size_t *nextra, char **owned);

#define API_MAX_EXTRA 16

#endif
