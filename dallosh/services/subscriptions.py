"""Scheduled reports: a user subscribes to a daily or weekly e-mail of the report on the datasets they may read.

Every change of a subscription schedules its next run on the notify queue with RQ's scheduler
(``enqueue_at``): the job (:func:`run_scheduled`) re-reads the subscription and does nothing unless it still
exists, is active and this run is the one expected (same ``version``, same due time) — a run left from before an
edit is stale. The run claims itself atomically (so a duplicate job cannot send twice), schedules the next one,
builds the report *as the owner* (their permissions now: a dataset they can no longer read is left out and the
e-mail says so), and hands the e-mail to ``services.delivery``. The schedule lives in Redis; the notify worker
calls :meth:`SubscriptionsService.reschedule_missing` when it starts, so a lost job (Redis flushed, a run missed
while no worker was up) is scheduled again.

Times: a subscription's time of day is local to its IANA zone; :func:`next_run` turns it into the next UTC
instant with ``zoneinfo``: a time skipped by a DST change runs as long after the change as it was meant to be
after the hour skipped (02:30 runs at 03:30), a time that happens twice runs at its first occurrence. The period
covered is the day before the run's local date (daily) or the 7 days before it (weekly). The app's clock
(``Services.clock``) decides what "now" is; RQ fires jobs by the machine's clock, so a due time is handed to RQ
shifted by their difference (zero outside tests).

Unsubscribe links carry ``<uid>.<HMAC-SHA256(key, "unsubscribe:" + uid)>``: unguessable without the key, and good
for one thing only — switching that one subscription off.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from dallosh.db import new_uid
from dallosh.errors import DalloshError, NotFound, PermissionDenied, ValidationError
from dallosh.schemas import Record, dump, parse
from dallosh.schemas.subscriptions import ReportFilters, SubscriptionData
from dallosh.services.base import SYSTEM, Actor, Service, audited

if TYPE_CHECKING:
    from dallosh.analytics import Filters
    from dallosh.config import Config
    from dallosh.reports.period import Period

log = logging.getLogger(__name__)

COLLECTION = "subscriptions"
#: The RQ job function, as a dotted path (enqueuers need not import the report machinery).
JOB_FUNCTION = "dallosh.services.subscriptions.run_scheduled"
#: Days a weekly report covers.
WEEK = 7
#: Subscriptions one user may hold: a handful of schedules, not a mail cannon.
MAX_PER_USER = 20
#: Seconds RQ keeps a finished run's result (only for debugging: the outcome is stored on the subscription).
RESULT_TTL = 3600
#: Seconds one run may take (a report on 1M rows takes well under a minute here).
JOB_TIMEOUT = 1800
#: Where the unsubscribe handler lives under the app's public URL.
UNSUBSCRIBE_PATH = "hub/dallosh/unsubscribe"
#: Fields a user sets; the rest (owner, e-mail, version, run state) belong to the service.
EDITABLE = ("frequency", "time", "weekday", "timeZone", "allDatasets", "datasets", "filters", "active")


# -- time --------------------------------------------------------------------------------------------------------

def next_run(sub: SubscriptionData, after: datetime) -> datetime:
    """The first instant (UTC) strictly after ``after`` when ``sub`` is due, DST-correct in its zone."""
    zone = ZoneInfo(sub.timeZone)
    after = after if after.tzinfo else after.replace(tzinfo=UTC)
    hour, minute = sub.hour_minute
    day = after.astimezone(zone).date() - timedelta(days=1)  # the day before: a gap can move a time backwards
    for _ in range(WEEK * 2 + 2):
        if sub.frequency == "daily" or day.weekday() == sub.weekday:
            local = _local_instant(day, hour, minute, zone)
            if local > after.astimezone(UTC):
                return local
        day += timedelta(days=1)
    raise AssertionError("unreachable: a week always holds the weekday")  # pragma: no cover


def _local_instant(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """``day`` at ``hour:minute`` in ``zone``, as UTC. ``fold=0`` (PEP 495): of a wall time that happens twice the
    first one; a wall time skipped by a DST change is read with the offset before it (02:30 → 03:30 summer time)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def report_period(sub: SubscriptionData, due: datetime) -> Period:
    """The whole local days a run at ``due`` reports on: the day before (daily) or the 7 days before (weekly)."""
    from dallosh.reports.period import Period

    today = due.astimezone(ZoneInfo(sub.timeZone)).date()
    days = 1 if sub.frequency == "daily" else WEEK
    return Period(today - timedelta(days=days), today - timedelta(days=1))


