/* src/proc/fnref.c — naming a function so another process of the same
 * program can find it: (object, offset from its load bias, file identity).
 *
 * The object is found with dladdr1(RTLD_DL_LINKMAP). The main program is
 * recorded as "" because its link-map name is empty and its file is
 * /proc/self/exe in every process. Shared libraries are recorded by their
 * link-map name, which is the name dlopen accepts back. The file identity
 * (device, inode) guards against a library replaced between the two
 * processes; it is 0/0 when the file can no longer be stat'ed (deleted after
 * loading), and then only an already-loaded copy can satisfy the child. */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "proc/launch.h"

static void file_id(const char *path, uint64_t *dev, uint64_t *ino) {
  struct stat st;
  if (stat(path, &st) == 0) {
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
  } else {
    *dev = *ino = 0;
  }
}

int weft__fnref_make(weft__fnref *out, const void *fn, char *err, size_t errlen) {
  if (!out || !fn) {
    if (err && errlen) snprintf(err, errlen, "no function given");
    return WEFT_EINVAL;
  }
  Dl_info info;
  struct link_map *lm = NULL;
  if (!dladdr1(fn, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm) {
    if (err && errlen)
      snprintf(err, errlen, "function %p is not inside a loaded object", fn);
    return WEFT_EINVAL;
  }
  memset(out, 0, sizeof *out);
  out->offset = (uint64_t)((uintptr_t)fn - (uintptr_t)lm->l_addr);
  const char *name = lm->l_name ? lm->l_name : "";
  bool is_main = name[0] == '\0';
  if (!is_main && strlen(name) >= sizeof out->path) {
    if (err && errlen) snprintf(err, errlen, "object path too long: %.200s...", name);
    return WEFT_ERANGE;
  }
  if (is_main) {
    file_id("/proc/self/exe", &out->dev, &out->ino);
  } else {
    strcpy(out->path, name);
    file_id(name, &out->dev, &out->ino);
  }
  return 0;
}

/* The object `lm` must have an executable segment covering `offset`, so a
 * stale reference never jumps into data. */
typedef struct seg_check {
  ElfW(Addr) bias;
  uint64_t offset;
  int found;
} seg_check;

static int seg_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  seg_check *s = data;
  if (info->dlpi_addr != s->bias) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && s->offset >= ph->p_vaddr &&
        s->offset < ph->p_vaddr + ph->p_memsz) {
      s->found = 1;
      return 1;
    }
  }
  return 0;
}

static struct link_map *open_object(const weft__fnref *r, char *err, size_t errlen) {
  void *h;
  if (r->path[0] == '\0') {
    uint64_t dev, ino;
    file_id("/proc/self/exe", &dev, &ino);
    if (r->dev && (dev != r->dev || ino != r->ino)) {
      if (err && errlen)
        snprintf(err, errlen, "the main program is a different file than the one that named "
                              "the function (offset 0x%llx)", (unsigned long long)r->offset);
      return NULL;
    }
    h = dlopen(NULL, RTLD_LAZY);
  } else {
    /* Already loaded under that name (linked, or inherited through fork). */
    h = dlopen(r->path, RTLD_LAZY | RTLD_NOLOAD);
    if (!h) {
      uint64_t dev, ino;
      file_id(r->path, &dev, &ino);
      if (!dev && !ino) {
        if (err && errlen)
          snprintf(err, errlen, "cannot find shared object %s (function at offset 0x%llx): "
                                "file missing", r->path, (unsigned long long)r->offset);
        return NULL;
      }
      if (r->dev && (dev != r->dev || ino != r->ino)) {
        if (err && errlen)
          snprintf(err, errlen, "shared object %s is a different file now (function at "
                                "offset 0x%llx)", r->path, (unsigned long long)r->offset);
        return NULL;
      }
      /* Kept loaded for the life of the process: the function may be called
       * again (pool workers run many tasks). */
      h = dlopen(r->path, RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        const char *e = dlerror();
        if (err && errlen)
          snprintf(err, errlen, "cannot load %s (function at offset 0x%llx): %s", r->path,
                   (unsigned long long)r->offset, e ? e : "unknown error");
        return NULL;
      }
    }
  }
  struct link_map *lm = NULL;
  if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm) {
    if (err && errlen)
      snprintf(err, errlen, "cannot inspect object %s", r->path[0] ? r->path : "(main program)");
    return NULL;
  }
  return lm;
}

int weft__fnref_resolve(const weft__fnref *r, void **fn, char *err, size_t errlen) {
  if (!r || !fn) return WEFT_EINVAL;
  if (memchr(r->path, '\0', sizeof r->path) == NULL) {
    if (err && errlen) snprintf(err, errlen, "malformed function reference");
    return WEFT_ENOENT;
  }
  struct link_map *lm = open_object(r, err, errlen);
  if (!lm) return WEFT_ENOENT;
  seg_check s = {.bias = lm->l_addr, .offset = r->offset, .found = 0};
  dl_iterate_phdr(seg_cb, &s);
  if (!s.found) {
    if (err && errlen)
      snprintf(err, errlen, "offset 0x%llx is outside the code of %s",
               (unsigned long long)r->offset, r->path[0] ? r->path : "the main program");
    return WEFT_ENOENT;
  }
  *fn = (void *)((uintptr_t)lm->l_addr + (uintptr_t)r->offset);
  return 0;
}
