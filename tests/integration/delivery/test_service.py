"""services.delivery against real receivers: settings masking, test sends, queued deliveries through a real
notify worker (retries with backoff), admins' list and retry, and the password kept out of everything."""

from __future__ import annotations

import pytest
from redis import Redis

from dallosh.delivery import Message, notify_queue, webhook_body
from dallosh.errors import PermissionDenied, ValidationError
from dallosh.services import SYSTEM
from tests.integration.delivery.conftest import SMTP_PASSWORD, SMTP_USER, wait_for

PDF = b"%PDF-1.4 tiny"


@pytest.fixture(autouse=True)
def _empty_notify_queue(config):
    yield
    queue = notify_queue(config)
    queue.empty()
    for registry in (queue.failed_job_registry, queue.finished_job_registry, queue.scheduled_job_registry):
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)


def _message(to: list[str]) -> Message:
    return Message("Morning report <Réseau>", to, "<p>Hello <b>team</b></p>", "Hello team",
                   [("report.pdf", PDF, "application/pdf")], [("chart1", b"\x89PNG fake")])


def test_password_is_masked_on_read_and_kept_when_sent_back(services, admin):
    shown = services.delivery.update(admin, smtpHost="smtp.example.com", smtpUser=SMTP_USER,
                                     smtpPassword=SMTP_PASSWORD, fromAddress="reports@example.com")
    assert shown.smtpPassword == "••••" + SMTP_PASSWORD[-4:]
    assert services.delivery.smtp_settings(admin).smtpPassword == shown.smtpPassword
    assert services.settings.get(admin).delivery.smtpPassword == shown.smtpPassword
    services.delivery.update(admin, smtpPassword=shown.smtpPassword, smtpPort=465, smtpSecurity="tls")
    assert services.delivery._settings().smtpPassword == SMTP_PASSWORD  # the masked value kept the stored one
    assert services.delivery._settings().smtpPort == 465
    services.delivery.update(admin, smtpPassword="another-one-123")  # positive control: a new one is stored
    assert services.delivery._settings().smtpPassword == "another-one-123"
    logs = str(services.db.find("logs", {"data.action": {"$regex": "^delivery"}}))
    assert "another-one-123" not in logs and SMTP_PASSWORD not in logs


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"smtpHost": "smtp://mail.example.com"}, "smtpHost", "without smtp://"),
    ({"smtpPort": 0}, "smtpPort", "between 1 and 65535"),
    ({"smtpHost": "mail.example.com", "fromAddress": ""}, "fromAddress", "address they come from"),
    ({"fromAddress": "Reports <r@example.com>"}, "fromAddress", "one e-mail address"),
    ({"smtpPassword": "pw-without-user", "smtpUser": ""}, "smtpUser", "account's name"),
    ({"publicUrl": "dallosh.example.com"}, "publicUrl", "starting with https://"),
    ({"smtpSecurity": "ssl"}, "smtpSecurity", "one of"),
    ({"colour": "red"}, "colour", "is not a setting"),
])
def test_invalid_settings_are_refused_with_what_to_give(services, admin, changes, field, words):
    with pytest.raises(ValidationError) as error:
        services.delivery.update(admin, **changes)
    assert error.value.field == f"delivery.{field}" and words in str(error.value)


def test_public_url_gets_its_trailing_slash(services, admin):
    assert services.delivery.update(admin, publicUrl="https://dallosh.example.com").publicUrl == \
        "https://dallosh.example.com/"


def test_test_email_through_a_plain_relay(services, admin, smtp_plain):
    services.delivery.update(admin, **smtp_plain.settings)
    result = services.delivery.send_test_email(admin, "ops@example.com")
    assert result["ok"], result
    (got,) = smtp_plain.inbox.wait(1)
    assert got.rcpt_tos == ["ops@example.com"] and got.mail_from == "reports@example.com"
    assert got.message["Subject"] == "Dallosh Analysis: test e-mail"
    html = got.message.get_body(("html",)).get_content()
    assert "admin@free.com" in html and "Delivery settings" in got.message.get_body(("plain",)).get_content()


