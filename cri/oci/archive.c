/* archive: reads OCI image-layout tarballs without unpacking them: an index of tar entries
 * (name, offset, size), index.json's images, and sha256 checks of the blobs. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/oci/oci-internal.h"

#define MAX_ENTRIES 100000
#define MAX_JSON (4u << 20)

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* A numeric tar field: octal text, or base-256 when the top bit of the first byte is set. */
static bool tar_num(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return false; /* negative, or too large for us */
		for (size_t i = 1; i < n; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | f[i];
		}
		*out = v;
		return true;
	}
	size_t i = 0;
	while (i < n && f[i] == ' ')
		i++;
	bool any = false;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return false;
		v = v * 8 + (uint64_t)(f[i] - '0');
		any = true;
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != 0)
			return false;
	*out = v;
	return any;
}

static bool checksum_ok(const unsigned char *h)
{
	uint64_t want;
	if (!tar_num(h + 148, 8, &want))
		return false;
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

/* "./blobs/x" and "blobs/x" are the same entry. */
static char *clean_name(const char *n, size_t len)
{
	while (len >= 2 && n[0] == '.' && n[1] == '/') {
		n += 2;
		len -= 2;
	}
	return xstrndup(n, len);
}

/* The "path" record of a pax extended header, if any. */
static char *pax_path(const char *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		uint64_t rl = 0;
		size_t i = off;
		while (i < len && p[i] >= '0' && p[i] <= '9' && rl < 1000000)
			rl = rl * 10 + (uint64_t)(p[i++] - '0');
		if (i >= len || p[i] != ' ' || rl == 0 || off + rl > len)
			return NULL;
		const char *kv = p + i + 1;
		size_t kvlen = off + rl - (i + 1);
		if (kvlen > 5 && !memcmp(kv, "path=", 5) && kv[kvlen - 1] == '\n')
			return clean_name(kv + 5, kvlen - 6);
		off += rl;
	}
	return NULL;
}

static int index_tar(struct oci_archive *a, struct err *e)
{
	unsigned char h[512];
	uint64_t off = 0;
	char *next_name = NULL; /* from a pax or GNU long-name entry */
	int r = 0;

	for (;;) {
		if (off + 512 > (uint64_t)a->size) {
			/* archives end with zero blocks, but some writers stop right after data */
			if (off == (uint64_t)a->size)
				break;
			r = err_set(e, -EINVAL, "%s: truncated tar header at offset %llu", a->path,
			            (unsigned long long)off);
			break;
		}
		if (pread(a->fd, h, 512, (off_t)off) != 512) {
			r = err_set(e, -EIO, "%s: read at offset %llu: %s", a->path,
			            (unsigned long long)off, strerror(errno));
			break;
		}
		if (all_zero(h, 512))
			break;
		uint64_t size;
		if (!checksum_ok(h) || !tar_num(h + 124, 12, &size)) {
			r = err_set(e, -EINVAL, "%s: not a tar archive (bad header at offset %llu)",
			            a->path, (unsigned long long)off);
			break;
		}
		uint64_t data = off + 512;
		if (size > (uint64_t)a->size || data + size > (uint64_t)a->size) {
			r = err_set(e, -EINVAL,
			            "%s: entry at offset %llu runs past the end of the file",
			            a->path, (unsigned long long)off);
			break;
		}
		char type = (char)h[156];
		if (type == 'x' || type == 'L') {
			if (size > 65536) {
				r = err_set(e, -EINVAL,
				            "%s: oversized extended header at offset %llu", a->path,
				            (unsigned long long)off);
				break;
			}
			char *buf = xmalloc(size + 1);
			if (pread(a->fd, buf, size, (off_t)data) != (ssize_t)size) {
				free(buf);
				r = err_set(e, -EIO, "%s: read at offset %llu", a->path,
				            (unsigned long long)data);
				break;
			}
			buf[size] = 0;
			free(next_name);
			next_name =
			    type == 'x' ? pax_path(buf, size) : clean_name(buf, strnlen(buf, size));
			free(buf);
		} else if (type == '0' || type == 0) {
			char *name;
			if (next_name) {
				name = next_name;
				next_name = NULL;
			} else {
				char full[256 + 2];
				size_t pl = strnlen((const char *)h + 345, 155),
				       nl = strnlen((const char *)h, 100);
				if (pl)
					snprintf(full, sizeof(full), "%.*s/%.*s", (int)pl, h + 345,
					         (int)nl, h);
				else
					snprintf(full, sizeof(full), "%.*s", (int)nl, h);
				name = clean_name(full, strlen(full));
			}
			if (a->nentries == MAX_ENTRIES) {
				free(name);
				r = err_set(e, -E2BIG, "%s: more than %d entries", a->path,
				            MAX_ENTRIES);
				break;
			}
			a->entries = xrealloc(a->entries, (a->nentries + 1) * sizeof(*a->entries));
			a->entries[a->nentries++] = (struct oci_entry){ .name = name,
				                                        .off = (off_t)data,
				                                        .len = (size_t)size };
			if (str_has_prefix(name, "blobs/sha256/"))
				a->entries[a->nentries - 1].digest =
				    xasprintf("sha256:%s", name + strlen("blobs/sha256/"));
		} else {
			free(next_name); /* directories, links: not needed */
			next_name = NULL;
		}
		off = data + (size + 511) / 512 * 512;
	}
	free(next_name);
	return r;
}

