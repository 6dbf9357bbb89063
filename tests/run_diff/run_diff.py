#!/usr/bin/env python3
"""tests/run_diff/run_diff.py — `weft run` against GNU parallel, its oracle.

    run_diff.py table --weft BIN [--table cases.txt] [--only a,b] [--self] [-v]
    run_diff.py extra --weft BIN sigint|resume|inject|many|big|bar

`table` runs every case of cases.txt (format at its top) through
`parallel --will-cite` and `weft run` and compares stdout, the exit status
and the joblogs (all columns but Starttime and JobRuntime). With --self both
sides are GNU parallel: the table's own check that parallel is deterministic
on every case. `extra` runs the checks a table cannot express (run_extra.py).

Exit status: 0 all passed, 1 some failed, 77 GNU parallel is missing (ctest
reports the test as skipped). Python 3 standard library only.
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


def fixtures():
    """The files every case finds in its working directory."""
    inject = ["a; echo INJECTED", "$(echo INJECTED)", "`echo INJECTED`",
              "| echo INJECTED", "&& echo INJECTED", "> pwned.txt",
              "' ; echo INJECTED ; '", "\" ; echo INJECTED ; \"", "\\", "*",
              "--help", "$HOME", "a\tb"]
    return {
        "words.txt": b"alpha\nbeta\ngamma delta\n",
        "paths.txt": b"/a/b/c.txt\nrel/x.y\nz\n./d.e.f\n/\n.hidden\nt/u.v/w\n",
        "empty_lines.txt": b"a\n\n\nb\n\n",
        "spaces.txt": b"  lead\ntrail  \n mid  dle \n\t tab\n",
        "quotes.txt": b"it's\n\"dq\"\n'both\" \n\\back\\slash\\\n",
        "unicode.txt": "héllo wörld\n日本語.txt\n/π/ρ.σ\némoji 🎉\n".encode(),
        # long, but under GNU parallel's own limit (63,664 bytes of command
        # here: beyond it parallel refuses the job with exit 255)
        "long.txt": b"x" * 50000 + b"\n" + b"y" * 25000 + b" " + b"z" * 24999 + b"\n"
                    + b"'" * 10000 + b"\n" + b"short\n",
        "nul.bin": b"a b\0multi\nline\0\0last",
        "cols.tsv": b"1\ta\tx\n2\tb\ty\n3\t\tz\n",
        "cols.csv": b"1,a,x\n2,b,y\n",
        "seq150.txt": "".join("%d\n" % i for i in range(1, 151)).encode(),
        "inject.txt": ("\n".join(inject) + "\n").encode(),
        "noeol.txt": b"a\nb",
        "crlf.txt": b"a\r\nb\r\n",
    }


def write_fixtures(d):
    for name, data in fixtures().items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def parse_table(path):
    cases = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.rstrip("\n").split("|", 3)]
            if len(parts) != 4:
                sys.exit("%s:%d: expected 'name | stdin | flags | args'" % (path, lineno))
            name, stdin, flags, args = parts
            cases.append({"name": name, "stdin": stdin,
                          "flags": set(flags.replace(",", " ").split()),
                          "args": shlex.split(args), "line": lineno})
    return cases


def peer_env(tmp):
    """An environment both sides share: no user config, a fixed shell."""
    env = dict(os.environ)
    env.pop("PARALLEL", None)
    env["PARALLEL_HOME"] = os.path.join(tmp, "parallel-home")
    env["PARALLEL_SHELL"] = "/bin/sh"  # parallel otherwise guesses its parent's shell
    env["SHELL"] = "/bin/sh"
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def run_side(cmd, case, workdir, env, timeout):
    """Runs one side in workdir; returns (stdout, exit status, joblog text)."""
    write_fixtures(workdir)
    joblog = os.path.join(workdir, "joblog")
    args = list(cmd)
    if "nojl" not in case["flags"]:
        args += ["--joblog", joblog]
    args += case["args"]
    stdin_path = os.devnull if case["stdin"] == "-" else os.path.join(workdir, case["stdin"])
    with open(stdin_path, "rb") as stdin:
        try:
            p = subprocess.run(args, stdin=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=workdir, env=env,
                               timeout=timeout)
            out, rc, err = p.stdout, p.returncode, p.stderr
        except subprocess.TimeoutExpired as e:
            out, rc, err = e.stdout or b"", "timeout", e.stderr or b""
    jl = None
    if os.path.exists(joblog):
        with open(joblog, "rb") as f:
            jl = f.read().decode("utf-8", "replace")
    return out, rc, jl, err


# Joblog columns compared; Starttime (2) and JobRuntime (3) vary by nature.
JL_COLUMNS = ["Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive",
              "Exitval", "Signal", "Command"]
JL_COMPARED = [0, 1, 4, 5, 6, 7, 8]


def parse_joblog(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return None, {}
    rows = {}
    for line in lines[1:]:
        cols = line.split("\t", 8)
        # a rerun job (--resume-failed, --retries) has a row per run: the
        # n-th row of Seq 5 is keyed "5" then "5#2", "5#3", ...
        key, n = cols[0], 1
        while key in rows:
            n += 1
            key = "%s#%d" % (cols[0], n)
        rows[key] = cols
    return lines[0], rows


def compare_joblogs(a, b):
    """Differences between two joblogs (texts or None) as short strings."""
    if a is None or b is None:
        return [] if a is None and b is None else [
            "joblog: %s has none" % ("parallel" if a is None else "weft")]
    ha, ra = parse_joblog(a)
    hb, rb = parse_joblog(b)
    diffs = []
    if ha != hb:
        diffs.append("joblog header: %r vs %r" % (ha, hb))
    if sorted(ra) != sorted(rb):
        diffs.append("joblog Seq: %s vs %s" % (sorted(ra, key=int_or), sorted(rb, key=int_or)))
    for seq in sorted(set(ra) & set(rb), key=int_or):
        x, y = ra[seq], rb[seq]
        for i in JL_COMPARED:
            vx = x[i] if i < len(x) else "<missing>"
            vy = y[i] if i < len(y) else "<missing>"
            if vx != vy:
                diffs.append("joblog Seq %s %s: %r vs %r" % (seq, JL_COLUMNS[i], clip(vx), clip(vy)))
    return diffs


def int_or(s):
    """Sort key of a row key: "5" < "5#2" < "6"; junk last."""
    seq, _, n = s.partition("#")
    try:
        return (int(seq), int(n or 1))
    except ValueError:
        return (1 << 62, 0)


def clip(v, n=70):
    v = v if isinstance(v, str) else repr(v)
    return v if len(v) <= n else v[:n] + "...(%d chars)" % len(v)


def compare(case, a, b):
    out_a, rc_a, jl_a, _ = a
    out_b, rc_b, jl_b, _ = b
    diffs = []
    if rc_a != rc_b:
        diffs.append("exit status: %s vs %s" % (rc_a, rc_b))
    if "nd" in case["flags"]:
        return diffs
    if "usage" in case["flags"]:
        # parallel prints its usage text on stdout: not worth copying. The
        # message on stderr must name the bad option or its value.
        err = b[3].decode("utf-8", "replace")
        names = [case["args"][0].lstrip("-")] + case["args"][1:2]
        if not any(n and n in err for n in names):
            diffs.append("stderr names none of %r: %s" % (names, clip(err)))
        return diffs
    if "sorted" in case["flags"]:
        out_a, out_b = sorted(out_a.split(b"\n")), sorted(out_b.split(b"\n"))
    if out_a != out_b:
        diffs.append("stdout: %s vs %s" % (clip(repr(out_a)), clip(repr(out_b))))
    diffs += compare_joblogs(jl_a, jl_b)
    return diffs


def cmd_table(opts):
    parallel = shutil.which("parallel")
    if not parallel:
        print("run_diff: GNU parallel not found: skipped")
        return SKIP
    oracle = [parallel, "--will-cite"]
    other = oracle if opts.self_check else [opts.weft, "run"]
    cases = parse_table(opts.table)
    if opts.only:
        wanted = set(opts.only.split(","))
        cases = [c for c in cases if c["name"] in wanted]
    failed = []
    with tempfile.TemporaryDirectory(prefix="weft-run-diff-") as tmp:
        env = peer_env(tmp)
        os.makedirs(env["PARALLEL_HOME"], exist_ok=True)
        for case in cases:
            timeout = 60 if "slow" in case["flags"] else 30
            sides = []
            for label, cmd in (("parallel", oracle), ("weft", other)):
                d = os.path.join(tmp, case["name"] + "." + label)
                os.makedirs(d)
                sides.append(run_side(cmd, case, d, env, timeout))
            diffs = compare(case, sides[0], sides[1])
            status = "ok  " if not diffs else "FAIL"
            print("%s %-20s %s" % (status, case["name"], " ".join(map(shlex.quote, case["args"])))[:160])
            if diffs:
                failed.append(case["name"])
                for d in diffs[:6]:
                    print("       " + d)
                if len(diffs) > 6:
                    print("       ... %d more differences" % (len(diffs) - 6))
                err = sides[1][3].decode("utf-8", "replace").strip()
                if err and opts.verbose:
                    print("       weft stderr: " + clip(err, 300))
    print("\n%d of %d cases agree%s" % (len(cases) - len(failed), len(cases),
                                         " (parallel vs parallel)" if opts.self_check else ""))
    if failed:
        print("failed: " + ",".join(failed))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("table")
    t.add_argument("--weft", required=False, default="weft")
    t.add_argument("--table", default=os.path.join(HERE, "cases.txt"))
    t.add_argument("--only")
    t.add_argument("--self", dest="self_check", action="store_true")
    t.add_argument("-v", "--verbose", action="store_true")
    x = sub.add_parser("extra")
    x.add_argument("--weft", required=True)
    x.add_argument("check", choices=["sigint", "resume", "inject", "many", "big", "bar"])
    opts = ap.parse_args()
    if "/" in opts.weft:  # the cases run in directories of their own
        opts.weft = os.path.abspath(opts.weft)
    if opts.what == "table":
        return cmd_table(opts)
    sys.path.insert(0, HERE)
    import run_extra
    return run_extra.main(opts)


if __name__ == "__main__":
    sys.exit(main())
