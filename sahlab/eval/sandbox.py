"""Run untrusted Python programs (model-written code plus a benchmark's tests) in sandboxed
processes, many per second.

`run_many` starts a few *sandbox servers*: ``python -I -S`` processes (isolated: no environment
variables, no user site, no current directory on the path; the interpreter's own site-packages
are added back so a test's ``import numpy`` works) that never run untrusted code themselves. For
each program a server forks a child (a fork costs about a millisecond where a fresh interpreter
costs ~30 ms) which, before compiling the program:

* starts a new session (so the server can kill it and every process it made at once),
* sets resource limits — CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS), written file size
  (RLIMIT_FSIZE), open files and, for non-root users, processes (RLIMIT_NPROC),
* moves into its own empty temporary directory (removed afterwards) and drops stdin/stdout,
* installs the reliability guard of OpenAI's human-eval / evalplus: process creation
  (``os.fork``/``system``/``exec*``/``kill``, ``subprocess``), deleting, renaming and
  permission changes, ``socket`` and ``ctypes`` are disabled, and ``open`` refuses to write
  outside the temporary directory.

The server kills the child's whole session at the wall-clock timeout. The outcome is a status
line the harness writes on a private pipe with a per-run random nonce, never the program's own
output (discarded), so a program that writes "passed" on the pipe does not pass.

This contains buggy and carelessly hostile code (infinite loops, memory bombs, fork bombs, file
writes, ``os.system``, syntax errors); like the reference harnesses it is not a security boundary
against an adversary who targets CPython itself: run untrusted models' code in a container or VM.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

# status of one run: "passed", "failed" (an exception or failed assert), "syntax" (does not
# compile), "timeout" (wall or CPU limit), "killed" (memory or another limit; no status line)
STATUSES = ("passed", "failed", "syntax", "timeout", "killed")


@dataclass(frozen=True)
class Limits:
    timeout: float = 5.0  # wall seconds per program
    cpu_seconds: int = 4  # RLIMIT_CPU
    memory_mb: int = 1024  # RLIMIT_AS
    file_mb: int = 1  # RLIMIT_FSIZE: largest file a program may write
    workers: int = 0  # sandbox servers running programs side by side; 0 = CPU count


_SERVER = r"""
import json, os, resource, shutil, signal, sys, tempfile, time
sys.path[:0] = json.loads(sys.argv[1])
LIMITS, TIMEOUT = json.loads(sys.argv[2]), float(sys.argv[3])
if sys.argv[4] == "1":
    try:
        import numpy  # tests import it; importing it once here makes every fork cheap
    except ImportError:
        pass
import builtins, io, shutil as _sh, socket, subprocess


def child(source, workdir, w, nonce):
    def report(status, detail=""):
        os.write(w, (json.dumps({"status": status, "detail": detail[:300], "nonce": nonce})
                     + "\n").encode())
        os._exit(0)
    os.setsid()
    for name, value in LIMITS.items():
        # CPU: the soft limit sends SIGXCPU (read as "timeout"); the hard limit one second later
        # SIGKILLs a program that catches it. With soft == hard Linux sends SIGKILL at once, and
        # whether a loop ends as "timeout" (wall clock first) or "killed" would depend on load.
        hard = value + 1 if name == "RLIMIT_CPU" else value
        resource.setrlimit(getattr(resource, name), (value, hard))
    os.chdir(workdir)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.stdin = sys.stdout = sys.stderr = open(os.devnull, "r+")
    try:
        code = compile(source, "<program>", "exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError) as e:
        report("syntax", f"{type(e).__name__}: {e}")
    _write, _exit, _open, root = os.write, os._exit, io.open, os.path.realpath(workdir)

    def blocked(*args, **kwargs):
        raise PermissionError("blocked by the sandbox")

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(c in str(mode) for c in "wax+"):
            path = os.path.realpath(file) if isinstance(file, (str, bytes, os.PathLike)) else ""
            if not str(path).startswith(root + os.sep):
                raise PermissionError(f"writing outside the sandbox: {file!r}")
        return _open(file, mode, *args, **kwargs)

    for name in ("fork", "forkpty", "system", "popen", "kill", "killpg", "remove", "unlink",
                 "rmdir", "removedirs", "rename", "renames", "replace", "truncate", "chmod",
                 "chown", "chdir", "fchdir", "chroot", "setuid", "execv", "execve", "execvp",
                 "execvpe", "execl", "execle", "execlp", "execlpe", "spawnv", "spawnve",
                 "spawnl", "spawnle", "posix_spawn", "posix_spawnp", "fchmod", "fchown", "link",
                 "symlink", "mkfifo", "mknod", "_exit", "abort", "setsid", "setpgid", "setpgrp",
                 "open", "write", "pipe", "dup2"):
        if hasattr(os, name):
            setattr(os, name, blocked)
    for mod, names in ((_sh, ("rmtree", "move", "chown", "copyfile", "copy", "copy2")),
                       (subprocess, ("Popen", "run", "call", "check_call", "check_output")),
                       (socket, ("socket", "create_connection", "socketpair")),
                       (builtins, ("exit", "quit")), (signal, ("signal", "alarm"))):
        for name in names:
            setattr(mod, name, blocked)
    builtins.open = io.open = guarded_open
    for mod in ("ctypes", "_ctypes", "multiprocessing", "resource", "_posixsubprocess", "psutil"):
        sys.modules[mod] = None
    try:
        exec(code, {"__name__": "__main__", "__builtins__": builtins})
    except BaseException as e:
        _write(w, (json.dumps({"status": "failed", "detail": f"{type(e).__name__}: {e}"[:300],
                               "nonce": nonce}) + "\n").encode())
        _exit(0)
    _write(w, (json.dumps({"status": "passed", "detail": "", "nonce": nonce}) + "\n").encode())
    _exit(0)


def run(source):
    workdir = tempfile.mkdtemp(prefix="sahlab-sandbox-")
    r, w = os.pipe()
    nonce = os.urandom(16).hex()  # a status line without it was written by the program
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            child(source, workdir, w, nonce)
        finally:
            os._exit(1)
    os.close(w)
    deadline, pause, status = time.monotonic() + TIMEOUT, 0.0005, None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done or time.monotonic() > deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.01)
    timed_out = not done
    try:
        os.killpg(pid, signal.SIGKILL)  # the child's session: forks outlive their parent
    except (ProcessLookupError, PermissionError):
        pass
    if timed_out:
        _, status = os.waitpid(pid, 0)
    os.set_blocking(r, False)
    data = b""
    try:
        while len(data) < 1 << 20:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
    except BlockingIOError:
        pass
    os.close(r)
    shutil.rmtree(workdir, ignore_errors=True)
    for line in data.decode("utf-8", "replace").splitlines():
        try:  # the harness's line carries the nonce; what the program scribbled does not count
            out = json.loads(line)
        except ValueError:
            continue
        if isinstance(out, dict) and out.get("nonce") == nonce \
                and out.get("status") in ("passed", "failed", "syntax"):
            return {"status": out["status"], "detail": str(out.get("detail", ""))}
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    if timed_out or sig == signal.SIGXCPU:
        return {"status": "timeout", "detail": "wall-clock or CPU limit"}
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    return {"status": "killed", "detail": f"no status (signal {sig}, exit {code})"}


