/* src/cli/bench_aio.h — what the files of `weft bench aio` share.
 *
 * bench_aio.c        A1 (echo) and A2 (HTTP): the servers, the runs, the rows
 * bench_aio_report.c the ratio tables and the suite's targets
 * bench_aio_proc.c   child processes with deadlines: servers, the load
 *                    generator, wrk, the Python peer
 * bench_aio_serve.c  weft's own servers (`weft bench aio --serve KIND PORT`)
 * bench_aio_a3.c     A3: tasks, queues and the coroutine switch, in process
 *
 * Every child dies with this process (PR_SET_PDEATHSIG) and every wait on
 * one has a deadline, after which the child is killed: a stuck server or
 * client never hangs a benchmark run. */
#ifndef WEFT_CLI_BENCH_AIO_H
#define WEFT_CLI_BENCH_AIO_H

#include <sys/types.h>

#include "cli/bench.h"

/* A running child: its pid and the read end of its stdout (-1 once closed). */
typedef struct aio_child {
  pid_t pid;
  int out;
} aio_child;

/* Starts argv[0] (searched in PATH when it has no '/') with stdout into a
 * pipe; stdin is /dev/null, stderr ours. 0 or a negative errno. */
int aio_child_start(aio_child *ch, char *const argv[]);
/* Reads the "PORT <n>" line a server prints once listening, within
 * timeout_ms; returns the port, or -1 (the child is then stopped). Closes
 * the pipe either way: servers print nothing more. */
int aio_child_port(aio_child *ch, unsigned timeout_ms);
/* Collects the child's stdout until it exits, within timeout_ms (killed
 * after that) into buf (NUL-terminated, truncated to cap - 1); reaps it.
 * Returns its exit status, or -1 when it was killed or died by a signal. */
int aio_child_output(aio_child *ch, char *buf, size_t cap, unsigned timeout_ms);
/* SIGTERM, up to 1 s to exit, then SIGKILL; reaps. No-op once reaped. */
void aio_child_stop(aio_child *ch);

/* CPU time used so far by every thread of process pid (its schedstat
 * runtimes, ns), or 0 when unreadable. */
uint64_t aio_cpu_ns(pid_t pid);

/* The Python to run peer_asyncio.py with (WEFT_BENCH_PYTHON or Debian's). */
const char *aio_python(void);
/* This executable (for re-running weft as a server), or "weft". */
const char *aio_self_exe(void);

/* A number that follows "key": in a JSON line; `def` when absent. */
double aio_json_number(const char *line, const char *key, double def);
/* A string that follows "key": (into out, "" when absent). */
void aio_json_string(const char *line, const char *key, char *out, size_t n);

/* ---- shared by bench_aio.c and bench_aio_report.c ---- */

/* Connection counts of A1, and A2's single one. */
extern const int aio_a1_conns[3];
#define AIO_A2_CONNS 100

/* ---- A3 (bench_aio_a3.c) ---- */

/* weft's rows: spawn (ns/task), queue (ns/trip), switch (ns/switch, with
 * the assembly and the ucontext switch). 0 or 1 (weft failed). */
int bench_a3_weft(bench_ctx *c);

#endif /* WEFT_CLI_BENCH_AIO_H */
