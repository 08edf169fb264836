"""Webhook bodies Slack and Microsoft Teams incoming webhooks both accept, and the poster.

One JSON body serves both: Slack reads ``text`` (the notification) and ``blocks`` (what the channel shows);
Teams reads the legacy MessageCard keys (``@type``, ``@context``, ``summary``, ``title``, ``text``,
``themeColor``, ``sections``, ``potentialAction``). Each ignores the other's keys. ``dallosh`` carries the same
facts as plain data for any other receiver (a script, an automation tool).

Texts come from user data (dataset names, tweets): ``&``, ``<`` and ``>`` are escaped, so a tweet cannot add
a link or a mention to a Slack message (Slack's rule) nor markup to a Teams card.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from dallosh.errors import ValidationError

#: The red theme's primary colour, for the Teams card's stripe.
THEME_COLOR = "C62828"
#: Slack's limits: a header block holds 150 characters, a section 3000.
SLACK_HEADER_MAX, SLACK_SECTION_MAX = 150, 3000


def escape(text: str) -> str:
    """Slack's and Teams' escaping of user text: the three characters that start markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class WebhookPayload:
    """What a webhook says: a title, a few lines of text, named facts, an optional link, and structured data."""

    title: str
    text: str
    facts: Mapping[str, str] = field(default_factory=dict)
    link: str = ""
    link_label: str = "Open in Dallosh Analysis"
    data: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON body (see the module's docstring)."""
        title, text = escape(self.title), escape(self.text)
        facts = [{"name": escape(k), "value": escape(v)} for k, v in self.facts.items()]
        lines = "\n".join(f"*{f['name']}:* {f['value']}" for f in facts)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _cut(self.title, SLACK_HEADER_MAX)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text or title, SLACK_SECTION_MAX)}},
        ]
        if lines:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(lines, SLACK_SECTION_MAX)}})
        body: dict[str, Any] = {
            # Teams shows ``text`` under the title; Slack shows it in notifications (the blocks are the message).
            "text": text or title,
            "blocks": blocks,
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": _cut(title, 150),
            "title": title,
            "themeColor": THEME_COLOR,
            "sections": [{"facts": facts}] if facts else [],
            "dallosh": {"title": self.title, "text": self.text, "facts": dict(self.facts), "link": self.link,
                        **({"data": dict(self.data)} if self.data else {})},
        }
        if self.link:
            check_url(self.link, "link")
            blocks.append({"type": "actions", "elements": [{"type": "button", "url": self.link, "text": {
                "type": "plain_text", "text": self.link_label}}]})
            body["potentialAction"] = [{"@type": "OpenUri", "name": self.link_label,
                                        "targets": [{"os": "default", "uri": self.link}]}]
        return body


def webhook_body(title: str, text: str, *, facts: Mapping[str, str] | None = None, link: str = "",
                 data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Shortcut: ``WebhookPayload(...).body()``."""
    return WebhookPayload(title, text, dict(facts or {}), link, data=dict(data or {})).body()


def check_url(url: str, path: str = "webhook") -> str:
    """``url`` stripped if it is an http(s) address with a host; else ValidationError with what to give."""
    url = str(url).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise ValidationError(path, "must be a web address starting with https:// (the webhook address Slack or "
                                    "Teams gave you)")
    return url


def mask_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/xyz`` → ``https://hooks.slack.com/…/••••/xyz`` (a webhook's
    address is its password: whoever has it can post to the channel)."""
    parts = urlsplit(url)
    tail = url.rstrip("/")[-4:] if len(parts.path) > 8 else ""
    return f"{parts.scheme}://{parts.hostname or ''}/••••{tail}"


class WebhookError(Exception):
    """A webhook did not take the message; the text says why in plain words."""


#: What an HTTP status means for the person who set the webhook up.
_STATUS_HINTS = {400: "it refused the message's format", 401: "it asks for credentials the address lacks",
                 403: "it refuses this sender (the webhook may have been disabled)",
                 404: "no webhook exists at that address (it may have been deleted)",
                 410: "the webhook was removed", 413: "the message is too large for it",
                 429: "it receives too many messages; the app will try again later"}


def post_webhook(url: str, body: Mapping[str, Any], *, timeout: float = 10.0) -> int:
    """POST ``body`` as JSON; returns the status. Raises WebhookError unless the answer is 2xx (redirects are not
    followed: a webhook that moved must be updated, not silently forwarded)."""
    url = check_url(url)
    try:
        response = httpx.post(url, content=json.dumps(body), headers={"Content-Type": "application/json"},
                              timeout=timeout, follow_redirects=False)
    except httpx.TimeoutException:
        raise WebhookError(f"The webhook did not answer within {timeout:g} seconds; the app will try again. If it "
                           "keeps failing, check the address.") from None
    except httpx.HTTPError:
        raise WebhookError("The webhook address could not be reached: check that it is right and that this "
                           "server may reach it.") from None
    if 200 <= response.status_code < 300:
        return response.status_code
    hint = _STATUS_HINTS.get(response.status_code) or (
        "the receiving service had a problem; the app will try again" if response.status_code >= 500
        else "it did not accept the message")
    raise WebhookError(f"The webhook answered {response.status_code}: {hint}. Check the address in the settings.")
