/* schema_dump: writes the OpenAPI documents of core/schema into a directory, for the kubectl
 * check in test/e2e/schema.sh: v2.json, v2.pb, v3.json (the index) and v3/<group-version>.json. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#ifdef CONFIG_TUG_CONTROL_PLANE
#include "core/schema/schema.h"
#include "core/util/util.h"

static int put(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdir_p(path, 0755) < 0)
		return -1;
	*slash = '/';
	if (!text || write_file_atomic(path, text, len, 0644) < 0) {
		fprintf(stderr, "schema_dump: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: schema_dump <dir>\n");
		return 2;
	}
	size_t len = 0, n = 0;
	const char *text = schema_openapi_v2(&len);
	if (put(argv[1], "v2.json", text, len) < 0)
		return 1;
	text = schema_openapi_v2_pb(&len);
	if (put(argv[1], "v2.pb", text, len) < 0)
		return 1;
	text = schema_openapi_v3_index(&len);
	if (put(argv[1], "v3.json", text, len) < 0)
		return 1;
	const char *const *gvs = schema_group_versions(&n);
	for (size_t i = 0; i < n; i++) {
		char name[256];
		snprintf(name, sizeof(name), "v3/%s.json", gvs[i]);
		text = schema_openapi_v3(gvs[i], &len);
		if (put(argv[1], name, text, len) < 0)
			return 1;
	}
	return 0;
}
#else
int main(void)
{
	fprintf(stderr, "schema_dump: built without the control plane\n");
	return 77;
}
#endif
