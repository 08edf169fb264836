"""dallosh.alerts.messages: what a firing says in the e-mail, the webhook and the link to Analysis; hostile text
stays text everywhere."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from dallosh.alerts import messages
from dallosh.ui.analysis.state import from_fragment

HOSTILE = "<img src=x onerror=alert(1)>"


def firing(**changes) -> dict:
    f = {"rule_id": "r1", "rule_name": f"Panne {HOSTILE}", "metric": "negative_volume", "topic": "", "grain": "day",
         "direction": "above", "threshold_kind": "sigma", "period": "2025-10-10", "value": 34.0, "threshold": 12.4,
         "mean": 6.1, "std": 3.15, "k": 2.0, "window": 7, "datasets": ["f1"], "dataset_names": [f"oct{HOSTILE}.csv"],
         "scope_key": "*", "task_id": "t1", "tz": "Europe/Paris",
         "explanation": {"volume": 34, "expected": 4.0, "excess": 30.0, "baseline_periods": 7,
                         "terms": [{"kind": "term", "label": "panne", "count": 31, "baseline": 0, "expected": 0.0,
                                    "share": 1.0, "z": 5.2}],
                         "hashtags": [], "topics": [],
                         "tweets": [{"id": "1", "full_text": f"panne <b>fibre</b> {HOSTILE} <!channel>",
                                     "screen_name": "client1", "created_at": "2025-10-10T09:00:00+00:00",
                                     "main_topic": "Réseau", "engagement": 50}]}}
    f.update(changes)
    return f


def test_titles_and_thresholds_in_words():
    f = firing()
    assert messages.title(f) == f"Panne {HOSTILE}: negative tweets above the threshold on 2025-10-10"
    assert messages.summary(f) == "34 negative tweets against a threshold of 12.4."
    assert messages.threshold_words(f) == "12.4 (mean 6.1 + 2 σ, σ = 3.15, over the 7 days before)"
    fixed = firing(threshold_kind="fixed", threshold=50.0, mean=None, std=None, k=None)
    assert messages.threshold_words(fixed) == "a fixed 50"
    net = firing(metric="net_sentiment", direction="below", value=-0.62, threshold=-0.5, threshold_kind="fixed")
    assert messages.summary(net) == "Net sentiment -0.62 against a threshold of -0.50."
    assert messages.title(firing(metric="topic_volume", topic="Réseau")).startswith(f"Panne {HOSTILE}: tweets about "
                                                                                  "Réseau above")
    assert messages.period_words("2025-10-10T14:00", "hour") == "2025-10-10 14:00–15:00"


def test_the_analysis_link_opens_the_day_filtered_like_the_rule():
    link = messages.analysis_link(firing(), "https://dallosh.example.com/")
    parts = urlsplit(link)
    assert parts.path == "/hub/user-redirect/voila/render/home/analysis.ipynb"
    state, ignored = from_fragment(parts.fragment, "Europe/Paris")
    assert ignored == 0 and state.datasets == ("f1",) and state.sentiment == "negative"
    assert str(state.date_from) == str(state.date_to) == "2025-10-10"
    topic = from_fragment(urlsplit(messages.analysis_link(firing(metric="topic_volume", topic="Réseau"), "x")
                                   ).fragment, "UTC")[0]
    assert topic.topic == "Réseau" and topic.sentiment == ""
    urgent = parse_qs(urlsplit(messages.analysis_link(firing(metric="high_priority"), "x")).fragment)
    assert urgent["prio"] == ["2"]
    assert state.drills == ()  # a daily rule: the whole day


def test_an_hourly_alert_opens_its_hour_as_a_chip():
    f = firing(grain="hour", period="2025-10-10T14:00")
    state, ignored = from_fragment(urlsplit(messages.analysis_link(f, "x")).fragment, "Europe/Paris")
    assert ignored == 0 and str(state.date_from) == str(state.date_to) == "2025-10-10"
    (chip,) = state.drills
    assert chip.kind == "at_hour" and chip.label == "Hour = 2025-10-10 14:00 (Europe/Paris)"


def test_the_email_escapes_every_user_value_and_says_everything():
    html = messages.email_html(firing(), "https://dallosh.example.com/")
    assert HOSTILE not in html and "<b>fibre</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;fibre&lt;/b&gt;" in html
    assert "<script" not in html and "34 negative tweets against a threshold of 12.4." in html
    assert "panne" in html and "100 %" in html and "@client1 · 2025-10-10 11:00 · Réseau · 50 interactions" in html
    assert 'href="https://dallosh.example.com/hub/user-redirect/voila/render/home/analysis.ipynb#ds=f1&amp;' in html
    text = messages.email_text(firing(), "https://dallosh.example.com/")
    assert f"Panne {HOSTILE}: negative tweets" in text  # plain text is not HTML: nothing to escape
    assert "panne: 31 tweets (expected 0.0), 100 % of the rise" in text
    assert "Open Analysis on that day: https://dallosh.example.com/hub/user-redirect/" in text


def test_the_webhook_body_escapes_slack_markup_and_links_to_analysis():
    body = messages.webhook_payload(firing(), "https://dallosh.example.com/")
    assert "<!channel>" not in body["text"] and "&lt;!channel&gt;" in body["text"]
    markup = [b["text"]["text"] for b in body["blocks"] if b.get("text", {}).get("type") == "mrkdwn"]
    assert markup and not any(HOSTILE in m or "<!channel>" in m for m in markup)  # plain_text headers are not parsed
    assert "panne (100 % of the rise)" in body["text"]
    assert body["title"].startswith("Panne &lt;img")
    actions = [b for b in body["blocks"] if b["type"] == "actions"]
    assert actions[0]["elements"][0]["url"].startswith("https://dallosh.example.com/hub/user-redirect/")
    assert body["dallosh"]["data"]["value"] == 34.0 and body["dallosh"]["data"]["period"] == "2025-10-10"


def test_an_explanation_with_too_little_history_says_so():
    f = firing(explanation={"volume": 3, "expected": None, "excess": 0.0, "baseline_periods": 0, "terms": [],
                            "hashtags": [], "topics": [], "tweets": []})
    assert messages.explanation_summary(f) == "Too little history before this period to say what rose."
    html = messages.email_html(f, "https://x.example/")
    assert "No term, hashtag or topic rose clearly" in html
