"""The single-user contents manager: hidden admin pages, read-only shared notebooks, a writable work folder."""

from __future__ import annotations

import pytest
from tornado import web

from hub.lockdown import WIDGET_MESSAGE_TYPES, DalloshContentsManager
from hub.spawner import work_dir_for


@pytest.fixture
def root(tmp_path):
    (tmp_path / "admin").mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "work" / "bob").mkdir(parents=True)
    for path in ("admin/users.ipynb", "home/overview.ipynb"):
        (tmp_path / path).write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    return tmp_path


def manager(root, hidden=("admin",), writable=""):
    return DalloshContentsManager(root_dir=str(root), hidden_prefixes=list(hidden), writable_prefix=writable)


def test_admin_pages_are_invisible(root):
    cm = manager(root)
    with pytest.raises(web.HTTPError) as exc:
        cm.get("admin/users.ipynb")
    assert exc.value.status_code == 404
    assert not cm.file_exists("admin/users.ipynb") and not cm.dir_exists("admin")
    assert "admin" not in [item["name"] for item in cm.get("")["content"]]
    assert cm.get("home/overview.ipynb")["type"] == "notebook"


def test_voila_only_server_is_read_only(root):
    cm = manager(root)
    model = cm.get("home/overview.ipynb")
    for call in (lambda: cm.save(model, "home/overview.ipynb"), lambda: cm.delete_file("home/overview.ipynb"),
                 lambda: cm.rename_file("home/overview.ipynb", "home/x.ipynb"), lambda: cm.new_untitled("home"),
                 lambda: cm.copy("home/overview.ipynb", "home/")):
        with pytest.raises(web.HTTPError) as exc:
            call()
        assert exc.value.status_code == 403
    assert (root / "home" / "overview.ipynb").exists()


def test_power_user_writes_only_in_their_folder(root):
    cm = manager(root, writable="work/bob")
    model = cm.get("home/overview.ipynb")
    cm.save(model, "work/bob/mine.ipynb")
    assert (root / "work" / "bob" / "mine.ipynb").exists()
    with pytest.raises(web.HTTPError):
        cm.save(model, "home/overview.ipynb")
    with pytest.raises(web.HTTPError):
        cm.save(model, "work/bobby/escape.ipynb")


def test_admins_see_admin_pages(root):
    assert manager(root, hidden=()).get("admin/users.ipynb")["type"] == "notebook"


def test_widget_messages_exclude_execution():
    assert "execute_request" not in WIDGET_MESSAGE_TYPES and "comm_msg" in WIDGET_MESSAGE_TYPES


def test_work_dir_names_are_safe():
    assert work_dir_for("bob@example.com") == "work/bob_example.com"
    assert work_dir_for("../../etc") == "work/.._.._etc"


def _load_singleuser_config(monkeypatch, notebooks: str, admin: str):
    from traitlets.config.loader import PyFileConfigLoader

    from hub.spawner import SINGLEUSER_CONFIG

    monkeypatch.setenv("DALLOSH_NOTEBOOKS", notebooks)
    monkeypatch.setenv("DALLOSH_IS_ADMIN", admin)
    monkeypatch.setenv("DALLOSH_WORK_DIR", "work/bob")
    loader = PyFileConfigLoader(SINGLEUSER_CONFIG.name, path=str(SINGLEUSER_CONFIG.parent))
    return loader.load_config()


def test_singleuser_config_locks_down_voila_only_users(monkeypatch):
    config = _load_singleuser_config(monkeypatch, "0", "0")
    assert config.ServerApp.jpserver_extensions["jupyterlab"] is False
    assert config.ServerApp.jpserver_extensions["jupyter_server_terminals"] is False
    assert config.ServerApp.terminals_enabled is False
    assert config.MappingKernelManager.allowed_message_types == WIDGET_MESSAGE_TYPES
    assert config.DalloshContentsManager.hidden_prefixes == ["admin"]
    assert config.DalloshContentsManager.writable_prefix == ""
    assert config.ServerApp.contents_manager_class == "hub.lockdown.DalloshContentsManager"
    assert config.VoilaConfiguration.template == "dallosh"


def test_singleuser_config_for_power_users_and_admins(monkeypatch):
    power = _load_singleuser_config(monkeypatch, "1", "0")
    assert "jpserver_extensions" not in power.ServerApp and power.ServerApp.terminals_enabled is False
    assert power.DalloshContentsManager.writable_prefix == "work/bob"
    assert "allowed_message_types" not in power.MappingKernelManager
    admin = _load_singleuser_config(monkeypatch, "1", "1")
    assert admin.DalloshContentsManager.hidden_prefixes == [] and "terminals_enabled" not in admin.ServerApp


@pytest.mark.parametrize("path", ["home/../admin/users.ipynb", "home/./../admin/users.ipynb", "./admin/users.ipynb",
                                  "home//..//admin/users.ipynb", "../notebooks/admin/users.ipynb"])
def test_dot_dot_does_not_reach_hidden_pages(root, path):
    cm = manager(root)
    with pytest.raises(web.HTTPError) as exc:
        cm.get(path)
    assert exc.value.status_code == 404
    assert not cm.file_exists(path)
    assert cm.get("home/../home/overview.ipynb")["type"] == "notebook"  # positive control: .. inside is fine


def test_each_user_sees_only_their_own_work_folder(root):
    (root / "work" / "alice").mkdir()
    (root / "work" / "alice" / "secret.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, '
                                                           '"nbformat_minor": 5}')
    (root / "work" / "bob" / "mine.ipynb").write_text((root / "work" / "alice" / "secret.ipynb").read_text())
    bob = manager(root, writable="work/bob")
    for path in ("work/alice/secret.ipynb", "work/alice", "work/bob/../alice/secret.ipynb"):
        with pytest.raises(web.HTTPError) as exc:
            bob.get(path)
        assert exc.value.status_code == 404
    assert [item["name"] for item in bob.get("work")["content"]] == ["bob"]
    assert bob.get("work/bob/mine.ipynb")["type"] == "notebook"
    analyst = manager(root)  # Voilà-only: no work folder at all
    with pytest.raises(web.HTTPError):
        analyst.get("work/bob/mine.ipynb")
    assert analyst.get("work")["content"] == []


def test_checkpoints_are_writes(root):
    cm = manager(root, writable="work/bob")
    with pytest.raises(web.HTTPError) as exc:
        cm.create_checkpoint("home/overview.ipynb")
    assert exc.value.status_code == 403
    assert not (root / "home" / ".ipynb_checkpoints").exists()
    cm.save(cm.get("home/overview.ipynb"), "work/bob/mine.ipynb")
    checkpoint = cm.create_checkpoint("work/bob/mine.ipynb")  # positive control: in one's own folder
    assert checkpoint["id"] and cm.list_checkpoints("work/bob/mine.ipynb")


def test_raw_file_downloads_go_through_the_same_checks(root):
    from jupyter_server.files.handlers import FilesHandler

    cm = manager(root)
    [(pattern, handler, params)] = cm.get_extra_handlers()
    assert pattern == r"/files/(.*)" and handler is FilesHandler and params == {"path": str(root)}


def test_kernels_start_only_inside_the_served_folder(root):
    from hub.lockdown import DalloshKernelManager

    km = DalloshKernelManager(root_dir=str(root))
    for path in ("../../../etc", "..", "home/../../.."):
        with pytest.raises(web.HTTPError) as exc:
            km.cwd_for_path(path)
        assert exc.value.status_code == 400
    assert km.cwd_for_path("home/overview.ipynb") == str(root / "home")
    assert km.cwd_for_path("") == str(root)
