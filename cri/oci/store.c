/* store: the images of a directory of OCI tarballs, looked up as a registry would be
 * (repository + tag or digest, blobs by digest), and references normalized as containerd
 * does. The registry mirror serves containerd from it. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cri/oci/oci-internal.h"

struct oci_store {
	struct oci_archive **a;
	size_t n;
};

struct oci_store *oci_store_new(void)
{
	return xcalloc(1, sizeof(struct oci_store));
}

void oci_store_free(struct oci_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		oci_archive_close(s->a[i]);
	free(s->a);
	free(s);
}

void oci_store_add(struct oci_store *s, struct oci_archive *a)
{
	s->a = xrealloc(s->a, (s->n + 1) * sizeof(*s->a));
	s->a[s->n++] = a;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int oci_store_load_dir(struct oci_store *s, const char *dir, struct err *e)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t nn = 0;
	struct dirent *de;
	int added = 0;
	struct buf bad = { 0 };

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, -errno, "open %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !(str_has_suffix(de->d_name, ".tar") || str_has_suffix(de->d_name, ".oci")))
			continue;
		names = xrealloc(names, (nn + 1) * sizeof(*names));
		names[nn++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	/* a stable order, so that "the last one wins" means the same thing every start */
	if (nn)
		qsort(names, nn, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nn; i++) {
		struct oci_archive *a = NULL;
		struct err ae = { 0 };
		if (oci_archive_open(names[i], &a, &ae) < 0) {
			buf_printf(&bad, "%s%s", bad.len ? "; " : "", ae.msg);
		} else {
			oci_store_add(s, a);
			added++;
		}
		free(names[i]);
	}
	free(names);
	if (bad.len)
		err_set(e, 0, "skipped: %s", bad.data);
	else
		err_clear(e);
	buf_free(&bad);
	return added;
}

size_t oci_store_nimages(const struct oci_store *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->a[i]->nimages;
	return n;
}

const char *oci_store_image(const struct oci_store *s, size_t i)
{
	for (size_t k = 0; k < s->n; k++) {
		if (i < s->a[k]->nimages)
			return s->a[k]->images[i].ref;
		i -= s->a[k]->nimages;
	}
	return NULL;
}

static void fill(struct oci_blob *out, const struct oci_archive *a, const struct oci_entry *en,
                 const char *digest, const char *mt)
{
	out->fd = a->fd;
	out->off = en->off;
	out->len = en->len;
	out->digest = digest;
	out->media_type = mt;
}

int oci_store_blob(const struct oci_store *s, const char *digest, struct oci_blob *out)
{
	for (size_t k = s->n; k-- > 0;) {
		const struct oci_entry *en = oci_archive_blob_entry(s->a[k], digest);
		if (en) {
			/* a manifest asked for as a blob still gets its media type */
			const char *mt = NULL;
			for (size_t i = 0; i < s->a[k]->nimages; i++)
				if (!strcmp(s->a[k]->images[i].digest, digest))
					mt = s->a[k]->images[i].media_type;
			fill(out, s->a[k], en, digest, mt);
			return 0;
		}
	}
	return -ENOENT;
}

int oci_store_manifest(const struct oci_store *s, const char *host, const char *repo,
                       const char *ref, struct oci_blob *out)
{
	if (str_has_prefix(ref, "sha256:")) {
		/* by digest: any blob; the media type is known when an index names it, and a
		 * nested manifest (multi-arch) is served as an OCI manifest */
		int r = oci_store_blob(s, ref, out);
		if (r == 0 && !out->media_type)
			out->media_type = "application/vnd.oci.image.manifest.v1+json";
		return r;
	}
	_cleanup_free_ char *want = xasprintf("%s/%s:%s", host, repo, ref);
	for (size_t k = s->n; k-- > 0;) {
		const struct oci_archive *a = s->a[k];
		for (size_t i = 0; i < a->nimages; i++) {
			if (strcmp(a->images[i].ref, want) != 0)
				continue;
			const struct oci_entry *en = oci_archive_blob_entry(a, a->images[i].digest);
			if (!en)
				continue;
			fill(out, a, en, a->images[i].digest, a->images[i].media_type);
			return 0;
		}
	}
	return -ENOENT;
}

/* --- references ----------------------------------------------------------------------------- */

static bool ref_char(char c, bool allow_upper)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-' || c == '/' || (allow_upper && c >= 'A' && c <= 'Z');
}

