from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dallosh.defaults import (
    DEFAULT_OPERATOR_ACCOUNTS,
    DEFAULT_TOPICS,
    HYBRID_THRESHOLD_DEFAULT,
    MAX_UPLOAD_MB_DEFAULT,
    PAGINATE_ROWS_DEFAULT,
    PAGINATE_ROWS_MAX,
    REQUEST_CONCURRENCY_DEFAULT,
    REQUEST_CONCURRENCY_MAX,
    RETRY_REQUESTS_DEFAULT,
    RETRY_REQUESTS_MAX,
    TOPIC_DESCRIPTION_MAX,
)
from dallosh.errors import ValidationError
from dallosh.llm import formats


def _default_descriptions() -> list[TopicDescription]:
    from dallosh.llm.prompt import default_topic_descriptions  # reads the prompt's data file

    return [TopicDescription(topic, text) for topic, text in default_topic_descriptions().items()
            if topic in DEFAULT_TOPICS]


@dataclass
class TopicDescription:
    """What one topic covers, as the LLM prompt tells the model (a list, not a mapping: topic names may hold
    characters MongoDB refuses in keys)."""

    topic: str
    description: str = ""


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
    topicDescriptions: list[TopicDescription] = field(default_factory=_default_descriptions, metadata={
        "help": "What each topic covers, in a sentence (the LLM prompt lists every topic with it); the defaults "
                "come from the labelling guideline. A topic without a description is given to the model by name "
                "only; descriptions of removed topics are dropped."})

    def topic_descriptions(self) -> dict[str, str]:
        """``{topic: description}`` for the current topics."""
        return {d.topic: d.description for d in self.topicDescriptions}

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
        by_fold = {t.casefold(): t for t in topics}
        described: dict[str, TopicDescription] = {}
        for item in self.topicDescriptions:
            topic = by_fold.get(item.topic.strip().casefold())
            if topic is not None and topic not in described:
                described[topic] = TopicDescription(topic, " ".join(item.description.split()))
        if any(len(d.description) > TOPIC_DESCRIPTION_MAX for d in described.values()):
            raise ValidationError(f"{path}.topicDescriptions", f"a description is longer than "
                                  f"{TOPIC_DESCRIPTION_MAX} characters (every request repeats it)")
        self.topicDescriptions = [described[t] for t in topics if t in described]
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
    responseFormat: str = field(default=formats.AUTO, metadata={
        "help": "How answers are constrained: auto negotiates with the server (json_schema, then json_object with a "
                "schema, then json_object, then instructions only) and remembers the result; another value starts "
                "there."})
    #: Written by the worker: the format negotiation settled on ("" until then; cleared when the model is edited).
    negotiatedFormat: str = ""

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
        for name in ("responseFormat", "negotiatedFormat"):
            value = getattr(self, name)
            if value and value not in formats.CHOICES:
                raise ValidationError(f"{path}.{name}", f"must be one of {', '.join(formats.CHOICES)}")


@dataclass
class AIPreferences:
    mode: Literal["local", "external", "automatic"] = "automatic"
    default_local_model_id: str = ""
    default_external_model_id: str = ""
    hybrid_threshold: float = field(default=HYBRID_THRESHOLD_DEFAULT, metadata={
        "help": "Hybrid labelling: rows the built-in analyzer labels with at least this confidence (its least sure "
                "label, 0 to 1) keep its labels; only the others go to the LLM. 1 sends every row to the LLM."})

    def check(self, path: str) -> None:
        if not 0 <= self.hybrid_threshold <= 1:
            raise ValidationError(f"{path}.hybrid_threshold", "must be between 0 and 1")


@dataclass
class AISettings:
    preferences: AIPreferences = field(default_factory=AIPreferences)
    local: list[dict[str, Any]] = field(default_factory=list)
    external: list[dict[str, Any]] = field(default_factory=list)


#: SMTP connection security: STARTTLS upgrade (port 587), TLS from the first byte (port 465), or none (a relay on
#: the same machine or network only: the password would travel in clear).
SMTP_SECURITY = ("starttls", "tls", "none")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$")


def is_email_address(value: str) -> bool:
    """A plain ``name@domain.tld`` address (no display name, no list, nothing a mail header could be split on)."""
    return bool(_EMAIL.fullmatch(value)) and len(value) <= 254


@dataclass
class DeliverySettings:
    """How the app sends e-mails (SMTP) and where its links point. The password is masked like the API keys."""

    smtpHost: str = field(default="", metadata={
        "help": "The mail server the app sends through (e.g. smtp.office365.com or a relay of your network); "
                "empty: e-mails are not sent."})
    smtpPort: int = field(default=587, metadata={"help": "Its port: 587 for STARTTLS, 465 for TLS, 25 for a relay."})
    smtpSecurity: Literal["starttls", "tls", "none"] = field(default="starttls", metadata={
        "help": "starttls: upgrade to an encrypted connection after connecting (port 587); tls: encrypted from the "
                "start (port 465); none: no encryption (only for a relay on your own network)."})
    smtpUser: str = field(default="", metadata={
        "help": "The account the app signs in with; empty when the server accepts mail without signing in."})
    smtpPassword: str = field(default="", metadata={
        "help": "That account's password; stored for the worker only and shown masked like API keys."})
    fromAddress: str = field(default="", metadata={
        "help": "The sender of the app's e-mails (e.g. reports@yourcompany.com); many servers only accept their "
                "own account's address."})
    publicUrl: str = field(default="", metadata={
        "help": "The address people open the app at (e.g. https://dallosh.yourcompany.com/), used for links in "
                "e-mails such as unsubscribe links and tweet links."})

    def check(self, path: str) -> None:
        self.smtpHost = self.smtpHost.strip()
        self.smtpUser = self.smtpUser.strip()
        self.fromAddress = self.fromAddress.strip()
        self.publicUrl = self.publicUrl.strip()
        if self.smtpHost and not _HOST.fullmatch(self.smtpHost):
            raise ValidationError(f"{path}.smtpHost", "must be a server name such as smtp.example.com, without "
                                  "smtp:// or a port (the port has its own field)")
        if not 1 <= self.smtpPort <= 65535:
            raise ValidationError(f"{path}.smtpPort", "must be between 1 and 65535 (usually 587, 465 or 25)")
        if self.fromAddress and not is_email_address(self.fromAddress):
            raise ValidationError(f"{path}.fromAddress", "must be one e-mail address such as "
                                  "reports@example.com")
        if self.smtpHost and not self.fromAddress:
            raise ValidationError(f"{path}.fromAddress", "is needed to send e-mails: give the address they come "
                                  "from")
        if self.smtpPassword and not self.smtpUser:
            raise ValidationError(f"{path}.smtpUser", "is needed with a password: give the account's name")
        if any(ch in self.smtpUser + self.smtpPassword for ch in "\r\n"):
            raise ValidationError(f"{path}.smtpUser", "and the password must be on one line")
        if self.publicUrl:
            if not self.publicUrl.startswith(("http://", "https://")) or any(c in self.publicUrl for c in " <>\"'"):
                raise ValidationError(f"{path}.publicUrl", "must be a web address starting with https:// (or "
                                      "http://), such as https://dallosh.example.com/")
            if not self.publicUrl.endswith("/"):
                self.publicUrl += "/"


@dataclass
class SettingsData:
    general: GeneralSettings = field(default_factory=GeneralSettings)
    ai: AISettings = field(default_factory=AISettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
