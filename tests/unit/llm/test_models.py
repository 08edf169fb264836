"""Model settings validation and the fallback order of DESIGN.md §6."""

from __future__ import annotations

from typing import Any

import pytest

from dallosh.defaults import (
    PAGINATE_ROWS_DEFAULT,
    PAGINATE_ROWS_MAX,
    REQUEST_CONCURRENCY_DEFAULT,
    REQUEST_CONCURRENCY_MAX,
    RETRY_REQUESTS_DEFAULT,
    RETRY_REQUESTS_MAX,
)
from dallosh.errors import ValidationError
from dallosh.llm.models import ModelConfig, select_models


def entry(uid: str, **data: Any) -> dict[str, Any]:
    base = {"model": f"m-{uid}", "baseUrl": f"http://{uid}.example:11434/"}
    base.update(data)
    return {"uid": uid, "data": base, "createdAt": "2024-01-01T00:00:00Z"}


def ai(mode: str | None, local: list[str], external: list[str], dl: str | None = None, de: str | None = None):
    prefs = {"default_local_model_id": dl, "default_external_model_id": de}
    if mode is not None:
        prefs["mode"] = mode
    return {"preferences": prefs, "local": [entry(u) for u in local], "external": [entry(u) for u in external]}


def uids(configs: list[ModelConfig]) -> list[str]:
    return [c.uid for c in configs]


# -- from_settings ---------------------------------------------------------------------------------------


def test_from_settings_defaults_and_normalisation():
    cfg = ModelConfig.from_settings(entry("a"), "local")
    assert cfg.model == "m-a"
    assert cfg.base_url == "http://a.example:11434"  # trailing slash removed
    assert cfg.api_key == ""
    assert cfg.retry_requests == RETRY_REQUESTS_DEFAULT
    assert cfg.paginate_rows_limit == PAGINATE_ROWS_DEFAULT
    assert cfg.concurrency == REQUEST_CONCURRENCY_DEFAULT
    assert (cfg.kind, cfg.provider) == ("local", "ollama")


def test_external_defaults_to_openai_unless_data_says_otherwise():
    assert ModelConfig.from_settings(entry("e"), "external").provider == "openai"
    remote_ollama = ModelConfig.from_settings(entry("e", provider="Ollama", apiKey="k"), "external")
    assert remote_ollama.provider == "ollama"
    assert remote_ollama.kind == "external"


def test_numbers_from_forms_are_coerced():
    cfg = ModelConfig.from_settings(
        entry("a", retryRequests="5", paginateRowsLimit=1000.0, concurrency=" 4 "), "local"
    )
    assert (cfg.retry_requests, cfg.paginate_rows_limit, cfg.concurrency) == (5, 1000, 4)


def test_limits_at_their_bounds_are_accepted():
    cfg = ModelConfig.from_settings(
        entry(
            "a",
            retryRequests=RETRY_REQUESTS_MAX,
            paginateRowsLimit=PAGINATE_ROWS_MAX,
            concurrency=REQUEST_CONCURRENCY_MAX,
        ),
        "local",
    )
    assert cfg.retry_requests == RETRY_REQUESTS_MAX
    assert ModelConfig.from_settings(entry("b", retryRequests=0), "local").retry_requests == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"retryRequests": RETRY_REQUESTS_MAX + 1}, "data.retryRequests"),
        ({"retryRequests": -1}, "data.retryRequests"),
        ({"retryRequests": "three"}, "data.retryRequests"),
        ({"retryRequests": True}, "data.retryRequests"),
        ({"paginateRowsLimit": 0}, "data.paginateRowsLimit"),
        ({"paginateRowsLimit": PAGINATE_ROWS_MAX + 1}, "data.paginateRowsLimit"),
        ({"paginateRowsLimit": 2.5}, "data.paginateRowsLimit"),
        ({"concurrency": 0}, "data.concurrency"),
        ({"concurrency": REQUEST_CONCURRENCY_MAX + 1}, "data.concurrency"),
        ({"model": ""}, "data.model"),
        ({"model": None}, "data.model"),
        ({"baseUrl": "  "}, "data.baseUrl"),
        ({"apiKey": 1234}, "data.apiKey"),
        ({"provider": 3}, "data.provider"),
    ],
)
def test_invalid_values_name_the_field(data: dict[str, Any], field: str):
    with pytest.raises(ValidationError) as info:
        ModelConfig.from_settings(entry("a", **data), "local")
    assert info.value.field == field


