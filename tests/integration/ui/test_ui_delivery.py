"""Settings › Delivery: the SMTP form (password masked, never in the page's widgets), validation under the field,
the test e-mail and webhook against real receivers, and the recent deliveries with Retry for the failed ones."""

from __future__ import annotations

import pytest

from dallosh.delivery import notify_queue
from dallosh.services import SYSTEM
from dallosh.ui.components import is_visible
from dallosh.ui.settings import SettingsView
from tests.integration.delivery.conftest import (  # noqa: F401 - fixtures used by name
    SMTP_PASSWORD,
    config,
    hook,
    smtp_plain,
    smtp_starttls,
)
from tests.integration.ui.test_ui_settings import widget_texts


@pytest.fixture
def view(ctx, admin, config) -> SettingsView:  # noqa: F811 - the delivery tests' config: a notify queue of its own
    settings = SettingsView(ctx(admin))
    settings.on_show()
    yield settings
    queue = notify_queue(config)
    queue.empty()


def fill(view: SettingsView, **values) -> None:
    for name, value in values.items():
        view.delivery.form[name].value = value


def test_the_password_is_saved_then_only_ever_shown_masked(services, view, smtp_starttls):  # noqa: F811
    fill(view, **smtp_starttls.settings)
    view.delivery.save()
    assert view.alert.kind == "success", view.alert.message
    assert services.delivery._settings().smtpPassword == SMTP_PASSWORD
    assert view.delivery.form["smtpPassword"].value == "••••" + SMTP_PASSWORD[-4:]
    assert not any(SMTP_PASSWORD in text for text in widget_texts(view.root))
    view.delivery.form["smtpPort"].value = 2587
    view.delivery.save()  # the masked value goes back: the stored password stays
    assert services.delivery._settings().smtpPassword == SMTP_PASSWORD
    assert services.delivery._settings().smtpPort == 2587
    fresh = SettingsView(view.ctx)
    fresh.on_show()
    assert fresh.delivery.form["smtpPassword"].value.startswith("••••")
    assert "Saved password" in fresh.delivery.form.hints["smtpPassword"].value


def test_a_bad_value_is_shown_under_its_field(services, view):
    fill(view, smtpHost="smtp://mail.example.com", fromAddress="reports@example.com")
    view.delivery.save()
    assert view.alert.kind == "error" and "Mail server" in view.alert.message
    assert is_visible(view.delivery.form.errors["smtpHost"])
    assert services.delivery._settings().smtpHost == ""  # nothing saved
    fill(view, smtpHost="mail.example.com")  # positive control
    view.delivery.save()
    assert view.alert.kind == "success" and not is_visible(view.delivery.form.errors["smtpHost"])


def test_send_a_test_email_and_test_a_webhook(services, view, smtp_plain, hook):  # noqa: F811
    fill(view, **smtp_plain.settings)
    view.delivery.save()
    assert view.delivery.test_to.value == "admin@free.com"  # prefilled with the admin's own address
    view.delivery.send_test()
    (got,) = smtp_plain.inbox.wait(1)
    assert got.rcpt_tos == ["admin@free.com"]
    assert "Sent." in view.delivery.test_result.value and is_visible(view.delivery.test_result)
    assert view.delivery.test_button.description == "Send a test e-mail" and not view.delivery.test_button.disabled
    view.delivery.hook_url.value = hook.url
    view.delivery.test_hook()
    assert len(hook.wait(1)) == 1 and "Sent." in view.delivery.hook_result.value
    hook.fail_times, hook.fail_status = 5, 410
    view.delivery.test_hook()
    assert "Failed." in view.delivery.hook_result.value and "410" in view.delivery.hook_result.value
    assert "dl-check-err" in view.delivery.hook_result._dom_classes


def test_recent_deliveries_show_failures_first_with_retry(services, view, admin):
    for target, status, error in (("ok@example.com", "sent", ""),
                                  ("bad@example.com", "failed", "The mail server refused the recipient <x>.")):
        services.db.insert("deliveries", {"kind": "email", "target": target, "subject": "Daily <report>",
                                          "status": status, "attempts": 3 if error else 1, "lastError": error,
                                          "origin": {"subscription": "S1"}, "message": "", "payload": {},
                                          "jobId": ""}, by=SYSTEM.uid)
    view.delivery.refresh_list()
    rows = [r for r in view.delivery._rows if r.root in view.delivery.rows_box.children]
    assert [r.info.value.count("bad@example.com") for r in rows] == [1, 0]  # the failure first
    assert "&lt;x&gt;" in rows[0].info.value and "Daily &lt;report&gt;" in rows[0].info.value
    assert is_visible(rows[0].retry_button) and not is_visible(rows[1].retry_button)
    assert "1 failed" in view.delivery.summary.value
    failed_uid = rows[0].uid
    rows[0].retry_button.click()
    assert view.alert.kind == "success"
    assert services.db.get("deliveries", failed_uid)["data"]["status"] == "queued"
    assert "0 failed" in view.delivery.summary.value and "1 queued" in view.delivery.summary.value


def test_analysts_do_not_get_the_delivery_settings(services, ctx, analyst):
    settings = SettingsView(ctx(analyst))
    settings.on_show()
    assert settings.alert.kind == "error"
    assert settings.delivery.form["smtpHost"].value == ""
