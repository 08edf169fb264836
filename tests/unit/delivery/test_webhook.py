"""The webhook body Slack and Teams both accept, escaping of user text, URL checks and masking."""

from __future__ import annotations

import json

import pytest

from dallosh.delivery.webhook import SLACK_HEADER_MAX, WebhookPayload, check_url, escape, mask_url, webhook_body
from dallosh.errors import ValidationError


def test_body_has_slack_and_teams_keys_and_plain_data():
    body = webhook_body("Negative spike", "42 negative tweets on 20 Oct", facts={"Dataset": "oct.csv"},
                        link="https://dallosh.example.com/", data={"alert": "A1", "volume": 42})
    json.dumps(body)  # serialisable as is
    # Slack: ``text`` (required; the notification) and blocks (what the channel shows).
    assert body["text"] == "42 negative tweets on 20 Oct"
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Negative spike"}}
    assert body["blocks"][2]["text"]["text"] == "*Dataset:* oct.csv"
    assert body["blocks"][-1]["elements"][0]["url"] == "https://dallosh.example.com/"
    # Teams MessageCard.
    assert body["@type"] == "MessageCard" and body["@context"] == "https://schema.org/extensions"
    assert body["summary"] == body["title"] == "Negative spike" and body["themeColor"] == "C62828"
    assert body["sections"] == [{"facts": [{"name": "Dataset", "value": "oct.csv"}]}]
    assert body["potentialAction"][0]["targets"][0]["uri"] == "https://dallosh.example.com/"
    # Plain structured part for any other receiver.
    assert body["dallosh"] == {"title": "Negative spike", "text": "42 negative tweets on 20 Oct",
                               "facts": {"Dataset": "oct.csv"}, "link": "https://dallosh.example.com/",
                               "data": {"alert": "A1", "volume": 42}}


def test_user_text_cannot_add_links_or_mentions():
    body = webhook_body("<!channel> spike", "<https://evil.example|click> & more", facts={"<b>": "<@U1>"})
    assert body["text"] == "&lt;https://evil.example|click&gt; &amp; more"
    assert body["title"] == "&lt;!channel&gt; spike"
    assert body["sections"][0]["facts"][0] == {"name": "&lt;b&gt;", "value": "&lt;@U1&gt;"}
    assert "<" not in json.dumps(body["blocks"][1:]) and "<" not in body["text"]
    assert body["blocks"][0]["text"]["type"] == "plain_text"  # Slack shows plain text as typed: not escaped
    assert body["dallosh"]["text"] == "<https://evil.example|click> & more"  # the data part stays raw
    assert escape("a < b > c & d") == "a &lt; b &gt; c &amp; d"


def test_long_titles_are_cut_to_slack_limits_and_no_link_means_no_button():
    body = WebhookPayload("x" * 400, "").body()
    assert len(body["blocks"][0]["text"]["text"]) == SLACK_HEADER_MAX and body["blocks"][0]["text"]["text"][-1] == "…"
    assert "potentialAction" not in body and all(b["type"] != "actions" for b in body["blocks"])
    assert body["text"] == "x" * 400  # text falls back to the title


@pytest.mark.parametrize("url", ["ftp://example.com/h", "javascript:alert(1)", "file:///etc/passwd", "https://",
                                 "example.com/hook", "https://exa mple.com/h"])
def test_only_http_addresses_are_webhooks(url):
    with pytest.raises(ValidationError, match="starting with https://"):
        check_url(url)


def test_a_good_address_passes_and_a_link_is_checked_too():
    assert check_url("  https://hooks.slack.com/services/T0/B0/xyz ") == "https://hooks.slack.com/services/T0/B0/xyz"
    with pytest.raises(ValidationError):
        webhook_body("t", "x", link="javascript:alert(1)")


def test_masked_addresses_keep_host_and_last_characters_only():
    masked = mask_url("https://hooks.slack.com/services/T000/B000/secretTOKEN1234")
    assert masked == "https://hooks.slack.com/••••1234" and "secret" not in masked and "T000" not in masked
