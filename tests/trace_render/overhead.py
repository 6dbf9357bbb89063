#!/usr/bin/env python3
"""Tracing overhead on B2 (one million tiny tasks from an outside thread):
runs `weft bench pool --only B2 --json` in rounds — tracing off, tracing on
(WEFT_TRACE), and optionally a build without the trace hooks at all — and
prints the fastest and the median ns/task of each and their ratios. The
runs alternate, so load from other processes hits all configurations alike;
the minimum is the figure least disturbed by it. Peers are skipped
(WEFT_BENCH_DIR points nowhere).

usage: overhead.py WEFT [ROUNDS] [--base WEFT_WITHOUT_HOOKS]
(a measurement, not a ctest test)
"""
import json, os, statistics, subprocess, sys, tempfile


def run(weft, trace):
    env = dict(os.environ, WEFT_BENCH_DIR="/nonexistent")
    env.pop("WEFT_TRACE", None)
    env.pop("WEFT_TRACE_OWNER", None)
    if trace:
        env["WEFT_TRACE"] = trace
    out = subprocess.run([weft, "bench", "pool", "--only", "B2", "--json", "--reps", "5"],
                         env=env, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            if r["impl"].startswith("weft"):
                rows[(r["impl"], r["threads"])] = r["value"]
    return rows


def main():
    args = sys.argv[1:]
    base = None
    if "--base" in args:
        i = args.index("--base")
        base = args[i + 1]
        del args[i:i + 2]
    weft = args[0]
    rounds = int(args[1]) if len(args) > 1 else 5
    res = {"base": {}, "off": {}, "on": {}}
    size = 0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "b2.json")
        for _ in range(rounds):
            confs = [("off", weft, None), ("on", weft, path)]
            if base:
                confs.insert(0, ("base", base, None))
            for name, exe, tr in confs:
                for k, v in run(exe, tr).items():
                    res[name].setdefault(k, []).append(v)
            size = os.path.getsize(path)
    print(f"B2 ns/task, {rounds} rounds (min / median); trace file {size / 1e6:.1f} MB")
    head = f"{'case':<16}"
    if base:
        head += f" {'no hooks':>15}"
    head += f" {'trace off':>15} {'trace on':>15} {'on/off min':>10} {'on/off med':>10}"
    if base:
        head += f" {'off/nohooks':>11}"
    print(head)
    for k in sorted(res["off"]):
        off, on = res["off"][k], res["on"][k]
        line = f"{k[0] + ' x' + str(k[1]):<16}"
        if base:
            b = res["base"][k]
            line += f" {min(b):7.1f}/{statistics.median(b):7.1f}"
        line += (f" {min(off):7.1f}/{statistics.median(off):7.1f}"
                 f" {min(on):7.1f}/{statistics.median(on):7.1f}"
                 f" {min(on) / min(off):10.3f} {statistics.median(on) / statistics.median(off):10.3f}")
        if base:
            line += f" {min(off) / min(res['base'][k]):11.3f}"
        print(line)


if __name__ == "__main__":
    main()
