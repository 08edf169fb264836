from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dallosh.defaults import (
    DEFAULT_OPERATOR_ACCOUNTS,
    DEFAULT_TOPICS,
    MAX_UPLOAD_MB_DEFAULT,
    PAGINATE_ROWS_DEFAULT,
    PAGINATE_ROWS_MAX,
    REQUEST_CONCURRENCY_DEFAULT,
    REQUEST_CONCURRENCY_MAX,
    RETRY_REQUESTS_DEFAULT,
    RETRY_REQUESTS_MAX,
)
from dallosh.errors import ValidationError


@dataclass
class GeneralSettings:
    appName: str = "Dallosh Analysis"
    appDescription: str = "Customer-service intelligence from your tweets."
    timeZone: str = "Europe/Paris"
    isMaintenance: bool = False
    maxUploadMB: int = MAX_UPLOAD_MB_DEFAULT
    #: New registrations wait for an admin's approval before their first login.
    requireApproval: bool = True
    operatorAccounts: list[str] = field(default_factory=lambda: list(DEFAULT_OPERATOR_ACCOUNTS))
    topics: list[str] = field(default_factory=lambda: list(DEFAULT_TOPICS))

    def check(self, path: str) -> None:
        if not self.appName.strip() or len(self.appName) > 80:
            raise ValidationError(f"{path}.appName", "must be 1 to 80 characters")
        try:
            ZoneInfo(self.timeZone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"{path}.timeZone", f"unknown time zone {self.timeZone!r}") from None
        if not 1 <= self.maxUploadMB <= 2048:
            raise ValidationError(f"{path}.maxUploadMB", "must be between 1 and 2048")
        topics = [t.strip() for t in self.topics]
        if not topics or any(not t for t in topics):
            raise ValidationError(f"{path}.topics", "needs at least one non-empty topic")
        if len({t.casefold() for t in topics}) != len(topics):
            raise ValidationError(f"{path}.topics", "lists a topic twice")
        self.topics = topics
        self.operatorAccounts = [a.strip().lstrip("@") for a in self.operatorAccounts if a.strip().lstrip("@")]


@dataclass
class ModelData:
    """One AI model entry's ``data`` (local = Ollama servers, external = OpenAI-compatible providers)."""

    model: str
    baseUrl: str
    apiKey: str = ""
    retryRequests: int = RETRY_REQUESTS_DEFAULT
    paginateRowsLimit: int = PAGINATE_ROWS_DEFAULT
    #: A name registered in dallosh.llm.registry; default: ollama for local, openai for external.
    provider: str | None = None
    concurrency: int = REQUEST_CONCURRENCY_DEFAULT
    label: str = ""

    def check(self, path: str) -> None:
        if not self.model.strip():
            raise ValidationError(f"{path}.model", "is required (e.g. llama3.2:3b)")
        if not self.baseUrl.startswith(("http://", "https://")):
            raise ValidationError(f"{path}.baseUrl", "must start with http:// or https://")
        if not 0 <= self.retryRequests <= RETRY_REQUESTS_MAX:
            raise ValidationError(f"{path}.retryRequests", f"must be between 0 and {RETRY_REQUESTS_MAX}")
        if not 1 <= self.paginateRowsLimit <= PAGINATE_ROWS_MAX:
            raise ValidationError(f"{path}.paginateRowsLimit", f"must be between 1 and {PAGINATE_ROWS_MAX}")
        if not 1 <= self.concurrency <= REQUEST_CONCURRENCY_MAX:
            raise ValidationError(f"{path}.concurrency", f"must be between 1 and {REQUEST_CONCURRENCY_MAX}")


@dataclass
class AIPreferences:
    mode: Literal["local", "external", "automatic"] = "automatic"
    default_local_model_id: str = ""
    default_external_model_id: str = ""


@dataclass
class AISettings:
    preferences: AIPreferences = field(default_factory=AIPreferences)
    local: list[dict[str, Any]] = field(default_factory=list)
    external: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SettingsData:
    general: GeneralSettings = field(default_factory=GeneralSettings)
    ai: AISettings = field(default_factory=AISettings)
