/* volume: a pod's volumes on the node: emptyDir (a directory, or tmpfs for medium Memory),
 * hostPath with its type checks, and configMap, secret, downwardAPI and projected volumes
 * written the way upstream's atomic writer does (readers see the old or the new set). */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "kubelet"
#include "core/kubelet/kubelet-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

/* One file of an atomically written volume. */
struct vfile {
	char *path; /* relative */
	char *data;
	size_t len;
	int mode;
};

struct vfiles {
	struct vfile *v;
	size_t n;
};

static void vf_add(struct vfiles *f, const char *path, char *data, size_t len, int mode)
{
	for (size_t i = 0; i < f->n; i++) {
		if (!strcmp(f->v[i].path, path)) {
			free(f->v[i].data);
			f->v[i].data = data;
			f->v[i].len = len;
			f->v[i].mode = mode;
			return;
		}
	}
	f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
	f->v[f->n++] = (struct vfile){ xstrdup(path), data, len, mode };
}

static void vf_free(struct vfiles *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].data);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static bool bad_path(const char *p)
{
	if (!*p || p[0] == '/' || str_has_prefix(p, ".."))
		return true;
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (!s[2] || s[2] == '/'))
			return true;
	return false;
}

/* --- removing trees (never crossing into another file system) ------------------------ */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP || flag == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static bool is_mountpoint(const char *path)
{
	struct stat a, b;
	char *parent = xasprintf("%s/..", path);
	bool r = stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
	free(parent);
	return r;
}

/* Unmounts everything mounted at or below dir (deepest first), as /proc/self/mountinfo
 * lists it. */
static void umount_below(const char *dir)
{
	char *text = NULL;
	if (read_file("/proc/self/mountinfo", &text, NULL, 8 << 20) < 0)
		return;
	size_t dl = strlen(dir);
	char **pts = NULL;
	size_t n = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* "36 35 98:0 /mnt1 /mnt/point rw ..." : the 5th field is the mount point */
		char *f = line;
		for (int i = 0; i < 4 && f; i++) {
			f = strchr(f, ' ');
			if (f)
				f++;
		}
		if (!f)
			continue;
		char *end = strchr(f, ' ');
		if (end)
			*end = '\0';
		if (strncmp(f, dir, dl) || (f[dl] && f[dl] != '/'))
			continue;
		pts = xrealloc(pts, (n + 1) * sizeof(char *));
		pts[n++] = xstrdup(f);
	}
	free(text);
	/* deepest first: longer paths go first */
	for (size_t i = 0; i < n; i++) {
		size_t best = i;
		for (size_t j = i + 1; j < n; j++)
			if (strlen(pts[j]) > strlen(pts[best]))
				best = j;
		char *t = pts[i];
		pts[i] = pts[best];
		pts[best] = t;
		if (umount2(pts[i], MNT_DETACH) < 0)
			log_warn("unmount %s: %s", pts[i], strerror(errno));
		free(pts[i]);
	}
	free(pts);
}

void kl_remove_tree(const char *path)
{
	umount_below(path);
	rm_rf(path);
}

int kl_volumes_teardown(struct kubelet *k, const char *uid)
{
	char *dir = xasprintf("%s/pods/%s", k->data_dir, uid);
	struct stat st;
	if (stat(dir, &st) == 0) {
		umount_below(dir);
		rm_rf(dir);
	}
	free(dir);
	return 0;
}

/* --- the atomic writer ---------------------------------------------------------------------- */

