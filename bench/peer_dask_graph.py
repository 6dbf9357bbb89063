#!/usr/bin/env python3
"""The dask.delayed side of `weft bench graph`.

usage: peer_dask_graph.py BENCH SIZE THREADS [REPS]

  G1  a graph of SIZE tiny tasks: SIZE/4 groups of x = inc(k),
      y = double(x), z = add(x, y), w = neg(z); all w computed at once.
  G2  a pairwise tree reduction over SIZE leaves (leaf(i) -> i), the leaves
      made first, then each level of sums; one target.

Both are built with dask.delayed(pure=False) and computed with
dask.compute(..., scheduler="threads", num_workers=THREADS). The timed run
covers building the delayed objects and the compute, as weft's side covers
building its graph and computing it. Prints one JSON line per benchmark:
ns per node, the median of REPS runs after one warm-up run; runs stop early
once 30 s have been spent (at least one run). Needs Debian's /usr/bin/python3
with python3-dask.
"""
import json
import statistics
import sys
import time


def emit(bench, case, threads, value, unit, check=None):
    line = {"bench": bench, "case": case, "impl": "dask", "threads": threads,
            "value": round(value, 6), "unit": unit, "better": "lower"}
    if check is not None:
        line["check"] = check
    print(json.dumps(line, separators=(",", ":")), flush=True)


def inc(x):
    return x + 1


def double(x):
    return 2 * x


def add(x, y):
    return x + y


def neg(x):
    return -x


def leaf(i):
    return i


def g1(dask, n, threads):
    d_inc = dask.delayed(inc, pure=False)
    d_double = dask.delayed(double, pure=False)
    d_add = dask.delayed(add, pure=False)
    d_neg = dask.delayed(neg, pure=False)
    groups = n // 4
    ws = []
    for k in range(groups):
        x = d_inc(k)
        ws.append(d_neg(d_add(x, d_double(x))))
    out = dask.compute(*ws, scheduler="threads", num_workers=threads)
    return sum(out), groups * 4


def g2(dask, n, threads):
    d_leaf = dask.delayed(leaf, pure=False)
    d_add = dask.delayed(add, pure=False)
    level = [d_leaf(i) for i in range(n)]
    nodes = n
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                nxt.append(level[i])
            else:
                nxt.append(d_add(level[i], level[i + 1]))
                nodes += 1
        level = nxt
    (out,) = dask.compute(level[0], scheduler="threads", num_workers=threads)
    return out, nodes


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    bench, size, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    reps = int(sys.argv[4]) if len(sys.argv) == 5 else 5
    try:
        import dask
    except ImportError:
        print("peer_dask_graph: dask not importable, skipped", file=sys.stderr)
        return 0
    run = {"G1": g1, "G2": g2}.get(bench)
    if run is None:
        print(f"peer_dask_graph: unknown benchmark {bench}", file=sys.stderr)
        return 2

    def once():
        t0 = time.perf_counter_ns()
        value, nodes = run(dask, size, threads)
        return (time.perf_counter_ns() - t0) / nodes, value

    per_node, check = once()  # warm-up (and the answer, for the check column)
    times, spent = [], 0.0
    while len(times) < reps and (not times or spent < 30e9):
        t, value = once()
        assert value == check
        times.append(t)
        spent += t * (size if bench == "G1" else 2 * size)
    emit(bench, "nodes", threads, statistics.median(times), "ns/node", check=str(check))
    return 0


if __name__ == "__main__":
    sys.exit(main())
