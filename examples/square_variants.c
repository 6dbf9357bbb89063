/* examples/square_variants.c — the seed's three ways to square [1..5].
 *
 *   1. with multiprocessing.Pool() as pool:
 *          squared_numbers = pool.map(square, numbers)
 *   2. threads = [threading.Thread(target=square, args=(n,)) for n in numbers]
 *      (start them all, join them all)
 *   3. with concurrent.futures.ThreadPoolExecutor() as executor:
 *          squared_numbers = list(executor.map(square, numbers))
 *
 * The Python threading version throws its results away; here each thread
 * writes its own slot of an array, so no lock is needed. */
#include <stdio.h>
#include <weft/weft.h>

enum { N = 5 };

static long square(long number) {
  return number * number;
}

static void print_list(const char *label, const long *v) {
  printf("%-24s [", label);
  for (int i = 0; i < N; i++) printf("%s%ld", i ? ", " : "", v[i]);
  printf("]\n");
}

/* 1. Pool.map: a map over the items on a pool (NULL: the default pool). */
static int square_item(const void *in, void *out, void *ctx) {
  (void)ctx;
  *(long *)out = square(*(const long *)in);
  return 0;
}

static int with_pool_map(const long *numbers, long *out) {
  weft_map m = {.fn = square_item, .in = numbers, .in_size = sizeof(long),
                .out = out, .out_size = sizeof(long), .n = N};
  return weft_map_run(NULL, &m);
}

/* 2. One thread per number: each thread gets its own {in, out} slot. */
typedef struct slot { long in, out; } slot;

static int square_thread(void *arg) {
  slot *s = arg;
  s->out = square(s->in);
  return 0;
}

static int with_threads(const long *numbers, long *out) {
  slot slots[N];
  weft_thread *threads[N];
  int started = 0, rc = 0;
  for (; started < N; started++) {
    slots[started].in = numbers[started];
    if ((rc = weft_thread_create(&threads[started], "square", square_thread, &slots[started])))
      break;
  }
  for (int i = 0; i < started; i++) {
    weft_thread_join(threads[i], NULL);
    out[i] = slots[i].out;
  }
  return rc;
}

/* 3. executor.map: the same map, through an executor that owns its threads. */
static int with_executor(const long *numbers, long *out) {
  weft_executor *ex;
  int rc = weft_executor_threads_new(&ex, 0);
  if (rc) return rc;
  weft_map m = {.fn = square_item, .in = numbers, .in_size = sizeof(long),
                .out = out, .out_size = sizeof(long), .n = N};
  rc = weft_executor_map(ex, &m);
  weft_executor_destroy(ex);
  return rc;
}

int main(void) {
  const long numbers[N] = {1, 2, 3, 4, 5};
  long a[N] = {0}, b[N] = {0}, c[N] = {0};
  int rc = with_pool_map(numbers, a);
  if (!rc) rc = with_threads(numbers, b);
  if (!rc) rc = with_executor(numbers, c);
  if (rc) {
    fprintf(stderr, "failed: %s\n", weft_strerror(rc));
    return 1;
  }
  print_list("pool map:", a);
  print_list("one thread per number:", b);
  print_list("executor map:", c);
  for (int i = 0; i < N; i++)
    if (a[i] != square(numbers[i]) || b[i] != a[i] || c[i] != a[i]) return 1;
  return 0;
}
