"""The "Alert rules" tab of Settings, the Alerts page and the alert toast, on the real services (handler level; the
pages in a browser are in ``test_ui_alerts_voila.py``)."""

from __future__ import annotations

import pytest

from dallosh.services import SYSTEM
from dallosh.storage import ANALYSED
from dallosh.ui.alerts import AlertsView
from dallosh.ui.components import is_visible
from dallosh.ui.notifications import Notifications
from dallosh.ui.settings import SettingsView
from tests.alerts_data import HOSTILE, write_analysed
from tests.factories import make_csv

SLACK = "https://hooks.slack.com/services/T000/B000/abcdefghijklmnop"


def settings_for(ctx, actor) -> SettingsView:
    view = SettingsView(ctx(actor))
    view.on_show(tab="alerts")
    return view


@pytest.fixture
def fired(services, admin):
    """A dataset with a spike on 2025-10-10, a negative-volume rule, and its firing."""
    file, task = services.files.add(admin, "octobre.csv", make_csv(3))
    write_analysed(services.storage.path(ANALYSED, file.uid))
    rule = services.alerts.create_rule(admin, {"name": f"Panne {HOSTILE}", "metric": "negative_volume",
                                               "emails": ["noc@example.com"]})  # e-mail is not set up here
    (firing,) = services.alerts.evaluate_after_task(SYSTEM, task)
    return file, rule, firing


def test_the_rules_tab_creates_edits_and_deletes_a_rule(services, admin, ctx):
    view = settings_for(ctx, admin)
    panel = view.alert_rules
    assert view.tabs.current == "alerts" and is_visible(panel.empty)
    panel.open_create()
    form = panel.form
    assert not is_visible(form.rows["topic"]) and not is_visible(form.rows["value"])
    form["metric"].value = "topic_volume"
    form["threshold"].value = "fixed"
    assert is_visible(form.rows["topic"]) and is_visible(form.rows["value"]) and not is_visible(form.rows["k"])
    assert "one run of episodes" in form.hints["scope"].value  # the help declared in the schema
    panel.save()  # no name yet
    assert "1 to 80 characters" in form.errors["name"].value and view.alert.kind == "error"
    assert "Name:" in view.alert.message
    form["name"].value = HOSTILE
    form["topic"].value = "Réseau"
    form["value"].value = 40
    form["emails"].value = "ops@example.com\nnot-an-address"
    panel.save()
    assert "not an e-mail address" in form.errors["emails"].value
    form["emails"].value = "ops@example.com"
    form["webhooks"].value = SLACK
    panel.save()
    assert view.alert.kind == "success", view.alert.message
    (rule,) = services.alerts.list_rules(admin)
    assert rule.data.topic == "Réseau" and rule.data.value == 40 and rule.data.emails == ["ops@example.com"]
    row = panel._rows[0].info.value
    assert HOSTILE not in row and "&lt;img src=x onerror=alert(1)&gt;" in row  # a name is text, never markup
    assert "Tweets about a topic · Réseau" in row and "above 40 per day" in row and "1 webhook(s)" in row
    assert SLACK not in str(panel.form["webhooks"].value)  # the typed address left the page's state

    panel.open_edit(rule.uid)
    assert form["webhooks"].value != SLACK and "••••" in form["webhooks"].value  # shown masked
    form["name"].value = "Réseau > 40"
    panel.save()
    assert view.alert.kind == "success"
    assert services.db.get("alert_rules", rule.uid)["data"]["webhooks"] == [SLACK]  # the masked value kept it

    panel.ask_delete(rule.uid)
    assert panel.table.is_open(panel.confirm_panel)
    panel.confirm.confirm()
    assert services.alerts.list_rules(admin) == [] and is_visible(panel.empty)


def test_the_alerts_page_lists_firings_with_their_explanation(services, admin, analyst, ctx, fired):
    file, rule, firing = fired
    view = AlertsView(ctx(analyst))
    view.on_show()
    assert not is_visible(view.empty) and len(view.cards.children) == 1
    html = view._cards[0].html.value
    assert "negative tweets above the threshold on 2025-10-10" in html
    assert "34 negative tweets against a threshold of 8." in html and "octobre.csv" in html
    assert "panne" in html and "share of the rise" in html and html.count('class="dl-thread-item"') == 3
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html  # rule name and tweet are text
    assert "page 1 of 1 · 1 alert" in view.pager.value
    assert "Not sent by e-mail" not in html  # delivery problems are the admins' to see
    mine = AlertsView(ctx(admin))
    mine.on_show()
    assert "Not sent by e-mail or webhook: The emails cannot be sent: e-mail is not set up yet" in \
        mine._cards[0].html.value