for line in sys.stdin:
    out = run(json.loads(line))
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
"""


def _site_paths() -> list[str]:
    paths = [p for p in site.getsitepackages() if os.path.isdir(p)]
    return paths + [p for p in sys.path if p.endswith("site-packages") and p not in paths]


def _rlimits(limits: Limits) -> dict:
    out = {
        "RLIMIT_CPU": max(1, int(limits.cpu_seconds)),
        "RLIMIT_AS": int(limits.memory_mb) * 1024 * 1024,
        "RLIMIT_FSIZE": int(limits.file_mb) * 1024 * 1024,
        "RLIMIT_NOFILE": 64,
        "RLIMIT_CORE": 0,
    }
    if os.getuid() != 0:  # root ignores RLIMIT_NPROC; the guard and the session kill cover root
        out["RLIMIT_NPROC"] = 256
    return out


def _serve(programs: list[str], limits: Limits) -> list[dict]:
    """Run `programs` one after another in one sandbox server."""
    numpy = "1" if any("numpy" in p for p in programs) else "0"
    cmd = [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _SERVER,
        json.dumps(_site_paths()),
        json.dumps(_rlimits(limits)),
        str(float(limits.timeout)),
        numpy,
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }
    stdin = "".join(json.dumps(p) + "\n" for p in programs)
    # a server that dies (it should not) fails its programs instead of the scoring job
    try:
        proc = subprocess.run(
            cmd,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=len(programs) * (limits.timeout + 2) + 30,
        )
        stdout, stderr = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = "timed out"
    results = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    if len(results) < len(programs):
        why = (stderr.strip().splitlines() or ["no output"])[-1]
        results += [{"status": "killed", "detail": f"sandbox server stopped: {why}"}] * (
            len(programs) - len(results)
        )
    return results


def run_many(programs: list[str], limits: Limits = Limits()) -> list[dict]:
    """``{"status", "detail"}`` of each program (str of Python), in input order; the programs
    are dealt round-robin to `limits.workers` sandbox servers running side by side."""
    if not all(isinstance(p, str) for p in programs):
        raise ValueError("sandbox: every program must be a string")
    if not programs:
        return []
    k = max(1, min(limits.workers or os.cpu_count() or 1, len(programs)))
    chunks = [programs[i::k] for i in range(k)]
    with ThreadPoolExecutor(max_workers=k) as pool:
        parts = list(pool.map(lambda c: _serve(c, limits), chunks))
    out: list[dict] = [{}] * len(programs)
    for i, part in enumerate(parts):
        out[i::k] = part
    return out


def run_one(program: str, limits: Limits = Limits()) -> dict:
    return run_many([program], limits)[0]
