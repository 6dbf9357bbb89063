/* src/trace/log.c — weft_log: leveled lines to stderr with the thread, the
 * pool worker and the task that wrote them. Each line goes out in one
 * write(2), so lines from different threads never interleave. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "trace/trace_internal.h"

int weft__log_threshold = WEFT_LOG_WARN;

static int (*ctx_worker)(void);
static uint64_t (*ctx_task)(void);

void weft__log_set_context(int (*worker_index)(void), uint64_t (*task_id)(void)) {
  __atomic_store_n(&ctx_worker, worker_index, __ATOMIC_RELEASE);
  __atomic_store_n(&ctx_task, task_id, __ATOMIC_RELEASE);
}

int weft_log_level(void) {
  return __atomic_load_n(&weft__log_threshold, __ATOMIC_RELAXED);
}

void weft_log_set_level(int level) {
  if (level < WEFT_LOG_OFF) level = WEFT_LOG_OFF;
  if (level > WEFT_LOG_DEBUG) level = WEFT_LOG_DEBUG;
  __atomic_store_n(&weft__log_threshold, level, __ATOMIC_RELAXED);
}

static const char level_char[] = {'-', 'E', 'W', 'I', 'D'};

void weft_log(int level, const char *fmt, ...) {
  if (level <= WEFT_LOG_OFF || level > WEFT_LOG_DEBUG || !weft_log_enabled(level) || !fmt) return;
  char line[1024];
  uint64_t now = weft_now_ns();
  char tname[16] = "";
  pthread_getname_np(pthread_self(), tname, sizeof tname);
  int n = snprintf(line, sizeof line, "weft %llu.%06llu %c [tid %ld %s]",
                   (unsigned long long)(now / 1000000000u),
                   (unsigned long long)(now % 1000000000u / 1000u), level_char[level],
                   (long)syscall(SYS_gettid), tname);
  int (*wi)(void) = __atomic_load_n(&ctx_worker, __ATOMIC_ACQUIRE);
  uint64_t (*ti)(void) = __atomic_load_n(&ctx_task, __ATOMIC_ACQUIRE);
  int widx = wi ? wi() : -1;
  uint64_t task = ti ? ti() : 0;
  if (widx >= 0 && n < (int)sizeof line)
    n += snprintf(line + n, sizeof line - (size_t)n, " [worker %d]", widx);
  if (task && n < (int)sizeof line)
    n += snprintf(line + n, sizeof line - (size_t)n, " [task %#llx]", (unsigned long long)task);
  if (n < (int)sizeof line - 1) {
    line[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (m > 0) n += m;
  }
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2; /* cut: keep the newline */
  line[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, (size_t)n);
  (void)w;
}

static int parse_level(const char *s) {
  static const char *const names[] = {"off", "error", "warn", "info", "debug"};
  for (int i = 0; i <= WEFT_LOG_DEBUG; i++)
    if (strcasecmp(s, names[i]) == 0) return i;
  if (strcasecmp(s, "warning") == 0) return WEFT_LOG_WARN;
  if (s[0] >= '0' && s[0] <= '4' && s[1] == 0) return s[0] - '0';
  return -1;
}

__attribute__((constructor)) static void log_from_env(void) {
  const char *s = getenv("WEFT_LOG");
  if (!s || !*s) return;
  int l = parse_level(s);
  if (l >= 0) weft_log_set_level(l);
  else fprintf(stderr, "weft: WEFT_LOG=%s not understood (error|warn|info|debug|off)\n", s);
}
