/* examples/pool_map.c — the seed's Pool.map, in C.
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
 * A pool of 5 worker threads maps `square` over the dataset in chunks of 3
 * items; results come back in input order, as with Pool.map. (Processes
 * come with proc.h; in C, threads already run in parallel — there is no GIL.) */
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

  unsigned agents = 5;
  size_t chunksize = 3;
  weft_pool *pool;
  int rc = weft_pool_create(&pool, &(weft_pool_options){.threads = agents});
  if (rc) {
    fprintf(stderr, "weft_pool_create: %s\n", weft_strerror(rc));
    return 1;
  }
  weft_map m = {.fn = square, .in = dataset, .in_size = sizeof(int),
                .out = result, .out_size = sizeof(int), .n = N, .chunksize = chunksize};
  rc = weft_map_run(pool, &m);
  weft_pool_destroy(pool);     /* the end of the `with` block */
  if (rc) {
    fprintf(stderr, "map failed at item %zu: %s\n", m.failed_index, weft_strerror(rc));
    return 1;
  }
  print_list("Result", result, N);
  return 0;
}
