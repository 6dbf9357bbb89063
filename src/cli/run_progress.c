/* src/cli/run_progress.c — --bar, --progress, --eta.
 *
 * On a terminal (stderr), one line redrawn in place five times a second:
 *   weft run: 37% 740/2000 done, 2 running, 3 failed, 1.2k jobs/s, ETA 1s
 * with a bar for --bar. Not on a terminal, only a final summary line is
 * printed (a log file gets one line, not thousands of redraws). The ETA is
 * the remaining jobs at the average rate so far; with streaming input the
 * total is unknown until the input ends, and no percentage is shown. */
#include <stdio.h>
#include <string.h>
#include "weft/aio.h"
#include "cli/run.h"

static void draw(run_state *st, bool final) {
  const run_opts *o = st->o;
  double secs = (double)(weft_now_ns() - st->t0_ns) / 1e9;
  uint64_t total = st->total ? st->total - st->skipped : 0;
  double rate = secs > 0 ? (double)st->done / secs : 0;
  char pct[16] = "", eta[32] = "", bar[48] = "";
  if (total) {
    snprintf(pct, sizeof pct, "%3.0f%% ", 100.0 * (double)st->done / (double)total);
    if (o->bar) {
      int w = 20, fill = (int)((double)w * (double)st->done / (double)total);
      bar[0] = '[';
      for (int i = 0; i < w; i++) bar[1 + i] = i < fill ? '#' : '.';
      strcpy(bar + 1 + w, "] ");
    }
    if ((o->eta || o->bar) && rate > 0 && !final)
      snprintf(eta, sizeof eta, ", ETA %.0fs", (double)(total - st->done) / rate);
  }
  char of[32] = "";
  if (total) snprintf(of, sizeof of, "/%llu", (unsigned long long)total);
  fprintf(stderr, "%sweft run: %s%s%llu%s done, %llu running, %llu failed, %.0f jobs/s%s%s",
          st->tty_err ? "\r" : "", bar, pct, (unsigned long long)st->done, of,
          (unsigned long long)st->running, (unsigned long long)st->failed, rate, eta,
          st->tty_err ? "\033[K" : "");
  if (final) fputc('\n', stderr);
  fflush(stderr);
}

int run_progress_task(void *arg) {
  run_state *st = arg;
  if (!st->tty_err) return 0;
  for (;;) {
    draw(st, false);
    if (weft_aio_sleep(200 * WEFT_MS)) return 0;
  }
}

void run_progress_final(run_state *st) { draw(st, true); }
