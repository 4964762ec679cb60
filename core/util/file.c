/* file: whole-file reads, atomic replacement, directory creation and fsync. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/util.h"

int mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int read_file(const char *path, char **out, size_t *len, size_t max)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b = { 0 };

	if (fd < 0)
		return -errno;
	for (;;) {
		buf_reserve(&b, 4096);
		ssize_t r = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int rc = -errno;
			buf_free(&b);
			return rc;
		}
		if (r == 0)
			break;
		b.len += (size_t)r;
		b.data[b.len] = '\0';
		if (max && b.len > max) {
			buf_free(&b);
			return -EFBIG;
		}
	}
	if (len)
		*len = b.len;
	*out = buf_steal(&b);
	return 0;
}

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[4096], dir[4096];
	int rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || (rc = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		return rc ? rc : -EIO;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		fsync_dir(dir);
	} else {
		fsync_dir(slash ? "/" : ".");
	}
	return 0;
}