def analytics_filters(filters: ReportFilters) -> Filters:
    """The stored filters as the Analysis page's ``analytics.Filters`` (dates are the report's period)."""
    from dallosh.analytics import Filters

    return Filters(topics=filters.topics, sentiments=filters.sentiments, priorities=filters.priorities,
                   include_retweets=filters.includeRetweets, include_operator=filters.includeOperator,
                   search=filters.search)


# -- unsubscribe tokens ------------------------------------------------------------------------------------------

def signing_key(config: Config) -> bytes:
    """The key of unsubscribe links: derived from ``DALLOSH_SECRET_KEY`` when set, else a random key generated once
    into ``storage/run`` (readable by the app's account only; the hub and the workers share it)."""
    if config.secret_key:
        return hmac.new(config.secret_key.encode(), b"dallosh unsubscribe links", hashlib.sha256).digest()
    path = config.storage_root / "run" / "unsubscribe-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    for _ in range(50):  # the creator may not have written it yet
        text = path.read_text().strip()
        if text:
            return bytes.fromhex(text)
        time.sleep(0.01)
    raise DalloshError("The unsubscribe key could not be read; tell an administrator.")


def unsubscribe_token(key: bytes, uid: str) -> str:
    mac = hmac.new(key, f"unsubscribe:{uid}".encode(), hashlib.sha256).hexdigest()
    return f"{uid}.{mac}"


def token_uid(key: bytes, token: str) -> str | None:
    """The subscription a token names, or None when it was not made with ``key`` (compared in constant time)."""
    uid, _, mac = (token or "").strip().partition(".")
    if not uid or not mac or not uid.isalnum():
        return None
    expected = unsubscribe_token(key, uid).partition(".")[2]
    return uid if hmac.compare_digest(mac, expected) else None


# -- the queue ---------------------------------------------------------------------------------------------------

