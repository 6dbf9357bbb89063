/* src/thread/thread_internal.h — the thread handle, shared by the files of
 * src/thread/. */
#ifndef WEFT_THREAD_INTERNAL_H
#define WEFT_THREAD_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include "weft/thread.h"

struct weft_thread {
  pthread_t pthread;
  weft_thread_fn fn;
  void *arg;
  uint32_t refs;      /* creator + thread; the last one frees (atomic) */
  uint32_t finished;  /* set by the thread once fn returned (atomic) */
  char name[16];
};

#endif /* WEFT_THREAD_INTERNAL_H */
