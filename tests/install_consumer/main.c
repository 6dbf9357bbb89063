/* tests/install_consumer/main.c — a program outside the weft tree, built
 * against an installed copy (tests/install_check.cmake): the headers, the
 * library and its link flags must all be found from the install alone. */
#include <stdio.h>
#include <string.h>
#include <weft/weft.h>

static int square(const void *in, void *out, void *ctx) {
  (void)ctx;
  *(int *)out = *(const int *)in * *(const int *)in;
  return 0;
}

int main(void) {
  int in[4] = {1, 2, 3, 4}, out[4] = {0};
  weft_map m = {.fn = square, .in = in, .in_size = sizeof(int), .out = out,
                .out_size = sizeof(int), .n = 4};
  int rc = weft_map_run(NULL, &m);
  printf("consumer: weft %s, squares %d %d %d %d\n", weft_version_string(), out[0], out[1],
         out[2], out[3]);
  return rc == 0 && out[3] == 16 && strcmp(weft_version_string(), WEFT_EXPECT_VERSION) == 0
         ? 0 : 1;
}
