#!/usr/bin/python3
"""bench/peer_python_run.py — the Python side of `weft bench run`.

Usage: peer_python_run.py BENCH SIZE THREADS [REPS]   (as bench/peer_python.py)

  R1  SIZE runs of /bin/true with the job's number as argument (what
      `seq SIZE | weft run -jTHREADS /bin/true` runs), THREADS at a time,
      through concurrent.futures.ThreadPoolExecutor(THREADS) +
      subprocess.run, in jobs/s (impl python).

Prints one JSON line: the median of REPS runs after one warm-up run. Timed
inside the interpreter (its ~20 ms start-up is not counted, unlike the
command-line tools `weft bench run` times from the outside).
"""
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def emit(bench, case, impl, threads, value, unit, better="lower"):
    line = {"bench": bench, "case": case, "impl": impl, "threads": threads,
            "value": round(value, 6), "unit": unit, "better": better}
    print(json.dumps(line, separators=(",", ":")), flush=True)


def measure(run, reps, warmup=1):
    for _ in range(warmup):
        run()
    return statistics.median(run() for _ in range(reps))


def _true(i):
    return subprocess.run(["/bin/true", str(i)]).returncode


def r1(n, threads, reps):
    with ThreadPoolExecutor(max_workers=threads) as ex:
        def run():
            t0 = time.perf_counter_ns()
            codes = list(ex.map(_true, range(1, n + 1)))
            dt = time.perf_counter_ns() - t0
            assert codes == [0] * n
            return n * 1e9 / dt
        emit("R1", "true", "python", threads, measure(run, reps), "jobs/s", "higher")


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: peer_python_run.py BENCH SIZE THREADS [REPS]")
    bench, size, threads = argv[1], int(argv[2]), int(argv[3])
    reps = int(argv[4]) if len(argv) > 4 else 5
    if bench == "R1":
        r1(size, threads, reps)
    else:
        sys.exit("peer_python_run.py: unknown benchmark %s" % bench)


if __name__ == "__main__":
    main(sys.argv)
