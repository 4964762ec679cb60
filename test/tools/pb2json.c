/* pb2json: a Kubernetes protobuf body (file or stdin) as the JSON core/schema decodes it to. */
#include <stdio.h>

#include "core/obj/obj.h"
#include "core/schema/schema.h"
#include "core/util/util.h"

int main(int argc, char **argv)
{
	struct buf in = { 0 };
	FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
	char chunk[4096];
	size_t n;
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&in, chunk, n);
	cJSON *obj = NULL;
	struct err e = { 0 };
	if (schema_from_protobuf(in.data, in.len, NULL, NULL, &obj, &e) < 0) {
		fprintf(stderr, "pb2json: %s\n", e.msg);
		return 1;
	}
	char *s = obj_print(obj, OBJ_PRINT_INDENT);
	puts(s);
	free(s);
	cJSON_Delete(obj);
	buf_free(&in);
	if (f != stdin)
		fclose(f);
	return 0;
}