class NotifyScheduler:
    """Runs of subscriptions on the notify queue (RQ on Redis; its scheduler moves due jobs to the queue)."""

    def __init__(self, config: Config):
        from redis import Redis
        from rq import Queue

        self.redis = Redis.from_url(config.redis_url, socket_connect_timeout=3)
        self.queue = Queue(config.notify_queue_name, connection=self.redis)

    def at(self, job_id: str, when: datetime, *args: Any) -> None:
        self.queue.enqueue_at(when, JOB_FUNCTION, *args, job_id=job_id, result_ttl=RESULT_TTL,
                              job_timeout=JOB_TIMEOUT, failure_ttl=7 * 86400,
                              description=f"scheduled report {args[0]}")

    def now(self, job_id: str, *args: Any) -> None:
        self.queue.enqueue_call(JOB_FUNCTION, args=args, job_id=job_id, result_ttl=RESULT_TTL,
                                timeout=JOB_TIMEOUT, failure_ttl=7 * 86400, description=f"report now {args[0]}")

    def waiting(self, job_id: str) -> bool:
        """True while the job is scheduled or queued (not yet run)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            status = Job.fetch(job_id, connection=self.redis).get_status()
        except NoSuchJobError:
            return False
        return status in (JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.STARTED)

    def cancel(self, job_id: str) -> None:
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import Job

        try:
            job = Job.fetch(job_id, connection=self.redis)
            job.cancel()
            job.delete()
        except (NoSuchJobError, InvalidJobOperation):
            pass


def job_id(uid: str, version: int, due: datetime) -> str:
    """One id per (subscription, version, due time): scheduling the same run twice keeps one job."""
    return f"subscription-{uid}-v{version}-{due.astimezone(UTC):%Y%m%dT%H%M}"


# -- the service -------------------------------------------------------------------------------------------------

class SubscriptionsService(Service):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._scheduler: NotifyScheduler | None = None

    @property
    def scheduler(self) -> NotifyScheduler:
        if self._scheduler is None:
            self._scheduler = NotifyScheduler(self.ctx.config)
        return self._scheduler

    @scheduler.setter
    def scheduler(self, value: NotifyScheduler) -> None:
        self._scheduler = value

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.ctx.clock(), UTC)

    def _machine_time(self, due: datetime) -> datetime:
        """``due`` (app time) on the machine's clock, which RQ's scheduler reads."""
        return due - timedelta(seconds=self.ctx.clock() - time.time())

    def _record(self, doc: dict[str, Any]) -> Record[SubscriptionData]:
        return Record.from_doc(SubscriptionData, doc)  # reads nx-27017's 0/1 booleans back (schemas.base)

    def find(self, uid: str) -> Record[SubscriptionData] | None:
        """Internal lookup without permission check (the scheduled job, the unsubscribe page)."""
        doc = self.db.get(COLLECTION, uid)
        return self._record(doc) if doc else None

    def _own(self, actor: Actor, uid: str, *, admin_may: bool = False) -> Record[SubscriptionData]:
        sub = self.find(uid)
        if sub is None:
            raise NotFound("This scheduled report no longer exists; it may have been deleted or unsubscribed.")
        if sub.data.owner != actor.uid and not (admin_may and actor.can("manage_app")) and not actor.is_system:
            raise PermissionDenied("This scheduled report belongs to another user.")
        return sub

    # -- reading -----------------------------------------------------------------------------------------------

    def list(self, actor: Actor, *, everyone: bool = False) -> list[Record[SubscriptionData]]:
        """The caller's subscriptions (``everyone``: all users', for admins), by owner then creation."""
        actor = self.authorize(actor, *(("manage_app",) if everyone else ("read_datasets", "manage_datasets")))
        query = {} if everyone else {"data.owner": actor.uid}
        return [self._record(d) for d in self.db.find(COLLECTION, query, sort=[("data.email", 1), ("createdAt", 1)])]

    def get(self, actor: Actor, uid: str) -> Record[SubscriptionData]:
        actor = self.authorize(actor, "read_datasets", "manage_datasets", "manage_app")
        return self._own(actor, uid, admin_may=True)

    # -- changing ----------------------------------------------------------------------------------------------

    def _checked(self, actor: Actor, data: dict[str, Any]) -> SubscriptionData:
        sub = parse(SubscriptionData, data)
        if not sub.allDatasets:
            sub.datasets = list(dict.fromkeys(sub.datasets))
            for uid in sub.datasets:
                try:
                    self.ctx.files.get(actor, uid)
                except NotFound:
                    raise ValidationError("data.datasets", "names a dataset that no longer exists: choose again "
                                                           "from the list") from None
        return sub

    @audited("subscriptions.create")
    def create(self, actor: Actor, **fields: Any) -> Record[SubscriptionData]:
        """Subscribe the caller (to their own e-mail address) and schedule the first run."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets")
        if self.db.count(COLLECTION, {"data.owner": actor.uid}) >= MAX_PER_USER:
            raise ValidationError("data", f"you already have {MAX_PER_USER} scheduled reports: delete one first")
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise ValidationError(f"data.{sorted(unknown)[0]}", "cannot be set on a scheduled report")
        fields.setdefault("timeZone", self.ctx.settings.general().timeZone)
        sub = self._checked(actor, {**fields, "owner": actor.uid, "email": actor.email, "version": 1})
        sub.nextRunAt = next_run(sub, self._now()) if sub.active else None
        record = self._record(self.db.insert(COLLECTION, dump(sub), by=actor.uid))
        self._schedule(record)
        return record

    @audited("subscriptions.update", method="patch")
    def update(self, actor: Actor, uid: str, **changes: Any) -> Record[SubscriptionData]:
        """Change the owner's own subscription; the run scheduled before the change becomes stale."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets")
        current = self._own(actor, uid)
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValidationError(f"data.{sorted(unknown)[0]}", "cannot be changed on a scheduled report")
        sub = self._checked(actor, {**dump(current.data), **changes, "version": current.data.version + 1})
        sub.nextRunAt = next_run(sub, self._now()) if sub.active else None
        doc = self.db.update(COLLECTION, uid, dump(sub), by=actor.uid)
        if doc is None:
            raise NotFound("This scheduled report was deleted meanwhile.")
        self._unschedule(current)
        record = self._record(doc)
        self._schedule(record)
        return record

    @audited("subscriptions.delete", method="delete")
    def delete(self, actor: Actor, uid: str) -> None:
        """Delete one's own subscription; admins (manage_app) may delete anyone's."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets", "manage_app")
        sub = self._own(actor, uid, admin_may=True)
        self.db.delete(COLLECTION, uid)
        self._unschedule(sub)

    def _schedule(self, sub: Record[SubscriptionData]) -> None:
        if sub.data.active and sub.data.nextRunAt is not None:
            due = sub.data.nextRunAt
            self.scheduler.at(job_id(sub.uid, sub.data.version, due), self._machine_time(due), sub.uid,
                              sub.data.version, due.astimezone(UTC).isoformat())

    def _unschedule(self, sub: Record[SubscriptionData]) -> None:
        """Best effort: a job left behind finds itself stale and does nothing."""
        if sub.data.nextRunAt is not None:
            try:
                self.scheduler.cancel(job_id(sub.uid, sub.data.version, sub.data.nextRunAt))
            except Exception:  # noqa: BLE001 - stale jobs are harmless
                log.warning("could not cancel the old run of subscription %s", sub.uid, exc_info=True)

    # -- unsubscribe (no sign-in: the token is the authority) --------------------------------------------------

    def _token_subscription(self, token: str) -> Record[SubscriptionData]:
        uid = token_uid(signing_key(self.ctx.config), token)
        sub = self.find(uid) if uid else None
        if sub is None:
            raise NotFound("This unsubscribe link is not valid, or its report was already deleted. Nothing was "
                           "changed; sign in to see your scheduled reports.")
        return sub

    def describe_token(self, token: str) -> dict[str, str]:
        """What the unsubscribe page shows before the button: the schedule and whether it is still on."""
        sub = self._token_subscription(token)
        return {"schedule": sub.data.describe_schedule(), "email": sub.data.email,
                "active": "yes" if sub.data.active else ""}

    def unsubscribe(self, token: str) -> Record[SubscriptionData]:
        """Switch off the subscription the token names (only that: the token allows nothing else)."""
        sub = self._token_subscription(token)
        if sub.data.active:
            doc = self.db.update(COLLECTION, sub.uid, {"active": False, "nextRunAt": None,
                                                       "version": sub.data.version + 1}, by=sub.data.owner)
            self._unschedule(sub)
            self.ctx.logs.record(None, "subscriptions.unsubscribe", f"subscriptions/{sub.uid}", "ok",
                                 details={"by": "unsubscribe link"})
            sub = self._record(doc) if doc else sub
        return sub

    def unsubscribe_url(self, uid: str) -> str:
        """The unsubscribe link of a subscription, under the app's public address."""
        base = self._public_url()
        return f"{base.rstrip('/')}/{UNSUBSCRIBE_PATH}?" + urlencode(
            {"token": unsubscribe_token(signing_key(self.ctx.config), uid)})

    def _public_url(self) -> str:
        """Settings › Delivery's public address (only that field is read), else the hub's own address."""
        return self.ctx.delivery._settings().publicUrl or self.ctx.config.hub_url

    # -- running -----------------------------------------------------------------------------------------------

    @audited("subscriptions.send_now")
    def send_now(self, actor: Actor, uid: str) -> str:
        """Send the report of one's own subscription now (its period as if it ran now); returns the job id."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets")
        sub = self._own(actor, uid)
        jid = f"subscription-{sub.uid}-now-{new_uid()[:12]}"
        self.scheduler.now(jid, sub.uid, 0, self._now().isoformat())
        return jid

    def preview(self, actor: Actor, uid: str = "", **fields: Any) -> str:
        """The e-mail (HTML) a run now would send: of a saved subscription, or of the form's values (``fields``)."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets")
        base = dump(self._own(actor, uid).data) if uid else {
            "owner": actor.uid, "email": actor.email, "timeZone": self.ctx.settings.general().timeZone}
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise ValidationError(f"data.{sorted(unknown)[0]}", "is not part of a scheduled report")
        sub = self._checked(actor, {**base, **fields})
        report = self._build(actor, sub, self._now())
        message = self._message(report, sub, uid or "preview")
        return inline_images(message)

    def _build(self, actor: Actor, sub: SubscriptionData, due: datetime):
        """The report a run at ``due`` sends, as ``actor`` (left-out datasets named in its notes)."""
        from dallosh.reports.content import build_report, resolve_datasets

        period = report_period(sub, due)
        notes: list[str] = []
        if sub.allDatasets:
            wanted = None
        else:
            wanted = []
            for uid in sub.datasets:
                try:
                    wanted.extend(d.uid for d in resolve_datasets(self.ctx, actor, [uid]))
                except (NotFound, PermissionDenied, ValidationError) as exc:
                    notes.append(f"A dataset of this report was left out: {exc}")
            if not wanted:
                raise NotFound("None of this report's datasets can be read any more (deleted, not analysed yet, or "
                               "no longer allowed): edit the report to choose others.")
        report = build_report(self.ctx, actor, period, datasets=wanted, filters=analytics_filters(sub.filters),
                              now=due, tz=sub.timeZone)  # its days are the subscriber's days
        return dataclasses.replace(report, notes=(*report.notes, *notes))

    def _message(self, report, sub: SubscriptionData, uid: str):
        from dallosh.reports.email import report_message

        every = "daily" if sub.frequency == "daily" else "weekly"
        app = self.ctx.settings.general().appName
        return report_message(
            report, [sub.email], subject=f"{app}: your {every} report — {report.period.label}",
            app_url=self._public_url(), unsubscribe_url=self.unsubscribe_url(uid),
            footer_note=f"You get this {every} report ({sub.describe_schedule()}) because you subscribed to it on "
                        f"the Reports page of {app}.")

    def run(self, actor: Actor, uid: str, version: int, due: datetime) -> str:
        """One run (the notify worker's job, as the system): ``version`` 0 is "send now". Returns the outcome."""
        if actor is None or not actor.is_system:
            raise PermissionDenied("Only the notify worker runs scheduled reports.")
        due = due if due.tzinfo else due.replace(tzinfo=UTC)
        sub = self.find(uid)
        if sub is None:
            return "stale: deleted"
        if version:
            following = next_run(sub.data, max(due, self._now()))
            claimed = self.db.find_one_and_update(
                COLLECTION, {"uid": uid, "data.active": True, "data.version": version, "data.nextRunAt": due},
                {"nextRunAt": following}, by="system")
            if claimed is None:
                return "stale: changed, switched off or already run"
            sub = self._record(claimed)
            self._schedule(sub)
        outcome = self._deliver(sub, due)
        self.db.update(COLLECTION, uid, {"lastSentAt": datetime.now(UTC) if outcome.startswith("ok") else
                                         sub.data.lastSentAt, "lastOutcome": outcome}, by="system")
        return outcome

    def _deliver(self, sub: Record[SubscriptionData], due: datetime) -> str:
        owner = self.ctx.users.actor(sub.data.owner)
        if owner is None:
            self.db.update(COLLECTION, sub.uid, {"active": False, "nextRunAt": None,
                                                 "version": sub.data.version + 1}, by="system")
            return "skipped: the account no longer exists or is disabled, so the report was switched off"
        try:
            report = self._build(owner, sub.data, due)
            message = self._message(report, sub.data, sub.uid)
            # Delivery is the system's to queue: the owner's rights were checked building the report as them.
            self.ctx.delivery.enqueue(SYSTEM, message, emails=[sub.data.email], webhooks=[], payload=None,
                                      origin={"subscription": sub.uid})
        except DalloshError as exc:
            return f"error: {exc}"
        except Exception:  # noqa: BLE001 - recorded for the owner in plain words; the traceback goes to the log
            log.exception("scheduled report %s failed", sub.uid)
            return "error: the report could not be made because of a problem on our side; it will be tried " \
                   "again at the next run"
        left_out = len([n for n in report.notes if n.startswith("A dataset of this report was left out")])
        return f"ok: {left_out} dataset(s) left out" if left_out else "ok"

    def reschedule_missing(self, actor: Actor) -> int:
        """Schedule again every active subscription whose next run has no job (worker start). Returns how many;
        a run missed while no worker was up is sent at once."""
        if actor is None or not actor.is_system:
            raise PermissionDenied("Only the notify worker reschedules reports.")
        count = 0
        for doc in self.db.find(COLLECTION, {"data.active": True}):
            sub = self._record(doc)
            if sub.data.nextRunAt is None:
                sub.data.nextRunAt = next_run(sub.data, self._now())
                self.db.update(COLLECTION, sub.uid, {"nextRunAt": sub.data.nextRunAt}, by="system")
            if not self.scheduler.waiting(job_id(sub.uid, sub.data.version, sub.data.nextRunAt)):
                self._schedule(sub)
                count += 1
        return count


def inline_images(message: Any) -> str:
    """The message's HTML with its ``cid:`` images as ``data:`` URIs, so a page can show it without a mail
    client."""
    import base64

    html = message.html
    for image in message.inline:
        html = html.replace(f'"cid:{image.cid}"', f'"data:image/png;base64,{base64.b64encode(image.png).decode()}"')
    return html


def run_scheduled(uid: str, version: int, due: str) -> str:
    """The RQ job: one run of subscription ``uid`` (``version`` 0: send now) due at ``due`` (ISO, UTC)."""
    from dallosh.services import get_services

    outcome = get_services().subscriptions.run(SYSTEM, uid, version, datetime.fromisoformat(due))
    log.info("subscription %s (version %s, due %s): %s", uid, version, due, outcome)
    return outcome
