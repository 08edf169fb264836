"""Stopping a process together with everything it started (RQ work-horses, JupyterHub's proxy and servers).

RQ puts each work-horse in its own session and JupyterHub spawns the proxy and single-user servers as children,
so signalling one process group is not enough: the tree is walked by parent pid.
"""

from __future__ import annotations

from pathlib import Path

import psutil


def _family(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop_tree(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM ``pid`` and its descendants; SIGKILL whatever is still alive after ``timeout`` seconds."""
    family = _family(pid)
    for member in family:
        try:
            member.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(family, timeout=timeout)
    kill_tree_members(alive)


def stop_pid_file(path: Path, name: str, timeout: float = 15.0) -> bool:
    """Stop the process whose pid ``path`` holds (with its descendants), if it runs a command containing ``name``.

    For a process that outlived its parent, e.g. the proxy of a hub that crashed or failed to start (the proxy
    runs in a session of its own). A recycled pid running something else is left alone. True if it was stopped.
    """
    try:
        pid = int(Path(path).read_text().strip())
        command = " ".join(psutil.Process(pid).cmdline())
    except (OSError, ValueError, psutil.Error):
        return False
    if name not in command:
        return False
    stop_tree(pid, timeout)
    return True


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and its descendants at once, as a crash would."""
    kill_tree_members(_family(pid))


def kill_tree_members(members: list[psutil.Process]) -> None:
    for member in members:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
