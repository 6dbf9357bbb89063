"""tests/run_diff/run_extra.py — the `weft run` checks a table cannot hold
(run through `run_diff.py extra --weft BIN <check>`):

  sigint   SIGINT mid-run: new jobs stop, running ones finish, no job process
           is left, the joblog holds every finished job; a second SIGINT
           kills the running jobs; the interrupted run resumes with nothing
           lost and nothing run twice; jobs that leave a background child
           behind (`sh -c 'sleep 30 & sleep 30'`) lose it too when they are
           killed: each job's whole process group is
  resume   --resume and --resume-failed after a --halt, against GNU parallel
  inject   shell-shaped inputs are passed as data, never run
  many     100,000 jobs, in order, memory bounded; stdin streams (jobs start
           before it ends); a million stdin lines (--dry-run) in a few MB
  big      jobs printing 100 MB, grouped and complete
  bar      --bar / --eta on a terminal (a pty): a line redrawn in place with
           done/running/failed counts and an ETA; off a terminal, one line

Each returns 0 (passed) or 1, printing what failed.
"""
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

from run_diff import compare_joblogs, parse_joblog, peer_env


class Check:
    def __init__(self, name):
        self.name, self.failures = name, []

    def expect(self, ok, what):
        print("%s %s" % ("ok  " if ok else "FAIL", what))
        if not ok:
            self.failures.append(what)
        return ok

    def result(self):
        print("%s: %s" % (self.name, "passed" if not self.failures else
                          "%d failed" % len(self.failures)))
        return 1 if self.failures else 0


