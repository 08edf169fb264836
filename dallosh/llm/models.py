"""Model configurations read from the settings' ``ai`` section, and the fallback order (DESIGN.md §6).

Settings store models as ``{uid, data: {model, baseUrl, apiKey, retryRequests, paginateRowsLimit, provider?,
concurrency?, responseFormat?, negotiatedFormat?}, ...}``. This module turns them into validated, immutable
:class:`ModelConfig` objects so the providers never see raw user input, and it decides in which order the
pipeline tries them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dallosh.defaults import PAGINATE_ROWS_DEFAULT, REQUEST_CONCURRENCY_DEFAULT, RETRY_REQUESTS_DEFAULT
from dallosh.errors import ValidationError
from dallosh.schemas import ModelData, parse

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("local", "external")
MODES: tuple[str, ...] = ("automatic", "external", "local")
#: Which wire protocol a model speaks when its settings entry does not say (external = hosted APIs).
DEFAULT_PROVIDER_BY_KIND: dict[str, str] = {"local": "ollama", "external": "openai"}
#: Mode used when the settings have no preferences yet (tries everything, built-in last).
DEFAULT_MODE = "automatic"


@dataclass(frozen=True, repr=False)
class ModelConfig:
    """One configured LLM. Immutable so a running task cannot see half-edited settings."""

    uid: str
    model: str
    base_url: str
    api_key: str = ""
    retry_requests: int = RETRY_REQUESTS_DEFAULT
    paginate_rows_limit: int = PAGINATE_ROWS_DEFAULT
    kind: str = "local"  # local | external
    provider: str = "ollama"  # ollama | openai | anything registered in dallosh.llm.registry
    concurrency: int = REQUEST_CONCURRENCY_DEFAULT
    #: ``auto`` (negotiate) or a format of dallosh.llm.formats to start with.
    response_format: str = "auto"
    #: The format a worker negotiated with this model last time ("" when none yet).
    negotiated_format: str = ""

    def __post_init__(self) -> None:
        # Direct construction (tests, scripts) gets the same checks as settings entries.
        _check_text("uid", self.uid)
        _check_text("data.model", self.model)
        _check_text("data.baseUrl", self.base_url)
        if not isinstance(self.api_key, str):
            raise ValidationError("data.apiKey", "must be a string")
        if self.kind not in KINDS:
            raise ValidationError("kind", f"must be one of {', '.join(KINDS)}, not {self.kind!r}")
        _check_text("data.provider", self.provider)
        for name, value in (("retryRequests", self.retry_requests), ("paginateRowsLimit", self.paginate_rows_limit),
                            ("concurrency", self.concurrency)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"data.{name}", f"must be a whole number, got {value!r}")
        # The limits themselves are the settings schema's (one place for the spec's 10 and 5000).
        parse(ModelData, {"model": self.model, "baseUrl": self.base_url, "retryRequests": self.retry_requests,
                          "paginateRowsLimit": self.paginate_rows_limit, "concurrency": self.concurrency,
                          "responseFormat": self.response_format, "negotiatedFormat": self.negotiated_format})

    @classmethod
    def from_settings(cls, entry: Mapping[str, Any], kind: str) -> ModelConfig:
        """Build from a settings entry; raises ValidationError naming the offending field."""
        if not isinstance(entry, Mapping):
            raise ValidationError("model", "must be an object with uid and data")
        if kind not in KINDS:
            raise ValidationError("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
        data = entry.get("data")
        if not isinstance(data, Mapping):
            raise ValidationError("data", "must be an object with model and baseUrl")
        provider = data.get("provider") or DEFAULT_PROVIDER_BY_KIND[kind]
        if not isinstance(provider, str):
            raise ValidationError("data.provider", "must be a string")
        api_key = data.get("apiKey") or ""
        return cls(
            uid=_text("uid", entry.get("uid")),
            model=_text("data.model", data.get("model")),
            base_url=_text("data.baseUrl", data.get("baseUrl")).rstrip("/"),
            api_key=api_key.strip() if isinstance(api_key, str) else api_key,
            retry_requests=_int("data.retryRequests", data.get("retryRequests"), RETRY_REQUESTS_DEFAULT),
            paginate_rows_limit=_int(
                "data.paginateRowsLimit", data.get("paginateRowsLimit"), PAGINATE_ROWS_DEFAULT
            ),
            kind=kind,
            provider=provider.strip().lower(),
            concurrency=_int("data.concurrency", data.get("concurrency"), REQUEST_CONCURRENCY_DEFAULT),
            response_format=data.get("responseFormat") or "auto",
            negotiated_format=data.get("negotiatedFormat") or "",
        )

    def __repr__(self) -> str:
        # The key is masked so configs can be logged and shown in tracebacks without leaking secrets.
        key = "'***'" if self.api_key else "''"
        return (
            f"ModelConfig(uid={self.uid!r}, model={self.model!r}, base_url={self.base_url!r}, "
            f"api_key={key}, retry_requests={self.retry_requests}, "
            f"paginate_rows_limit={self.paginate_rows_limit}, kind={self.kind!r}, "
            f"provider={self.provider!r}, concurrency={self.concurrency}, "
            f"response_format={self.response_format!r}, negotiated_format={self.negotiated_format!r})"
        )

    __str__ = __repr__


def _check_text(field: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "is required and must be a non-empty string")


def _text(field: str, value: Any) -> str:
    _check_text(field, value)
    return value.strip()


def _int(field: str, value: Any, default: int) -> Any:
    """Coerce what forms and JSON produce ("3", 3.0) to int; range checks happen in __post_init__."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value  # rejected by _check_int with a clear message
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValidationError(field, f"must be a whole number, got {value!r}") from None
    return value


