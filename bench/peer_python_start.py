#!/usr/bin/python3
"""bench/peer_python_start.py — the Python side of `weft bench proc` P5:
process start and recycling (peer_python.py has P1-P4).

Usage: peer_python_start.py P5 SIZE THREADS [REPS]   (as the other peers)

  P5  start: multiprocessing.Process(target=empty).start() then .join(), one
      process at a time, with the start methods "spawn", "forkserver" and
      "fork" (cases start_spawn, start_forkserver, start_fork; impl python,
      threads 1), in us per process. A run starts SIZE / 5 processes (at
      least 2; spawn, a whole interpreter start each, gets a quarter of that).
      recycle: SIZE tiny tasks through Pool(THREADS, maxtasksperchild=1)
      .apply_async, then .get() of every result (case recycle), and the same
      with maxtasksperchild=None (case no_recycle), with the start methods
      "fork" and "forkserver" (impl python-fork, python-forksrv), in us
      per task; recycle_cost = recycle / no_recycle (x, lower is better).
      Each pool is started and its workers have run a task before timing.

Prints one JSON line per measurement: the median of REPS runs after one
warm-up run, as peer_python.py does.
"""
import json
import multiprocessing
import statistics
import sys
import time


def emit(bench, case, impl, threads, value, unit, better="lower"):
    line = {"bench": bench, "case": case, "impl": impl, "threads": threads,
            "value": round(value, 6), "unit": unit, "better": better}
    print(json.dumps(line, separators=(",", ":")), flush=True)


def measure(run, reps, warmup=1):
    for _ in range(warmup):
        run()
    return statistics.median(run() for _ in range(reps))


def empty():
    pass


def tiny(i):
    return i + 1


def start_count(size):
    return max(2, size // 5)


def p5_start(size, reps):
    for method in ("spawn", "forkserver", "fork"):
        ctx = multiprocessing.get_context(method)
        n = start_count(size)
        if method == "spawn":
            n = max(2, n // 4)

        def run():
            t0 = time.perf_counter_ns()
            for _ in range(n):
                p = ctx.Process(target=empty)
                p.start()
                p.join()
                assert p.exitcode == 0, p.exitcode
            return (time.perf_counter_ns() - t0) / 1e3 / n
        # the warm-up run also starts the fork server (once per program)
        emit("P5", f"start_{method}", "python", 1, measure(run, reps), "us")


def p5_pool(ctx, n, threads, reps, maxtasks):
    with ctx.Pool(threads, maxtasksperchild=maxtasks) as pool:
        pool.map(tiny, range(threads), chunksize=1)  # the workers are up

        def run():
            t0 = time.perf_counter_ns()
            results = [pool.apply_async(tiny, (i,)) for i in range(n)]
            got = [r.get() for r in results]
            dt = time.perf_counter_ns() - t0
            assert got == list(range(1, n + 1))
            return dt / 1e3 / n
        return measure(run, reps)


def p5_recycle(n, threads, reps):
    # "python-forksrv": the table's impl column is 16 characters wide
    for method, impl in (("fork", "python-fork"), ("forkserver", "python-forksrv")):
        ctx = multiprocessing.get_context(method)
        recycled = p5_pool(ctx, n, threads, reps, 1)
        emit("P5", "recycle", impl, threads, recycled, "us")
        plain = p5_pool(ctx, n, threads, reps, None)
        emit("P5", "no_recycle", impl, threads, plain, "us")
        emit("P5", "recycle_cost", impl, threads, recycled / plain, "x")


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    bench, size, threads = argv[1], int(argv[2]), int(argv[3])
    reps = int(argv[4]) if len(argv) == 5 else 5
    if bench != "P5":
        print(f"peer_python_start: no benchmark {bench}", file=sys.stderr)
        return 2
    p5_start(size, reps)
    p5_recycle(size, threads, reps)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
