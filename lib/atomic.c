/*
 * atomic: see atomic.h.
 */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int atomic_write_at(int dirfd, const char *name, const void *p, size_t n,
                    mode_t mode)
{
    char tmp[256];
    int fd, e;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", name) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return -1;
    if (atomic_write_all(fd, p, n) < 0 || fsync(fd) < 0) goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (renameat(dirfd, tmp, dirfd, name) < 0) goto fail;
    return fsync(dirfd);
fail:
    e = errno;
    if (fd >= 0) close(fd);
    unlinkat(dirfd, tmp, 0);
    errno = e;
    return -1;
}

int atomic_begin(const char *path, char *tmp, size_t tmpcap)
{
    int fd;
    if ((size_t)snprintf(tmp, tmpcap, "%s.XXXXXX", path) >= tmpcap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkstemp(tmp);
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static int sync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int dfd, r;
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0) n = 1;
        if (n >= sizeof dir) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    r = fsync(dfd);
    close(dfd);
    return r;
}

int atomic_commit(int fd, const char *tmp, const char *path)
{
    int e;
    if (fsync(fd) < 0) goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) goto fail;
    return sync_dir_of(path);
fail:
    e = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

void atomic_abort(int fd, const char *tmp)
{
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    errno = e;
}

int atomic_write(const char *path, const void *p, size_t n, mode_t mode)
{
    char tmp[4096];
    int fd = atomic_begin(path, tmp, sizeof tmp);
    if (fd < 0) return -1;
    if (fchmod(fd, mode) < 0 || atomic_write_all(fd, p, n) < 0) {
        atomic_abort(fd, tmp);
        return -1;
    }
    return atomic_commit(fd, tmp, path);
}
