/* obj_fuzz: libFuzzer target for YAML, patches, apply, selectors and quantities. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/obj/obj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of part of the input. */
static char *text(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Input: a mode byte, then the payload; two-document modes split at the first NUL. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0] % 5;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	const uint8_t *nul = memchr(p, 0, n);
	size_t n1 = nul ? (size_t)(nul - p) : n;
	char *a = text(p, n1);
	char *b = text(nul ? nul + 1 : p + n, nul ? n - n1 - 1 : 0);
	struct err e = { 0 };

	switch (mode) {
	case 0: { /* YAML in, YAML out, and what we print must read back */
		cJSON *docs = NULL;
		if (obj_yaml_parse_all(a, n1, &docs, &e) == 0) {
			for (cJSON *d = docs->child; d; d = d->next) {
				struct buf out = { 0 };
				cJSON *back = NULL;
				if (obj_yaml_print(&out, d, &e) < 0 ||
				    obj_yaml_parse(out.data, out.len, &back, &e) < 0)
					__builtin_trap();
				cJSON_Delete(back);
				buf_free(&out);
			}
			cJSON_Delete(docs);
		}
		break;
	}
	case 1:   /* patches of every kind between two JSON documents */
	case 4: { /* and server-side apply */
		cJSON *doc = NULL, *patch = NULL, *out = NULL;
		if (obj_parse(a, strlen(a), &doc, &e) < 0 ||
		    obj_parse(b, strlen(b), &patch, &e) < 0)
			goto done1;
		if (mode == 1) {
			if (patch_strategic(doc, patch, schema_for_object(doc), &out, &e) == 0)
				cJSON_Delete(out);
			if (patch_merge(doc, patch, &out, &e) == 0)
				cJSON_Delete(out);
			if (patch_json(doc, patch, &out, &e) == 0)
				cJSON_Delete(out);
		} else {
			struct apply_opts o = { .manager = "kubectl",
				                .time = "2024-01-01T00:00:00Z" };
			struct apply_conflicts c = { 0 };
			if (apply_server_side(doc, patch, schema_for_object(patch), &o, &out, &c,
			                      &e) == 0)
				cJSON_Delete(out);
			apply_conflicts_free(&c);
			cJSON *copy = obj_dup(patch);
			if (cJSON_IsObject(copy))
				apply_track_update(doc, copy, schema_for_object(copy), &o, &e);
			cJSON_Delete(copy);
		}
	done1:
		cJSON_Delete(doc);
		cJSON_Delete(patch);
		break;
	}
	case 2: { /* selectors print in a form that parses back the same */
		struct sel *s = NULL, *again = NULL;
		if (sel_parse(a, &s, &e) == 0) {
			char *t = sel_string(s);
			if (sel_parse(t, &again, &e) < 0)
				__builtin_trap();
			char *t2 = sel_string(again);
			if (strcmp(t, t2) != 0)
				__builtin_trap();
			free(t);
			free(t2);
			sel_free(again);
			sel_free(s);
		}
		struct fsel *f = NULL;
		if (fsel_parse(a, &f, &e) == 0) {
			char *t = fsel_string(f);
			free(t);
			fsel_free(f);
		}
		break;
	}
	case 3: { /* quantities print in canonical form that parses to the same amount */
		struct qty q, again;
		char out[QTY_STR_MAX];
		if (qty_parse(a, &q, &e) == 0) {
			qty_format(&q, out);
			if (qty_parse(out, &again, &e) < 0 || qty_cmp(&q, &again) != 0)
				__builtin_trap();
			int64_t v;
			qty_value(&q, &v);
			qty_milli(&q, &v);
			if (qty_add(&again, &q) == 0)
				qty_sub(&again, &q);
		}
		break;
	}
	}
	free(a);
	free(b);
	return 0;
}
