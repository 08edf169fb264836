"""Stopping a process left behind by its parent, through the pid file it wrote."""

from __future__ import annotations

import subprocess
import sys

from dallosh.processes import stop_pid_file


def test_stop_pid_file_stops_only_the_named_process(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)",
                             "fake-proxy"], start_new_session=True, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n", f"the child did not start (exit code {proc.poll()})"
        pid_file = tmp_path / "proxy.pid"
        pid_file.write_text(f"{proc.pid}\n")
        assert stop_pid_file(pid_file, "configurable-http-proxy") is False  # a recycled pid: left alone
        assert proc.poll() is None
        assert stop_pid_file(pid_file, "fake-proxy", timeout=5) is True
        assert proc.wait(5) is not None
    finally:
        if proc.poll() is None:
            proc.kill()


def test_stop_pid_file_without_a_usable_file(tmp_path):
    assert stop_pid_file(tmp_path / "missing.pid", "anything") is False
    (tmp_path / "garbage.pid").write_text("not a pid")
    assert stop_pid_file(tmp_path / "garbage.pid", "anything") is False
    (tmp_path / "gone.pid").write_text("999999999")
    assert stop_pid_file(tmp_path / "gone.pid", "anything") is False
