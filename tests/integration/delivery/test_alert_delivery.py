"""An alert through a real SMTP server, a real webhook endpoint and a real notify worker: the e-mail (HTML and text)
and the Slack/Teams body say what fired and why, link to Analysis on that day, and keep hostile text as text."""

from __future__ import annotations

from urllib.parse import urlsplit

from dallosh.services import SYSTEM
from dallosh.storage import ANALYSED
from dallosh.ui.analysis.state import from_fragment
from tests.alerts_data import HOSTILE, write_analysed
from tests.factories import make_csv
from tests.integration.delivery.conftest import wait_for

PUBLIC = "https://dallosh.example.com/"


def test_an_alert_arrives_by_email_and_webhook(services, admin, smtp_plain, hook, notify_workers):
    services.delivery.update(admin, **smtp_plain.settings, publicUrl=PUBLIC)
    file, task = services.files.add(admin, "octobre.csv", make_csv(3))
    write_analysed(services.storage.path(ANALYSED, file.uid))
    services.alerts.create_rule(admin, {"name": f"Panne {HOSTILE}", "metric": "negative_volume",
                                        "emails": ["ops@example.com", "noc@example.com"], "webhooks": [hook.url]})
    (firing,) = services.alerts.evaluate_after_task(SYSTEM, task)
    assert (firing.data.emails_sent, firing.data.webhooks_sent, len(firing.data.delivery_ids)) == (2, 1, 3)
    assert firing.data.delivery_error == ""
    notify_workers.start()

    received = smtp_plain.inbox.wait(2)
    assert sorted(r.rcpt_tos[0] for r in received) == ["noc@example.com", "ops@example.com"]
    mail = received[0].message
    assert mail["Subject"] == f"Panne {HOSTILE}: negative tweets above the threshold on 2025-10-10"
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    for part in (html, text):
        assert "34 negative tweets against a threshold of 8." in part and "octobre.csv" in part
        assert "panne" in part and "100 %" in part
    link = next(w for w in text.split() if w.startswith(f"{PUBLIC}hub/user-redirect/voila/render/home/analysis"))
    state, ignored = from_fragment(urlsplit(link).fragment, "Europe/Paris")
    assert ignored == 0 and state.datasets == (file.uid,) and str(state.date_from) == "2025-10-10"
    assert state.sentiment == "negative"

    (body,) = hook.wait(1)
    assert body["title"].startswith("Panne &lt;img") and "34 negative tweets" in body["text"]
    assert body["dallosh"]["data"]["period"] == "2025-10-10" and body["potentialAction"][0]["targets"][0][
        "uri"].startswith(f"{PUBLIC}hub/user-redirect/")
    wait_for(lambda: all(services.db.get("deliveries", u)["data"]["status"] == "sent"
                         for u in firing.data.delivery_ids), what="every delivery marked sent")
