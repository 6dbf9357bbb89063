/* examples/deadlock_found.c — a deadlock found before it happens.
 *
 * Two bank transfers lock the two accounts in opposite orders. Run one
 * after the other they never hang — yet run together they can each hold
 * one account and wait for the other forever. With WEFT_DEBUG=locks (set
 * here by weft_lockdep_enable) weft reports the order cycle, with both call
 * sites, the first time the second order is tried:
 *
 *   WEFT_DEBUG=locks ./deadlock_found
 *
 * The fix is the classic one, shown last: always lock in one global order
 * (here: by account number). */
#include <stdio.h>
#include <weft/weft.h>

typedef struct account {
  int id;
  long balance;
  weft_mutex lock;
} account;

/* Locks `from` first: the order depends on the direction. */
static void transfer_unordered(account *from, account *to, long amount) {
  weft_mutex_lock(&from->lock);
  weft_mutex_lock(&to->lock);
  from->balance -= amount;
  to->balance += amount;
  weft_mutex_unlock(&to->lock);
  weft_mutex_unlock(&from->lock);
}

/* Locks the lower account number first, whatever the direction. */
static void transfer_ordered(account *from, account *to, long amount) {
  account *first = from->id < to->id ? from : to, *second = first == from ? to : from;
  weft_mutex_lock(&first->lock);
  weft_mutex_lock(&second->lock);
  from->balance -= amount;
  to->balance += amount;
  weft_mutex_unlock(&second->lock);
  weft_mutex_unlock(&first->lock);
}

int main(void) {
  account x = {1, 100, WEFT_MUTEX_INIT}, y = {2, 100, WEFT_MUTEX_INIT};
  weft_lockdep_enable(true);
  transfer_unordered(&x, &y, 10); /* x then y */
  transfer_unordered(&y, &x, 5);  /* y then x: reported on stderr */
  printf("unordered transfers: %zu lock-order problem(s) reported\n", weft_lockdep_report_count());
  size_t before = weft_lockdep_report_count();
  weft_mutex_destroy(&x.lock); /* start the fixed version afresh */
  weft_mutex_destroy(&y.lock);
  transfer_ordered(&x, &y, 10);
  transfer_ordered(&y, &x, 5);
  printf("ordered transfers: %zu new problem(s); balances %ld and %ld\n",
         weft_lockdep_report_count() - before, x.balance, y.balance);
  return 0;
}
