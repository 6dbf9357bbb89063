/* src/proc/shm.c — shared memory segments: anonymous (memfd) and named
 * (POSIX shm_open), plus typed shared arrays/values built on them.
 *
 * Anonymous segments use memfd_create rather than MAP_SHARED|MAP_ANONYMOUS
 * because a memfd has an fd: besides fork children, a spawned process can
 * map it once handed the fd (inheritance or SCM_RIGHTS). Named segments are
 * created O_EXCL with mode 0600 so that no other user can read or write
 * them, and a stale segment of the same name is an error, never reused. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/internal.h"
#include "weft/proc.h"

struct weft_shm {
  void *ptr;
  size_t size;
  int fd;
};

/* POSIX names: "/x", one leading slash and no other, short enough. */
static bool name_ok(const char *name) {
  if (!name || name[0] != '/' || name[1] == '\0') return false;
  size_t len = strnlen(name, NAME_MAX + 2);
  return len <= NAME_MAX && !strchr(name + 1, '/');
}

/* Wraps fd (taken over) into a handle, mapping `size` bytes. */
static int map_fd(weft_shm **out, int fd, size_t size) {
  weft_shm *s = malloc(sizeof *s);
  if (!s) {
    close(fd);
    return WEFT_ENOMEM;
  }
  s->ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (s->ptr == MAP_FAILED) {
    int rc = -errno;
    close(fd);
    free(s);
    return rc;
  }
  s->size = size;
  s->fd = fd;
  *out = s;
  return 0;
}

int weft_shm_create(weft_shm **out, const char *name, size_t size) {
  if (out) *out = NULL;
  if (!out || size == 0 || (size_t)(off_t)size != size || (name && !name_ok(name)))
    return WEFT_EINVAL;
  int fd = name ? shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
                : memfd_create("weft-shm", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  if (ftruncate(fd, (off_t)size) != 0) {
    int rc = -errno;
    close(fd);
    if (name) shm_unlink(name); /* we created it: leave nothing behind */
    return rc;
  }
  int rc = map_fd(out, fd, size);
  if (rc != 0 && name) shm_unlink(name);
  return rc;
}

static int map_whole(weft_shm **out, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int rc = -errno;
    close(fd);
    return rc;
  }
  if (st.st_size <= 0) {
    close(fd);
    return WEFT_EINVAL;
  }
  return map_fd(out, fd, (size_t)st.st_size);
}

int weft_shm_open(weft_shm **out, const char *name) {
  if (out) *out = NULL;
  if (!out || !name_ok(name)) return WEFT_EINVAL;
  int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return -errno;
  return map_whole(out, fd);
}

int weft_shm_from_fd(weft_shm **out, int fd) {
  if (out) *out = NULL;
  if (!out || fd < 0) return WEFT_EINVAL;
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return -errno;
  return map_whole(out, dup_fd);
}

void *weft_shm_ptr(const weft_shm *s) {
  return s ? s->ptr : NULL;
}

size_t weft_shm_size(const weft_shm *s) {
  return s ? s->size : 0;
}

int weft_shm_fd(const weft_shm *s) {
  return s ? s->fd : -1;
}

void weft_shm_destroy(weft_shm *s) {
  if (!s) return;
  munmap(s->ptr, s->size);
  close(s->fd);
  free(s);
}

int weft_shm_unlink(const char *name) {
  if (!name_ok(name)) return WEFT_EINVAL;
  return shm_unlink(name) == 0 ? 0 : -errno;
}

/* ---- typed arrays: [weft_plock, padded to a cache line][elements] ---- */

struct weft_shm_array {
  weft_shm *shm;
  size_t len;
};

enum { ARRAY_DATA_OFFSET = WEFT_CACHELINE };
_Static_assert(sizeof(weft_plock) <= ARRAY_DATA_OFFSET, "lock fits before the data");

int weft_shm_array_create(weft_shm_array **out, size_t elem_size, size_t n) {
  if (out) *out = NULL;
  size_t bytes;
  if (!out || elem_size == 0 || n == 0 || __builtin_mul_overflow(elem_size, n, &bytes) ||
      bytes > SIZE_MAX - ARRAY_DATA_OFFSET)
    return WEFT_EINVAL;
  weft_shm_array *a = malloc(sizeof *a);
  if (!a) return WEFT_ENOMEM;
  int rc = weft_shm_create(&a->shm, NULL, ARRAY_DATA_OFFSET + bytes);
  if (rc == 0) rc = weft_plock_init(weft_shm_ptr(a->shm));
  if (rc != 0) {
    weft_shm_destroy(a->shm);
    free(a);
    return rc;
  }
  a->len = n;
  *out = a;
  return 0;
}

void *weft_shm_array_data(const weft_shm_array *a) {
  return a ? (char *)weft_shm_ptr(a->shm) + ARRAY_DATA_OFFSET : NULL;
}

size_t weft_shm_array_len(const weft_shm_array *a) {
  return a ? a->len : 0;
}

weft_plock *weft_shm_array_lock(const weft_shm_array *a) {
  return a ? weft_shm_ptr(a->shm) : NULL;
}

void weft_shm_array_destroy(weft_shm_array *a) {
  if (!a) return;
  weft_shm_destroy(a->shm);
  free(a);
}
