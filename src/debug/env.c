/* src/debug/env.c — WEFT_DEBUG, parsed in one place for every debugging aid
 * (lock-order checking, the stall watchdog). */
#include <stdlib.h>
#include <string.h>
#include "debug/debug_internal.h"

__thread weft__waitmark *weft__waitmark_self __attribute__((tls_model("initial-exec")));

static bool is_sep(char c) {
  return c == ',' || c == ' ' || c == ':' || c == ';' || c == '\t';
}

bool weft__debug_list_has(const char *list, const char *word) {
  if (!list || !word || !*word) return false;
  size_t wn = strlen(word);
  for (const char *s = list; *s;) {
    while (*s && is_sep(*s)) s++;
    const char *e = s;
    while (*e && !is_sep(*e)) e++;
    size_t n = (size_t)(e - s);
    if ((n == wn && strncmp(s, word, n) == 0) || (n == 3 && strncmp(s, "all", 3) == 0))
      return true;
    s = e;
  }
  return false;
}

bool weft__debug_has(const char *word) {
  /* getenv is read every time: cheap, and only at start-up paths (library
   * constructors, pool creation), never per task. */
  return weft__debug_list_has(getenv("WEFT_DEBUG"), word);
}