def test_structural_errors():
    with pytest.raises(ValidationError) as info:
        ModelConfig.from_settings({"uid": "x"}, "local")
    assert info.value.field == "data"
    with pytest.raises(ValidationError) as info:
        ModelConfig.from_settings({"data": {"model": "m", "baseUrl": "http://h"}}, "local")
    assert info.value.field == "uid"
    with pytest.raises(ValidationError) as info:
        ModelConfig.from_settings(entry("a"), "cloud")
    assert info.value.field == "kind"


def test_direct_construction_is_validated_too():
    with pytest.raises(ValidationError) as info:
        ModelConfig(uid="u", model="m", base_url="http://h", retry_requests=RETRY_REQUESTS_MAX + 1)
    assert info.value.field == "data.retryRequests"


def test_repr_masks_the_api_key():
    cfg = ModelConfig.from_settings(entry("a", apiKey="sk-very-secret"), "external")
    assert "sk-very-secret" not in repr(cfg)
    assert "sk-very-secret" not in str(cfg)
    assert "'***'" in repr(cfg)
    assert cfg.api_key == "sk-very-secret"
    assert "api_key=''" in repr(ModelConfig.from_settings(entry("b"), "local"))


# -- select_models ---------------------------------------------------------------------------------------


def test_automatic_order():
    settings = ai("automatic", ["l1", "l2", "l3"], ["e1", "e2", "e3"], dl="l2", de="e3")
    assert uids(select_models(settings)) == ["e3", "e1", "e2", "l2", "l1", "l3"]


def test_external_mode_only_externals_default_first():
    settings = ai("external", ["l1", "l2"], ["e1", "e2"], dl="l2", de="e2")
    assert uids(select_models(settings)) == ["e2", "e1"]


def test_local_mode_only_locals_default_first():
    settings = ai("local", ["l1", "l2"], ["e1", "e2"], dl="l2", de="e2")
    assert uids(select_models(settings)) == ["l2", "l1"]


def test_kinds_are_set_from_the_list_they_come_from():
    configs = select_models(ai("automatic", ["l1"], ["e1"]))
    assert [(c.uid, c.kind, c.provider) for c in configs] == [
        ("e1", "external", "openai"),
        ("l1", "local", "ollama"),
    ]


def test_missing_or_unknown_defaults_keep_list_order():
    assert uids(select_models(ai("automatic", ["l1", "l2"], ["e1", "e2"], dl="nope"))) == ["e1", "e2", "l1", "l2"]


def test_missing_mode_means_automatic_and_empty_settings_mean_no_models():
    assert uids(select_models(ai(None, ["l1"], ["e1"]))) == ["e1", "l1"]
    assert select_models({}) == []
    assert select_models(None) == []
    assert select_models(ai("local", [], ["e1"])) == []


def test_invalid_mode_is_rejected():
    with pytest.raises(ValidationError) as info:
        select_models(ai("cloud", ["l1"], []))
    assert info.value.field == "ai.preferences.mode"


def test_invalid_entries_are_skipped_or_raised_when_strict():
    settings = ai("automatic", ["l1", "l2"], ["e1"])
    settings["local"][0]["data"]["retryRequests"] = 99
    assert uids(select_models(settings)) == ["e1", "l2"]
    with pytest.raises(ValidationError) as info:
        select_models(settings, strict=True)
    assert info.value.field == "ai.local[0].data.retryRequests"


def test_duplicate_uids_are_tried_once():
    settings = ai("local", ["l1", "l1", "l2"], [])
    assert uids(select_models(settings)) == ["l1", "l2"]
