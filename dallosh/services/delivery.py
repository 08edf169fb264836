"""E-mail and webhook delivery: the SMTP settings, test sends, and the queued deliveries with their retries.

Only admins (``manage_app``) read or change the settings and see the deliveries. The SMTP password is stored for
the notify worker only: every read for display masks it like the API keys (``mask_key``), a masked value sent
back keeps the stored one, and it never reaches a record, a log, an event or an RQ job (jobs carry a delivery's
uid, nothing else). A webhook's address is a secret too (whoever has it can post to the channel): lists show it
masked.

``enqueue`` stores one record per recipient (an address or a webhook) in ``deliveries`` and queues one RQ job per
record on the notify queue with ``Retry(max, interval)`` from ``DALLOSH_NOTIFY_RETRY_S``; an e-mail's body and
attachments are kept under the storage root so that every attempt sends the same message.
"""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from rq import Retry

from dallosh.db import new_uid, utcnow
from dallosh.delivery import JOB_FUNCTION, notify_queue
from dallosh.delivery.message import FOLDER, Message
from dallosh.delivery.smtp import SMTPError, send_email
from dallosh.delivery.webhook import WebhookError, check_url, mask_url, post_webhook, webhook_body
from dallosh.errors import NotFound, PermissionDenied, ValidationError
from dallosh.schemas import dump, parse
from dallosh.schemas.base import Record
from dallosh.schemas.deliveries import DeliveryData
from dallosh.schemas.settings import DeliverySettings, is_email_address
from dallosh.services.base import Actor, Page, Service, audited
from dallosh.services.settings import COLLECTION as SETTINGS
from dallosh.services.settings import SETTINGS_UID, is_masked, mask_key

COLLECTION = "deliveries"
#: Seconds an RQ delivery job may run (one SMTP conversation or one POST, with their own timeouts inside).
JOB_TIMEOUT_S = 180
#: How long RQ keeps a finished job's result and a failed job (the record keeps the outcome for good).
RESULT_TTL_S, FAILURE_TTL_S = 86400, 7 * 86400
#: A webhook post's timeout, seconds.
WEBHOOK_TIMEOUT_S = 10.0
#: A stored message without any record is removed only after this many seconds (its batch may be being queued).
STORED_GRACE_S = 3600
#: Statuses listed first: what needs an admin's eye.
PROBLEMS = ("failed", "retrying")


def _scrub(text: str, secret: str) -> str:
    """``text`` with any echo of ``secret`` masked (defence in depth: the messages are the app's own words)."""
    return text.replace(secret, "••••") if secret and len(secret) >= 3 else text


