from __future__ import annotations

from datetime import timedelta

import pytest

from dallosh.defaults import HYBRID_THRESHOLD_DEFAULT
from dallosh.errors import NotFound, PermissionDenied, ValidationError
from dallosh.services import SYSTEM


def test_defaults(services, admin):
    settings = services.settings.get(admin)
    assert settings.general.appName == "Dallosh Analysis"
    assert "Réseau" in settings.general.topics and settings.general.maxUploadMB == 200
    assert settings.ai.preferences.mode == "automatic"


def test_general_update_validates_each_field(services, admin):
    services.settings.update_general(admin, appName="Free Care", isMaintenance=True, topics=["Réseau", " Prix "],
                                     operatorAccounts=["@free", "Freebox"])
    general = services.settings.general()
    assert general.appName == "Free Care" and general.isMaintenance
    assert general.topics == ["Réseau", "Prix"] and general.operatorAccounts == ["free", "Freebox"]
    for change, field in (({"timeZone": "Mars/Olympus"}, "general.timeZone"),
                          ({"maxUploadMB": 0}, "general.maxUploadMB"),
                          ({"topics": []}, "general.topics"), ({"topics": ["A", "a"]}, "general.topics"),
                          ({"isMaintenance": "yes"}, "general.isMaintenance"), ({"colour": "red"}, "general.colour")):
        with pytest.raises(ValidationError) as exc:
            services.settings.update_general(admin, **change)
        assert exc.value.field == field
    assert services.settings.general().appName == "Free Care"  # failed updates changed nothing


def test_models_crud_masks_keys(services, admin):
    entry = services.settings.add_model(admin, "external", {"model": "gpt-4o-mini", "baseUrl": "https://api.x.io/v1",
                                                             "apiKey": "sk-live-1234567890abcd"})
    assert entry["data"]["apiKey"] == "••••abcd"
    assert entry["data"]["retryRequests"] == 3 and entry["data"]["paginateRowsLimit"] == 500
    shown = services.settings.get(admin)
    assert shown.ai.external[0]["data"]["apiKey"] == "••••abcd"
    assert shown.ai.preferences.default_external_model_id == entry["uid"]
    # sending the masked value back keeps the real key
    services.settings.update_model(admin, "external", entry["uid"], {"apiKey": "••••abcd", "retryRequests": 10})
    clear = services.settings.ai_config(SYSTEM)
    assert clear["external"][0]["data"]["apiKey"] == "sk-live-1234567890abcd"
    assert clear["external"][0]["data"]["retryRequests"] == 10
    with pytest.raises(ValidationError) as exc:
        services.settings.update_model(admin, "external", entry["uid"], {"retryRequests": 11})
    assert exc.value.field == "ai.external.data.retryRequests"
    with pytest.raises(ValidationError):
        services.settings.add_model(admin, "local", {"model": "llama3.2", "baseUrl": "http://x",
                                                     "paginateRowsLimit": 5001})
    with pytest.raises(PermissionDenied):
        services.settings.ai_config(admin)
    services.settings.delete_model(admin, "external", entry["uid"])
    assert services.settings.get(admin).ai.preferences.default_external_model_id == ""
    with pytest.raises(NotFound):
        services.settings.delete_model(admin, "external", entry["uid"])


def test_preferences(services, admin):
    local = services.settings.add_model(admin, "local", {"model": "llama3.2", "baseUrl": "http://localhost:11434"})
    other = services.settings.add_model(admin, "local", {"model": "qwen2.5", "baseUrl": "http://localhost:11434"})
    prefs = services.settings.set_preferences(admin, mode="local", default_local_model_id=other["uid"])
    assert prefs == {"mode": "local", "default_local_model_id": other["uid"], "default_external_model_id": "",
                     "hybrid_threshold": HYBRID_THRESHOLD_DEFAULT}
    assert local["uid"] != other["uid"]
    with pytest.raises(ValidationError):
        services.settings.set_preferences(admin, mode="cloud")
    with pytest.raises(ValidationError):
        services.settings.set_preferences(admin, default_external_model_id="nope")


def test_api_keys_never_reach_logs(services, admin):
    services.settings.add_model(admin, "external", {"model": "m", "baseUrl": "https://x.io", "apiKey": "sk-SECRET-999"})
    assert "sk-SECRET-999" not in repr(services.db.find("logs"))


