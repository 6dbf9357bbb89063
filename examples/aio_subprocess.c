/* examples/aio_subprocess.c — a subprocess pipeline through async streams:
 * the equivalent of `printf 'cherry\napple\nbanana\n' | sort`, wired by
 * this program instead of a shell.
 *
 * asyncio's create_subprocess_exec with stdin/stdout pipes:
 *
 *   src  = await asyncio.create_subprocess_exec("printf", ..., stdout=PIPE)
 *   sort = await asyncio.create_subprocess_exec("sort", stdin=PIPE, stdout=PIPE)
 *   # copy src.stdout -> sort.stdin, then close sort.stdin
 *   async for line in sort.stdout: print(line)
 *
 * Two tasks run at once: one pumps printf's output into sort's input (and
 * half-closes it at the end, so sort knows its input is complete), the
 * other reads sort's output line by line. Neither blocks the loop. */
#include <stdio.h>
#include <string.h>
#include <weft/aio.h>
#include <weft/weft.h>

typedef struct pump_arg {
  weft_aio_stream *from, *to;
  size_t bytes;
} pump_arg;

/* Copies until EOF, then sends EOF on. */
static int pump(void *arg) {
  pump_arg *p = arg;
  char buf[4096];
  size_t n;
  int rc;
  while ((rc = weft_aio_read(p->from, buf, sizeof buf, &n)) == 0) {
    if ((rc = weft_aio_write(p->to, buf, n))) return rc;
    p->bytes += n;
  }
  if (rc != WEFT_EEOF) return rc;
  rc = weft_aio_drain(p->to);
  return rc ? rc : weft_aio_shutdown(p->to); /* sort sees the end of its input */
}

static int print_lines(void *arg) {
  weft_aio_stream *out = arg;
  char line[256];
  size_t n;
  int rc;
  while ((rc = weft_aio_read_line(out, line, sizeof line, &n)) == 0) printf("  %s", line);
  return rc == WEFT_EEOF ? 0 : rc;
}

static int subprocess_main(void *arg) {
  (void)arg;
  const char *src_argv[] = {"printf", "cherry\napple\nbanana\n", NULL};
  const char *sort_argv[] = {"sort", NULL};
  weft_aio_process *src = NULL, *sort = NULL;
  int rc = weft_aio_process_spawn(src_argv, &(weft_aio_process_options){.pipes = WEFT_AIO_PIPE_STDOUT},
                                  &src);
  if (!rc)
    rc = weft_aio_process_spawn(
        sort_argv, &(weft_aio_process_options){.pipes = WEFT_AIO_PIPE_STDIN | WEFT_AIO_PIPE_STDOUT},
        &sort);
  if (rc) {
    weft_aio_process_destroy(src);
    return rc;
  }
  printf("printf 'cherry\\napple\\nbanana\\n' | sort\n");
  pump_arg pa = {weft_aio_process_stdout(src), weft_aio_process_stdin(sort), 0};
  weft_aio_task *t[2] = {NULL, NULL};
  rc = weft_aio_spawn(pump, &pa, &t[0]);
  if (!rc) rc = weft_aio_spawn(print_lines, weft_aio_process_stdout(sort), &t[1]);
  if (!rc) rc = weft_aio_gather(t, 2, WEFT_AIO_COLLECT);
  for (int i = 0; i < 2; i++) {
    if (!rc && t[i]) rc = weft_aio_task_code(t[i]);
    weft_aio_task_release(t[i]);
  }
  int src_status = -1, sort_status = -1, sig = 0;
  if (!rc) rc = weft_aio_process_wait(src, &src_status, &sig);
  if (!rc) rc = weft_aio_process_wait(sort, &sort_status, &sig);
  if (!rc)
    printf("%zu bytes piped, printf exited with %d, sort exited with %d\n", pa.bytes, src_status,
           sort_status);
  weft_aio_process_destroy(src);
  weft_aio_process_destroy(sort);
  return rc;
}

int main(void) {
  int rc = weft_aio_run(subprocess_main, NULL);
  if (rc) fprintf(stderr, "aio_subprocess: %s (%s)\n", weft_strerror(rc), weft_aio_last_error());
  return rc ? 1 : 0;
}
