"""A private single-node SLURM cluster on localhost for the workflow tests.

Installs the Debian packages when they are missing (root + apt only), then starts munged (unless
one already answers), a private MariaDB, slurmdbd, slurmctld and slurmd, every daemon in the
foreground as a child of this process, with all state, spool, pid and log files under one
temporary folder. `stop()` ends exactly the processes `start()` started and removes the
/etc/slurm/slurm.conf link it made (the SLURM job step strips SLURM_CONF, so client commands
inside jobs read that fixed path). The node advertises one stand-in GPU (/dev/null as its device
file) so that GPU rules' `--gpus` requests are scheduled, and recorded by accounting, on a
machine without one. Daemons and the link left by a killed earlier run (recognised by this
cluster's name and the recorded PIDs) are stopped before a new start.

Facts this relies on are in ../shared/SLURM.md (Slurm 22.05, munge 0.5.15, MariaDB 10.11).
Never imports snakemake.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge", "slurmdbd", "mariadb-server", "mariadb-client")
BINARIES = (
    "slurmctld",
    "slurmd",
    "slurmdbd",
    "sbatch",
    "sacct",
    "sacctmgr",
    "scontrol",
    "sinfo",
    "munged",
    "munge",
    "mariadbd",
    "mariadb-install-db",
)
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
ACCOUNT = "sahlab"
PARTITION = "debug"
CLUSTER = "sahlabtest"


class ClusterUnavailable(RuntimeError):
    """SLURM cannot be installed or set up on this machine; the message says why (tests skip)."""


class ClusterError(RuntimeError):
    """A daemon or client command failed although SLURM is installed (tests fail on it)."""


def _missing_binaries() -> list[str]:
    path = os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin:/sbin"
    return [b for b in BINARIES if shutil.which(b, path=path) is None]


def ensure_installed(timeout: int = 900) -> None:
    """Install the SLURM, munge and MariaDB Debian packages when any binary is missing.

    Raises ClusterUnavailable when that is impossible here (not root, no apt-get, apt fails).
    """
    missing = _missing_binaries()
    if not missing:
        return
    if os.geteuid() != 0:
        raise ClusterUnavailable(f"SLURM binaries {missing} are missing and installing them needs root")
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable(f"SLURM binaries {missing} are missing and there is no apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
    ):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise ClusterUnavailable(
                f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-2000:]}"
            )
    still = _missing_binaries()
    if still:
        raise ClusterUnavailable(f"after apt-get install, binaries {still} are still missing")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _munge_answers() -> bool:
    """True when a munged already serves the default socket (then we use it, not start one)."""
    if not MUNGE_SOCKET.exists():
        return False
    enc = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
    if enc.returncode != 0:
        return False
    dec = subprocess.run(["unmunge"], input=enc.stdout, capture_output=True, timeout=10)
    return dec.returncode == 0


def _node_line(hostname: str) -> str:
    """This machine's node definition from `slurmd -C`, memory lowered to 95 % (slurmd refuses a
    node that reports less memory than configured)."""
    out = (
        subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30, check=True)
        .stdout.splitlines()[0]
        .split()
    )
    fields = dict(f.split("=", 1) for f in out if "=" in f)
    fields["NodeName"] = hostname
    fields["RealMemory"] = str(int(int(fields["RealMemory"]) * 0.95))
    keep = ("NodeName", "CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    return " ".join(f"{k}={fields[k]}" for k in keep if k in fields)


def _reap_stale_cluster(link: Path) -> None:
    """Undo what a killed earlier run of these tests left: stop the daemons it recorded (only
    if the PID still runs that daemon) and remove its link. Links to anything else are kept."""
    target = Path(os.readlink(link))
    if target.exists() and f"ClusterName={CLUSTER}\n" not in target.read_text():
        return  # somebody else's SLURM configuration
    for pid_file in (target.parent.parent / "run").glob("*.started.pid"):
        name, pid = pid_file.name.split(".")[0], int(pid_file.read_text())
        try:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue  # already gone
        if Path(argv0).name == name:
            os.kill(pid, 15)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
    link.unlink()


class SlurmCluster:
    """One private SLURM cluster whose files live under `root`; use start() / stop()."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.hostname = socket.gethostname()
        self.procs: dict[str, subprocess.Popen] = {}
        self.made_link = False
        self.made_etc_dir = False
        self.made_munge_dir = False
        self.munge_dir: Path | None = None
        self.conf = self.root / "etc/slurm.conf"
        self.log_dir = self.root / "log"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    # ------------------------------------------------------------------ configuration
    def _write_configs(self, ports: dict[str, int]) -> None:
        for sub in ("etc", "log", "state", "spool", "run", "mysql"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        r = self.root
        self.conf.write_text(f"""\
ClusterName={CLUSTER}
SlurmctldHost={self.hostname}(127.0.0.1)
SlurmctldPort={ports["slurmctld"]}
SlurmdPort={ports["slurmd"]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
MinJobAge=600
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStoreFlags=job_comment
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={ports["slurmdbd"]}
AccountingStorageTRES=gres/gpu
GresTypes=gpu
{_node_line(self.hostname)} NodeAddr=127.0.0.1 Gres=gpu:1 State=UNKNOWN
PartitionName={PARTITION} Nodes={self.hostname} Default=YES MaxTime=INFINITE State=UP
""")
        # a stand-in GPU (/dev/null as its device): schedulable and accounted as gres/gpu, while
        # the job itself sees no CUDA device and runs on CPU
        (r / "etc/gres.conf").write_text(
            f"AutoDetect=off\nNodeName={self.hostname} Name=gpu File=/dev/null Count=1\n"
        )
        dbd = r / "etc/slurmdbd.conf"
        dbd.write_text(f"""\
AuthType=auth/munge
DbdHost={self.hostname}
DbdAddr=127.0.0.1
DbdPort={ports["slurmdbd"]}
SlurmUser=root
PidFile={r}/run/slurmdbd.pid
LogFile={r}/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={ports["mysql"]}
StorageUser=root
StorageLoc=slurm_acct_db
""")
        dbd.chmod(0o600)

    # ------------------------------------------------------------------ processes
    def _spawn(self, name: str, cmd: list[str], **kw) -> None:
        log = open(self.log_dir / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True, **kw
        )
        (self.root / "run" / f"{name}.started.pid").write_text(str(self.procs[name].pid))

    def _wait(self, what: str, ready, name: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if ready():
                return
            if name in self.procs and self.procs[name].poll() is not None:
                break
            time.sleep(0.3)
        raise ClusterError(f"{what} did not come up within {timeout:.0f} s; {self.log_tail(name)}")

    def log_tail(self, name: str, n: int = 3000) -> str:
        """The end of a daemon's log files (for error messages)."""
        parts = []
        for f in sorted(self.log_dir.glob(f"{name}*")):
            parts.append(f"--- {f}\n{f.read_text(errors='replace')[-n:]}")
        return "\n".join(parts) or f"(no log for {name})"

    def run(self, *cmd: str, check: bool = True, timeout: int = 60) -> str:
        """Run a SLURM client command against this cluster; returns stdout."""
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise ClusterError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
        return proc.stdout

    def _start_munge(self) -> None:
        if _munge_answers():
            return
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create"], check=True, capture_output=True)
            shutil.chown(key, "munge", "munge")
        # munged runs as the munge user, who cannot enter pytest's 0700 temp folders: its pid,
        # seed and log files go to a folder of its own directly under /tmp
        mdir = Path(tempfile.mkdtemp(prefix="sahlab-munge-"))
        shutil.chown(mdir, "munge", "munge")
        self.munge_dir = mdir
        if not MUNGE_SOCKET.parent.exists():
            self.made_munge_dir = True
        MUNGE_SOCKET.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        shutil.chown(MUNGE_SOCKET.parent, "munge", "munge")
        self._spawn(
            "munged",
            [
                "munged",
                "-F",
                "--force",
                f"--log-file={mdir}/munged.log",
                f"--pid-file={mdir}/munged.pid",
                f"--seed-file={mdir}/munged.seed",
            ],
            user="munge",
            group="munge",
        )
        self._wait("munged", _munge_answers, "munged", timeout=20)

    def _start_mariadb(self, port: int) -> None:
        data = self.root / "mysql"
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                "--skip-test-db",
                "--auth-root-authentication-method=normal",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        # grant tables are skipped: the server is private, bound to 127.0.0.1, and short-lived
        self._spawn(
            "mariadbd",
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                "--bind-address=127.0.0.1",
                f"--port={port}",
                f"--socket={self.root}/run/mysql.sock",
                f"--pid-file={self.root}/run/mariadb.pid",
                f"--log-error={self.log_dir}/mariadbd.log",
                "--skip-grant-tables",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
            ],
        )
        self._wait("mariadbd", lambda: _port_open(port), "mariadbd", timeout=60)

    def _link_system_conf(self) -> None:
        if SYSTEM_CONF.is_symlink():
            _reap_stale_cluster(SYSTEM_CONF)
        if SYSTEM_CONF.exists() or SYSTEM_CONF.is_symlink():
            raise ClusterUnavailable(
                f"{SYSTEM_CONF} already exists (another SLURM setup on this machine); not touching it"
            )
        if not SYSTEM_CONF.parent.exists():
            SYSTEM_CONF.parent.mkdir(parents=True)
            self.made_etc_dir = True
        SYSTEM_CONF.symlink_to(self.conf)
        self.made_link = True

    def start(self) -> "SlurmCluster":
        """Write the configs and start every daemon; on failure stop what was started and raise
        ClusterUnavailable (machine not usable) or ClusterError (with the daemon's log). One
        cluster at a time per machine (/etc/slurm/slurm.conf is shared): a second one, e.g. from
        another pytest-xdist worker, waits on a file lock until the first is stopped."""
        from filelock import FileLock

        self._lock = FileLock(str(Path(tempfile.gettempdir()) / "sahlab-slurm-cluster.lock"))
        self._lock.acquire(timeout=1800)
        ports = {k: _free_port() for k in ("slurmctld", "slurmd", "slurmdbd", "mysql")}
        self._write_configs(ports)
        try:
            self._link_system_conf()
            self._start_munge()
            self._start_mariadb(ports["mysql"])
            self._spawn("slurmdbd", ["slurmdbd", "-D"])
            self._wait("slurmdbd", lambda: _port_open(ports["slurmdbd"]), "slurmdbd")
            self.run("sacctmgr", "-i", "add", "cluster", CLUSTER)
            self.run(
                "sacctmgr", "-i", "add", "account", ACCOUNT, "Description=sahlab tests", "Organization=sahlab"
            )
            self.run("sacctmgr", "-i", "add", "user", "root", f"Account={ACCOUNT}")
            self._spawn("slurmctld", ["slurmctld", "-D", "-i"])
            self._wait(
                "slurmctld", lambda: self.run("scontrol", "ping", check=False).count("UP") > 0, "slurmctld"
            )
            self._spawn("slurmd", ["slurmd", "-D", "-N", self.hostname])
            self._wait(
                "slurmd (node idle)",
                lambda: self.run("sinfo", "-h", "-o", "%T", check=False).strip() == "idle",
                "slurmd",
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 20) -> None:
        """Terminate the daemons this object started (newest first) and remove its link."""
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self.procs.clear()
        if self.made_link and SYSTEM_CONF.is_symlink():
            SYSTEM_CONF.unlink()
            self.made_link = False
        for made, folder in (
            (self.made_etc_dir, SYSTEM_CONF.parent),
            (self.made_munge_dir, MUNGE_SOCKET.parent),
        ):
            if made:
                try:
                    folder.rmdir()
                except OSError:  # not empty: something else uses it now, leave it
                    pass
        self.made_etc_dir = self.made_munge_dir = False
        if self.munge_dir is not None:
            shutil.copytree(
                self.munge_dir,
                self.log_dir / "munge",
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("*.seed"),
            )
            shutil.rmtree(self.munge_dir, ignore_errors=True)
            self.munge_dir = None
        lock = getattr(self, "_lock", None)
        if lock is not None and lock.is_locked:
            lock.release()

    def sacct(self, *job_ids: str) -> list[dict[str, str]]:
        """One dict per job allocation (no steps): JobID, JobName, Account, Partition, State,
        ExitCode, AllocTRES, Comment (the plugin puts the rule and wildcards there)."""
        fields = ("JobID", "JobName", "Account", "Partition", "State", "ExitCode", "AllocTRES", "Comment")
        out = self.run(
            "sacct",
            "-X",
            "-n",
            "-P",
            "-a",
            f"--format={','.join(fields)}",
            *(["-j", ",".join(job_ids)] if job_ids else []),
        )
        return [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line.strip()]