def test_every_mutation_is_logged_and_filterable(services, admin, analyst):
    role = services.roles.by_name("analyst")
    user = services.users.create(admin, "log@example.com", "s3cret-pass", role.uid)
    with pytest.raises(PermissionDenied):
        services.users.delete(analyst, user.uid)
    page = services.logs.list(admin, action="users")
    actions = [(e.data.action, e.data.result, e.data.requested_by) for e in page.items]
    assert ("users.create", "ok", admin.uid) in actions
    assert ("users.delete", "denied", analyst.uid) in actions
    assert all(e.data.target for e in page.items)
    assert services.logs.list(admin, user=analyst.uid, action="users").total == 1
    assert services.logs.list(admin, result="denied").total >= 1
    newest = page.items[0].createdAt
    assert services.logs.list(admin, since=newest + timedelta(seconds=1)).total == 0
    assert services.logs.list(admin, until=newest - timedelta(days=1)).total == 0
    small = services.logs.list(admin, limit=2, skip=1)
    assert len(small.items) == 2 and small.total > 3


def test_system_actions_are_created_by_system(services):
    entry = services.db.find("logs", {"data.action": "system.bootstrap"})[0]
    assert entry["createdBy"] == "system" and entry["data"]["requested_by"] is None


def test_topic_descriptions_default_to_the_guideline_and_follow_the_topics(services, admin):
    descriptions = services.settings.general().topic_descriptions()
    assert set(descriptions) == set(services.settings.general().topics)
    assert "fibre" in descriptions["Réseau"] and "refunds" in descriptions["Facturation"]
    services.settings.update_general(admin, topics=["Réseau", "Mobile"], topicDescriptions=[
        {"topic": "mobile", "description": "  forfaits et  réseau mobile "}, {"topic": "Gone", "description": "x"},
        {"topic": "Réseau", "description": descriptions["Réseau"]}])
    assert services.settings.general().topic_descriptions() == {"Réseau": descriptions["Réseau"],
                                                                "Mobile": "forfaits et réseau mobile"}
    with pytest.raises(ValidationError) as exc:
        services.settings.update_general(admin, topicDescriptions=[{"topic": "Mobile", "description": "x" * 400}])
    assert exc.value.field == "general.topicDescriptions"


def test_hybrid_threshold_is_an_ai_preference(services, admin):
    assert services.settings.ai_config(SYSTEM)["preferences"]["hybrid_threshold"] == HYBRID_THRESHOLD_DEFAULT == 0.7
    assert services.settings.set_preferences(admin, hybrid_threshold=0.95)["hybrid_threshold"] == 0.95
    assert services.settings.ai_config(SYSTEM)["preferences"]["hybrid_threshold"] == 0.95
    with pytest.raises(ValidationError) as exc:
        services.settings.set_preferences(admin, hybrid_threshold=1.5)
    assert exc.value.field == "ai.preferences.hybrid_threshold"


def test_negotiated_response_format_is_stored_by_the_worker_and_reset_by_an_edit(services, admin):
    entry = services.settings.add_model(admin, "external", {"model": "m", "baseUrl": "http://h/v1"})
    with pytest.raises(PermissionDenied):
        services.settings.remember_response_format(admin, "external", entry["uid"], "json_object")
    services.settings.remember_response_format(SYSTEM, "external", entry["uid"], "json_object_schema")
    stored = services.settings.ai_config(SYSTEM)["external"][0]["data"]
    assert stored["negotiatedFormat"] == "json_object_schema" and stored["responseFormat"] == "auto"
    services.settings.update_model(admin, "external", entry["uid"], {"retryRequests": 2})
    assert services.settings.ai_config(SYSTEM)["external"][0]["data"]["negotiatedFormat"] == "json_object_schema"
    services.settings.update_model(admin, "external", entry["uid"], {"baseUrl": "http://other/v1"})
    assert services.settings.ai_config(SYSTEM)["external"][0]["data"]["negotiatedFormat"] == ""
    with pytest.raises(ValidationError):
        services.settings.update_model(admin, "external", entry["uid"], {"responseFormat": "xml"})