def test_the_alerts_page_filters_by_rule_and_says_what_became_of_each_email(services, admin, analyst, ctx):
    from dallosh.ui.alerts import channels
    from tests.integration.ui.harness import free_port

    services.delivery.update(admin, smtpHost="127.0.0.1", smtpPort=free_port(), smtpSecurity="none",
                             fromAddress="alerts@example.com")  # a server refusing connections
    negative = services.alerts.create_rule(admin, {"name": "Négatifs", "metric": "negative_volume",
                                                   "emails": ["ops@example.com", "noc@example.com"]})
    services.alerts.create_rule(admin, {"name": "Urgents", "metric": "high_priority"})
    file, task = services.files.add(admin, "octobre.csv", make_csv(3))
    write_analysed(services.storage.path(ANALYSED, file.uid))
    firings = services.alerts.evaluate_after_task(SYSTEM, task)
    assert len(firings) == 2
    mine = next(f for f in firings if f.data.rule_id == negative.uid)
    services.delivery.attempt(SYSTEM, mine.data.delivery_ids[0], final=True)  # refused: not delivered

    view = AlertsView(ctx(analyst))
    view.on_show()
    assert len(view.cards.children) == 2 and is_visible(view.rule_filter)
    assert [label for label, _ in view.rule_filter.options] == ["All rules", "Négatifs", "Urgents"]
    view.rule_filter.value = negative.uid
    assert len(view.cards.children) == 1 and view._cards[0].uid == mine.uid
    assert "page 1 of 1 · 1 alert" in view.pager.value
    html = view._cards[0].html.value
    assert "shown in the app, 1 e-mail on its way, 1 e-mail not delivered" in html
    assert "Settings › Delivery" not in html  # why and how to retry: for admins
    admin_view = AlertsView(ctx(admin))
    admin_view.on_show()
    admin_view.rule_filter.value = negative.uid
    assert "1 e-mail not delivered (Settings › Delivery says why and retries)" in admin_view._cards[0].html.value
    # without what became of them (no outcome read), the counts say queued
    assert channels(mine.data) == "shown in the app, 2 e-mails on their way"
    view.rule_filter.value = ""
    assert len(view.cards.children) == 2


def test_open_analysis_shows_the_day_filtered_like_the_rule(services, admin, ctx, fired):
    from dallosh.ui.analysis import AnalysisView

    file, _, firing = fired
    asked = []
    context = ctx(admin)
    analysis = AnalysisView(context)

    def navigate(name, **params):
        asked.append((name, params))
        analysis.on_show(**params)
        return analysis

    context.navigate = navigate
    view = AlertsView(context)
    view.on_show()
    view._cards[0].open_button.click()
    assert asked == [("analysis", {"datasets": [file.uid]})]
    state = analysis.state()
    assert state.datasets == (file.uid,) and str(state.date_from) == str(state.date_to) == "2025-10-10"
    assert analysis.sentiment.value == "negative"
    assert '<div class="dl-kpi-value">34</div>' in analysis.kpis["volume"].value  # the number the alert said


def test_an_alert_event_makes_a_toast_for_readers_only(services, admin, analyst, ctx, make_actor, fired):
    _, _, firing = fired
    asked = []
    center = Notifications(ctx(analyst, navigate=lambda name, **p: asked.append((name, p))))
    event = {"event": "alert_fired", "firing_uid": firing.uid, "file_id": firing.data.datasets[0], "task_id": ""}
    [toast] = center.handle_events([event])
    assert toast.kind == "warn" and toast.title.startswith("Alert: Panne")
    assert toast.text == "2025-10-10: 34 negative tweets against a threshold of 8."
    assert center.handle_events([event]) == []  # the same event twice: one toast
    toast.root.children[1].click()
    assert asked == [("alerts", {"firing": firing.uid})]
    outsider = make_actor("read_tasks", email="tasks@free.com")  # follows tasks, may not read datasets
    assert Notifications(ctx(outsider)).handle_events([event]) == []


def test_the_page_opened_from_a_toast_shows_that_alert(services, admin, ctx, fired):
    _, _, firing = fired
    view = AlertsView(ctx(admin))
    view.on_show(firing=firing.uid)
    assert view._cards[0].uid == firing.uid
