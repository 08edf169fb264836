"""Settings: general form validated by the service, model lists with masked keys, preferences, confirmed deletes,
and "test connection" against the fake LLM server (latency, or the exact error)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pytest

from dallosh.defaults import PAGINATE_ROWS_MAX, RETRY_REQUESTS_MAX
from dallosh.services import SYSTEM
from dallosh.ui.components import is_visible
from dallosh.ui.settings import SettingsView
from tests.mocking import FAKE_MODEL, FakeLLMServer

SECRET = "sk-live-0123456789abcdef"


def view_for(ctx, actor, **kwargs) -> SettingsView:
    view = SettingsView(ctx(actor, **kwargs))
    view.on_show()
    return view


def widget_texts(widget: w.Widget) -> list[str]:
    """Every synced string of a widget tree: what the browser could ever see."""
    found: list[str] = []
    for value in widget.get_state().values():
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list | tuple):
            found.extend(str(v) for v in value)
    for child in getattr(widget, "children", ()):
        found.extend(widget_texts(child))
    return found


def stored_ai(services) -> dict[str, Any]:
    return services.settings.ai_config(SYSTEM)


@pytest.fixture
def llm():
    with FakeLLMServer() as server:
        yield server


def add_model(view: SettingsView, kind: str, **values: Any) -> None:
    view.open_model_create(kind)
    form = view.model_form
    for key, value in values.items():
        form[key].value = value
    view.save_model()


def test_general_form_shows_and_saves_the_settings(services, admin, ctx):
    shown: list[str] = []
    view = view_for(ctx, admin, navigate=lambda name, **p: shown.append(name))
    form = view.general_form
    assert form["appName"].value == "Dallosh Analysis" and form["timeZone"].value == "Europe/Paris"
    assert "Réseau" in form["topics"].value.splitlines()
    form["appName"].value = "Free Care"
    form["isMaintenance"].value = True
    form["maxUploadMB"].value = 50
    form["requireApproval"].value = True
    form["operatorAccounts"].value = "@free, freebox\nFreeMobile\n\n"
    form["topics"].value = "Réseau\nFacturation\nAutre\n"
    form["timeZone"].value = "America/Montreal"
    view.save_general()
    assert view.alert.kind == "success"
    general = services.settings.general()
    assert (general.appName, general.isMaintenance, general.maxUploadMB, general.requireApproval) == \
        ("Free Care", True, 50, True)
    assert general.operatorAccounts == ["free", "freebox", "FreeMobile"]
    assert general.topics == ["Réseau", "Facturation", "Autre"] and general.timeZone == "America/Montreal"
    assert shown == ["settings"]  # the App re-reads its chrome (name, banner, time zone)
    assert services.db.find("logs", {"data.action": "settings.update_general"})[-1]["data"]["result"] == "ok"


@pytest.mark.parametrize(("key", "value", "words"), [
    ("timeZone", "Mars/Olympus", "unknown time zone"),
    ("maxUploadMB", 0, "between 1 and 2048"),
    ("topics", "Réseau\nréseau", "twice"),
    ("appName", "", "1 to 80 characters"),
])
def test_general_errors_show_next_to_their_field(services, admin, ctx, key, value, words):
    view = view_for(ctx, admin)
    view.general_form[key].value = value
    view.save_general()
    form = view.general_form
    assert is_visible(form.errors[key]) and words in form.errors[key].value
    assert view.alert.kind == "error" and view.alert.message.startswith(form.labels[key])
    assert [k for k, e in form.errors.items() if is_visible(e)] == [key]
    assert services.settings.general().appName == "Dallosh Analysis"


def test_add_test_edit_and_delete_a_local_model(services, admin, ctx, llm):
    view = view_for(ctx, admin)
    view.tabs.select("ai")
    assert is_visible(view.empty["local"])
    add_model(view, "local", model=FAKE_MODEL, baseUrl=llm.ollama_url, label="Fake Ollama")
    assert view.alert.kind == "success"
    (uid, row), = view.rows["local"].items()
    assert "Fake Ollama" in row.info.value and "ollama" in row.info.value and "default" in row.info.value
    assert not is_visible(view.empty["local"])
    row.test_button.click()
    result = view.checks[uid]
    assert result["ok"] and result["latency_ms"] > 0
    assert "Connected" in row.check.value and "ms" in row.check.value and "dl-check-ok" in row.check._dom_classes
    assert not row.test_button.disabled and llm.chat_requests
    log = services.db.find("logs", {"data.action": "settings.check_model"})[-1]["data"]
    assert log["result"] == "ok" and log["target"] == f"settings/ai/local/{uid}"

    llm.set_behaviour("server_error", message="GPU melted")
    row.test_button.click()
    assert not view.checks[uid]["ok"] and "GPU melted" in row.check.value and "Failed" in row.check.value
    assert "GPU melted" in services.db.find("logs", {"data.action": "settings.check_model"})[-1]["data"]["result"]

    view.open_model_edit("local", uid)
    assert view.tables["local"].inline[0] == uid and view.model_form["model"].value == FAKE_MODEL
    view.model_form["paginateRowsLimit"].value = 250
    view.save_model()
    assert stored_ai(services)["local"][0]["data"]["paginateRowsLimit"] == 250
    assert "250 rows per page" in view.rows["local"][uid].info.value

    view.ask_model_delete("local", uid)
    assert view.tables["local"].is_open(view.model_confirm_panel) and stored_ai(services)["local"]
    view.model_confirm.cancel_button.click()
    assert not view.tables["local"].inline and stored_ai(services)["local"]
    view.ask_model_delete("local", uid)
    view.model_confirm.confirm_button.click()
    assert stored_ai(services)["local"] == [] and view.rows["local"] == {}
    assert is_visible(view.empty["local"])


def test_api_keys_are_never_shown_and_kept_when_the_masked_value_comes_back(services, admin, ctx, llm):
    llm.set_behaviour("requires_api_key", key=SECRET)
    view = view_for(ctx, admin)
    add_model(view, "external", model=FAKE_MODEL, baseUrl=llm.openai_url, apiKey=SECRET)
    (uid, row), = view.rows["external"].items()
    assert view.model_form["apiKey"].value == ""  # the form forgot it
    assert SECRET not in " ".join(widget_texts(view.root)) and "••••cdef" in row.info.value
    view.open_model_edit("external", uid)
    assert view.model_form["apiKey"].value == "••••cdef"
    assert "Saved key ••••cdef" in view.model_form.hints["apiKey"].value
    assert SECRET not in " ".join(widget_texts(view.root))
    view.model_form["retryRequests"].value = 5
    view.save_model()
    stored = stored_ai(services)["external"][0]["data"]
    assert stored["apiKey"] == SECRET and stored["retryRequests"] == 5
    row.test_button.click()
    assert view.checks[uid]["ok"]
    assert llm.chat_requests[-1].bearer == SECRET  # the stored key was used

    view.open_model_edit("external", uid)
    view.model_form["apiKey"].value = "sk-wrong-key-000000"
    view.save_model()
    row.test_button.click()
    result = view.checks[uid]
    assert not result["ok"] and "authentication refused (HTTP 401)" in result["message"]
    assert "sk-wrong-key-000000" not in row.check.value  # the provider error is redacted
    assert "sk-wrong-key-000000" not in " ".join(widget_texts(view.root))


def test_model_limits_are_validated_by_the_service_next_to_the_field(services, admin, ctx):
    view = view_for(ctx, admin)
    add_model(view, "local", model="m", baseUrl="http://localhost:11434", retryRequests=RETRY_REQUESTS_MAX + 1)
    form = view.model_form
    assert is_visible(form.errors["retryRequests"]) and f"between 0 and {RETRY_REQUESTS_MAX}" in \
        form.errors["retryRequests"].value
    assert view.tables["local"].is_open(view.model_editor)  # the editor stays open to fix it
    form["retryRequests"].value = RETRY_REQUESTS_MAX
    form["paginateRowsLimit"].value = PAGINATE_ROWS_MAX + 1
    view.save_model()
    assert not is_visible(form.errors["retryRequests"]) and is_visible(form.errors["paginateRowsLimit"])
    form["paginateRowsLimit"].value = PAGINATE_ROWS_MAX
    form["baseUrl"].value = "localhost:11434"
    view.save_model()
    assert is_visible(form.errors["baseUrl"]) and "http://" in form.errors["baseUrl"].value
    form["baseUrl"].value = "http://localhost:11434"
    view.save_model()
    assert view.alert.kind == "success" and stored_ai(services)["local"][0]["data"]["retryRequests"] == 10


def test_preferences_mode_and_default_models(services, admin, ctx):
    view = view_for(ctx, admin)
    add_model(view, "local", model="a", baseUrl="http://a:11434")
    add_model(view, "local", model="b", baseUrl="http://b:11434")
    first, second = (e["uid"] for e in stored_ai(services)["local"])
    select = view.prefs_form["default_local_model_id"]
    assert select.value == first and [label for label, _ in select.options] == ["— none —", "a", "b"]
    assert "default" in view.rows["local"][first].info.value
    view.prefs_form["mode"].value = "local"
    select.value = second
    view.save_preferences()
    prefs = stored_ai(services)["preferences"]
    assert view.alert.kind == "success" and prefs["mode"] == "local" and prefs["default_local_model_id"] == second
    assert "default" in view.rows["local"][second].info.value
    assert "default" not in view.rows["local"][first].info.value


def test_unreachable_model_reports_the_exact_error(services, admin, ctx):
    from tests.conftest import free_port

    view = view_for(ctx, admin)
    add_model(view, "local", model="m", baseUrl=f"http://127.0.0.1:{free_port()}")
    (uid, row), = view.rows["local"].items()
    row.test_button.click()
    assert not view.checks[uid]["ok"] and view.checks[uid]["message"] in row.check.value.replace("&#x27;", "'")
    assert "Failed" in row.check.value


def test_requires_manage_app(services, make_actor, ctx):
    view = view_for(ctx, make_actor("manage_users"))
    assert view.alert.kind == "error" and "manage_app" in view.alert.message and view.settings is None


