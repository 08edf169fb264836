"""Alert rules, their episode state and their firings (issue 18 part 2).

Admins manage the rules (``manage_app``). When a task is done the worker calls :meth:`AlertsService.evaluate_after_task`
as the system: every enabled rule whose scope covers the task's dataset is checked on that dataset's analysed rows
as the dashboards read them (``services.results.corrected``: label corrections applied; the default filters: every
customer tweet, the operator's own accounts left out), so the numbers are the Analysis page's. A rule fires once
per episode (``dallosh.alerts.evaluate.run_episodes``); its episode state is stored per rule and scope key
(``"*"`` under "all new data": one run of episodes across every dataset processed; the dataset's uid for chosen
datasets, each with its own) and saved by compare-and-set, so two workers finishing together, a re-run, or the
same data uploaded and processed again do not fire twice.

Each firing is stored with the spike explanation of its period, announced on the event bus
(``task.<file_id>.alert_fired`` with the firing's uid only: no e-mail address, no webhook), and sent by e-mail and
webhook through ``services.delivery``. Readers of datasets list the firings of datasets that still exist; admins
list all. Webhook addresses are secrets (whoever has one can post to the channel): shown masked, like API keys.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dallosh.errors import Conflict, DalloshError, NotFound, PermissionDenied, ValidationError
from dallosh.schemas import Record, dump, parse
from dallosh.schemas.alerts import AlertFiring, AlertRule, EpisodeState
from dallosh.services.base import SYSTEM, Actor, Page, Service, audited
from dallosh.storage import ANALYSED

if TYPE_CHECKING:
    import pandas as pd

    from dallosh.alerts.evaluate import Thresholds
    from dallosh.events import Publisher
    from dallosh.schemas import TaskData

log = logging.getLogger(__name__)

RULES, FIRINGS, STATES = "alert_rules", "alert_firings", "alert_states"
#: The event announcing a firing (routing key ``task.<file_id>.alert_fired``).
ALERT_EVENT = "alert_fired"
#: Scope key of "all new data": one run of episodes across every dataset processed.
ALL_NEW = "*"
#: Saves of one episode state tried before giving up (another worker saved it in between: check again).
STATE_ATTEMPTS = 3
#: Most firings listed on one page.
PAGE_MAX = 200


@dataclass
class _Rows:
    """A dataset's rows as Analysis selects them by default, read once per check of a task (and the term index of
    their texts, built once when a firing needs it)."""

    rows: pd.DataFrame
    name: str
    tz: str
    index: Any = None


@dataclass(frozen=True)
class _Check:
    """One rule checked on one dataset after one task: what its firings need."""

    rule: Record[AlertRule]
    file_id: str
    task_id: str
    key: str
    data: _Rows
    publisher: Any


def _masked(url: str) -> str:
    from dallosh.delivery import mask_url

    return mask_url(url)


class AlertsService(Service):
    # -- rules (admins) ----------------------------------------------------------------------------------------

    @staticmethod
    def _shown(doc: dict[str, Any]) -> Record[AlertRule]:
        record = Record.from_doc(AlertRule, doc)
        record.data.webhooks = [_masked(u) for u in record.data.webhooks]
        return record

    def list_rules(self, actor: Actor) -> list[Record[AlertRule]]:
        """Every rule, oldest first, webhook addresses masked."""
        self.authorize(actor, "manage_app")
        return [self._shown(d) for d in self.db.find(RULES, sort=[("createdAt", 1)])]

    def get_rule(self, actor: Actor, uid: str) -> Record[AlertRule]:
        self.authorize(actor, "manage_app")
        doc = self.db.get(RULES, uid)
        if doc is None:
            raise NotFound("This alert rule no longer exists: it was deleted. Refresh the list.")
        return self._shown(doc)

    def _check_references(self, rule: AlertRule) -> None:
        """The topic must be one of the settings' topics and the chosen datasets must exist."""
        if rule.metric == "topic_volume":
            topics = self.ctx.settings.topics()
            if rule.topic not in topics:
                raise ValidationError("data.topic", f"must be one of the topics in Settings: {', '.join(topics)}")
        for uid in rule.datasets:
            if self.db.get("files", uid) is None:
                raise ValidationError("data.datasets", "names a dataset that no longer exists: choose again")

    @audited("alerts.create_rule", target=lambda a, k, r: f"alert_rules/{r.uid}")
    def create_rule(self, actor: Actor, data: dict[str, Any]) -> Record[AlertRule]:
        actor = self.authorize(actor, "manage_app")
        rule = parse(AlertRule, dict(data))
        self._check_references(rule)
        return self._shown(self.db.insert(RULES, dump(rule), by=actor.uid))

    @audited("alerts.update_rule", method="patch")
    def update_rule(self, actor: Actor, uid: str, changes: dict[str, Any]) -> Record[AlertRule]:
        """Change a rule. Webhook addresses sent back masked (as the form shows them) keep the stored address."""
        actor = self.authorize(actor, "manage_app")
        doc = self.db.get(RULES, uid)
        if doc is None:
            raise NotFound("This alert rule no longer exists: it was deleted. Refresh the list.")
        current = dump(Record.from_doc(AlertRule, doc).data)
        changes = dict(changes)
        if "webhooks" in changes:
            stored = {_masked(u): u for u in current.get("webhooks", [])}
            changes["webhooks"] = [stored.get(u, u) for u in changes["webhooks"] or []]
            if any("••••" in u for u in changes["webhooks"]):
                raise ValidationError("data.webhooks", "holds a masked address that is not one of this rule's: "
                                                       "paste the full webhook address again")
        rule = parse(AlertRule, {**current, **changes})
        self._check_references(rule)
        watched = ("metric", "topic", "grain", "threshold", "k", "window", "value", "direction", "scope", "datasets")
        if any(current.get(k) != getattr(rule, k) for k in watched):
            self.db.delete_many(STATES, {"data.rule_id": uid})  # another question: its episodes start over
        return self._shown(self.db.update(RULES, uid, dump(rule), by=actor.uid))  # type: ignore[arg-type]

    @audited("alerts.delete_rule", method="delete")
    def delete_rule(self, actor: Actor, uid: str) -> None:
        """Remove a rule and its episode state; its firings stay listed (with the rule's name at the time)."""
        self.authorize(actor, "manage_app")
        if not self.db.delete(RULES, uid):
            raise NotFound("This alert rule no longer exists: it was deleted. Refresh the list.")
        self.db.delete_many(STATES, {"data.rule_id": uid})

    # -- firings (readers of datasets) -------------------------------------------------------------------------

    def _readable(self, actor: Actor) -> Callable[[dict[str, Any]], bool]:
        """Whether ``actor`` may read a firing: admins all; readers of datasets those whose datasets still exist."""
        if actor.can("manage_app"):
            return lambda doc: True
        existing = {d["uid"] for d in self.db.find("files", projection=["uid"])}
        return lambda doc: bool(doc["data"].get("datasets")) and set(doc["data"]["datasets"]) <= existing

    def list_firings(self, actor: Actor, *, rule_id: str | None = None, skip: int = 0, limit: int = 50
                     ) -> Page[Record[AlertFiring]]:
        """Firings newest first (the readers' share of them, see the module docstring)."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets", "manage_app")
        query = {"data.rule_id": rule_id} if rule_id else {}
        readable = self._readable(actor)
        # Firings are rare by design (once per episode): filtering them here stays cheap.
        docs = [d for d in self.db.find(FIRINGS, query, sort=[("createdAt", -1)]) if readable(d)]
        skip, limit = max(0, skip), max(1, min(limit, PAGE_MAX))
        return Page([Record.from_doc(AlertFiring, d) for d in docs[skip:skip + limit]], len(docs), skip, limit)

    def get_firing(self, actor: Actor, uid: str) -> Record[AlertFiring]:
        actor = self.authorize(actor, "read_datasets", "manage_datasets", "manage_app")
        doc = self.db.get(FIRINGS, uid)
        if doc is None or not self._readable(actor)(doc):
            raise NotFound("This alert is not available: its datasets were deleted, or it was removed.")
        return Record.from_doc(AlertFiring, doc)

    def delivery_outcomes(self, actor: Actor, firing_uids: list[str]) -> dict[str, dict[str, dict[str, int]]]:
        """Per firing this actor may read, how many of its e-mails and webhooks are sent, on their way
        (queued, retrying) or failed: ``{firing: {"email": {"sent": 2, "failed": 1}, "webhook": {...}}}``.
        Counts only: the addresses and the reasons are for admins (Settings › Delivery)."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets", "manage_app")
        readable = self._readable(actor)
        firings = [d for d in self.db.find(FIRINGS, {"uid": {"$in": list(firing_uids)}}) if readable(d)]
        known = self.ctx.delivery.statuses(SYSTEM, [d for doc in firings for d in doc["data"].get("delivery_ids", [])])
        out: dict[str, dict[str, dict[str, int]]] = {}
        for doc in firings:
            counts: dict[str, dict[str, int]] = {}
            for kind, queued in (("email", doc["data"].get("emails_sent", 0)),
                                 ("webhook", doc["data"].get("webhooks_sent", 0))):
                statuses = Counter(known[d][1] for d in doc["data"].get("delivery_ids", [])
                                   if d in known and known[d][0] == kind)
                purged = queued - statuses.total()  # only sent deliveries are purged
                if purged > 0:
                    statuses["sent"] += purged
                if statuses:
                    counts[kind] = dict(statuses)
            out[doc["uid"]] = counts
        return out

    def firing_rules(self, actor: Actor) -> list[tuple[str, str]]:
        """(rule uid, name) of the rules that fired at least once for what this actor may read, newest name."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets", "manage_app")
        readable = self._readable(actor)
        names: dict[str, str] = {}
        for doc in self.db.find(FIRINGS, sort=[("createdAt", -1)]):
            if readable(doc):
                names.setdefault(doc["data"]["rule_id"], doc["data"]["rule_name"])
        return sorted(names.items(), key=lambda item: item[1].lower())

    # -- evaluation (the worker) -------------------------------------------------------------------------------

    def evaluate_after_task(self, actor: Actor, task: Record[TaskData], *, publisher: Publisher | None = None
                            ) -> list[Record[AlertFiring]]:
        """Check every enabled rule whose scope covers ``task``'s dataset; store, announce and send what fires.

        The system only (the worker, right after a task is done). A rule that cannot be checked is logged and
        skipped: the others still run, and the task stays done.
        """
        if actor is None or not actor.is_system:
            raise PermissionDenied("Only the processing worker checks alert rules.")
        file_id = task.data.file_id
        rules = []
        for doc in self.db.find(RULES, {"data.enabled": True}, sort=[("createdAt", 1)]):
            try:
                rules.append(Record.from_doc(AlertRule, doc))
            except DalloshError as exc:  # a rule stored by an older version, or edited by hand: skip it, say so
                log.error("alert rule %s is not valid and was skipped (%s); edit it in Settings › Alert rules",
                          doc.get("uid"), exc)
        rules = [r for r in rules if r.data.scope == "new" or file_id in r.data.datasets]
        if not rules:
            return []
        own = publisher is None and any(r.data.in_app for r in rules)
        if own:
            from dallosh.events import Publisher

            publisher = Publisher(self.ctx.config)
        fired: list[Record[AlertFiring]] = []
        frames: dict[str, _Rows] = {}
        try:
            for rule in rules:
                try:
                    fired += self._evaluate(rule, file_id, task.uid, frames, publisher)
                except Exception:  # noqa: BLE001 - one broken rule must not stop the others
                    log.exception("alert rule %r (%s) could not be checked after task %s", rule.data.name,
                                  rule.uid, task.uid)
        finally:
            if own and publisher is not None:
                publisher.close()
        return fired

    def _rows(self, file_id: str, frames: dict[str, _Rows]) -> _Rows:
        """The dataset's rows as Analysis selects them by default (read once per check of a task)."""
        if file_id not in frames:
            from dallosh import analytics

            name = self.ctx.files.get(SYSTEM, file_id).data.filename
            frame = self.ctx.results.corrected(SYSTEM, [file_id], names={file_id: name})
            tz = self.ctx.settings.general().timeZone
            rows = analytics.apply_filters(frame, analytics.Filters(tz=tz)).reset_index(drop=True)
            frames[file_id] = _Rows(rows, name, tz)
        return frames[file_id]

    def _load_state(self, rule_id: str, key: str) -> tuple[dict[str, Any] | None, EpisodeState]:
        doc = self.db.get(STATES, f"{rule_id}:{key}")
        if doc is None:
            return None, EpisodeState(rule_id, key)
        return doc, Record.from_doc(EpisodeState, doc).data

    def _save_state(self, doc: dict[str, Any] | None, state: EpisodeState) -> bool:
        """Compare-and-set: False when another process saved this state since it was read."""
        uid = f"{state.rule_id}:{state.scope_key}"
        if doc is None:
            try:
                self.db.insert(STATES, dump(state), by="system", uid=uid)
            except Conflict:
                return False
            return True
        saved = self.db.find_one_and_update(STATES, {"uid": uid, "data.version": state.version - 1},
                                            dump(state), by="system")
        return saved is not None

    def _evaluate(self, rule: Record[AlertRule], file_id: str, task_id: str, frames: dict[str, _Rows],
                  publisher: Any) -> list[Record[AlertFiring]]:
        """Check one rule on the dataset of a task that is done; store (and send) what fires."""
        from dallosh.alerts.evaluate import FIRST_CHECK_PERIODS, metric_series, run_episodes, thresholds

        r = rule.data
        if not self.ctx.storage.path(ANALYSED, file_id).exists():
            return []
        key = ALL_NEW if r.scope == "new" else file_id
        data = self._rows(file_id, frames)
        series = metric_series(data.rows, r.metric, data.tz, r.grain, r.topic)
        limits = thresholds(series["value"].to_numpy(), kind=r.threshold, direction=r.direction, k=r.k,
                            window=r.window, value=r.value, counts=r.metric != "net_sentiment")
        keys = series["key"].tolist()
        for _ in range(STATE_ATTEMPTS):
            doc, state = self._load_state(rule.uid, key)
            outcome = run_episodes(keys, limits.checked, limits.breach, through=state.through,
                                   in_episode=state.in_episode, episode_start=state.episode_start,
                                   first_check=FIRST_CHECK_PERIODS[r.grain])
            if outcome.checked == 0:
                return []
            new = EpisodeState(rule.uid, key, outcome.through, outcome.in_episode, outcome.episode_start,
                               state.version + 1)
            if self._save_state(doc, new):
                break
        else:
            log.warning("alert rule %s: its state kept changing under it; checked again at the next task", rule.uid)
            return []
        check = _Check(rule, file_id, task_id, key, data, publisher)
        return [self._fire(check, series, limits, i) for i in outcome.fired]

    def _fire(self, check: _Check, series: pd.DataFrame, limits: Thresholds, i: int) -> Record[AlertFiring]:
        """Store the firing of period ``i`` with its explanation, then announce and send it."""
        import numpy as np

        from dallosh.alerts.explain import explain

        r, data = check.rule.data, check.data
        period, period_key = series["period"].iloc[i], series["key"].iloc[i]
        explanation: dict[str, Any] = {}
        try:
            index = None
            if r.metric != "high_priority":  # the others are explained on every row: one index per check
                if data.index is None:
                    from dallosh.analytics import build_term_index

                    data.index = build_term_index(data.rows["full_text"])
                index = data.index
            explanation = explain(data.rows, data.tz, period, r.grain, r.metric, topic=r.topic, window=r.window,
                                  index=index)
        except Exception:  # noqa: BLE001 - a firing without its explanation is still worth sending
            log.exception("alert rule %s: the explanation of %s failed", check.rule.uid, period_key)

        def number(values: np.ndarray) -> float | None:
            return None if np.isnan(values[i]) else round(float(values[i]), 4)

        firing = AlertFiring(
            rule_id=check.rule.uid, rule_name=r.name, metric=r.metric, topic=r.topic, grain=r.grain,
            direction=r.direction, threshold_kind=r.threshold, period=period_key,
            value=round(float(series["value"].iloc[i]), 4), threshold=number(limits.threshold) or 0.0,
            mean=number(limits.mean), std=number(limits.std), k=r.k if r.threshold == "sigma" else None,
            window=r.window, datasets=[check.file_id], dataset_names=[data.name], scope_key=check.key,
            task_id=check.task_id, tz=data.tz, explanation=explanation,
            in_app=r.in_app and check.publisher is not None)
        record = Record.from_doc(AlertFiring, self.db.insert(FIRINGS, dump(firing), by="system"))
        log.info("alert rule %r fired on %s (%s %s vs %s)", r.name, period_key, r.metric, firing.value,
                 firing.threshold)
        changes = self._deliver(check.rule, record, check.publisher, check.file_id)
        if changes:
            self.db.update(FIRINGS, record.uid, changes, by="system")
            record = Record.from_doc(AlertFiring, self.db.get(FIRINGS, record.uid))  # type: ignore[arg-type]
        return record

    def _base_url(self) -> str:
        """Where links in e-mails point: the delivery settings' public address, else this app's own."""
        return self.ctx.delivery.smtp_settings(SYSTEM).publicUrl or self.ctx.config.hub_url

    def _deliver(self, rule: Record[AlertRule], record: Record[AlertFiring], publisher: Any, file_id: str
                 ) -> dict[str, Any]:
        """Announce the firing in the app and queue its e-mails and webhooks; returns what to store about it."""
        from dallosh.alerts import messages

        r, changes = rule.data, {}
        if r.in_app and publisher is not None:
            from dallosh.events import make_message, routing_key_for

            # The uid only: a reader's page fetches the firing through the service, which checks they may see it.
            message = make_message(file_id, "", ALERT_EVENT, firing_uid=record.uid)
            if not publisher.publish(routing_key_for(file_id, ALERT_EVENT), message):
                changes["in_app"] = False  # the broker stayed unreachable: the Alerts page still lists it
        if not (r.emails or r.webhooks):
            return changes
        f = dump(record.data)
        try:
            base = self._base_url()
            mail = None
            if r.emails:
                from dallosh.delivery import Message

                mail = Message(messages.title(f), list(r.emails), messages.email_html(f, base),
                               messages.email_text(f, base))
            payload = messages.webhook_payload(f, base) if r.webhooks else None
            ids = self.ctx.delivery.enqueue(SYSTEM, mail, emails=list(r.emails), webhooks=list(r.webhooks),
                                            payload=payload, origin={"alert": record.uid, "rule": rule.uid})
            changes.update(delivery_ids=ids, emails_sent=len(r.emails), webhooks_sent=len(r.webhooks))
        except DalloshError as exc:
            log.warning("alert %s: e-mails and webhooks not queued: %s", record.uid, exc)
            changes["delivery_error"] = str(exc)
        return changes