char *oci_normalize_ref(const char *ref)
{
	if (!ref || !ref[0] || strlen(ref) > 255)
		return NULL;
	const char *at = strchr(ref, '@');
	_cleanup_free_ char *name = xstrndup(ref, at ? (size_t)(at - ref) : strlen(ref));
	const char *digest = at ? at + 1 : NULL;
	/* a tag is after the last ':' that comes after the last '/' */
	char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');
	const char *tag = NULL;
	if (colon && (!slash || colon > slash)) {
		*colon = 0;
		tag = colon + 1;
		if (!tag[0] || strlen(tag) > 128)
			return NULL;
		for (const char *p = tag; *p; p++)
			if (!ref_char(*p, true) || *p == '/')
				return NULL;
	}
	/* the first component is a registry host when it has '.', ':' or is localhost */
	const char *first_end = strchr(name, '/');
	bool has_host = false;
	if (first_end) {
		size_t hl = (size_t)(first_end - name);
		has_host = memchr(name, '.', hl) || memchr(name, ':', hl) ||
		           (hl == 9 && !memcmp(name, "localhost", 9));
	}
	const char *path = has_host ? first_end + 1 : name;
	if (!path[0] || path[0] == '/' || str_has_suffix(path, "/") || strstr(path, "//"))
		return NULL;
	for (const char *p = path; *p; p++)
		if (!ref_char(*p, false))
			return NULL;
	for (const char *p = name; has_host && p < first_end; p++)
		if (!ref_char(*p, true) && *p != ':')
			return NULL;
	struct buf b = { 0 };
	if (has_host)
		buf_add(&b, name, (size_t)(first_end - name));
	else
		buf_adds(&b, "docker.io");
	buf_addc(&b, '/');
	if (!has_host && !strchr(path, '/'))
		buf_adds(&b, "library/");
	buf_adds(&b, path);
	if (digest) {
		if (tag)
			buf_printf(&b, ":%s", tag);
		buf_printf(&b, "@%s", digest);
	} else {
		buf_printf(&b, ":%s", tag ? tag : "latest");
	}
	return buf_steal(&b);
}

/* Repository components as the distribution spec has them: lowercase alphanumerics joined
 * by single separators ('.', '_', '-'), so ".." and empty components never pass. */
static bool valid_repo(const char *p)
{
	bool start = true;
	for (; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
		if (*p == '/') {
			if (start)
				return false;
			start = true;
		} else if (alnum) {
			start = false;
		} else if ((*p == '.' || *p == '_' || *p == '-') && !start && p[1] && p[1] != '/') {
			/* a separator between alphanumerics ("__" is allowed by the spec too) */
		} else {
			return false;
		}
	}
	return !start;
}

struct oci_route oci_route_parse(const char *path)
{
	struct oci_route r = { .kind = OCI_ROUTE_NONE };
	size_t len = strcspn(path, "?#");
	if (len == 3 && !strncmp(path, "/v2", 3)) {
		r.kind = OCI_ROUTE_BASE;
		return r;
	}
	if (!str_has_prefix(path, "/v2/"))
		return r;
	if (len == 4) {
		r.kind = OCI_ROUTE_BASE;
		return r;
	}
	_cleanup_free_ char *p = xstrndup(path + 4, len - 4);
	/* the last "/manifests/" or "/blobs/" splits repository and reference */
	char *m = NULL, *b = NULL;
	for (char *s = p; (s = strstr(s, "/manifests/")); s++)
		m = s;
	for (char *s = p; (s = strstr(s, "/blobs/")); s++)
		b = s;
	char *cut = m && (!b || m > b) ? m : b;
	if (!cut)
		return r;
	const char *ref = cut + (cut == m ? strlen("/manifests/") : strlen("/blobs/"));
	*cut = 0;
	if (!p[0] || strlen(p) >= sizeof(r.repo) || !ref[0] || strlen(ref) >= sizeof(r.ref))
		return r;
	if (!valid_repo(p))
		return r;
	for (const char *s = ref; *s; s++)
		if (!ref_char(*s, true) && *s != ':')
			return r;
	if (cut == b && !str_has_prefix(ref, "sha256:"))
		return r;
	snprintf(r.repo, sizeof(r.repo), "%s", p);
	snprintf(r.ref, sizeof(r.ref), "%s", ref);
	r.kind = cut == m ? OCI_ROUTE_MANIFEST : OCI_ROUTE_BLOB;
	return r;
}

size_t oci_store_narchives(const struct oci_store *s)
{
	return s->n;
}

struct oci_archive *oci_store_archive(const struct oci_store *s, size_t i)
{
	return i < s->n ? s->a[i] : NULL;
}