static int write_one(const char *path, const struct vfile *f, int gid)
{
	char *slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		mkdir_p(path, 0755);
		*slash = '/';
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, f->data, f->len);
	if (r == 0 && gid >= 0 && fchown(fd, (uid_t)-1, (gid_t)gid) < 0)
		r = -errno;
	int mode = f->mode;
	if (gid >= 0)
		mode |= 0040; /* fsGroup may read, as upstream's ownership change does */
	if (r == 0 && fchmod(fd, (mode_t)mode) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Whether the files under dir/..data are exactly f (contents and modes). */
static bool same_payload(const char *dir, const struct vfiles *f, int gid)
{
	char *data = xasprintf("%s/..data", dir);
	struct stat st;
	bool same = lstat(data, &st) == 0;
	for (size_t i = 0; same && i < f->n; i++) {
		char *path = xasprintf("%s/%s", data, f->v[i].path);
		char *text = NULL;
		size_t len = 0;
		int mode = f->v[i].mode | (gid >= 0 ? 0040 : 0);
		same = stat(path, &st) == 0 && (int)(st.st_mode & 07777) == mode &&
		       read_file(path, &text, &len, 64 << 20) == 0 && len == f->v[i].len &&
		       !memcmp(text, f->v[i].data, len);
		free(text);
		free(path);
	}
	if (same) {
		/* and nothing more: count the top-level names */
		DIR *d = opendir(dir);
		size_t names = 0;
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.')
				names++;
		if (d)
			closedir(d);
		size_t want = 0;
		for (size_t i = 0; i < f->n; i++) {
			bool dup = false;
			size_t tl = strcspn(f->v[i].path, "/");
			for (size_t j = 0; j < i && !dup; j++)
				dup = strcspn(f->v[j].path, "/") == tl &&
				      !strncmp(f->v[j].path, f->v[i].path, tl);
			if (!dup)
				want++;
		}
		same = names == want;
	}
	free(data);
	return same;
}

static int atomic_write(const char *dir, const struct vfiles *f, int gid, struct err *e)
{
	int r;
	if ((r = mkdir_p(dir, 0755)) < 0)
		return err_set(e, r, "create %s: %s", dir, strerror(-r));
	if (same_payload(dir, f, gid))
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[96];
	snprintf(stamp, sizeof(stamp), "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
	char *tsdir = xasprintf("%s/%s", dir, stamp);
	if (mkdir(tsdir, 0755) < 0 && errno != EEXIST) {
		r = err_set(e, -errno, "create %s: %s", tsdir, strerror(errno));
		free(tsdir);
		return r;
	}
	if (gid >= 0 && chown(tsdir, (uid_t)-1, (gid_t)gid) < 0) {
		/* best effort, as upstream's ownership change */
	}
	for (size_t i = 0; i < f->n; i++) {
		char *path = xasprintf("%s/%s", tsdir, f->v[i].path);
		r = write_one(path, &f->v[i], gid);
		if (r < 0) {
			err_set(e, r, "write %s: %s", path, strerror(-r));
			free(path);
			rm_rf(tsdir);
			free(tsdir);
			return r;
		}
		free(path);
	}
	/* the switch: ..data_tmp -> new dir, renamed over ..data */
	char *old = NULL, target[512];
	char *data = xasprintf("%s/..data", dir), *tmp = xasprintf("%s/..data_tmp", dir);
	ssize_t tl = readlink(data, target, sizeof(target) - 1);
	if (tl > 0) {
		target[tl] = '\0';
		old = xasprintf("%s/%s", dir, target);
	}
	unlink(tmp);
	if (symlink(stamp, tmp) < 0 || rename(tmp, data) < 0) {
		r = err_set(e, -errno, "switch %s: %s", data, strerror(errno));
		unlink(tmp);
		rm_rf(tsdir);
		goto out;
	}
	/* top-level names: links into ..data for what is there, gone for what is not */
	for (size_t i = 0; i < f->n; i++) {
		size_t n = strcspn(f->v[i].path, "/");
		char *top = xstrndup(f->v[i].path, n);
		char *link = xasprintf("%s/%s", dir, top), *to = xasprintf("..data/%s", top);
		struct stat st;
		if (lstat(link, &st) < 0 && symlink(to, link) < 0)
			log_warn("link %s: %s", link, strerror(errno));
		free(top);
		free(link);
		free(to);
	}
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		bool keep = false;
		for (size_t i = 0; i < f->n && !keep; i++) {
			size_t n = strcspn(f->v[i].path, "/");
			keep = strlen(de->d_name) == n && !strncmp(de->d_name, f->v[i].path, n);
		}
		if (!keep) {
			char *p = xasprintf("%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	if (old && strcmp(old, tsdir))
		rm_rf(old);
	r = 0;
out:
	free(old);
	free(data);
	free(tmp);
	free(tsdir);
	return r;
}

/* --- sources ------------------------------------------------------------------------------- */

/* The value of key in a ConfigMap (data or binaryData) or Secret (base64 data). */
static char *source_bytes(const cJSON *obj, const char *key, bool secret, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj_get(obj, "data"), key);
	if (cJSON_IsString(v)) {
		if (secret)
			return kl_b64_decode(v->valuestring, len);
		*len = strlen(v->valuestring);
		return xstrdup(v->valuestring);
	}
	if (!secret) {
		v = cJSON_GetObjectItemCaseSensitive(obj_get(obj, "binaryData"), key);
		if (cJSON_IsString(v))
			return kl_b64_decode(v->valuestring, len);
	}
	return NULL;
}

static int mode_of(const cJSON *o, const char *field, int def)
{
	int64_t m;
	if (obj_get_i64(o, field, &m) && m >= 0 && m <= 0777)
		return (int)m;
	return def;
}

/* Files of a configMap or secret source (a volume or a projection). */
static int add_source(struct kl_pod *p, const cJSON *src, bool secret, int def_mode,
                      struct vfiles *f, struct err *e)
{
	struct kubelet *k = p->k;
	const char *name = obj_get_str(src, secret ? "secretName" : "name");
	if (!name)
		name = obj_get_str(src, "name");
	bool optional = false;
	obj_get_bool(src, "optional", &optional);
	const cJSON *obj = !name    ? NULL
	                   : secret ? kl_secret(k, p->ns, name)
	                            : kl_configmap(k, p->ns, name);
	if (!obj) {
		if (optional)
			return 0;
		return err_set(e, -ENOENT, "%s \"%s\" not found", secret ? "secret" : "configmap",
		               name ? name : "");
	}
	const cJSON *items = obj_get(src, "items");
	if (cJSON_GetArraySize(items) > 0) {
		const cJSON *it;
		cJSON_ArrayForEach(it, items)
		{
			const char *key = obj_get_str(it, "key"), *path = obj_get_str(it, "path");
			if (!key || !path || bad_path(path))
				continue;
			size_t len = 0;
			char *data = source_bytes(obj, key, secret, &len);
			if (!data) {
				if (optional)
					continue;
				return err_set(e, -ENOENT, "%s references non-existent %s key: %s",
				               secret ? "secret" : "configmap",
				               secret ? "secret" : "config", key);
			}
			vf_add(f, path, data, len, mode_of(it, "mode", def_mode));
		}
		return 0;
	}
	const char *fields[2] = { "data", secret ? NULL : "binaryData" };
	for (int i = 0; i < 2; i++) {
		const cJSON *kv, *map = fields[i] ? obj_get(obj, fields[i]) : NULL;
		cJSON_ArrayForEach(kv, map)
		{
			if (bad_path(kv->string))
				continue;
			size_t len = 0;
			char *data = source_bytes(obj, kv->string, secret, &len);
			if (data)
				vf_add(f, kv->string, data, len, def_mode);
		}
	}
	return 0;
}

static int add_downward(struct kl_pod *p, const cJSON *items, int def_mode, struct vfiles *f,
                        struct err *e)
{
	struct kubelet *k = p->k;
	struct kl_sandbox *sb = kl_newest_sandbox(k, p->uid);
	struct kl_env_ctx ctx = { .pod = p->obj,
		                  .pod_ip = sb ? sb->ip : NULL,
		                  .pod_ip2 = sb ? sb->ip2 : NULL,
		                  .host_ip = k->node_ip,
		                  .node_cpu_milli = k->node_cpu_milli,
		                  .node_mem_bytes = k->node_mem_bytes };
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		const char *path = obj_get_str(it, "path");
		if (!path || bad_path(path))
			continue;
		char *val = NULL;
		int r;
		if (cJSON_IsObject(obj_get(it, "fieldRef")))
			r = kl_field_ref(&ctx, obj_get_str(it, "fieldRef.fieldPath"), &val, e);
		else if (cJSON_IsObject(obj_get(it, "resourceFieldRef")))
			r = kl_resource_ref(&ctx, NULL, obj_get(it, "resourceFieldRef"), &val, e);
		else
			continue;
		if (r < 0)
			return r;
		vf_add(f, path, val, strlen(val), mode_of(it, "mode", def_mode));
	}
	return 0;
}

/* --- volumes -------------------------------------------------------------------------------- */

static const char *plugin_of(const cJSON *vol)
{
	if (obj_get(vol, "emptyDir"))
		return "empty-dir";
	if (obj_get(vol, "configMap"))
		return "configmap";
	if (obj_get(vol, "secret"))
		return "secret";
	if (obj_get(vol, "downwardAPI"))
		return "downward-api";
	if (obj_get(vol, "projected"))
		return "projected";
	return NULL;
}

char *kl_volume_host_path(struct kl_pod *p, const char *volume, struct err *e)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, obj_get(p->obj, "spec.volumes"))
	{
		const char *n = obj_get_str(v, "name");
		if (!n || strcmp(n, volume))
			continue;
		const char *hp = obj_get_str(v, "hostPath.path");
		if (hp)
			return xstrdup(hp);
		const char *plugin = plugin_of(v);
		if (!plugin) {
			err_set(e, -ENOTSUP,
			        "volume \"%s\": this node supports emptyDir, hostPath, "
			        "configMap, secret, downwardAPI and projected volumes",
			        volume);
			return NULL;
		}
		return xasprintf("%s/pods/%s/volumes/kubernetes.io~%s/%s", p->k->data_dir, p->uid,
		                 plugin, volume);
	}
	err_set(e, -ENOENT, "no volume \"%s\" in the pod", volume);
	return NULL;
}

