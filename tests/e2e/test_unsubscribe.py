"""The unsubscribe link of a report e-mail on a real hub, signed out: a GET (what a mail scanner does) changes
nothing, a forged or wrong token is refused, the button (a POST with the hub's XSRF check) switches that one report
off. Screenshots: tests/e2e/screenshots/unsubscribe-*.png."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from dallosh.services.subscriptions import signing_key, unsubscribe_token
from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e


def subscriptions(hub):
    services = hub.services
    analyst = services.auth.login("analyst@free.com", "123456")
    admin = services.auth.login("admin@free.com", "123456")
    # Switched off at first so that nothing is scheduled on the shared notify queue; switched on without a job.
    mine = services.subscriptions.create(analyst, time="07:00", active=False)
    other = services.subscriptions.create(admin, time="07:00", active=False)
    for sub in (mine, other):
        services.db.update("subscriptions", sub.uid, {"active": True}, by="test")
    return services, mine, other


def test_get_shows_post_unsubscribes_and_wrong_tokens_are_refused(hub, page):
    services, mine, other = subscriptions(hub)
    key = signing_key(services.config)  # the hub's key: the same storage/run file
    token = unsubscribe_token(key, mine.uid)
    url = f"{hub.url}/hub/dallosh/unsubscribe?token={token}"

    # A mail scanner's GET: a page with a button, nothing changed.
    with urllib.request.urlopen(url, timeout=20) as response:
        body = response.read().decode()
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert "Unsubscribe" in body and "analyst@free.com" in body
    assert services.subscriptions.find(mine.uid).data.active

    # Forged tokens: another key, or this subscription's signature on another one.
    forged = unsubscribe_token(b"k" * 32, mine.uid)
    swapped = f"{other.uid}.{token.partition('.')[2]}"
    for bad in (forged, swapped, "", "nonsense"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{hub.url}/hub/dallosh/unsubscribe?token={bad}", timeout=20)
        assert info.value.code == 404 and "not valid" in info.value.read().decode()
    page.goto(f"{hub.url}/hub/dallosh/unsubscribe?token={swapped}")
    assert "not valid" in page.inner_text("#unsubscribe-error")
    shot(page, "unsubscribe-refused")

    # A POST without the page's XSRF token is refused by the hub.
    request = urllib.request.Request(url, data=f"token={token}".encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=20)
    assert info.value.code == 403
    assert services.subscriptions.find(mine.uid).data.active and services.subscriptions.find(other.uid).data.active

    # The button, signed out.
    page.goto(url)
    assert "Stop sending the report" in page.inner_text("#unsubscribe-main")
    shot(page, "unsubscribe-confirm")
    page.click("#unsubscribe_submit")
    page.wait_for_selector("#unsubscribe-done")
    assert "analyst@free.com will no longer receive" in page.inner_text("#unsubscribe-done")
    shot(page, "unsubscribe-done")
    assert not services.subscriptions.find(mine.uid).data.active
    assert services.subscriptions.find(other.uid).data.active  # only that one
    page.goto(url)
    assert "already switched off" in page.inner_text("#unsubscribe-already")
