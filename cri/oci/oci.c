/* oci: writes OCI image-layout tarballs: a ustar layer, the image config, the manifest and
 * the index, each blob named by its sha256, all inside one outer tar. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/oci/oci.h"

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"

/* --- tar (ustar) ---------------------------------------------------------------------- */

static void octal(char *field, size_t width, uint64_t v)
{
	/* width-1 octal digits and a NUL, as ustar wants */
	snprintf(field, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

/* Appends one header; name goes into prefix+name when longer than 100 bytes. */
static int tar_header(struct buf *b, const char *name, char type, unsigned mode, uint64_t size,
                      const char *link)
{
	char h[512];
	size_t nl = strlen(name);
	memset(h, 0, sizeof(h));
	if (nl <= 100) {
		memcpy(h, name, nl);
	} else {
		/* split at a slash so that prefix <= 155 and name <= 100 */
		const char *cut = NULL;
		for (const char *p = name; *p; p++) {
			if (*p == '/' && (size_t)(p - name) <= 155 && strlen(p + 1) <= 100) {
				cut = p;
				break;
			}
		}
		if (!cut)
			return -ENAMETOOLONG;
		memcpy(h + 345, name, (size_t)(cut - name));
		memcpy(h, cut + 1, strlen(cut + 1));
	}
	if (link && strlen(link) > 100)
		return -ENAMETOOLONG;
	octal(h + 100, 8, mode & 07777);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, 0); /* mtime 0: the same inputs give the same digests */
	h[156] = type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	buf_add(b, h, sizeof(h));
	return 0;
}

static void tar_pad(struct buf *b)
{
	static const char zero[512];
	if (b->len % 512)
		buf_add(b, zero, 512 - b->len % 512);
}

static int tar_file(struct buf *b, const char *name, unsigned mode, const void *data, size_t len)
{
	int r = tar_header(b, name, '0', mode, len, NULL);
	if (r < 0)
		return r;
	buf_add(b, data, len);
	tar_pad(b);
	return 0;
}

static void tar_end(struct buf *b)
{
	static const char zero[1024];
	buf_add(b, zero, sizeof(zero));
}

/* --- digests and JSON ---------------------------------------------------------------------- */

static void sha256_hex(const void *p, size_t n, char out[72])
{
	unsigned char d[32];
	mbedtls_sha256_ret(p, n, d, 0);
	strcpy(out, "sha256:");
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + i * 2, 3, "%02x", d[i]);
}

static cJSON *strings(const char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (; v && *v; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
	return a;
}

static cJSON *descriptor(const char *mt, const char *digest, size_t size)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "mediaType", mt);
	cJSON_AddStringToObject(d, "digest", digest);
	cJSON_AddNumberToObject(d, "size", (double)size);
	return d;
}

/* Adds a blob to the outer tar under blobs/sha256/<hex>; digest gets "sha256:<hex>". */
static int add_blob(struct buf *outer, const void *p, size_t n, char digest[72])
{
	char name[96];
	sha256_hex(p, n, digest);
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	return tar_file(outer, name, 0644, p, n);
}

/* --- the layer ------------------------------------------------------------------------------ */

static bool seen(char **dirs, size_t n, const char *d)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(dirs[i], d))
			return true;
	return false;
}

static int build_layer(const struct oci_image *img, struct buf *layer, struct err *e)
{
	char **dirs = NULL;
	size_t ndirs = 0;
	int r = 0;

	for (size_t i = 0; i < img->nfiles && r == 0; i++) {
		const struct oci_file *f = &img->files[i];
		if (!f->dest || !f->dest[0] || f->dest[0] == '/' || strstr(f->dest, "..")) {
			r = err_set(e, -EINVAL,
			            "image file '%s': want a relative path inside the image",
			            f->dest ? f->dest : "");
			break;
		}
		/* parents first: containerd's unpacker wants them, and they get sane modes */
		for (const char *s = strchr(f->dest, '/'); s; s = strchr(s + 1, '/')) {
			_cleanup_free_ char *d = xasprintf("%.*s/", (int)(s - f->dest), f->dest);
			if (seen(dirs, ndirs, d))
				continue;
			if ((r = tar_header(layer, d, '5', 0755, 0, NULL)) < 0)
				break;
			dirs = xrealloc(dirs, (ndirs + 1) * sizeof(*dirs));
			dirs[ndirs++] = xstrdup(d);
		}
		if (r < 0) {
			r = err_set(e, r, "image file %s: path too long for tar", f->dest);
			break;
		}
		if (!f->src) {
			if (!f->link) {
				r = err_set(e, -EINVAL,
				            "image file %s: neither a source nor a link", f->dest);
				break;
			}
			r = tar_header(layer, f->dest, '2', f->mode ? f->mode : 0777, 0, f->link);
			if (r < 0)
				r = err_set(e, r, "image link %s -> %s: too long for tar", f->dest,
				            f->link);
			continue;
		}
		char *data = NULL;
		size_t len = 0;
		struct stat st;
		if (stat(f->src, &st) < 0) {
			r = err_set(e, -errno, "image file %s: %s", f->src, strerror(errno));
			break;
		}
		if ((r = read_file(f->src, &data, &len, 512u << 20)) < 0) {
			r = err_set(e, r, "read %s: %s", f->src, strerror(-r));
			break;
		}
		r = tar_file(layer, f->dest, f->mode ? f->mode : (st.st_mode & 07777), data, len);
		free(data);
		if (r < 0)
			r = err_set(e, r, "image file %s: path too long for tar", f->dest);
	}
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	tar_end(layer);
	return r;
}

