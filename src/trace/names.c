/* src/trace/names.c — names in traces: labels for task functions, symbol
 * lookup, JSON string escaping. All of it runs at write time, never on the
 * recording path. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "trace/trace_priv.h"

typedef struct label {
  const void *fn;
  const char *name;  /* interned */
} label;

static pthread_mutex_t label_lock = PTHREAD_MUTEX_INITIALIZER;
static label *labels;
static size_t nlabels, caplabels;

int weft_trace_name_fn(const void *fn, const char *name) {
  if (!fn || !name) return WEFT_EINVAL;
  const char *s = weft__trace_intern(name);
  if (!s) return WEFT_ENOMEM;
  int rc = 0;
  pthread_mutex_lock(&label_lock);
  size_t i = 0;
  while (i < nlabels && labels[i].fn != fn) i++;
  if (i == nlabels) {
    if (nlabels == caplabels) {
      size_t ncap = caplabels ? caplabels * 2 : 32;
      label *n = realloc(labels, ncap * sizeof *n);
      if (!n) {
        rc = WEFT_ENOMEM;
        goto out;
      }
      labels = n;
      caplabels = ncap;
    }
    nlabels++;
  }
  labels[i] = (label){fn, s};
out:
  pthread_mutex_unlock(&label_lock);
  return rc;
}

const char *weft__trace_fn_label(const void *fn) {
  const char *r = NULL;
  pthread_mutex_lock(&label_lock);
  for (size_t i = 0; i < nlabels && !r; i++)
    if (labels[i].fn == fn) r = labels[i].name;
  pthread_mutex_unlock(&label_lock);
  return r;
}

static void put_body(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
}

void weft__trace_put_str(FILE *f, const char *s) {
  fputc('"', f);
  put_body(f, s ? s : "");
  fputc('"', f);
}

/* The full symbol table's name for fn. The main program's path may be
 * relative (argv[0]) and the working directory may have changed since. */
static const char *elf_name(const Dl_info *info, const void *fn) {
  const char *path = info->dli_fname[0] == '/' ? info->dli_fname : "/proc/self/exe";
  return weft__trace_elf_name(path, info->dli_fbase, fn);
}

/* A label, else the dynamic symbol (exported functions of shared objects,
 * or of executables linked with -rdynamic), else object+offset — stable
 * across runs of the same binary, so two traces still compare. */
void weft__trace_fn_name(const void *fn, char *out, size_t n) {
  const char *l = weft__trace_fn_label(fn);
  Dl_info info;
  if (l) {
    snprintf(out, n, "%s", l);
  } else if (dladdr(fn, &info) && info.dli_sname && info.dli_saddr == fn) {
    snprintf(out, n, "%s", info.dli_sname);
  } else if (dladdr(fn, &info) && info.dli_fname && (l = elf_name(&info, fn))) {
    snprintf(out, n, "%s", l);
  } else if (dladdr(fn, &info) && info.dli_fname) {
    const char *base = strrchr(info.dli_fname, '/');
    snprintf(out, n, "%s+0x%lx", base ? base + 1 : info.dli_fname,
             (unsigned long)((const char *)fn - (const char *)info.dli_fbase));
  } else {
    snprintf(out, n, "fn@%p", fn);
  }
}
