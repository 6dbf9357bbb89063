#!/usr/bin/env python3
"""Renders `weft trace report` in headless Chromium and checks the page.

usage: check_render.py WEFT TRACE_DEMO WORKDIR

Traces trace_demo at 1 and 3 workers (WEFT_TRACE: no code change), builds
the report of both (the Amdahl panel), loads it with
`chromium --headless --dump-dom` and checks: no console messages and no
script errors (the page counts them into <html data-errors>), its scripts
ran (data-ready), the timeline SVG has exactly 3 worker tracks, the Amdahl
panel, the graph's critical path (a -> c -> d) and its drawing are there,
and the page
loads nothing from the network.

Exit status 77 (ctest SKIP_RETURN_CODE) when Chromium is not installed.
"""
import os, re, shutil, subprocess, sys, tempfile

WORKERS = 3


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run(cmd, env=None, timeout=120):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def trace(demo, workers, path, extra=()):
    env = dict(os.environ, WEFT_TRACE=path)
    env.pop("WEFT_TRACE_OWNER", None)
    run([demo, str(workers), "2000", *extra], env=env)


def critical_path(trace_file):
    """The longest chain of graph nodes by run time, computed here from the
    trace's graph events (independently of the C code), last node first."""
    import json
    ev = json.load(open(trace_file))["traceEvents"]
    nodes = {e["args"]["node"]: e for e in ev if e.get("cat") == "graph"}
    deps = {}
    for e in ev:
        if e.get("cat") == "graph_edge":
            deps.setdefault(e["args"]["node"], []).append(e["args"]["dep"])
    best = {}
    def longest(n):
        if n not in best:
            prev = max((longest(d) for d in deps.get(n, []) if d in nodes),
                       key=lambda x: x[0], default=(0.0, []))
            best[n] = (prev[0] + nodes[n]["dur"], prev[1] + [n])
        return best[n]
    total, chain = max((longest(n) for n in nodes), key=lambda x: x[0])
    return [nodes[n]["name"] for n in reversed(chain)]


def main():
    weft, demo, workdir = sys.argv[1:4]
    chromium = find_chromium()
    if not chromium:
        print("SKIP: chromium is not installed (Debian: apt-get install chromium "
              "chromium-driver; scripts/bootstrap does it)")
        return 77
    os.makedirs(workdir, exist_ok=True)
    a, b = os.path.join(workdir, "one.json"), os.path.join(workdir, "three.json")
    html = os.path.join(workdir, "report.html")
    trace(demo, 1, a, ["--procs"])
    trace(demo, WORKERS, b, ["--procs"])
    run([weft, "trace", "report", b, a, "-o", html])
    page = open(html, encoding="utf-8").read()
    failures = []
    # Self-contained: nothing fetched. The SVG namespace is a name, not a load.
    external = [u for u in re.findall(r"(?:src|href)\s*=\s*[\"']([^\"']+)", page)]
    external += [u for u in re.findall(r"https?://[^\s\"'<>]+", page)
                 if u != "http://www.w3.org/2000/svg"]
    if external:
        failures.append(f"the page refers to outside resources: {external[:5]}")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000",
               "--dump-dom", "file://" + os.path.abspath(html)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    dom, log = r.stdout, r.stderr
    if r.returncode != 0 or "<html" not in dom:
        failures.append(f"chromium exited {r.returncode} without a DOM:\n{log[-2000:]}")
    console = [l for l in log.splitlines() if ":CONSOLE" in l or "Uncaught" in l]
    if console:
        failures.append("console messages:\n  " + "\n  ".join(console[:10]))
    m = re.search(r'<html[^>]*data-errors="(\d+)"', dom)
    if not m or m.group(1) != "0":
        failures.append(f"script errors on the page: data-errors={m.group(1) if m else None}")
    if 'data-ready="1"' not in dom:
        failures.append("the page's script did not finish (no data-ready)")
    tracks = re.findall(r'<g class="track" data-role="worker"', dom)
    if len(tracks) != WORKERS:
        failures.append(f"{len(tracks)} worker tracks in the timeline SVG, expected {WORKERS}")
    status = re.search(r'id="status">([^<]*)<', dom)
    if not status or f"{WORKERS} worker tracks" not in status.group(1):
        failures.append(f"status line: {status.group(1) if status else None!r}")
    if 'id="amdahl"' not in dom or not re.search(r'class="serial">[0-9.]+<', dom):
        failures.append("no Amdahl panel with a serial fraction")
    path = re.findall(r'<tr class="cpath-node"><td>([^<]*)<', dom)
    expect = critical_path(b)
    if path != expect:
        failures.append(f"critical path {path}, expected {expect}")
    elif path != ["reduce-d", "slow-c", "load-a"]:
        print(f"note: the slow branch was not the slowest this time: {path}")
    if len(re.findall(r'<circle class="gnode"', dom)) != 4:
        failures.append("the graph drawing does not have its 4 nodes")
    if not re.search(r'<svg id="(utilisation|histogram)"', dom):
        failures.append("no utilisation or histogram plot")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"report renders: {len(tracks)} worker tracks, Amdahl panel, critical path "
              f"{' <- '.join(path)}, no console errors ({html})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
