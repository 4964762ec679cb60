/* table: the server-side printing kubectl asks for (Accept: ...;as=Table;g=meta.k8s.io). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/api/rest-internal.h"

static const struct reg_column default_columns[] = {
	{ "Name", "string", "name", "Name must be unique within a namespace.", 0 },
	{ "Created At", "date", "", "When the object was created.", 0 },
};

static cJSON *partial_meta(const cJSON *obj)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "kind", "PartialObjectMetadata");
	cJSON_AddStringToObject(p, "apiVersion", "meta.k8s.io/v1");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON_AddItemToObject(p, "metadata", m ? cJSON_Duplicate(m, true) : cJSON_CreateObject());
	return p;
}

cJSON *rest_table(const struct reg_kind *k, cJSON *const *objs, size_t n, const char *rv,
                  const char *cont, const char *include_object)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "kind", "Table");
	cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
	cJSON *m = cJSON_AddObjectToObject(t, "metadata");
	if (rv)
		cJSON_AddStringToObject(m, "resourceVersion", rv);
	if (cont && *cont)
		cJSON_AddStringToObject(m, "continue", cont);
	const struct reg_column *cols = k->columns && k->row ? k->columns : default_columns;
	size_t ncols = k->columns && k->row ? k->ncolumns : ARRAY_SIZE(default_columns);
	cJSON *defs = cJSON_AddArrayToObject(t, "columnDefinitions");
	for (size_t i = 0; i < ncols; i++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "name", cols[i].name);
		cJSON_AddStringToObject(d, "type", cols[i].type);
		cJSON_AddStringToObject(d, "format", cols[i].format ? cols[i].format : "");
		cJSON_AddStringToObject(d, "description",
		                        cols[i].description ? cols[i].description : "");
		cJSON_AddNumberToObject(d, "priority", cols[i].priority);
		cJSON_AddItemToArray(defs, d);
	}
	cJSON *rows = cJSON_AddArrayToObject(t, "rows");
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		cJSON *row = cJSON_CreateObject();
		cJSON *cells = cJSON_AddArrayToObject(row, "cells");
		if (k->columns && k->row) {
			k->row(objs[i], now, cells);
		} else {
			const cJSON *meta = cJSON_GetObjectItemCaseSensitive(objs[i], "metadata");
			const char *name = api_str(meta, "name"),
			           *ts = api_str(meta, "creationTimestamp");
			cJSON_AddItemToArray(cells, cJSON_CreateString(name ? name : ""));
			cJSON_AddItemToArray(cells, cJSON_CreateString(ts ? ts : ""));
		}
		/* Keep the row shape kubectl expects even if a strategy wrote too few cells. */
		while ((size_t)cJSON_GetArraySize(cells) < ncols)
			cJSON_AddItemToArray(cells, cJSON_CreateString(""));
		if (!include_object || !strcmp(include_object, "Metadata"))
			cJSON_AddItemToObject(row, "object", partial_meta(objs[i]));
		else if (!strcmp(include_object, "Object"))
			cJSON_AddItemToObject(row, "object", cJSON_Duplicate(objs[i], true));
		cJSON_AddItemToArray(rows, row);
	}
	return t;
}
