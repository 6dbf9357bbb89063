/* src/chan/chan_select.c — weft_select: wait until one of several channel
 * operations can proceed, and do exactly that one.
 *
 * A select first polls every case, starting at a random index so that no
 * ready case starves. If none fired and it may wait, it registers one
 * listener per case on the wait queue that case waits for ("not empty" for
 * a receive, "not full" for a send; close notifies both) — the same queues
 * and notifications blocking send/recv use — then sleeps on its own futex
 * word, re-polling after every signal. */
#include <stdlib.h>
#include "chan/chan_internal.h"

/* Listeners for up to this many cases live on the caller's stack. */
#define SELECT_STACK_CASES 8

static uint32_t random_u32(void) {
  static __thread uint32_t state;
  if (weft_unlikely(state == 0))
    state = (uint32_t)(weft_now_ns() ^ (uintptr_t)&state) | 1u;
  state ^= state << 13; /* xorshift32: fairness, not cryptography */
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

static bool cases_valid(const weft_select_case *cases, size_t n) {
  if (!cases || n == 0) return false;
  for (size_t i = 0; i < n; i++) {
    const weft_select_case *k = &cases[i];
    if (!k->chan || !k->item) return false;
    if (k->op != WEFT_SELECT_RECV && k->op != WEFT_SELECT_SEND) return false;
  }
  return true;
}

/* One pass over the cases from `start`; true when one fired. A closed
 * channel fires with result WEFT_ECLOSED; an unbounded channel that cannot
 * grow fires with WEFT_ENOMEM. */
static bool poll_cases(weft_select_case *cases, size_t n, size_t start, size_t *fired) {
  for (size_t k = 0; k < n; k++) {
    size_t i = (start + k) % n;
    weft_select_case *c = &cases[i];
    int rc = c->op == WEFT_SELECT_RECV ? weft__chan_try_recv(c->chan, c->item)
                                       : weft__chan_try_send(c->chan, c->item);
    if (rc != WEFT_EAGAIN) {
      c->result = rc;
      *fired = i;
      return true;
    }
  }
  return false;
}

static chan_waitq *case_queue(const weft_select_case *c) {
  return c->op == WEFT_SELECT_RECV ? &c->chan->not_empty : &c->chan->not_full;
}

/* Registered on every case's queue: sleeps until a poll fires or the
 * deadline passes. */
static int wait_cases(weft_select_case *cases, size_t n, size_t start, uint64_t deadline,
                      size_t *fired, chan_listener *listeners) {
  chan_select_waiter w = {0};
  for (size_t i = 0; i < n; i++) weft__waitq_listen(case_queue(&cases[i]), &listeners[i], &w);
  int rc = WEFT_ETIMEDOUT;
  for (;;) {
    /* Read the key before polling: a signal after the poll changes it and
     * makes the futex wait return at once. */
    uint32_t key = __atomic_load_n(&w.seq, __ATOMIC_ACQUIRE);
    if (poll_cases(cases, n, start, fired)) {
      rc = 0;
      break;
    }
    if (weft__futex_wait(&w.seq, key, deadline) == WEFT_ETIMEDOUT) {
      if (poll_cases(cases, n, start, fired)) rc = 0;
      break;
    }
  }
  for (size_t i = 0; i < n; i++) weft__waitq_unlisten(case_queue(&cases[i]), &listeners[i]);
  return rc;
}

int weft_select(weft_select_case *cases, size_t n, uint64_t timeout_ns, size_t *fired) {
  if (!fired || !cases_valid(cases, n)) return WEFT_EINVAL;
  size_t start = random_u32() % n;
  if (poll_cases(cases, n, start, fired)) return 0;
  if (timeout_ns == 0) return WEFT_EAGAIN;
  uint64_t deadline = weft_deadline_after(timeout_ns);
  chan_listener stack[SELECT_STACK_CASES];
  chan_listener *listeners = stack;
  if (n > SELECT_STACK_CASES) {
    listeners = calloc(n, sizeof *listeners);
    if (!listeners) return WEFT_ENOMEM;
  }
  int rc = wait_cases(cases, n, start, deadline, fired, listeners);
  if (listeners != stack) free(listeners);
  return rc;
}
