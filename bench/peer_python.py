#!/usr/bin/python3
"""bench/peer_python.py — the Python side of `weft bench pool` and `weft bench proc`.

Usage: peer_python.py BENCH SIZE THREADS [REPS]   (as the C peers, bench/common.h)

  B2  SIZE tiny tasks through concurrent.futures.ThreadPoolExecutor
      (max_workers=THREADS), submitted from the main thread, then waited;
      and SIZE/10 dask.delayed tasks on Dask's threaded scheduler
      (num_workers=THREADS), when dask is importable.
  B4  64 tasks of SIZE microseconds of pure-Python compute through
      multiprocessing.Pool, on 1 and on THREADS processes.
  P4  SIZE runs of /bin/true, THREADS at a time, in jobs/s: through
      ThreadPoolExecutor(THREADS) + subprocess.run (impl python-threads), and
      through asyncio, an asyncio.Semaphore(THREADS) around
      create_subprocess_exec + wait (impl python-asyncio).

Prints one JSON line per measurement: the median of REPS runs after one
warm-up run (none for B4). Needs Debian's /usr/bin/python3 for dask.
"""
import asyncio
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait


def emit(bench, case, impl, threads, value, unit, better="lower"):
    print(json.dumps({"bench": bench, "case": case, "impl": impl, "threads": threads,
                      "value": round(value, 6), "unit": unit, "better": better},
                     separators=(",", ":")), flush=True)


def measure(run, reps, warmup=1):
    for _ in range(warmup):
        run()
    return statistics.median(run() for _ in range(reps))


def tiny(i):
    return i + 1


def b2_threads(n, threads, reps):
    with ThreadPoolExecutor(max_workers=threads) as ex:
        def run():
            t0 = time.perf_counter_ns()
            futures = [ex.submit(tiny, i) for i in range(n)]
            wait(futures)
            dt = time.perf_counter_ns() - t0
            assert sum(f.result() for f in futures) == n * (n + 1) // 2
            return dt / n
        emit("B2", "tasks", "python", threads, measure(run, reps), "ns/task")


def b2_dask(n, threads, reps):
    try:
        import dask
    except ImportError:
        print("peer_python: dask not importable, B2 dask row skipped", file=sys.stderr)
        return
    delayed_tiny = dask.delayed(tiny, pure=False)

    def run():
        t0 = time.perf_counter_ns()
        parts = [delayed_tiny(i) for i in range(n)]
        results = dask.compute(*parts, scheduler="threads", num_workers=threads)
        dt = time.perf_counter_ns() - t0
        assert sum(results) == n * (n + 1) // 2
        return dt / n
    emit("B2", "tasks", "dask", threads, measure(run, reps), "ns/task")


def spin(iters):
    x = 1
    for _ in range(iters):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return x


def spin_calibrate(target_ns):
    """Iterations of spin() taking about target_ns (fastest of three)."""
    iters = 1000
    while True:
        t0 = time.perf_counter_ns()
        spin(iters)
        if time.perf_counter_ns() - t0 >= 5_000_000:
            break
        iters *= 2
    best = min(_timed(spin, iters) for _ in range(3))
    return max(1, int(iters * target_ns / best))


def _timed(fn, arg):
    t0 = time.perf_counter_ns()
    fn(arg)
    return time.perf_counter_ns() - t0


def b4_processes(task_us, threads, reps):
    iters = spin_calibrate(task_us * 1000)
    times = {}
    for procs in sorted({1, threads}):
        with multiprocessing.Pool(procs) as pool:
            pool.map(spin, [1] * procs)  # the workers are up before timing

            def run():
                t0 = time.perf_counter_ns()
                pool.map(spin, [iters] * 64, chunksize=1)
                return (time.perf_counter_ns() - t0) / 1e6
            times[procs] = measure(run, reps, warmup=0)
        emit("B4", "time", "python", procs, times[procs], "ms")
    emit("B4", "efficiency", "python", threads,
         100.0 * times[1] / (threads * times[threads]), "%", "higher")


def _true_thread(_):
    return subprocess.run(["/bin/true"], check=False).returncode


def p4_threads(n, threads, reps):
    with ThreadPoolExecutor(max_workers=threads) as ex:
        def run():
            t0 = time.perf_counter_ns()
            codes = list(ex.map(_true_thread, range(n)))
            dt = time.perf_counter_ns() - t0
            assert codes == [0] * n
            return n * 1e9 / dt
        emit("P4", "true", "python-threads", threads, measure(run, reps), "jobs/s", "higher")


async def _p4_asyncio_batch(n, threads):
    sem = asyncio.Semaphore(threads)

    async def one():
        async with sem:
            proc = await asyncio.create_subprocess_exec("/bin/true")
            return await proc.wait()
    return await asyncio.gather(*(one() for _ in range(n)))


def p4_asyncio(n, threads, reps):
    def run():
        # the event loop is made outside the timing, as a program would have one
        loop = asyncio.new_event_loop()
        try:
            t0 = time.perf_counter_ns()
            codes = loop.run_until_complete(_p4_asyncio_batch(n, threads))
            dt = time.perf_counter_ns() - t0
        finally:
            loop.close()
        assert codes == [0] * n
        return n * 1e9 / dt
    emit("P4", "true", "python-asyncio", threads, measure(run, reps), "jobs/s", "higher")


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    bench, size, threads = argv[1], int(argv[2]), int(argv[3])
    reps = int(argv[4]) if len(argv) == 5 else 5
    if bench == "B2":
        b2_threads(size, threads, reps)
        b2_dask(max(1, size // 10), threads, reps)
    elif bench == "B4":
        b4_processes(size, threads, reps)
    elif bench == "P4":
        p4_threads(size, threads, reps)
        p4_asyncio(size, threads, reps)
    else:
        print(f"peer_python: no benchmark {bench}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
