/* tests/plugin/testplugin.c — a small shared library for tests/test_process.c:
 * linked into the test (functions named through a library's link-map entry)
 * and copied + dlopen'ed (functions in a library the child must load). */
#include <stddef.h>

/* Exit code: 100 + the byte sum mod 100, so the test sees the bytes arrived. */
int weft_testplugin_sum(const void *arg, size_t size);
int weft_testplugin_sum(const void *arg, size_t size) {
  const unsigned char *p = arg;
  unsigned s = 0;
  for (size_t i = 0; i < size; i++) s += p[i];
  return 100 + (int)(s % 100);
}

/* The same through dlsym, under a name of its own. */
int weft_testplugin_loaded(const void *arg, size_t size);
int weft_testplugin_loaded(const void *arg, size_t size) {
  return weft_testplugin_sum(arg, size) + 50;
}

/* For the process pool (tests/test_ppool.c): a task's code must be 0 or
 * negative, so the byte sum comes back as -(1000 + sum mod 100). */
int weft_testplugin_task(const void *arg, size_t size);
int weft_testplugin_task(const void *arg, size_t size) {
  return -(1000 + weft_testplugin_sum(arg, size) - 100);
}