const struct oci_entry *oci_archive_entry(const struct oci_archive *a, const char *name)
{
	/* the last entry of a name wins, as tar extraction would have it */
	for (size_t i = a->nentries; i-- > 0;)
		if (!strcmp(a->entries[i].name, name))
			return &a->entries[i];
	return NULL;
}

static bool valid_digest(const char *d)
{
	if (!d || !str_has_prefix(d, "sha256:") || strlen(d) != 7 + 64)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

const struct oci_entry *oci_archive_blob_entry(const struct oci_archive *a, const char *digest)
{
	char name[96];
	if (!valid_digest(digest))
		return NULL;
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	return oci_archive_entry(a, name);
}

static int read_entry(const struct oci_archive *a, const struct oci_entry *en, char **out)
{
	if (en->len > MAX_JSON)
		return -EFBIG;
	char *p = xmalloc(en->len + 1);
	if (pread(a->fd, p, en->len, en->off) != (ssize_t)en->len) {
		free(p);
		return -EIO;
	}
	p[en->len] = 0;
	*out = p;
	return 0;
}

static int parse_index(struct oci_archive *a, struct err *e)
{
	const struct oci_entry *en = oci_archive_entry(a, "index.json");
	_cleanup_free_ char *text = NULL;
	int r;

	if (!oci_archive_entry(a, "oci-layout"))
		return err_set(e, -EINVAL, "%s: no oci-layout file: not an OCI image layout",
		               a->path);
	if (!en)
		return err_set(e, -EINVAL, "%s: no index.json", a->path);
	if ((r = read_entry(a, en, &text)) < 0)
		return err_set(e, r, "%s: read index.json: %s", a->path, strerror(-r));
	cJSON *idx = cJSON_Parse(text);
	cJSON *ms = cJSON_GetObjectItemCaseSensitive(idx, "manifests");
	if (!cJSON_IsArray(ms)) {
		cJSON_Delete(idx);
		return err_set(e, -EINVAL, "%s: index.json: not JSON with a manifests array",
		               a->path);
	}
	cJSON *m;
	r = 0;
	cJSON_ArrayForEach(m, ms)
	{
		const char *digest =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "digest"));
		const char *mt =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "mediaType"));
		cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
		const char *name = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(ann, "io.containerd.image.name"));
		if (!name)
			name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			    ann, "org.opencontainers.image.ref.name"));
		if (!valid_digest(digest) || !mt) {
			r = err_set(e, -EINVAL,
			            "%s: index.json: a manifest without a sha256 digest or "
			            "media type",
			            a->path);
			break;
		}
		if (!oci_archive_blob_entry(a, digest)) {
			r = err_set(e, -EINVAL,
			            "%s: index.json names %s, which is not in the archive", a->path,
			            digest);
			break;
		}
		char *ref = name ? oci_normalize_ref(name) : NULL;
		if (!ref)
			continue; /* unnamed: reachable by digest only */
		a->images = xrealloc(a->images, (a->nimages + 1) * sizeof(*a->images));
		a->images[a->nimages++] = (struct oci_image_ref){ .ref = ref,
			                                          .digest = xstrdup(digest),
			                                          .media_type = xstrdup(mt) };
	}
	cJSON_Delete(idx);
	return r;
}