def test_test_email_with_starttls_and_login(services, admin, smtp_starttls):
    services.delivery.update(admin, **smtp_starttls.settings)
    assert services.delivery.send_test_email(admin, "ops@example.com")["ok"]
    smtp_starttls.inbox.wait(1)
    assert smtp_starttls.inbox.logins == [SMTP_USER]
    services.delivery.update(admin, smtpPassword="wrong-password")
    result = services.delivery.send_test_email(admin, "ops@example.com")
    assert not result["ok"] and "refused the user name or password" in result["message"]
    assert "wrong-password" not in result["message"] and "localhost" not in result["message"]


def test_untrusted_certificate_is_explained(services, admin, smtp_starttls, monkeypatch):
    services.delivery.update(admin, **smtp_starttls.settings)
    monkeypatch.delenv("SSL_CERT_FILE")
    result = services.delivery.send_test_email(admin, "ops@example.com")
    assert not result["ok"] and "certificate is not trusted" in result["message"]
    assert smtp_starttls.inbox.items == []


def test_starttls_server_refuses_login_in_clear(services, admin, smtp_starttls):
    """Security 'none' against a server that requires STARTTLS: the login is refused, nothing is sent."""
    services.delivery.update(admin, **{**smtp_starttls.settings, "smtpSecurity": "none"})
    result = services.delivery.send_test_email(admin, "ops@example.com")
    assert not result["ok"] and smtp_starttls.inbox.items == []


def test_test_webhook(services, admin, hook):
    result = services.delivery.test_webhook(admin, hook.url)
    assert result["ok"] and "HTTP 200" in result["message"]
    (body,) = hook.wait(1)
    assert body["@type"] == "MessageCard" and body["text"] and body["dallosh"]["data"] == {"kind": "test"}
    hook.fail_times, hook.fail_status = 10, 404
    result = services.delivery.test_webhook(admin, hook.url)
    assert not result["ok"] and "404" in result["message"] and "deleted" in result["message"]
    with pytest.raises(ValidationError):
        services.delivery.test_webhook(admin, "file:///etc/passwd")


def test_analysts_cannot_read_or_send(services, analyst, admin, hook):
    for call in (lambda a: services.delivery.smtp_settings(a), lambda a: services.delivery.list(a),
                 lambda a: services.delivery.test_webhook(a, hook.url),
                 lambda a: services.delivery.update(a, smtpPort=2525)):
        with pytest.raises(PermissionDenied):
            call(analyst)
        call(admin)  # positive control
    assert len(hook.bodies) == 1  # only the admin's test reached the webhook


def test_enqueue_needs_email_set_up(services, admin):
    with pytest.raises(ValidationError, match="not set up"):
        services.delivery.enqueue(admin, _message(["a@example.com"]), emails=["a@example.com"], webhooks=[],
                                  payload=None, origin={"test": "x"})
    with pytest.raises(ValidationError, match="not an e-mail address"):
        services.delivery.enqueue(admin, None, emails=["a@example.com\nBcc: x@y.z"], webhooks=[], payload=None,
                                  origin={})


def test_deliveries_reach_everyone_and_a_flaky_webhook_is_retried(services, admin, smtp_starttls, hook,
                                                                 notify_workers, config):
    services.delivery.update(admin, **smtp_starttls.settings)
    hook.fail_times = 2  # 503, 503, then 200: the third attempt succeeds
    payload = webhook_body("Negative spike <Réseau>", "42 negative tweets", facts={"Dataset": "oct.csv"})
    uids = services.delivery.enqueue(admin, _message(["a@example.com"]), emails=["a@example.com", "b@example.com"],
                                     webhooks=[hook.url], payload=payload, origin={"alert": "A1"})
    assert len(uids) == 3
    notify_workers.start()
    mails = smtp_starttls.inbox.wait(2)
    assert sorted(m.rcpt_tos[0] for m in mails) == ["a@example.com", "b@example.com"]
    assert all(len(m.rcpt_tos) == 1 for m in mails)  # one e-mail each: recipients do not see each other
    attachment = next(mails[0].message.iter_attachments())
    assert attachment.get_filename() == "report.pdf" and attachment.get_content() == PDF
    hook.wait(3, timeout=60)
    records = {u: services.db.get("deliveries", u)["data"] for u in uids}
    wait_for(lambda: all(services.db.get("deliveries", u)["data"]["status"] == "sent" for u in uids), 30,
             "every delivery sent")
    records = {u: services.db.get("deliveries", u)["data"] for u in uids}
    webhook = next(r for r in records.values() if r["kind"] == "webhook")
    assert webhook["attempts"] == 3 and webhook["lastError"] == "" and webhook["origin"] == {"alert": "A1"}
    assert webhook["subject"] == "Negative spike <Réseau>"  # as typed: pages escape it when they show it
    assert hook.answers == [503, 503, 200] and hook.bodies[0] == hook.bodies[2] == payload
    assert all(r["attempts"] == 1 for r in records.values() if r["kind"] == "email")
    page = services.delivery.list(admin)
    assert page.extra["counts"]["sent"] == 3 and page.total == 3
    shown = next(r for r in page.items if r.data.kind == "webhook")
    assert "abcdefXYZ"[-4:] in shown.data.target and "T000" not in shown.data.target  # masked address
    _assert_password_nowhere(services, config, notify_workers.logs())


