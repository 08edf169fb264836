"""Single-user server lockdown (DESIGN.md §7).

The shared ``notebooks/`` folder is served to everyone but written by no one: the contents manager refuses
every write outside the user's own ``work/<user>/`` folder (and every write at all for Voilà-only users), hides
``admin/`` pages from users who cannot manage the app and every other user's ``work/`` folder from everyone
(Voilà loads notebooks through the contents manager, so an analyst asking for an admin page gets 404). Paths
are judged after resolving ``..``; raw file downloads (``/files/``) and checkpoints go through the same checks,
and kernels start only inside the served folder.
"""

from __future__ import annotations

import errno
import posixpath

from jupyter_server.files.handlers import FilesHandler
from jupyter_server.services.contents.filemanager import FileContentsManager
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import List, Unicode, default

#: Kernel messages a Voilà-only browser may send: widgets (comms) and the handshake, never execute_request.
WIDGET_MESSAGE_TYPES = ["comm_open", "comm_msg", "comm_close", "comm_info_request", "kernel_info_request"]


class DalloshContentsManager(FileContentsManager):
    hidden_prefixes = List(Unicode(), default_value=[], config=True,
                           help="Paths (relative to the root) that do not exist for this user, e.g. admin/.")
    writable_prefix = Unicode("", config=True,
                              help="The only folder this user may write to (empty: read-only server).")

    #: Every user's private folders live under this one; a user sees only their own (``writable_prefix``).
    private_root = "work"

    @default("files_handler_class")
    def _files_through_contents(self):
        # FileContentsManager serves /files/ straight from disk (AuthenticatedFileHandler), past every check
        # here; the generic handler asks ``get`` and so obeys them.
        return FilesHandler

    @default("files_handler_params")
    def _files_params(self):
        return {"path": self.root_dir}  # StaticFileHandler's argument; FilesHandler reads through ``get``

    def _normalise(self, path: str) -> str:
        """The path relative to the root with ``.``/``..`` resolved; a path that climbs out does not exist."""
        raw = (path or "").replace("\\", "/").strip("/")
        norm = posixpath.normpath(raw) if raw else ""
        if norm in (".", ""):
            return ""
        if norm == ".." or norm.startswith("../") or "/../" in f"/{norm}/":
            raise web.HTTPError(404, f"No such file or directory: {path}")
        return norm

    def _check_visible(self, path: str) -> None:
        norm = self._normalise(path)
        for prefix in self.hidden_prefixes:
            prefix = prefix.strip("/")
            if norm == prefix or norm.startswith(prefix + "/"):
                raise web.HTTPError(404, f"No such file or directory: {path}")
        own = self.writable_prefix.strip("/")
        if norm.startswith(self.private_root + "/") and not (own and (norm == own or norm.startswith(own + "/"))):
            raise web.HTTPError(404, f"No such file or directory: {path}")

    def _check_writable(self, path: str) -> None:
        norm = self._normalise(path)
        allowed = self.writable_prefix.strip("/")
        if not allowed or not (norm == allowed or norm.startswith(allowed + "/")):
            raise web.HTTPError(403, "This folder is read-only. Save your own notebooks under "
                                     f"{allowed or 'your work folder (ask for the notebook permission)'}.")

    _listing = 0  # depth of directory listings in progress (a listed child folder is listed too)

    def get(self, path, content=True, type=None, format=None, **kwargs):  # noqa: A002 - jupyter_server's name
        if self._listing and self._hidden(path):
            # A directory listing asks for each child; EACCES makes jupyter_server skip it silently.
            raise PermissionError(errno.EACCES, "hidden")
        self._check_visible(path)
        return super().get(path, content=content, type=type, format=format, **kwargs)

    def _dir_model(self, path, content=True):
        self._listing += 1
        try:
            return super()._dir_model(path, content=content)
        finally:
            self._listing -= 1

    def _hidden(self, path: str) -> bool:
        try:
            self._check_visible(path)
            return False
        except web.HTTPError:
            return True

    def is_hidden(self, path):
        # Asked before ``get``: another user's folder must not exist (404) before the disk is looked at, which
        # for a server running as its own account would answer "permission denied" (500).
        self._check_visible(path)
        try:
            return super().is_hidden(path)
        except PermissionError:
            raise web.HTTPError(404, f"No such file or directory: {path}") from None

    def file_exists(self, path=""):
        return not self._hidden(path) and super().file_exists(path)

    def dir_exists(self, path):
        return not self._hidden(path) and super().dir_exists(path)

    def save(self, model, path=""):
        self._check_writable(path)
        return super().save(model, path)

    def delete_file(self, path):
        self._check_writable(path)
        return super().delete_file(path)

    def rename_file(self, old_path, new_path):
        self._check_writable(old_path)
        self._check_writable(new_path)
        return super().rename_file(old_path, new_path)

    def new(self, model=None, path=""):
        self._check_writable(path)
        return super().new(model, path)

    def new_untitled(self, path="", type="", ext=""):  # noqa: A002
        self._check_writable(path)
        return super().new_untitled(path, type, ext)

    def copy(self, from_path, to_path=None):
        self._check_visible(from_path)
        self._check_writable(to_path or from_path)
        return super().copy(from_path, to_path)

    # Checkpoints are writes too (``POST …/checkpoints`` wrote into the read-only folder).
    def create_checkpoint(self, path):
        self._check_writable(path)
        return super().create_checkpoint(path)

    def restore_checkpoint(self, checkpoint_id, path):
        self._check_writable(path)
        return super().restore_checkpoint(checkpoint_id, path)

    def delete_checkpoint(self, checkpoint_id, path):
        self._check_writable(path)
        return super().delete_checkpoint(checkpoint_id, path)

    def list_checkpoints(self, path):
        self._check_visible(path)
        return super().list_checkpoints(path)


class DalloshKernelManager(AsyncMappingKernelManager):
    """Kernels start in a folder of the served tree, never outside it (``{"path": "../../../etc"}``)."""

    def cwd_for_path(self, path, **kwargs):
        raw = (path or "").replace("\\", "/").strip("/")
        norm = posixpath.normpath(raw) if raw else ""
        if norm == ".." or norm.startswith("../") or posixpath.isabs(raw):
            raise web.HTTPError(400, "A kernel can only start inside the notebooks folder.")
        return super().cwd_for_path(norm if norm != "." else "", **kwargs)