static int mount_tmpfs(const char *dir, const char *size, struct err *e)
{
	if (is_mountpoint(dir))
		return 0;
	char opts[128];
	if (size)
		snprintf(opts, sizeof(opts), "mode=0777,size=%s", size);
	else
		snprintf(opts, sizeof(opts), "mode=0777");
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return err_set(e, -errno, "mount tmpfs on %s: %s", dir, strerror(errno));
	return 0;
}

static int host_path_check(const cJSON *hp, struct err *e)
{
	const char *path = obj_get_str(hp, "path"), *type = obj_get_str(hp, "type");
	struct stat st;
	if (!path)
		return err_set(e, -EINVAL, "hostPath without a path");
	if (!type || !*type)
		return 0;
	bool exists = stat(path, &st) == 0;
	if (!strcmp(type, "DirectoryOrCreate")) {
		if (!exists) {
			int r = mkdir_p(path, 0755);
			if (r < 0)
				return err_set(e, r,
				               "hostPath type check failed: cannot create %s: %s",
				               path, strerror(-r));
			return 0;
		}
		if (!S_ISDIR(st.st_mode))
			return err_set(e, -ENOTDIR,
			               "hostPath type check failed: %s is not a directory", path);
		return 0;
	}
	if (!strcmp(type, "FileOrCreate")) {
		if (!exists) {
			int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0)
				return err_set(e, -errno,
				               "hostPath type check failed: cannot create %s: %s",
				               path, strerror(errno));
			close(fd);
			return 0;
		}
		if (!S_ISREG(st.st_mode))
			return err_set(e, -EINVAL, "hostPath type check failed: %s is not a file",
			               path);
		return 0;
	}
	static const struct {
		const char *type, *what;
		mode_t fmt;
	} types[] = {
		{ "Directory", "a directory", S_IFDIR },
		{ "File", "a file", S_IFREG },
		{ "Socket", "a socket file", S_IFSOCK },
		{ "CharDevice", "a character device", S_IFCHR },
		{ "BlockDevice", "a block device", S_IFBLK },
	};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		if (strcmp(type, types[i].type))
			continue;
		if (!exists || (st.st_mode & S_IFMT) != types[i].fmt)
			return err_set(e, -ENOENT, "hostPath type check failed: %s is not %s", path,
			               types[i].what);
		return 0;
	}
	return err_set(e, -EINVAL, "hostPath: unknown type %s", type);
}

