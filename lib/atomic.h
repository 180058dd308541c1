/*
 * atomic: replace a file so that readers see the old or the new contents,
 * never a mix, and the new contents survive a crash once this returns:
 * write a temporary beside the target, fsync it, rename it over the
 * target, fsync the directory. The temporary is removed on any failure.
 */
#ifndef RNA_ATOMIC_H
#define RNA_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

/* Write all n octets to a blocking descriptor, retrying on EINTR and
 * short writes. 0, or -1 with errno. */
int atomic_write_all(int fd, const void *p, size_t n);

/* name is relative to the directory dirfd. 0, or -1 with errno. */
int atomic_write_at(int dirfd, const char *name, const void *p, size_t n,
                    mode_t mode);
/* path names the target; the temporary is created in its directory with
 * mkstemp. 0, or -1 with errno. */
int atomic_write(const char *path, const void *p, size_t n, mode_t mode);
/* For writers that build the file themselves (cdb_make): open a
 * temporary beside path (its name goes to tmp, which holds at least
 * strlen(path) + 8 octets) ... */
int atomic_begin(const char *path, char *tmp, size_t tmpcap);
/* ... then fsync + close fd, rename tmp over path, fsync the directory.
 * On failure the temporary is unlinked. */
int atomic_commit(int fd, const char *tmp, const char *path);
/* Give up: close and unlink. */
void atomic_abort(int fd, const char *tmp);

#endif
