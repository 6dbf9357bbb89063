#!/usr/bin/python3
"""bench/peer_python.py — the Python side of `weft bench pool` and `weft bench proc`.

Usage: peer_python.py BENCH SIZE THREADS [REPS]   (as the C peers, bench/common.h)

  B2  SIZE tiny tasks through concurrent.futures.ThreadPoolExecutor
      (max_workers=THREADS), submitted from the main thread, then waited;
      and SIZE/10 dask.delayed tasks on Dask's threaded scheduler
      (num_workers=THREADS), when dask is importable.
  B4  64 tasks of SIZE microseconds of pure-Python compute through
      multiprocessing.Pool, on 1 and on THREADS processes.
  P1  Pool.map of square over range(SIZE) with chunksize=10,000 and over
      range(SIZE/10) with chunksize=1, in ns/item, through
      multiprocessing.Pool(THREADS).map (impl python-pool) and
      ProcessPoolExecutor(THREADS).map (impl python-executor); lines carry
      "chunksize" and a "check" (the results' checksum, as bench/common.h's
      wb_checksum).
  P2  SIZE round trips of one tiny task, each timed, in us (the median trip):
      Pool(THREADS).apply (case apply, python-pool) and
      ProcessPoolExecutor(THREADS).submit().result() (case submit,
      python-executor).
  P3  64 tasks of SIZE microseconds of pure-Python compute: serial in this
      process (impl python-serial) and Pool(THREADS).map(chunksize=1)
      (python-pool); speedup and efficiency = speedup / THREADS.
  P4  SIZE runs of /bin/true, THREADS at a time, in jobs/s: through
      ThreadPoolExecutor(THREADS) + subprocess.run (impl python-threads), and
      through asyncio, an asyncio.Semaphore(THREADS) around
      create_subprocess_exec + wait (impl python-asyncio).

Prints one JSON line per measurement: the median of REPS runs after one
warm-up run (none for B4). Needs Debian's /usr/bin/python3 for dask.
P1-P3 pin multiprocessing's start method to "fork" (Linux's default before
Python 3.14, which moves to "forkserver"): said on stderr.
"""
import asyncio
import json
import os
import multiprocessing
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait


def emit(bench, case, impl, threads, value, unit, better="lower", **extra):
    line = {"bench": bench, "case": case, "impl": impl, "threads": threads,
            "value": round(value, 6), "unit": unit, "better": better}
    line.update(extra)
    print(json.dumps(line, separators=(",", ":")), flush=True)


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


# ---- P1-P3: the process pool (multiprocessing.Pool, ProcessPoolExecutor) ----

START_METHOD = "fork"  # pinned: Python 3.14 makes "forkserver" the default


def mp_context():
    print(f"peer_python: multiprocessing start method {START_METHOD!r} (pinned; "
          f"Python {sys.version.split()[0]})", file=sys.stderr, flush=True)
    return multiprocessing.get_context(START_METHOD)


def square(x):
    return x * x


def checksum(out):
    """bench/common.h's wb_checksum: sum of v * (2i + 1), wrapping at 2**64."""
    return sum(v * (2 * i + 1) for i, v in enumerate(out)) & 0xFFFFFFFFFFFFFFFF


def p1_cases(size):
    return [(size, 10_000), (max(1, size // 10), 1)]


def p1_run(impl, mapper, size, threads, reps):
    """Times mapper(n, chunksize) -> list of squares per case, ns/item."""
    for n, cs in p1_cases(size):
        last = []

        def run():
            t0 = time.perf_counter_ns()
            out = mapper(n, cs)
            dt = time.perf_counter_ns() - t0
            last[:] = [out]
            return dt / n
        # the workers are already up; no full-size warm-up (chunksize=1 is slow)
        value = measure(run, reps, warmup=0)
        emit("P1", f"map_cs{cs}", impl, threads, value, "ns/item", chunksize=cs,
             check=str(checksum(last[0])))


def p1(size, threads, reps):
    ctx = mp_context()
    with ctx.Pool(threads) as pool:
        pool.map(square, range(threads * 4), chunksize=1)
        p1_run("python-pool", lambda n, cs: pool.map(square, range(n), chunksize=cs),
               size, threads, reps)
    with ProcessPoolExecutor(threads, mp_context=ctx) as ex:
        list(ex.map(square, range(threads * 4)))
        p1_run("python-executor",
               lambda n, cs: list(ex.map(square, range(n), chunksize=cs)),
               size, threads, reps)


def p2_trips(call, trips, reps):
    """The median over reps of the median round trip of `trips` calls, in us."""
    def run():
        times = []
        for i in range(trips):
            t0 = time.perf_counter_ns()
            r = call(i)
            times.append(time.perf_counter_ns() - t0)
            assert r == i + 1
        return statistics.median(times) / 1000
    return measure(run, reps, warmup=0)


def p2(trips, threads, reps):
    ctx = mp_context()
    with ctx.Pool(threads) as pool:
        pool.map(tiny, range(threads * 4), chunksize=1)
        emit("P2", "apply", "python-pool", threads,
             p2_trips(lambda i: pool.apply(tiny, (i,)), trips, reps), "us")
    with ProcessPoolExecutor(threads, mp_context=ctx) as ex:
        list(ex.map(tiny, range(threads * 4)))
        emit("P2", "submit", "python-executor", threads,
             p2_trips(lambda i: ex.submit(tiny, i).result(), trips, reps), "us")


def p3(task_us, threads, reps):
    iters = spin_calibrate(task_us * 1000)

    def serial():
        t0 = time.perf_counter_ns()
        for _ in range(64):
            spin(iters)
        return (time.perf_counter_ns() - t0) / 1e6
    t1 = measure(serial, reps, warmup=0)
    emit("P3", "time", "python-serial", 1, t1, "ms")
    with mp_context().Pool(threads) as pool:
        pool.map(spin, [1] * threads, chunksize=1)

        def run():
            t0 = time.perf_counter_ns()
            pool.map(spin, [iters] * 64, chunksize=1)
            return (time.perf_counter_ns() - t0) / 1e6
        tn = measure(run, reps, warmup=0)
    emit("P3", "time", "python-pool", threads, tn, "ms")
    emit("P3", "speedup", "python-pool", threads, t1 / tn, "x", "higher")
    emit("P3", "efficiency", "python-pool", threads, 100.0 * t1 / (threads * tn), "%",
         "higher")


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
    elif bench == "P1":
        p1(size, threads, reps)
    elif bench == "P2":
        p2(size, threads, reps)
    elif bench == "P3":
        p3(size, threads, reps)
    elif bench == "P4":
        p4_threads(size, threads, reps)
        p4_asyncio(size, threads, reps)
    else:
        print(f"peer_python: no benchmark {bench}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
