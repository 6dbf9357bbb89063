/* src/trace/elfsym.c — names of functions the dynamic linker cannot name.
 *
 * dladdr sees only exported symbols, but task functions are usually
 * `static` in the program itself. The program's file still has a full
 * symbol table (.symtab) unless it was stripped: read it once (mapped, kept
 * until exit) and look the address up there. Write time only. */
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "trace/trace_priv.h"

#define NMODS 8

typedef struct mod {
  char path[256];
  const Elf64_Sym *syms;
  size_t nsyms;
  const char *strs;
  size_t strsize;
  bool pie;            /* addresses relative to the load base */
} mod;

static pthread_mutex_t mods_lock = PTHREAD_MUTEX_INITIALIZER;
static mod mods[NMODS];
static int nmods;

static void load(mod *m) {
  int fd = open(m->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  void *map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(Elf64_Ehdr))
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return;
  const char *base = map;
  size_t size = (size_t)st.st_size;
  const Elf64_Ehdr *eh = map;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size) {
    munmap(map, size);
    return;
  }
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr *str = &sh[sh[i].sh_link];
    if (sh[i].sh_offset + sh[i].sh_size > size || str->sh_offset + str->sh_size > size) break;
    m->syms = (const Elf64_Sym *)(base + sh[i].sh_offset);
    m->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
    m->strs = base + str->sh_offset;
    m->strsize = str->sh_size;
    m->pie = eh->e_type == ET_DYN;
    return; /* stays mapped: names point into it */
  }
  munmap(map, size);
}

static mod *find_mod(const char *path) {
  for (int i = 0; i < nmods; i++)
    if (strcmp(mods[i].path, path) == 0) return &mods[i];
  if (nmods == NMODS) return NULL;
  mod *m = &mods[nmods++];
  snprintf(m->path, sizeof m->path, "%s", path);
  load(m);
  return m;
}

/* The name of the function at addr in the object loaded from path at base,
 * or NULL. */
const char *weft__trace_elf_name(const char *path, const void *base, const void *addr) {
  const char *r = NULL;
  pthread_mutex_lock(&mods_lock);
  mod *m = find_mod(path);
  if (m && m->syms) {
    uint64_t want = (uint64_t)(uintptr_t)addr - (m->pie ? (uint64_t)(uintptr_t)base : 0);
    for (size_t i = 0; i < m->nsyms && !r; i++) {
      const Elf64_Sym *s = &m->syms[i];
      if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_value == want && s->st_name < m->strsize)
        r = m->strs + s->st_name;
    }
  }
  pthread_mutex_unlock(&mods_lock);
  return r;
}
