"""One unprivileged system account per hub user, for their single-user server (``DALLOSH_SYSTEM_USERS``).

As JupyterHub's ``LocalProcessSpawner`` with ``create_system_users``: the spawner creates the account on first
start (``useradd``), then starts the server as that account (setgid, initgroups, setuid in the child). The
account's name never comes from what a user typed: it is ``dl-`` and the first 8 hex digits of the dallosh
user's uid, and the account's comment records the full uid, so an existing account of the same name that is not
ours (or a collision) is refused rather than reused. Accounts have no login shell and no password; their home is
``<storage>/homes/<account>`` (0700, theirs).

Everything else under the storage stays the hub's account's alone (0700 folders), except what a server needs to
reach: the storage root and ``homes/`` are traverse-only (0711), the notebooks folder readable (links to the
shipped pages, ``work/``), and a power user's own ``work/<user>`` folder is owned by their account.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

#: Prefix of every account the spawner creates (``dl-<8 hex>``).
ACCOUNT_PREFIX = "dl-"
#: The accounts' comment field: how the spawner recognises its own accounts.
COMMENT_PREFIX = "dallosh user "
#: Every server account is also in this group: the hub's netfilter rules match it (hub/firewall.py).
GROUP = "dallosh-servers"
NOLOGIN = next((s for s in ("/usr/sbin/nologin", "/sbin/nologin") if Path(s).exists()), "/bin/false")
_UID = re.compile(r"^[0-9a-f]{8,}$")


class AccountError(RuntimeError):
    """An account cannot be created or used safely; the server is not started."""


def resolve_mode(mode: str) -> bool:
    """``on``/``off`` as said; ``auto``: on when this process is root on Linux and ``useradd`` exists."""
    if mode in ("on", "off"):
        return mode == "on"
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("useradd") is not None


def ensure_group() -> int:
    """The gid of ``dallosh-servers`` (a system group, created when missing)."""
    try:
        return grp.getgrnam(GROUP).gr_gid
    except KeyError:
        result = subprocess.run(["groupadd", "--system", GROUP], capture_output=True, text=True, check=False)
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise AccountError(f"groupadd {GROUP} failed: {result.stderr.strip()}") from None
        return grp.getgrnam(GROUP).gr_gid


def account_name(user_uid: str) -> str:
    """``dl-`` + the first 8 hex digits of the dallosh uid (uids are generated hex: nothing a user chose)."""
    if not _UID.match(user_uid or ""):
        raise AccountError(f"not a dallosh user uid: {user_uid!r}")
    return ACCOUNT_PREFIX + user_uid[:8]


def ensure_account(user_uid: str, home: Path) -> pwd.struct_passwd:
    """The server account of ``user_uid`` (created if missing) with its home ``home`` (0700, its own)."""
    name = account_name(user_uid)
    comment = COMMENT_PREFIX + user_uid
    ensure_group()
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        home.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["useradd", "--system", "--user-group", "--groups", GROUP, "--no-create-home",
             "--home-dir", str(home), "--shell", NOLOGIN, "--comment", comment, name],
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise AccountError(f"useradd {name} failed: {result.stderr.strip()}") from None
        entry = pwd.getpwnam(name)
    if entry.pw_gecos != comment:
        raise AccountError(f"the system account {name} exists and is not the dallosh account of {user_uid}")
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise AccountError(f"the system account {name} has root's uid or gid")
    if Path(entry.pw_dir) != home:
        raise AccountError(f"the system account {name} has home {entry.pw_dir}, expected {home}")
    if name not in grp.getgrnam(GROUP).gr_mem:  # an account made before the group existed
        subprocess.run(["usermod", "--append", "--groups", GROUP, name], capture_output=True, check=True)
    own_folder(home, entry)
    return entry


def own_folder(path: Path, entry: pwd.struct_passwd) -> None:
    """``path`` exists, belongs to the account, and no one else may enter it (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        raise AccountError(f"{path} is a symbolic link")
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


def open_for_traversal(path: Path, mode: int = 0o711) -> None:
    """Let other accounts pass through (or, 0755, list) a folder of the hub's account; never wider."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)


def remove_account(name: str, home: Path | None = None) -> None:
    """Delete a server account the spawner created (and its home): tests and account deletion."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    if not name.startswith(ACCOUNT_PREFIX) or not entry.pw_gecos.startswith(COMMENT_PREFIX):
        raise AccountError(f"{name} is not a dallosh server account")
    subprocess.run(["pkill", "-KILL", "-u", str(entry.pw_uid)], capture_output=True, check=False)
    subprocess.run(["userdel", name], capture_output=True, check=False)
    target = home or Path(entry.pw_dir)
    if target.is_dir() and target.stat().st_uid == entry.pw_uid:
        shutil.rmtree(target, ignore_errors=True)


def accounts() -> list[str]:
    """The names of the dallosh server accounts on this machine."""
    return [e.pw_name for e in pwd.getpwall()
            if e.pw_name.startswith(ACCOUNT_PREFIX) and e.pw_gecos.startswith(COMMENT_PREFIX)]


def closed_ancestor(path: Path, *, need_read: bool = True) -> Path | None:
    """The first folder on the way to ``path`` that other accounts cannot pass (no o+x), or ``path`` itself
    when they cannot read it; None when an unprivileged account can reach it (what ``namei -l`` shows)."""
    path = Path(path).absolute()
    current = Path(path.anchor)
    for part in path.parts[1:]:
        mode = current.stat().st_mode
        if not mode & stat.S_IXOTH:
            return current
        current = current / part
        if current.is_symlink():
            target = current.resolve()
            blocked = closed_ancestor(target, need_read=False)
            if blocked is not None:
                return blocked
            current = target
    if need_read and current.exists():
        mode = current.stat().st_mode
        if not mode & stat.S_IROTH or (current.is_dir() and not mode & stat.S_IXOTH):
            return current
    return None


def check_reachable(paths: Iterable[Path]) -> None:
    """Refuse to start a server that could not run: the code and the interpreter must be readable by others."""
    for path in paths:
        blocked = closed_ancestor(path)
        if blocked is not None:
            raise AccountError(
                f"{path} is not readable by the servers' accounts ({blocked} is closed to other accounts): "
                "install the app and its Python where every account may read them (an image's /usr/local, a "
                "virtualenv outside a private home), or set DALLOSH_SYSTEM_USERS=off.")


def preexec_as(entry: pwd.struct_passwd) -> Callable[[], None]:
    """The ``preexec_fn`` that becomes the account in the child (as jupyterhub.spawner.set_user_setuid), with
    umask 077 (files the server writes are the account's alone) and the home as working directory."""
    uid, gid, home, name = entry.pw_uid, entry.pw_gid, entry.pw_dir, entry.pw_name
    groups = os.getgrouplist(name, gid)

    def preexec() -> None:
        os.setgid(gid)
        os.setgroups(groups)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid or 0 in os.getgroups():
            raise PermissionError("could not drop root")
        os.umask(0o077)
        os.chdir(home)

    return preexec
