#!/usr/bin/env python3
"""Validates a weft trace against the Chrome Trace Event format (JSON
object form) and, optionally, against what the traced program ran.

usage: validate_trace.py TRACE [--workers N] [--tasks N] [--ptasks N]
                         [--nodes N] [--crash] [--demo-output FILE]

--demo-output reads "pool tasks: N" / "process tasks: N" printed by
trace_demo instead of --tasks / --ptasks. Exit 0 when valid, 1 otherwise,
with one line per problem.
"""
import argparse, collections, json, sys

PHASES = set("BEXiIMCbnesftPOND(),RcMv") | {"M"}
NUMBER = (int, float)


def problems_of_event(i, e):
    out = []
    def bad(msg):
        out.append(f"event {i}: {msg}: {json.dumps(e)[:200]}")
    if not isinstance(e, dict):
        bad("not an object")
        return out
    ph = e.get("ph")
    if not isinstance(ph, str) or ph not in PHASES:
        bad("missing or unknown ph")
        return out
    for k in ("pid", "tid"):
        if not isinstance(e.get(k), int):
            bad(f"{k} is not an integer")
    if ph != "E" and not isinstance(e.get("name"), str):
        bad("name is not a string")
    if "args" in e and not isinstance(e["args"], dict):
        bad("args is not an object")
    if ph == "M":
        if e.get("name") in ("process_name", "thread_name") and not isinstance(
                e.get("args", {}).get("name"), str):
            bad("metadata without args.name")
        return out
    if not isinstance(e.get("ts"), NUMBER):
        bad("ts is not a number")
    if ph == "X" and not (isinstance(e.get("dur"), NUMBER) and e["dur"] >= 0):
        bad("complete event without a duration >= 0")
    if ph in ("i", "I") and e.get("s", "t") not in ("t", "p", "g"):
        bad("instant event with a bad scope")
    if ph == "C" and not all(isinstance(v, NUMBER) for v in e.get("args", {}).values()):
        bad("counter with non-numeric values")
    return out


def nesting_problems(events):
    """X events of one track must nest (Perfetto and chrome://tracing draw
    partially overlapping slices wrongly). 1 ns of slack for rounding."""
    out, by_track = [], collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            by_track[(e["pid"], e["tid"])].append((e["ts"], -e["dur"], e))
    for track, xs in by_track.items():
        xs.sort(key=lambda x: (x[0], x[1]))
        stack = []
        for ts, negdur, e in xs:
            end = ts - negdur
            while stack and stack[-1] <= ts + 0.001:
                stack.pop()
            if stack and end > stack[-1] + 0.001:
                out.append(f"track {track}: {e['name']} at {ts} overlaps its parent "
                           f"(ends {end}, parent ends {stack[-1]})")
                if len(out) > 5:
                    return out
            stack.append(end)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--tasks", type=int)
    ap.add_argument("--ptasks", type=int)
    ap.add_argument("--nodes", type=int)
    ap.add_argument("--crash", action="store_true")
    ap.add_argument("--loop", action="store_true", help="expect the demo's loop track")
    ap.add_argument("--demo-output")
    a = ap.parse_args()
    if a.demo_output:
        for line in open(a.demo_output):
            k, _, v = line.partition(":")
            if k == "pool tasks":
                a.tasks = int(v)
            elif k == "process tasks":
                a.ptasks = int(v)
    with open(a.trace) as f:
        doc = json.load(f)  # strict JSON: raises on any syntax error
    probs = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        print("not a trace: no traceEvents array")
        return 1
    ev = doc["traceEvents"]
    for i, e in enumerate(ev):
        probs += problems_of_event(i, e)
        if len(probs) > 20:
            break
    probs += nesting_problems([e for e in ev if isinstance(e, dict)])
    other = doc.get("otherData", {})
    tracks = other.get("tracks", [])
    named = {(e["pid"], e["tid"]) for e in ev
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    workers = [t for t in tracks if t.get("role") == "worker"]
    for t in tracks:
        if (t["pid"], t["tid"]) not in named:
            probs.append(f"track {t} has no thread_name metadata")
    tasks = sum(e.get("args", {}).get("count", 1) for e in ev if e.get("cat") == "task")
    ptasks = sum(1 for e in ev if e.get("cat") == "ptask")
    nodes = sum(1 for e in ev if e.get("cat") == "graph")
    crashes = sum(1 for e in ev if e.get("name") == "process crash")
    # Async pairs (I/O waits): every begin has its end, on the same id, later.
    opened = {}
    for e in ev:
        if e.get("ph") == "b":
            opened[(e["cat"], e["id"])] = e["ts"]
        elif e.get("ph") == "e":
            t = opened.pop((e["cat"], e.get("id")), None)
            if t is None or e["ts"] < t:
                probs.append(f"async end without an earlier begin: {e}")
    if opened:
        probs.append(f"{len(opened)} async begins without an end")
    if a.workers is not None and len(workers) != a.workers:
        probs.append(f"{len(workers)} worker tracks, expected {a.workers}")
    if a.tasks is not None and tasks != a.tasks:
        probs.append(f"{tasks} tasks recorded, expected {a.tasks}")
    if a.ptasks is not None and ptasks != a.ptasks:
        probs.append(f"{ptasks} process tasks recorded, expected {a.ptasks}")
    if a.nodes is not None and nodes != a.nodes:
        probs.append(f"{nodes} graph nodes recorded, expected {a.nodes}")
    if a.loop:
        loops = [t for t in tracks if t.get("role") == "loop"]
        coros = sum(1 for e in ev if e.get("cat") == "coro")
        ios = sum(1 for e in ev if e.get("cat") == "io" and e.get("ph") == "b")
        if len(loops) != 1 or coros != 3 or ios != 1:
            probs.append(f"loop: {len(loops)} tracks, {coros} coroutine runs, {ios} I/O waits; "
                         "expected 1, 3, 1")
    if a.crash and crashes < 1:
        probs.append("no 'process crash' event")
    if a.ptasks and not any("rss_kb" in e.get("args", {}) and "cpu_us" in e.get("args", {})
                            for e in ev if e.get("cat") == "ptask"):
        probs.append("process tasks without cpu_us / rss_kb")
    if other.get("dropped", 0) != 0:
        probs.append(f"{other['dropped']} events dropped")
    for p in probs:
        print(p)
    print(f"{len(ev)} events, {len(tracks)} tracks ({len(workers)} workers), {tasks} tasks, "
          f"{ptasks} process tasks, {nodes} graph nodes: {'INVALID' if probs else 'valid'}")
    return 1 if probs else 0


if __name__ == "__main__":
    sys.exit(main())