int oci_write(const struct oci_image *img, const char *out_path, struct err *e)
{
	struct buf layer = { 0 }, outer = { 0 };
	char layer_d[72], config_d[72], manifest_d[72];
	char *config_s = NULL, *manifest_s = NULL, *index_s = NULL;
	cJSON *config = NULL, *manifest = NULL, *index = NULL;
	int r;

	if (!img->name || !strchr(img->name, ':') || !img->arch)
		return err_set(e, -EINVAL, "image: want a name with a tag (name:tag) and an arch");
	if ((r = build_layer(img, &layer, e)) < 0)
		goto out;
	tar_header(&outer, "blobs/", '5', 0755, 0, NULL);
	tar_header(&outer, "blobs/sha256/", '5', 0755, 0, NULL);
	add_blob(&outer, layer.data, layer.len, layer_d);

	config = cJSON_CreateObject();
	cJSON_AddStringToObject(config, "architecture", img->arch);
	if (img->variant)
		cJSON_AddStringToObject(config, "variant", img->variant);
	cJSON_AddStringToObject(config, "os", "linux");
	cJSON *cc = cJSON_AddObjectToObject(config, "config");
	if (img->entrypoint)
		cJSON_AddItemToObject(cc, "Entrypoint", strings(img->entrypoint));
	if (img->cmd)
		cJSON_AddItemToObject(cc, "Cmd", strings(img->cmd));
	static const char *const default_env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL
	};
	cJSON_AddItemToObject(cc, "Env", strings(img->env ? img->env : default_env));
	if (img->workdir)
		cJSON_AddStringToObject(cc, "WorkingDir", img->workdir);
	cJSON *rootfs = cJSON_AddObjectToObject(config, "rootfs");
	cJSON_AddStringToObject(rootfs, "type", "layers");
	const char *diff_ids[] = { layer_d, NULL }; /* uncompressed: diff id == layer digest */
	cJSON_AddItemToObject(rootfs, "diff_ids", strings(diff_ids));
	config_s = cJSON_PrintUnformatted(config);
	add_blob(&outer, config_s, strlen(config_s), config_d);

	manifest = cJSON_CreateObject();
	cJSON_AddNumberToObject(manifest, "schemaVersion", 2);
	cJSON_AddStringToObject(manifest, "mediaType", MT_MANIFEST);
	cJSON_AddItemToObject(manifest, "config",
	                      descriptor(MT_CONFIG, config_d, strlen(config_s)));
	cJSON *layers = cJSON_AddArrayToObject(manifest, "layers");
	cJSON_AddItemToArray(layers, descriptor(MT_LAYER, layer_d, layer.len));
	manifest_s = cJSON_PrintUnformatted(manifest);
	add_blob(&outer, manifest_s, strlen(manifest_s), manifest_d);

	index = cJSON_CreateObject();
	cJSON_AddNumberToObject(index, "schemaVersion", 2);
	cJSON_AddStringToObject(index, "mediaType", MT_INDEX);
	cJSON *ms = cJSON_AddArrayToObject(index, "manifests");
	cJSON *m = descriptor(MT_MANIFEST, manifest_d, strlen(manifest_s));
	cJSON *ann = cJSON_AddObjectToObject(m, "annotations");
	cJSON_AddStringToObject(ann, "io.containerd.image.name", img->name);
	cJSON_AddStringToObject(ann, "org.opencontainers.image.ref.name",
	                        strrchr(img->name, ':') + 1);
	cJSON *plat = cJSON_AddObjectToObject(m, "platform");
	cJSON_AddStringToObject(plat, "architecture", img->arch);
	cJSON_AddStringToObject(plat, "os", "linux");
	if (img->variant)
		cJSON_AddStringToObject(plat, "variant", img->variant);
	cJSON_AddItemToArray(ms, m);
	index_s = cJSON_PrintUnformatted(index);
	tar_file(&outer, "index.json", 0644, index_s, strlen(index_s));
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	tar_file(&outer, "oci-layout", 0644, layout, strlen(layout));
	tar_end(&outer);

	if ((r = write_file_atomic(out_path, outer.data, outer.len, 0644)) < 0)
		r = err_set(e, r, "write %s: %s", out_path, strerror(-r));
out:
	cJSON_Delete(config);
	cJSON_Delete(manifest);
	cJSON_Delete(index);
	free(config_s);
	free(manifest_s);
	free(index_s);
	buf_free(&layer);
	buf_free(&outer);
	return r;
}

bool oci_arch(const char *triple, const char **arch, const char **variant)
{
	*variant = NULL;
	if (str_has_prefix(triple, "x86_64"))
		*arch = "amd64";
	else if (str_has_prefix(triple, "aarch64"))
		*arch = "arm64";
	else if (str_has_prefix(triple, "arm")) {
		*arch = "arm";
		*variant = strstr(triple, "gnueabihf") ? "v7" : "v6";
	} else if (str_has_prefix(triple, "riscv64"))
		*arch = "riscv64";
	else if (triple[0] == 'i' && strstr(triple, "86"))
		*arch = "386";
	else
		return false;
	return true;
}
