"""The embedded default database: nx-27017 (MongoDB wire protocol over SQLite) started on demand.

Only used when nothing answers at a *local* MongoDB URI, so a real MongoDB is always used untouched when present.
Always ``--data-dir`` (one SQLite file per logical database): the single-file ``--db`` mode wipes every logical
database on ``drop_database`` (DESIGN.md §3).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

from dallosh.config import Config, get_config
from dallosh.storage import Storage

PID_FILE = "nx-27017.pid"
#: Seconds to wait for the embedded server to answer after spawning it (cold start measured at ~1 s).
START_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class DatabaseStatus:
    """What ``dallosh db status`` reports."""

    kind: str  # "mongodb", "embedded" or "down"
    uri: str
    version: str | None = None
    pid: int | None = None
    data_dir: Path | None = None

    def describe(self) -> str:
        if self.kind == "mongodb":
            return f"MongoDB {self.version or ''} at {self.uri} (external server, used as is)".replace("  ", " ")
        if self.kind == "embedded":
            pid = f", pid {self.pid}" if self.pid else ""
            return f"embedded nx-27017 at {self.uri} (data dir {self.data_dir}{pid})"
        return f"no database answers at {self.uri}"


def probe(uri: str, timeout_ms: int = 1500) -> str | None | bool:
    """Return the server version string, None for nx-27017 (it reports none), or False if nothing answers."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        info = client.server_info()
        return info.get("version")
    except PyMongoError:
        return False
    finally:
        client.close()


def _pid_path(storage: Storage) -> Path:
    return storage.run_dir / PID_FILE


def _read_pid(storage: Storage) -> int | None:
    try:
        pid = int(_pid_path(storage).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def status(config: Config | None = None) -> DatabaseStatus:
    config = config or get_config()
    storage = Storage.from_config(config)
    version = probe(config.mongodb_uri)
    if version is False:
        return DatabaseStatus("down", config.mongodb_uri)
    pid = _read_pid(storage)
    if version is None or pid:
        return DatabaseStatus("embedded", config.mongodb_uri, None, pid, storage.db_dir)
    return DatabaseStatus("mongodb", config.mongodb_uri, version)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def nx_executable() -> str:
    """The nx-27017 script installed next to this Python (a venv may not be on PATH)."""
    candidate = Path(sys.executable).with_name("nx-27017")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nx-27017")
    if not found:
        raise RuntimeError("nx-27017 is not installed: run the README's set-up command (pip install -e .).")
    return found


def spawn_embedded(port: int, data_dir: Path, log_file: Path, pid_file: Path | None = None) -> subprocess.Popen:
    """Start an nx-27017 process in its own session (Ctrl-C in a terminal does not kill it half-way)."""
    from dallosh.storage import private, private_umask

    data_dir.mkdir(parents=True, exist_ok=True)
    private(data_dir)  # password hashes and API keys: the app's account only (files it creates: umask 077)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    cmd = [nx_executable(), "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port),
           "--log-file", str(log_file), "--pid-file", str(data_dir / ".nx-internal.pid")]
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=private_umask)
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(str(proc.pid))
    return proc


def wait_until_answers(uri: str, timeout: float = START_TIMEOUT_S, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe(uri, timeout_ms=500) is not False:
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the embedded database exited with code {proc.returncode}; see its log file")
        time.sleep(0.2)
    raise RuntimeError(f"the embedded database did not answer at {uri} within {timeout:.0f} s")


def ensure_database(config: Config | None = None) -> DatabaseStatus:
    """Make sure a database answers at the configured URI, starting the embedded one if allowed and needed."""
    config = config or get_config()
    current = status(config)
    if current.kind != "down":
        return current
    if config.embedded_db == "never" or not config.mongodb_is_local:
        raise RuntimeError(
            f"No MongoDB answers at {config.mongodb_uri}. Start MongoDB there (for example `docker compose up -d "
            "mongodb`) or point DALLOSH_MONGODB_URI at a running server."
        )
    if not _port_free(config.mongodb_port):
        raise RuntimeError(
            f"Port {config.mongodb_port} is taken by something that is not MongoDB; free it or change "
            "DALLOSH_MONGODB_URI."
        )
    storage = Storage.from_config(config)
    storage.ensure()
    proc = spawn_embedded(config.mongodb_port, storage.db_dir, storage.logs_dir / "nx-27017.log", _pid_path(storage))
    wait_until_answers(config.mongodb_uri, proc=proc)
    return status(config)


def terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``timeout``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stop_embedded(config: Config | None = None) -> bool:
    """Stop the embedded server this project started; never touches an external MongoDB."""
    storage = Storage.from_config(config or get_config())
    pid = _read_pid(storage)
    if pid is None:
        _pid_path(storage).unlink(missing_ok=True)
        return False
    terminate(pid)
    _pid_path(storage).unlink(missing_ok=True)
    return True