def marker_pids(marker):
    """Processes whose command line mentions marker (job processes)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if marker.encode() in f.read():
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def wait_gone(marker, secs):
    end = time.time() + secs
    while time.time() < end:
        if not marker_pids(marker):
            return []
        time.sleep(0.05)
    return marker_pids(marker)


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def sleeper(tmp):
    """A copy of sleep under a unique name: its processes are easy to find."""
    path = os.path.join(tmp, "weftdiff_sleep_%d" % os.getpid())
    shutil.copy(shutil.which("sleep"), path)
    return path


def interrupted_run(weft, tmp, env, jl, signals, job_secs, job=None):
    """Starts 40 jobs of job_secs at -j4 (or the shell command job, where
    SLP stands for the sleeper), sends `signals` SIGINTs 1.2 s in;
    returns (exit status, stdout lines, seconds from first signal to exit)."""
    slp = sleeper(tmp)
    job = job.replace("SLP", slp) if job else "touch started.{}; %s %s; echo {}" % (slp, job_secs)
    args = [weft, "run", "-j4", "--joblog", jl, job, ":::"] + [str(i) for i in range(1, 41)]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=tmp, env=env, start_new_session=True)
    time.sleep(1.2)
    t0 = time.time()
    for _ in range(signals):
        p.send_signal(signal.SIGINT)
        time.sleep(0.2)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return "hung", [], 30.0, slp, err
    return p.returncode, out.decode().split(), time.time() - t0, slp, err


def joblog_args(jl):
    """Seq -> (exit value, signal, command) of a joblog file."""
    if not os.path.exists(jl):
        return {}
    _, rows = parse_joblog(read(jl))
    return {int(k): (v[6], v[7], v[8]) for k, v in rows.items()
            if len(v) >= 9 and k.isdigit()}


def check_sigint(opts):
    c = Check("sigint")
    with tempfile.TemporaryDirectory(prefix="weft-run-sigint-") as tmp:
        env = peer_env(tmp)
        # one SIGINT: running jobs finish, nothing new starts
        jl = os.path.join(tmp, "jl1")
        rc, lines, secs, slp, err = interrupted_run(opts.weft, tmp, env, jl, 1, "0.5")
        c.expect(rc != "hung", "one SIGINT: weft exits (status %s, %.1f s)" % (rc, secs))
        left = wait_gone(os.path.basename(slp), 2)
        c.expect(not left, "one SIGINT: no job process left (%s)" % left)
        rows = joblog_args(jl)
        done = {int(x) for x in lines if x.isdigit()}
        c.expect(0 < len(done) < 40, "one SIGINT: the run stopped early (%d of 40 jobs printed)"
                 % len(done))
        c.expect(done == {s for s, r in rows.items() if r[0] == "0"},
                 "one SIGINT: the joblog holds exactly the finished jobs (%d rows, %d outputs)"
                 % (len(rows), len(done)))
        started = {int(f.split(".")[1]) for f in os.listdir(tmp) if f.startswith("started.")}
        c.expect(started == done and all(r[0] == "0" for r in rows.values()),
                 "one SIGINT: every started job was let finish (%d started, %d finished)"
                 % (len(started), len(done)))
        c.expect(b"" != err, "one SIGINT: weft says so on stderr")
        # resume the interrupted run: every job exactly once over both runs
        args = [opts.weft, "run", "-j4", "--resume", "--joblog", jl,
                "touch started.{}; %s 0.01; echo {}" % slp, ":::"] + [str(i) for i in range(1, 41)]
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp,
                           env=env, timeout=60)
        again = [int(x) for x in p.stdout.decode().split() if x.isdigit()]
        c.expect(p.returncode == 0, "resume after SIGINT: exit 0 (got %s)" % p.returncode)
        c.expect(sorted(again + sorted(done)) == list(range(1, 41)),
                 "resume after SIGINT: every job ran exactly once (%d + %d)"
                 % (len(done), len(again)))
        c.expect(sorted(joblog_args(jl)) == list(range(1, 41)),
                 "resume after SIGINT: the joblog has all 40 jobs")
        # two SIGINTs: running jobs are killed at once
        for f in os.listdir(tmp):
            if f.startswith("started."):
                os.unlink(os.path.join(tmp, f))
        jl2 = os.path.join(tmp, "jl2")
        rc, lines, secs, slp, err = interrupted_run(opts.weft, tmp, env, jl2, 2, "30")
        c.expect(rc != "hung" and secs < 10,
                 "two SIGINTs: weft exits soon (status %s after %.1f s)" % (rc, secs))
        left = wait_gone(os.path.basename(slp), 3)
        c.expect(not left, "two SIGINTs: the running jobs were killed (%s left)" % left)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        check_grandchildren(c, opts, tmp, env)
    return c.result()


def check_grandchildren(c, opts, tmp, env):
    """Two SIGINTs while every slot holds a job whose shell has a sleep in
    the background and one in the foreground (its grandchildren, which the
    shell never signals): none may survive, and the joblog must hold every
    job that finished before, the killed ones marked as such."""
    for f in os.listdir(tmp):
        if f.startswith("started."):
            os.unlink(os.path.join(tmp, f))
    jl = os.path.join(tmp, "jl3")
    # jobs 4, 8, 10, 14, ... hang (two sleeps of 30 s); the others take 0.1 s
    job = ("touch started.{}; case {} in *[048]) SLP 30 & SLP 30;; *) SLP 0.1;; esac; "
           "echo {}")
    rc, lines, secs, slp, err = interrupted_run(opts.weft, tmp, env, jl, 2, None, job)
    c.expect(rc != "hung" and secs < 10,
             "grandchildren: weft exits soon after two SIGINTs (status %s after %.1f s)"
             % (rc, secs))
    left = wait_gone(os.path.basename(slp), 3)
    c.expect(not left, "grandchildren: no background or foreground sleep left (%s)" % left)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    rows = joblog_args(jl)
    done = {int(x) for x in lines if x.isdigit()}
    started = {int(f.split(".")[1]) for f in os.listdir(tmp) if f.startswith("started.")}
    killed = {s for s, r in rows.items() if r[1] != "0"}
    c.expect(done and done == {s for s, r in rows.items() if r[0] == "0" and r[1] == "0"},
             "grandchildren: the joblog holds every finished job (%d outputs, %d rows)"
             % (len(done), len(rows)))
    c.expect(killed and all(s % 10 in (0, 4, 8) for s in killed) and started == done | killed,
             "grandchildren: the killed jobs are the hanging ones, logged with their signal "
             "(%d killed, %d started)" % (len(killed), len(started)))


def both(cmdlines, tmp, env, weft):
    """Runs each argument list (after the program) through parallel and weft,
    each side in its own directory with its own joblog; returns per step the
    pairs of (stdout, status) and the final joblogs."""
    parallel = shutil.which("parallel")
    res = {}
    for label, prog in (("parallel", [parallel, "--will-cite"]), ("weft", [weft, "run"])):
        d = os.path.join(tmp, label)
        os.makedirs(d)
        steps = []
        for args in cmdlines:
            p = subprocess.run(prog + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=d, env=env, timeout=60)
            steps.append((p.stdout, p.returncode))
        res[label] = (steps, read(os.path.join(d, "jl")) if os.path.exists(
            os.path.join(d, "jl")) else None)
    return res


def check_resume(opts):
    c = Check("resume")
    if not shutil.which("parallel"):
        print("GNU parallel not found: skipped")
        return 77
    cmd = ["-k", "-j1", "--joblog", "jl"]
    job = ["echo {}; [ {} != 5 ] && [ {} != 8 ]", ":::"] + [str(i) for i in range(1, 11)]
    steps = [cmd + ["--halt", "now,fail=1"] + job,    # runs 1..5, stops at 5
             cmd + ["--resume"] + job,                # 6..10 (8 fails)
             cmd + ["--resume"] + job,                # nothing left
             cmd + ["--resume-failed"] + job]         # 5 and 8 again
    with tempfile.TemporaryDirectory(prefix="weft-run-resume-") as tmp:
        res = both(steps, tmp, peer_env(tmp), opts.weft)
        (ps, pjl), (ws, wjl) = res["parallel"], res["weft"]
        names = ["--halt run", "--resume", "--resume again", "--resume-failed"]
        for i, name in enumerate(names):
            c.expect(ps[i] == ws[i], "%s: stdout and status as parallel (%r vs %r)"
                     % (name, ps[i], ws[i]))
        diffs = compare_joblogs(pjl, wjl)
        c.expect(not diffs, "final joblog as parallel's %s" % "; ".join(diffs[:4]))
    return c.result()


INJECT = ["a; touch pwned1", "$(touch pwned2)", "`touch pwned3`", "| touch pwned4",
          "&& touch pwned5", "> pwned6", "' ; touch pwned7 ; '", "\" ; touch pwned8 ; \"",
          "\\", "*", "--help", "$HOME", "a\tb", "-n", "{}", "{.}", ";", "$(", "'"]


def check_inject(opts):
    c = Check("inject")
    with tempfile.TemporaryDirectory(prefix="weft-run-inject-") as tmp:
        env = peer_env(tmp)
        stdin = ("\n".join(INJECT) + "\n").encode()
        nul = ("\0".join(INJECT)).encode()
        # As in GNU parallel the command is shell code and {} is quoted for an
        # unquoted context (inside "..." it would not be safe, in parallel too).
        fmt = "printf '%s\\n'"
        runs = [("args", ["-k", fmt, ":::"] + INJECT, b""),
                ("stdin", ["-k", fmt], stdin),
                ("-0", ["-0", "-k", fmt], nul),
                ("{} in a template", ["-k", fmt + " {}", ":::"] + INJECT, b""),
                ("shell pipeline", ["-k", fmt + " {} | cat", ":::"] + INJECT, b""),
                ("positional", ["-k", fmt + " {2} {1}", ":::"] + INJECT[:9] + [":::+"]
                 + INJECT[9:18], b"")]
        for what, args, data in runs:
            p = subprocess.run([opts.weft, "run"] + args, input=data, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=tmp, env=env, timeout=60)
            got = p.stdout.decode("utf-8", "replace").split("\n")[:-1]
            want = INJECT
            if what == "positional":
                want = [x for pair in zip(INJECT[9:18], INJECT[:9]) for x in pair]
            c.expect(p.returncode == 0 and got == want,
                     "%s: every input comes back as one argument (status %s)%s" % (
                         what, p.returncode, "" if got == want else ": %r" % got[:6]))
            pwned = [f for f in os.listdir(tmp) if f.startswith("pwned")]
            c.expect(not pwned, "%s: nothing was executed (%s)" % (what, pwned))
    return c.result()


def check_many(opts):
    c = Check("many")
    # 100,000 as the issue says; WEFT_TEST_SCALE (0.3 under TSan) shrinks it
    n = max(1000, int(100000 * float(os.environ.get("WEFT_TEST_SCALE", "1") or 1)))
    with tempfile.TemporaryDirectory(prefix="weft-run-many-") as tmp:
        env = peer_env(tmp)
        jl = os.path.join(tmp, "jl")
        data = "".join("%d\n" % i for i in range(1, n + 1)).encode()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.time()
        p = subprocess.run([opts.weft, "run", "-k", "--joblog", jl, "echo"], input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp, env=env,
                           timeout=580)
        secs = time.time() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        c.expect(p.returncode == 0, "%d x echo: exit 0 (%s) in %.1f s" % (n, p.returncode, secs))
        c.expect(p.stdout == data, "%d x echo -k: the output is the input, in order" % n)
        rows = joblog_args(jl)
        c.expect(sorted(rows) == list(range(1, n + 1)), "the joblog has %d rows, Seq 1..n" % n)
        c.expect(all(r[0] == "0" for r in rows.values()), "every joblog row exited 0")
        c.expect(rss <= max(before, 256 * 1024),
                 "memory bounded: peak RSS of a child %d MB <= 256 MB" % (rss // 1024))
        # streaming: jobs start (and finish) while stdin is still open
        p = subprocess.Popen([opts.weft, "run", "echo"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp,
                             env=env)
        p.stdin.write(b"first\n")
        p.stdin.flush()
        first = read_line_within(p.stdout, 10)
        c.expect(first == b"first\n", "stdin streams: a job ran before stdin ended (%r)" % first)
        p.stdin.close()
        p.wait(timeout=30)
        check_million(c, opts, tmp, env)
    return c.result()


def vm_hwm_kb(pid):
    """Peak RSS of a running process since its exec (VmHWM), in KB; ru_maxrss
    would count the parent's pages the child had before its exec too."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def check_million(c, opts, tmp, env):
    """A million stdin lines through --dry-run (no processes, so it takes a
    second): all of them, in order, while weft's own peak memory stays a
    small constant (the inputs wait in a bounded queue, not in memory)."""
    n = 1000000
    with open(os.path.join(tmp, "million"), "wb") as f:
        f.write("".join("%d\n" % i for i in range(1, n + 1)).encode())
    hwm = 0
    env = dict(env)  # ASan keeps 256 MB of freed blocks by default: judge weft, not that
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8").lstrip(":")
    with open(os.path.join(tmp, "million"), "rb") as fin:
        p = subprocess.Popen([opts.weft, "run", "-k", "--dry-run", "echo"], stdin=fin,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp,
                             env=env)
        lines = 0
        last = b""
        for line in p.stdout:
            lines += 1
            last = line
            if lines % 20000 == 0:  # monotonic: the last reading is the peak so far
                hwm = max(hwm, vm_hwm_kb(p.pid))
        status = p.wait(timeout=60)
    c.expect(status == 0 and lines == n and last == b"echo %d\n" % n,
             "a million stdin lines: %d commands, the last %r" % (lines, last))
    # the sanitizers' shadow memory and bookkeeping are tens of MB of their own
    limit = 64 if ("asan" in opts.weft or "tsan" in opts.weft) else 32
    c.expect(0 < hwm // 1024 <= limit,
             "a million stdin lines: peak RSS %d MB <= %d MB" % (hwm // 1024, limit))


def read_line_within(f, secs):
    import select
    if not select.select([f], [], [], secs)[0]:
        return None
    return f.readline()


def check_big(opts):
    c = Check("big")
    size = 100 * 1000 * 1000
    with tempfile.TemporaryDirectory(prefix="weft-run-big-") as tmp:
        env = peer_env(tmp)
        jl = os.path.join(tmp, "jl")
        out_path = os.path.join(tmp, "out")
        # two jobs of 100 MB each at once: grouped, so each job's bytes are
        # contiguous, in order with -k; to a file, not through this script
        cmd = "head -c %d /dev/zero | tr '\\0' {}" % size
        with open(out_path, "wb") as out:
            p = subprocess.run([opts.weft, "run", "-k", "-j2", "--joblog", jl, cmd, ":::", "a",
                                "b"], stdout=out, stderr=subprocess.PIPE, cwd=tmp, env=env,
                               timeout=280)
        c.expect(p.returncode == 0, "2 jobs x 100 MB: exit 0 (%s)" % p.returncode)
        got = os.path.getsize(out_path)
        c.expect(got == 2 * size, "all 200 MB arrived (%d bytes)" % got)
        with open(out_path, "rb") as f:
            ok = True
            for want in (b"a", b"b"):
                left = size
                while left and ok:
                    chunk = f.read(min(left, 1 << 20))
                    ok = len(chunk) > 0 and chunk.count(want) == len(chunk)
                    left -= len(chunk)
        c.expect(ok, "grouped: 100 MB of a, then 100 MB of b, never mixed")
        rows = joblog_args(jl)
        _, full = parse_joblog(read(jl)) if os.path.exists(jl) else (None, {})
        recv = sorted(r[5] for r in full.values() if len(r) > 5)
        c.expect(recv == [str(size)] * 2, "joblog Receive = 100000000 for both (%s)" % recv)
        c.expect(len(rows) == 2, "joblog has 2 rows")
    return c.result()


def pty_stderr(args):
    """Runs args with stderr on a new pty; returns (status, what it printed)."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer is gone
            break
        if not data:
            break
        out += data
    os.close(master)
    return p.wait(timeout=60), out.decode("utf-8", "replace")


def check_bar(opts):
    c = Check("bar")
    # 12 jobs of 0.3 s, 2 at a time: about 1.8 s, redrawn every 0.2 s
    args = [opts.weft, "run", "--bar", "--eta", "-j2", "sleep 0.3; exit {}", ":::"] + \
        ["0"] * 11 + ["3"]
    rc, err = pty_stderr(args)
    c.expect(rc == 1, "on a pty: exit status 1 for one failed job (got %s)" % rc)
    draws = [d for d in err.split("\r") if "weft run:" in d]
    c.expect(len(draws) >= 4, "on a pty: the line is redrawn in place (%d draws)" % len(draws))
    c.expect(any("ETA" in d and "running" in d for d in draws[:-1]),
             "on a pty: live draws show the running jobs and an ETA")
    c.expect(any("#" in d and "[" in d for d in draws), "on a pty: --bar draws a bar")
    last = draws[-1] if draws else ""
    c.expect("100% 12/12 done, 0 running, 1 failed" in last,
             "on a pty: the last draw counts every job (%r)" % last.strip())
    p = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode()
    c.expect("\r" not in err and err.count("\n") == 1 and "12/12 done" in err,
             "off a terminal: one summary line (%r)" % err)
    return c.result()


def main(opts):
    return {"sigint": check_sigint, "resume": check_resume, "inject": check_inject,
            "many": check_many, "big": check_big, "bar": check_bar}[opts.check](opts)