def select_models(ai: Mapping[str, Any] | None, *, strict: bool = False) -> list[ModelConfig]:
    """Configured models in the order the pipeline should try them (the built-in is appended by the caller).

    ``automatic``: default external, other externals, default local, other locals. ``external`` / ``local``:
    that list only, default first. Invalid entries are skipped with a warning so one bad model does not stop
    labelling (the settings service passes ``strict=True`` to get the ValidationError instead).
    """
    ai = ai or {}
    prefs = ai.get("preferences") or {}
    mode = prefs.get("mode") or DEFAULT_MODE
    if mode not in MODES:
        raise ValidationError("ai.preferences.mode", f"must be one of {', '.join(MODES)}, not {mode!r}")
    local = _configs(ai.get("local"), "local", strict)
    external = _configs(ai.get("external"), "external", strict)
    local = _default_first(local, prefs.get("default_local_model_id"))
    external = _default_first(external, prefs.get("default_external_model_id"))
    if mode == "local":
        return local
    if mode == "external":
        return external
    return external + local


def _configs(entries: Any, kind: str, strict: bool) -> list[ModelConfig]:
    out: list[ModelConfig] = []
    seen: set[str] = set()
    if entries is None:
        return out
    if not isinstance(entries, list | tuple):
        raise ValidationError(f"ai.{kind}", "must be a list of models")
    for index, entry in enumerate(entries):
        try:
            cfg = ModelConfig.from_settings(entry, kind)
        except ValidationError as exc:
            field = f"ai.{kind}[{index}].{exc.field}"
            if strict:
                raise ValidationError(field, exc.message) from None
            log.warning("skipping invalid model settings: %s: %s", field, exc.message)
            continue
        if cfg.uid in seen:
            continue
        seen.add(cfg.uid)
        out.append(cfg)
    return out


def _default_first(configs: list[ModelConfig], default_uid: Any) -> list[ModelConfig]:
    default = [c for c in configs if default_uid and c.uid == default_uid]
    return default + [c for c in configs if c not in default]