int kl_volumes_setup(struct kl_pod *p, struct err *e)
{
	int64_t fsg = -1;
	obj_get_i64(p->obj, "spec.securityContext.fsGroup", &fsg);
	int gid = fsg >= 0 && fsg < 0x7fffffff ? (int)fsg : -1;
	char *pdir = xasprintf("%s/pods/%s/volumes", p->k->data_dir, p->uid);
	int pr = mkdir_p(pdir, 0750);
	if (pr < 0) {
		err_set(e, pr, "create %s: %s", pdir, strerror(-pr));
		free(pdir);
		return pr;
	}
	free(pdir);
	const cJSON *v;
	cJSON_ArrayForEach(v, obj_get(p->obj, "spec.volumes"))
	{
		const char *name = obj_get_str(v, "name");
		if (!name)
			continue;
		if (obj_get(v, "hostPath")) {
			if (host_path_check(obj_get(v, "hostPath"), e) < 0)
				return err_wrap(e, "MountVolume.SetUp failed for volume \"%s\"",
				                name);
			continue;
		}
		char *dir = kl_volume_host_path(p, name, e);
		if (!dir)
			return err_wrap(e, "MountVolume.SetUp failed for volume \"%s\"", name);
		int r = mkdir_p(dir, 0755);
		if (r < 0) {
			err_set(e, r, "create %s: %s", dir, strerror(-r));
			free(dir);
			return err_wrap(e, "MountVolume.SetUp failed for volume \"%s\"", name);
		}
		struct vfiles f = { 0 };
		const cJSON *src;
		if ((src = obj_get(v, "emptyDir"))) {
			const char *medium = obj_get_str(src, "medium");
			if (medium && !strcmp(medium, "Memory"))
				r = mount_tmpfs(dir, obj_get_str(src, "sizeLimit"), e);
			else
				chmod(dir, 0777);
			if (r == 0 && gid >= 0 && chown(dir, (uid_t)-1, (gid_t)gid) == 0)
				chmod(dir, 02777);
		} else if ((src = obj_get(v, "configMap")) || (src = obj_get(v, "secret"))) {
			bool secret = obj_get(v, "secret") != NULL;
			if (secret)
				r = mount_tmpfs(dir, NULL, e);
			if (r == 0)
				r = add_source(p, src, secret, mode_of(src, "defaultMode", 0644),
				               &f, e);
			if (r == 0)
				r = atomic_write(dir, &f, gid, e);
		} else if ((src = obj_get(v, "downwardAPI"))) {
			r = add_downward(p, obj_get(src, "items"),
			                 mode_of(src, "defaultMode", 0644), &f, e);
			if (r == 0)
				r = atomic_write(dir, &f, gid, e);
		} else if ((src = obj_get(v, "projected"))) {
			int mode = mode_of(src, "defaultMode", 0644);
			r = mount_tmpfs(dir, NULL, e);
			const cJSON *s;
			cJSON_ArrayForEach(s, obj_get(src, "sources"))
			{
				if (r < 0)
					break;
				if (obj_get(s, "configMap"))
					r = add_source(p, obj_get(s, "configMap"), false, mode, &f,
					               e);
				else if (obj_get(s, "secret"))
					r = add_source(p, obj_get(s, "secret"), true, mode, &f, e);
				else if (obj_get(s, "downwardAPI"))
					r = add_downward(p, obj_get(s, "downwardAPI.items"), mode,
					                 &f, e);
				/* serviceAccountToken needs a token issuer, which tug does not have
				 * yet: the file is left out. */
			}
			if (r == 0)
				r = atomic_write(dir, &f, gid, e);
		}
		vf_free(&f);
		free(dir);
		if (r < 0)
			return err_wrap(e, "MountVolume.SetUp failed for volume \"%s\"", name);
	}
	return 0;
}
