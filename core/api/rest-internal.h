/* rest internals: discovery documents and helpers shared by the HTTP handlers. */
#ifndef TUG_REST_INTERNAL_H
#define TUG_REST_INTERNAL_H

#include "core/api/api-internal.h"

bool rest_same_gv(const struct reg_kind *k, const char *group, const char *version);
cJSON *rest_api_versions(const char *server_addr);
cJSON *rest_api_group_list(void);
cJSON *rest_api_group(const char *group);
/* NULL when the group/version is not served. */
cJSON *rest_resource_list(const char *group, const char *version);
cJSON *rest_aggregated(bool core, const char *api_version);
cJSON *rest_version(void);

/* Table (meta.k8s.io/v1) of one object or a list's items. */
cJSON *rest_table(const struct reg_kind *k, cJSON *const *objs, size_t n, const char *rv,
                  const char *cont, const char *include_object);

#endif