class DeliveryService(Service):
    _queue: Any = None

    # -- settings --------------------------------------------------------------------------------------------

    def _settings(self) -> DeliverySettings:
        """The delivery settings with the password in clear (for sending only)."""
        return self.ctx.settings._data().delivery

    def smtp_settings(self, actor: Actor) -> DeliverySettings:
        """The delivery settings with the password masked (the Delivery tab)."""
        self.authorize(actor, "manage_app")
        settings = self._settings()
        settings.smtpPassword = mask_key(settings.smtpPassword)
        return settings

    @audited("delivery.update", method="patch", target=lambda a, k, r: "settings/delivery")
    def update(self, actor: Actor, **changes: Any) -> DeliverySettings:
        """Change delivery settings; a masked password (as the form shows it) keeps the stored one."""
        self.authorize(actor, "manage_app")
        current = dump(self._settings())
        unknown = set(changes) - set(current)
        if unknown:
            raise ValidationError(f"delivery.{sorted(unknown)[0]}", "is not a setting")
        if is_masked(str(changes.get("smtpPassword", ""))):
            changes.pop("smtpPassword")
        settings = parse(DeliverySettings, {**current, **changes}, "delivery")
        self.db.update(SETTINGS, SETTINGS_UID, {"delivery": dump(settings)}, by=actor.uid)
        settings.smtpPassword = mask_key(settings.smtpPassword)
        return settings

    # -- tests from the settings page --------------------------------------------------------------------------

    def send_test_email(self, actor: Actor, to: str) -> dict[str, Any]:
        """Send a short e-mail now with the saved settings; returns ``{ok, message}`` in plain words."""
        actor = self.authorize(actor, "manage_app")
        to = str(to).strip()
        if not is_email_address(to):
            raise ValidationError("to", "must be one e-mail address such as name@example.com")
        app = self.ctx.settings.general().appName
        message = self._test_message(app, to, actor.email)
        settings = self._settings()
        try:
            send_email(settings, message)
            result = {"ok": True, "message": f"A test e-mail was sent to {to}. If it does not arrive within a few "
                                             "minutes, look in its spam folder."}
        except SMTPError as exc:
            result = {"ok": False, "message": _scrub(str(exc), settings.smtpPassword)}
        self.ctx.logs.record(actor, "delivery.test_email", "settings/delivery",
                             "ok" if result["ok"] else f"error: {result['message']}")
        return result

    @staticmethod
    def _test_message(app: str, to: str, by: str) -> Message:
        from dallosh.delivery.templates import render

        html, text = render("test_email", app=app, by=by)
        return Message(f"{app}: test e-mail", [to], html, text)

    def test_webhook(self, actor: Actor, url: str) -> dict[str, Any]:
        """Post a short test message to ``url`` now; returns ``{ok, message}`` in plain words."""
        actor = self.authorize(actor, "manage_app")
        url = check_url(url, "url")
        app = self.ctx.settings.general().appName
        body = webhook_body(f"{app}: test message", f"Sent by {actor.email} from the Delivery settings: "
                                                   "this channel will receive alerts and reports.",
                            data={"kind": "test"})
        try:
            status = post_webhook(url, body, timeout=WEBHOOK_TIMEOUT_S)
            result = {"ok": True, "message": f"The webhook accepted the test message (HTTP {status})."}
        except WebhookError as exc:
            result = {"ok": False, "message": str(exc)}
        self.ctx.logs.record(actor, "delivery.test_webhook", f"webhook {mask_url(url)}",
                             "ok" if result["ok"] else f"error: {result['message']}")
        return result

    # -- queued deliveries -------------------------------------------------------------------------------------

    def _notify(self):
        """The notify queue (built once per service)."""
        if self._queue is None:
            self._queue = notify_queue(self.ctx.config)
        return self._queue

    def enqueue(self, actor: Actor, message: Message | None, *, emails: list[str], webhooks: list[str],
                payload: dict[str, Any] | None, origin: dict[str, Any]) -> list[str]:
        """Queue ``message`` to each of ``emails`` (one e-mail each) and ``payload`` (a JSON body, see
        ``dallosh.delivery.webhook_body``) to each of ``webhooks``; returns the deliveries' uids.

        Admins and the system actor only: features acting for a user (alerts, subscriptions) check their own rules
        and then call this as the system. ``origin`` names what asked (``{"alert": uid}``...).
        """
        actor = self.authorize(actor, "manage_app")
        emails = list(dict.fromkeys(str(e).strip() for e in emails if str(e).strip()))
        webhooks = list(dict.fromkeys(check_url(w, "webhooks") for w in webhooks if str(w).strip()))
        bad = [e for e in emails if not is_email_address(e)]
        if bad:
            raise ValidationError("emails", f"{bad[0]!r} is not an e-mail address such as name@example.com")
        if emails and message is None:
            raise ValidationError("message", "is needed to send e-mails")
        if webhooks and not payload:
            raise ValidationError("payload", "is needed to post to webhooks")
        if emails:
            settings = self._settings()
            if not settings.smtpHost or not settings.fromAddress:
                raise ValidationError("emails", "cannot be sent: e-mail is not set up yet. An administrator "
                                                "fills in Settings › Delivery first.")
        stored = ""
        if emails and message is not None:
            batch = new_uid()
            folder = self.ctx.storage.root / FOLDER / batch
            (self.ctx.storage.root / FOLDER).mkdir(mode=0o700, exist_ok=True)
            message.save(folder)
            stored = f"{FOLDER}/{batch}"
        records = [DeliveryData("email", e, message.subject if message else "", origin=dict(origin),
                                message=stored) for e in emails]
        body = payload or {}
        plain = body.get("dallosh") if isinstance(body.get("dallosh"), dict) else {}
        title = str(plain.get("title") or body.get("title") or body.get("summary") or "")  # unescaped when known
        records += [DeliveryData("webhook", w, title, origin=dict(origin), payload=dict(payload or {}))
                    for w in webhooks]
        uids = []
        for data in records:
            doc = self.db.insert(COLLECTION, dump(data), by=actor.uid)
            uids.append(doc["uid"])
            self._submit(actor, doc["uid"], 0)
        self.ctx.logs.record(actor, "delivery.enqueue", f"deliveries/{uids[0]}" if uids else "deliveries", "ok",
                             details={"emails": len(emails), "webhooks": len(webhooks), "origin": dict(origin)})
        return uids

    def _submit(self, actor: Actor, uid: str, attempts: int) -> None:
        delays = self.ctx.config.notify_retry_delays
        try:
            job = self._notify().enqueue_call(
                JOB_FUNCTION, args=(uid,), timeout=JOB_TIMEOUT_S, result_ttl=RESULT_TTL_S,
                failure_ttl=FAILURE_TTL_S, retry=Retry(max=len(delays), interval=delays),
                description=f"delivery {uid}", job_id=f"delivery-{uid}-{attempts}-{new_uid()[:6]}")
        except RedisError:
            self.db.update(COLLECTION, uid, {"status": "failed", "lastError": (
                "The app's message queue could not be reached, so nothing was sent. Retry once the app's services "
                "are running again.")}, by=actor.uid)
            return
        self.db.update(COLLECTION, uid, {"jobId": job.id}, by=actor.uid)

    def attempt(self, actor: Actor, uid: str, *, final: bool) -> dict[str, Any]:
        """One attempt of delivery ``uid`` (the notify worker's job); returns its data after the attempt.

        A failure leaves it ``retrying`` when another attempt will come (``final`` False and the problem may
        pass), else ``failed``.
        """
        if actor is None or not actor.is_system:
            raise PermissionDenied("Only the notify worker sends deliveries.")
        doc = self.db.get(COLLECTION, uid)
        if doc is None:
            raise NotFound(f"No delivery with id {uid}.")
        data = parse(DeliveryData, doc["data"], "delivery")
        if data.status == "sent":
            return dump(data)
        settings = self._settings()
        error, permanent = "", False
        try:
            if data.kind == "email":
                message = Message.load(self.ctx.storage.resolve(data.message)).addressed([data.target])
                send_email(settings, message)
            else:
                post_webhook(data.target, data.payload, timeout=WEBHOOK_TIMEOUT_S)
        except SMTPError as exc:
            error, permanent = str(exc), exc.permanent
        except WebhookError as exc:
            error = str(exc)
        except (OSError, ValueError):
            error, permanent = "The stored message could not be read (its files were removed); nothing was sent.", True
        now = utcnow()
        changes: dict[str, Any] = {"attempts": data.attempts + 1, "lastAttemptAt": now}
        if not error:
            changes.update(status="sent", sentAt=now, lastError="")
        else:
            changes.update(status="failed" if final or permanent else "retrying",
                           lastError=_scrub(error, settings.smtpPassword))
        updated = self.db.update(COLLECTION, uid, changes, by=actor.uid) or doc
        return updated["data"]

    def list(self, actor: Actor, *, status: str | None = None, skip: int = 0,
             limit: int = 50) -> Page[Record[DeliveryData]]:
        """Deliveries for admins: failed ones first, then retrying ones, then the others, newest first in each; webhook
        addresses masked. ``extra["counts"]`` gives the number per status."""
        self.authorize(actor, "manage_app")
        groups = [{"data.status": status}] if status else [
            *({"data.status": p} for p in PROBLEMS), {"data.status": {"$nin": list(PROBLEMS)}}]
        items: list[Record[DeliveryData]] = []
        total, offset = 0, skip
        for query in groups:
            count = self.db.count(COLLECTION, query)
            total += count
            if offset >= count:
                offset -= count
                continue
            want = limit - len(items) if limit else 0
            if limit and want <= 0:
                continue
            docs = self.db.find(COLLECTION, query, sort=[("updatedAt", -1)], skip=offset, limit=want)
            offset = 0
            items += [self._shown(d) for d in docs]
        counts = {s: self.db.count(COLLECTION, {"data.status": s}) for s in ("queued", "retrying", "sent", "failed")}
        return Page(items, total, skip, limit, extra={"counts": counts})

    def statuses(self, actor: Actor, uids: list[str]) -> dict[str, tuple[str, str]]:
        """What became of the deliveries ``uids``: uid → (kind, status); nothing else of them (no address, no
        error). For a feature showing its own deliveries to people who may not manage them: it checks its own
        rules, then asks as the system. A uid missing from the answer was sent and purged (``purge``)."""
        self.authorize(actor, "manage_app")
        if not uids:
            return {}
        docs = self.db.find(COLLECTION, {"uid": {"$in": list(uids)}}, projection=["uid", "data.kind", "data.status"])
        return {d["uid"]: (d["data"]["kind"], d["data"]["status"]) for d in docs}

    @staticmethod
    def _shown(doc: dict[str, Any]) -> Record[DeliveryData]:
        data = parse(DeliveryData, doc["data"], "delivery")
        if data.kind == "webhook":
            data.target = mask_url(data.target)
        return Record(doc["uid"], data, doc.get("createdAt"), doc.get("createdBy"), doc.get("updatedAt"),
                      doc.get("updatedBy"))

    @audited("delivery.retry", target=lambda a, k, r: f"deliveries/{a[0]}")
    def retry(self, actor: Actor, uid: str) -> Record[DeliveryData]:
        """Queue a failed delivery again (with a fresh set of retries)."""
        actor = self.authorize(actor, "manage_app")
        doc = self.db.find_one_and_update(COLLECTION, {"uid": uid, "data.status": "failed"},
                                          {"status": "queued"}, by=actor.uid)
        if doc is None:
            if self.db.get(COLLECTION, uid) is None:
                raise NotFound("This delivery no longer exists.")
            raise ValidationError("status", "only a failed delivery can be retried (this one is still on its way "
                                            "or was sent)")
        self._submit(actor, uid, int(doc["data"].get("attempts", 0)))
        return self._shown(self.db.get(COLLECTION, uid) or doc)

    def purge(self, actor: Actor, older_than: timedelta = timedelta(days=30)) -> int:
        """Delete sent deliveries older than ``older_than`` and the stored messages no record uses any more."""
        if actor is None or not actor.is_system:
            raise PermissionDenied("Only the app's maintenance purges deliveries.")
        removed = self.db.delete_many(COLLECTION, {"data.status": "sent",
                                                   "updatedAt": {"$lt": utcnow() - older_than}})
        used = {d["data"].get("message") for d in self.db.find(COLLECTION, {"data.kind": "email"},
                                                              projection=["data.message"])}
        root = self.ctx.storage.root / FOLDER
        settled = time.time() - STORED_GRACE_S  # a batch being enqueued has its folder before its records
        for folder in root.iterdir() if root.is_dir() else ():
            if f"{FOLDER}/{folder.name}" not in used and folder.stat().st_mtime < settled:
                shutil.rmtree(folder, ignore_errors=True)
        return removed
