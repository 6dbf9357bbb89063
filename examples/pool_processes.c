/* examples/pool_processes.c — the seed's Pool.map, with worker processes.
 *
 *   from multiprocessing import Pool
 *   def square(x):
 *       return x * x
 *   dataset = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
 *   print('Dataset: ' + str(dataset))
 *   agents, chunksize = 5, 3
 *   with Pool(processes=agents) as pool:
 *       result = pool.map(square, dataset, chunksize)
 *   print('Result: ' + str(result))
 *
 * The same program as examples/pool_map.c, but the 5 workers are processes
 * (weft_ppool) instead of threads: the items travel to them as bytes in
 * chunks of 3, `square` is found in each worker by name (not by pointer),
 * and the results come back in input order. A worker that crashed would
 * fail only its own chunk (see examples/crash_proof_pool.c). */
#include <stdio.h>
#include <weft/weft.h>

static int square(const void *in, void *out, void *ctx) {
  (void)ctx;
  int x = *(const int *)in;
  *(int *)out = x * x;
  return 0;
}

static void print_list(const char *label, const int *v, size_t n) {
  printf("%s: [", label);
  for (size_t i = 0; i < n; i++) printf("%s%d", i ? ", " : "", v[i]);
  printf("]\n");
}

int main(void) {
  int dataset[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  enum { N = sizeof dataset / sizeof dataset[0] };
  int result[N];
  print_list("Dataset", dataset, N);
  fflush(stdout); /* before workers exist: nothing buffered is duplicated */

  unsigned agents = 5;
  size_t chunksize = 3;
  weft_ppool *pool;
  int rc = weft_ppool_create(&pool, &(weft_ppool_options){.processes = agents});
  if (rc) {
    fprintf(stderr, "weft_ppool_create: %s\n", weft_strerror(rc));
    return 1;
  }
  weft_map m = {.fn = square, .in = dataset, .in_size = sizeof(int),
                .out = result, .out_size = sizeof(int), .n = N, .chunksize = chunksize};
  rc = weft_ppool_map(pool, &m);
  weft_ppool_destroy(pool);    /* the end of the `with` block */
  if (rc) {
    fprintf(stderr, "map failed at item %zu: %s (%s)\n", m.failed_index, weft_strerror(rc),
            m.message);
    return 1;
  }
  print_list("Result", result, N);
  return 0;
}