int oci_archive_open(const char *path, struct oci_archive **out, struct err *e)
{
	struct oci_archive *a = xcalloc(1, sizeof(*a));
	struct stat st;
	int r;

	a->path = xstrdup(path);
	a->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (a->fd < 0) {
		r = err_set(e, -errno, "open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = err_set(e, -EINVAL, "%s: not a regular file", path);
		goto fail;
	}
	a->size = st.st_size;
	if ((r = index_tar(a, e)) < 0 || (r = parse_index(a, e)) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	oci_archive_close(a);
	return r;
}

void oci_archive_close(struct oci_archive *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	for (size_t i = 0; i < a->nentries; i++) {
		free(a->entries[i].name);
		free(a->entries[i].digest);
	}
	for (size_t i = 0; i < a->nimages; i++) {
		free(a->images[i].ref);
		free(a->images[i].digest);
		free(a->images[i].media_type);
	}
	free(a->entries);
	free(a->images);
	free(a->path);
	free(a);
}

const char *oci_archive_path(const struct oci_archive *a)
{
	return a->path;
}

size_t oci_archive_nimages(const struct oci_archive *a)
{
	return a->nimages;
}

const char *oci_archive_image(const struct oci_archive *a, size_t i)
{
	return i < a->nimages ? a->images[i].ref : NULL;
}

int oci_archive_verify(struct oci_archive *a, struct err *e)
{
	unsigned char *buf = xmalloc(1 << 16);
	int r = 0;
	for (size_t i = 0; i < a->nentries && r == 0; i++) {
		const struct oci_entry *en = &a->entries[i];
		if (!str_has_prefix(en->name, "blobs/sha256/"))
			continue;
		mbedtls_sha256_context c;
		unsigned char d[32];
		char hex[65];
		mbedtls_sha256_init(&c);
		mbedtls_sha256_starts_ret(&c, 0);
		for (size_t done = 0; done < en->len;) {
			size_t n = MIN(en->len - done, (size_t)1 << 16);
			if (pread(a->fd, buf, n, en->off + (off_t)done) != (ssize_t)n) {
				r = err_set(e, -EIO, "%s: read %s", a->path, en->name);
				break;
			}
			mbedtls_sha256_update_ret(&c, buf, n);
			done += n;
		}
		mbedtls_sha256_finish_ret(&c, d);
		mbedtls_sha256_free(&c);
		for (int j = 0; j < 32; j++)
			snprintf(hex + j * 2, 3, "%02x", d[j]);
		if (r == 0 && strcmp(hex, en->name + strlen("blobs/sha256/")) != 0)
			r = err_set(e, -EBADMSG, "%s: %s does not match its digest (sha256 is %s)",
			            a->path, en->name, hex);
	}
	free(buf);
	return r;
}

size_t oci_archive_nblobs(const struct oci_archive *a)
{
	size_t n = 0;
	for (size_t i = 0; i < a->nentries; i++)
		n += a->entries[i].digest != NULL;
	return n;
}

int oci_archive_blob(const struct oci_archive *a, size_t i, struct oci_blob *out)
{
	for (size_t k = 0; k < a->nentries; k++) {
		const struct oci_entry *en = &a->entries[k];
		if (!en->digest || i--)
			continue;
		*out = (struct oci_blob){
			.fd = a->fd, .off = en->off, .len = en->len, .digest = en->digest
		};
		return 0;
	}
	return -ENOENT;
}

int oci_archive_image_target(const struct oci_archive *a, size_t i, struct oci_blob *out)
{
	if (i >= a->nimages)
		return -ENOENT;
	const struct oci_entry *en = oci_archive_blob_entry(a, a->images[i].digest);
	if (!en)
		return -ENOENT;
	*out = (struct oci_blob){ .fd = a->fd,
		                  .off = en->off,
		                  .len = en->len,
		                  .digest = a->images[i].digest,
		                  .media_type = a->images[i].media_type };
	return 0;
}

static void add_label(char ***kv, size_t *n, char *key, const char *val)
{
	*kv = xrealloc(*kv, (*n + 3) * sizeof(**kv));
	(*kv)[(*n)++] = key;
	(*kv)[(*n)++] = xstrdup(val);
	(*kv)[*n] = NULL;
}

char **oci_gc_labels(const struct oci_blob *b)
{
	char **kv = xcalloc(1, sizeof(*kv));
	size_t n = 0;
	char first;
	/* manifests and indexes are small JSON objects; layers and configs are skipped
	 * cheaply (a layer is a tar, a config has neither list below) */
	if (b->len < 2 || b->len > MAX_JSON || pread(b->fd, &first, 1, b->off) != 1 || first != '{')
		return kv;
	char *text = xmalloc(b->len + 1);
	if (pread(b->fd, text, b->len, b->off) != (ssize_t)b->len) {
		free(text);
		return kv;
	}
	text[b->len] = 0;
	cJSON *j = cJSON_Parse(text);
	free(text);
	cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
	const char *cd = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "digest"));
	cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers");
	cJSON *mans = cJSON_GetObjectItemCaseSensitive(j, "manifests");
	cJSON *it;
	int i = 0;
	if (valid_digest(cd))
		add_label(&kv, &n, xstrdup("containerd.io/gc.ref.content.config"), cd);
	if (cJSON_IsArray(layers)) {
		cJSON_ArrayForEach(it, layers)
		{
			const char *d =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "digest"));
			if (valid_digest(d))
				add_label(&kv, &n,
				          xasprintf("containerd.io/gc.ref.content.l.%d", i++), d);
		}
	}
	i = 0;
	if (cJSON_IsArray(mans)) {
		cJSON_ArrayForEach(it, mans)
		{
			const char *d =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "digest"));
			if (valid_digest(d))
				add_label(&kv, &n,
				          xasprintf("containerd.io/gc.ref.content.m.%d", i++), d);
		}
	}
	cJSON_Delete(j);
	return kv;
}

void oci_labels_free(char **kv)
{
	for (size_t i = 0; kv && kv[i]; i++)
		free(kv[i]);
	free(kv);
}
