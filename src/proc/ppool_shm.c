/* src/proc/ppool_shm.c — memfds of the process pool: regions, large
 * arguments and large results.
 *
 * A large result travels as a memfd whose first page is left for a header:
 * the owner maps it privately and hands the future a pointer just past that
 * page, with the mapping's length stored in the page, so value_free can
 * munmap it from the pointer alone — a 100 MB result is never copied on the
 * owner's side. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include "proc/ppool_internal.h"

int pp_memfd(const char *name, size_t size, int *fd, void **map) {
  int f = memfd_create(name, MFD_CLOEXEC);
  if (f < 0) return errno == ENOMEM ? WEFT_ENOMEM : -errno;
  if (ftruncate(f, (off_t)size) != 0) {
    int e = -errno;
    close(f);
    return e;
  }
  if (map) {
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    if (m == MAP_FAILED) {
      close(f);
      return WEFT_ENOMEM;
    }
    *map = m;
  }
  *fd = f;
  return 0;
}

/* A memfd holding size bytes of data at offset 0 (one copy, by the kernel). */
int pp_memfd_with(const void *data, size_t size, int *fd) {
  int f = -1;
  int rc = pp_memfd("weft-ppool-arg", size, &f, NULL);
  if (rc) return rc;
  size_t done = 0;
  while (done < size) {
    ssize_t k = pwrite(f, (const char *)data + done, size - done, (off_t)done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = k < 0 ? -errno : WEFT_EIO;
      close(f);
      return e;
    }
    done += (size_t)k;
  }
  *fd = f;
  return 0;
}

void pp_unmap_value(void *value) {
  if (!value) return;
  char *base = (char *)value - PP_PAGE;
  size_t len;
  __builtin_memcpy(&len, base, sizeof len);
  munmap(base, len);
}

/* Maps a result memfd (data after the header page) as a future's value. */
int pp_map_value_fd(int fd, size_t size, void **value) {
  size_t len = PP_PAGE + size;
  char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) return WEFT_ENOMEM;
  __builtin_memcpy(m, &len, sizeof len);
  *value = m + PP_PAGE;
  return 0;
}