def test_failed_delivery_is_listed_first_and_an_admin_retries_it(services, admin, smtp_plain, hook,
                                                                 notify_workers):
    services.delivery.update(admin, **smtp_plain.settings)
    hook.fail_times, hook.fail_status = 100, 500
    notify_workers.start()
    (ok,) = services.delivery.enqueue(admin, _message(["a@example.com"]), emails=["a@example.com"], webhooks=[],
                                      payload=None, origin={"subscription": "S1"})
    (bad,) = services.delivery.enqueue(SYSTEM, None, emails=[], webhooks=[hook.url],
                                       payload=webhook_body("T", "x"), origin={"alert": "A2"})
    seen = wait_for(lambda: services.db.get("deliveries", bad)["data"]["status"] == "retrying", 30, "a retry")
    assert seen
    wait_for(lambda: services.db.get("deliveries", bad)["data"]["status"] == "failed", 60, "the final failure")
    failed = services.db.get("deliveries", bad)["data"]
    assert failed["attempts"] == 3 and "answered 500" in failed["lastError"]  # 1 try + 2 retries (1 s, 2 s)
    wait_for(lambda: services.db.get("deliveries", ok)["data"]["status"] == "sent", 30, "the e-mail sent")
    page = services.delivery.list(admin)
    assert [r.uid for r in page.items] == [bad, ok] and page.extra["counts"]["failed"] == 1
    with pytest.raises(ValidationError, match="only a failed delivery"):
        services.delivery.retry(admin, ok)
    hook.fail_times = 0
    hook.answers.clear()
    services.delivery.retry(admin, bad)
    wait_for(lambda: services.db.get("deliveries", bad)["data"]["status"] == "sent", 30, "the retried post")
    assert services.db.get("deliveries", bad)["data"]["attempts"] == 4


def test_a_wrong_password_fails_at_once_without_retrying(services, admin, smtp_starttls, notify_workers):
    services.delivery.update(admin, **{**smtp_starttls.settings, "smtpPassword": "not-the-password"})
    (uid,) = services.delivery.enqueue(admin, _message(["a@example.com"]), emails=["a@example.com"], webhooks=[],
                                       payload=None, origin={"test": "x"})
    notify_workers.start()
    wait_for(lambda: services.db.get("deliveries", uid)["data"]["status"] == "failed", 30, "the failure")
    data = services.db.get("deliveries", uid)["data"]
    assert data["attempts"] == 1 and "user name or password" in data["lastError"]


def _assert_password_nowhere(services, config, worker_logs: str) -> None:
    """The SMTP password is in no delivery record, log entry, worker log or Redis value of the notify queue."""
    assert SMTP_PASSWORD not in str(services.db.find("deliveries", {}))
    assert SMTP_PASSWORD not in str(services.db.find("logs", {}))
    assert worker_logs and SMTP_PASSWORD not in worker_logs
    redis = Redis.from_url(config.redis_url)
    for key in redis.scan_iter(f"*{config.notify_queue_name}*"):
        assert SMTP_PASSWORD.encode() not in redis.dump(key)
    for key in redis.scan_iter("rq:job:delivery-*"):
        assert SMTP_PASSWORD.encode() not in (redis.dump(key) or b"")
