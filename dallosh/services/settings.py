"""The single settings document: general options, topics, operator accounts, and the AI model lists.

API keys are stored as given but masked whenever settings are read for display; only the worker (the system
actor) reads them in clear, and they never travel on the event bus.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dallosh.db import new_uid, utcnow
from dallosh.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dallosh.schemas import AIPreferences, GeneralSettings, ModelData, SettingsData, dump, parse
from dallosh.services.base import Actor, Service, audited

COLLECTION = "settings"
#: The settings document has a fixed uid, so concurrent bootstraps cannot create two.
SETTINGS_UID = "settings"
ModelKind = Literal["local", "external"]
#: Model fields whose change makes the negotiated response format stale.
_NEGOTIATED_WITH = ("model", "baseUrl", "provider", "responseFormat")


def mask_key(key: str) -> str:
    """``sk-abc…wxyz`` → ``••••wxyz``: enough to recognise a key, useless to steal it."""
    if not key:
        return ""
    return "••••" + key[-4:] if len(key) > 8 else "••••"


def is_masked(value: str) -> bool:
    return value.startswith("••••")


class SettingsService(Service):
    def _load(self) -> dict[str, Any]:
        doc = self.db.get(COLLECTION, SETTINGS_UID)
        if doc is None:
            doc = self.ensure()
        return doc

    def ensure(self) -> dict[str, Any]:
        """Create the settings document with defaults when missing (bootstrap); fill keys added by upgrades."""
        doc = self.db.get(COLLECTION, SETTINGS_UID)
        if doc is None:
            try:
                return self.db.insert(COLLECTION, dump(SettingsData()), by="system", uid=SETTINGS_UID)
            except Conflict:  # another process created it first
                return self.db.get(COLLECTION, SETTINGS_UID)  # type: ignore[return-value]
        merged = dump(parse(SettingsData, doc.get("data", {})))
        if merged != doc.get("data"):
            doc = self.db.update(COLLECTION, SETTINGS_UID, merged, by="system") or doc
        return doc

    def _data(self) -> SettingsData:
        return parse(SettingsData, self._load().get("data", {}))

    # -- reading -------------------------------------------------------------------------------------------

    def general(self, actor: Actor | None = None) -> GeneralSettings:
        """Public part (app name, description, maintenance flag): readable by anyone, even signed out."""
        return self._data().general

    def get(self, actor: Actor) -> SettingsData:
        """Everything, API keys and the SMTP password masked (admin settings page)."""
        self.authorize(actor, "manage_app")
        data = self._data()
        for entry in (*data.ai.local, *data.ai.external):
            entry["data"]["apiKey"] = mask_key(entry["data"].get("apiKey", ""))
        data.delivery.smtpPassword = mask_key(data.delivery.smtpPassword)
        return data

    def ai_config(self, actor: Actor) -> dict[str, Any]:
        """The AI section with keys in clear, for the worker only (never for display or events)."""
        if actor is None or not actor.is_system:
            raise PermissionDenied("Only the processing worker reads API keys in clear.")
        return dump(self._data().ai)

    def topics(self) -> list[str]:
        return list(self._data().general.topics)

    def local_time(self, when: datetime) -> datetime:
        """``when`` in the app's time zone (the setting every page uses); UTC if the zone is unknown."""
        try:
            zone = ZoneInfo(self._data().general.timeZone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = UTC
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(zone)

    # -- general -------------------------------------------------------------------------------------------

    @audited("settings.update_general", method="patch", target=lambda a, k, r: "settings/general")
    def update_general(self, actor: Actor, **changes: Any) -> GeneralSettings:
        self.authorize(actor, "manage_app")
        current = dump(self._data().general)
        unknown = set(changes) - set(current)
        if unknown:
            raise ValidationError(f"general.{sorted(unknown)[0]}", "is not a setting")
        general = parse(GeneralSettings, {**current, **changes}, "general")
        self.db.update(COLLECTION, SETTINGS_UID, {"general": dump(general)}, by=actor.uid)
        return general

    # -- AI models -----------------------------------------------------------------------------------------

    def _models(self, kind: ModelKind) -> list[dict[str, Any]]:
        if kind not in ("local", "external"):
            raise ValidationError("kind", "must be 'local' or 'external'")
        return copy.deepcopy(getattr(self._data().ai, kind))

    def _save_models(self, actor: Actor, kind: ModelKind, models: list[dict[str, Any]]) -> None:
        # The whole list is replaced: array-index update paths are ignored by nx-27017 (DESIGN.md §3).
        self.db.update(COLLECTION, SETTINGS_UID, {f"ai.{kind}": models}, by=actor.uid)

    @audited("settings.add_model", target=lambda a, k, r: f"settings/ai/{a[0]}/{r['uid']}")
    def add_model(self, actor: Actor, kind: ModelKind, data: dict[str, Any]) -> dict[str, Any]:
        self.authorize(actor, "manage_app")
        model = dump(parse(ModelData, data, f"ai.{kind}.data"))
        models = self._models(kind)
        now = utcnow()
        entry = {"uid": new_uid(), "data": model, "createdAt": now, "createdBy": actor.uid, "updatedAt": now,
                 "updatedBy": actor.uid}
        models.append(entry)
        self._save_models(actor, kind, models)
        if len(models) == 1:  # the first model of a kind becomes its default
            self.db.update(COLLECTION, SETTINGS_UID, {f"ai.preferences.default_{kind}_model_id": entry["uid"]},
                           by=actor.uid)
        return self._masked(entry)

    @audited("settings.update_model", method="patch", target=lambda a, k, r: f"settings/ai/{a[0]}/{a[1]}")
    def update_model(self, actor: Actor, kind: ModelKind, uid: str, changes: dict[str, Any]) -> dict[str, Any]:
        self.authorize(actor, "manage_app")
        models = self._models(kind)
        entry = next((m for m in models if m["uid"] == uid), None)
        if entry is None:
            raise NotFound(f"No {kind} model with id {uid}.")
        changes = dict(changes)
        if is_masked(changes.get("apiKey", "")):  # the form sent back the masked value: keep the stored key
            changes.pop("apiKey")
        if any(changes.get(k, entry["data"].get(k)) != entry["data"].get(k) for k in _NEGOTIATED_WITH):
            changes["negotiatedFormat"] = ""  # another server or model: negotiate again
        entry["data"] = dump(parse(ModelData, {**entry["data"], **changes}, f"ai.{kind}.data"))
        entry["updatedAt"], entry["updatedBy"] = utcnow(), actor.uid
        self._save_models(actor, kind, models)
        return self._masked(entry)

    @audited("settings.delete_model", method="delete", target=lambda a, k, r: f"settings/ai/{a[0]}/{a[1]}")
    def delete_model(self, actor: Actor, kind: ModelKind, uid: str) -> None:
        self.authorize(actor, "manage_app")
        models = self._models(kind)
        remaining = [m for m in models if m["uid"] != uid]
        if len(remaining) == len(models):
            raise NotFound(f"No {kind} model with id {uid}.")
        self._save_models(actor, kind, remaining)
        prefs = self._data().ai.preferences
        key = f"default_{kind}_model_id"
        if getattr(prefs, key) == uid:
            self.db.update(COLLECTION, SETTINGS_UID, {f"ai.preferences.{key}": remaining[0]["uid"] if remaining
                                                      else ""}, by=actor.uid)

    def remember_response_format(self, actor: Actor, kind: ModelKind, uid: str, fmt: str) -> None:
        """The worker stores the response format it negotiated with a model (not audited: not a user's change)."""
        if actor is None or not actor.is_system:
            raise PermissionDenied("Only the processing worker records negotiated response formats.")
        models = self._models(kind)
        entry = next((m for m in models if m["uid"] == uid), None)
        if entry is None or entry["data"].get("negotiatedFormat") == fmt:
            return
        entry["data"] = dump(parse(ModelData, {**entry["data"], "negotiatedFormat": fmt}, f"ai.{kind}.data"))
        self._save_models(actor, kind, models)

    @audited("settings.set_preferences", method="patch", target=lambda a, k, r: "settings/ai/preferences")
    def set_preferences(self, actor: Actor, *, mode: str | None = None, default_local_model_id: str | None = None,
                        default_external_model_id: str | None = None,
                        hybrid_threshold: float | None = None) -> dict[str, Any]:
        self.authorize(actor, "manage_app")
        data = self._data()
        prefs = dump(data.ai.preferences)
        for kind, value in (("local", default_local_model_id), ("external", default_external_model_id)):
            if value is None:
                continue
            if value and value not in {m["uid"] for m in getattr(data.ai, kind)}:
                raise ValidationError(f"ai.preferences.default_{kind}_model_id", f"names no {kind} model (id {value}); "
                                      "pick one from the list")
            prefs[f"default_{kind}_model_id"] = value
        if mode is not None:
            prefs["mode"] = mode
        if hybrid_threshold is not None:
            prefs["hybrid_threshold"] = hybrid_threshold
        checked = dump(parse(AIPreferences, prefs, "ai.preferences"))
        self.db.update(COLLECTION, SETTINGS_UID, {"ai.preferences": checked}, by=actor.uid)
        return checked

    @staticmethod
    def _masked(entry: dict[str, Any]) -> dict[str, Any]:
        shown = copy.deepcopy(entry)
        shown["data"]["apiKey"] = mask_key(shown["data"].get("apiKey", ""))
        return shown

    def check_models(self, actor: Actor, *, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Send each configured model one tiny request (admin overview health). Keys are used, never returned.

        Returns ``{kind, uid, model, ok, latency_ms, message}`` per model; an invalid entry is reported as down.
        """
        self.authorize(actor, "manage_app")
        ai = self._data().ai
        return [self._check_entry(kind, entry, timeout) for kind in ("local", "external")
                for entry in getattr(ai, kind)]

    def check_model(self, actor: Actor, kind: ModelKind, uid: str, *, timeout: float = 10.0) -> dict[str, Any]:
        """The settings page's "test connection": one model, with its stored key; logged with its outcome.

        Returns ``{kind, uid, model, ok, latency_ms, message}``; ``message`` is the exact error when it failed.
        """
        actor = self.authorize(actor, "manage_app")
        entry = next((m for m in self._models(kind) if m["uid"] == uid), None)
        if entry is None:
            raise NotFound(f"No {kind} model with id {uid}.")
        result = self._check_entry(kind, entry, timeout)
        outcome = "ok" if result["ok"] else f"error: {result['message']}"
        self.ctx.logs.record(actor, "settings.check_model", f"settings/ai/{kind}/{uid}", outcome,
                             details={"latency_ms": result["latency_ms"]})
        return result

    @staticmethod
    def _check_entry(kind: str, entry: dict[str, Any], timeout: float) -> dict[str, Any]:
        from dallosh.llm.models import ModelConfig
        from dallosh.llm.registry import check_connection

        data = entry.get("data") or {}
        name = data.get("label") or data.get("model") or entry.get("uid", "?")
        try:
            ok, latency, message = check_connection(ModelConfig.from_settings(entry, kind), timeout=timeout)
        except ValidationError as exc:
            ok, latency, message = False, 0.0, f"invalid settings: {exc}"
        return {"kind": kind, "uid": entry.get("uid", ""), "model": name, "ok": ok,
                "latency_ms": round(latency, 1), "message": message}
