"""Server accounts (hub/sysusers.py) created for real with useradd, and removed: needs root on Linux."""

from __future__ import annotations

import os
import pwd
import subprocess
import uuid
from pathlib import Path

import pytest

from hub import sysusers

pytestmark = pytest.mark.skipif(not sysusers.resolve_mode("auto"), reason="needs root and useradd")


def test_names_come_from_the_uid_only():
    assert sysusers.account_name("0123456789abcdef0123456789abcdef") == "dl-01234567"
    for bad in ("", "root", "../../etc", "ABCDEF0123", "0123-4567"):
        with pytest.raises(sysusers.AccountError):
            sysusers.account_name(bad)


def test_an_account_is_created_once_with_a_private_home_and_drops_root(tmp_path):
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"dl-home-{uuid.uuid4().hex[:6]}"
    uid = uuid.uuid4().hex
    home = base / sysusers.account_name(uid)
    try:
        entry = sysusers.ensure_account(uid, home)
        assert entry.pw_uid != 0 and entry.pw_shell == sysusers.NOLOGIN
        assert (home.stat().st_uid, home.stat().st_mode & 0o777) == (entry.pw_uid, 0o700)
        assert sysusers.ensure_account(uid, home).pw_uid == entry.pw_uid  # reused, not re-created
        base.chmod(0o711)
        out = subprocess.run(["id", "-u"], preexec_fn=sysusers.preexec_as(entry), capture_output=True, text=True,
                             check=True)
        assert out.stdout.strip() == str(entry.pw_uid)
        secret = tmp_path / "secret"  # pytest's folder is 0700 root: the account cannot read it
        secret.write_text("x")
        refused = subprocess.run(["cat", str(secret)], preexec_fn=sysusers.preexec_as(entry), capture_output=True)
        assert refused.returncode != 0
        assert sysusers.closed_ancestor(secret) is not None
        assert sysusers.closed_ancestor(Path("/usr/bin/env")) is None  # positive control
    finally:
        sysusers.remove_account(sysusers.account_name(uid), home)
        if base.exists():
            base.rmdir()
    with pytest.raises(KeyError):
        pwd.getpwnam(sysusers.account_name(uid))


def test_an_existing_account_that_is_not_ours_is_refused(tmp_path):
    uid = uuid.uuid4().hex
    name = sysusers.account_name(uid)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", sysusers.NOLOGIN, name], check=True)
    try:
        with pytest.raises(sysusers.AccountError, match="not the dallosh account"):
            sysusers.ensure_account(uid, tmp_path / name)
        with pytest.raises(sysusers.AccountError):
            sysusers.remove_account(name)  # not created by the spawner: left alone
    finally:
        subprocess.run(["userdel", name], check=False)
