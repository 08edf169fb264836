"""The app through JupyterHub as people use it: landing, registration, login per role, lockdown, logout."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from dallosh.defaults import LOGIN_MAX_FAILURES
from dallosh.errors import AuthenticationFailed
from tests.e2e.conftest import login, shot

APP = ".dl-app"


def user_url(hub, email: str) -> str:
    return f"{hub.url}/user/{quote(email, safe='@')}"


def test_anonymous_visitor_sees_the_landing_page(hub, page):
    response = page.goto(hub.url + "/")
    assert response.ok and page.url.endswith("/hub/landing")
    assert "decisions" in page.inner_text("h1")
    assert page.locator("#cta-login").is_visible() and page.locator("#cta-register").is_visible()
    shot(page, "hub-landing-light")
    page.click("#dark-theme-toggle")
    assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == "dark"
    shot(page, "hub-landing-dark")
    # nothing is loaded from the internet
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(hub.url) else None)
    page.reload()
    page.wait_for_load_state("networkidle")
    assert [u for u in external if not u.startswith("data:")] == []


def test_wrong_password_gets_a_generic_error(hub, page):
    login(page, hub, "analyst@free.com", "not-the-password")
    assert page.inner_text(".login_error") == "Invalid email or password."
    login(page, hub, "nobody@free.com", "not-the-password")
    assert page.inner_text(".login_error") == "Invalid email or password."
    shot(page, "hub-login-error")


def test_the_app_name_setting_reaches_the_sign_in_page(hub, page):
    admin = hub.services.auth.login("admin@free.com", "123456")
    before = hub.services.settings.general().appName
    page.goto(hub.url + "/hub/login")
    assert page.title() == f"Sign in · {before}"  # positive control: today's name is shown
    name = "Écoute <img src=x onerror=\"document.title='PWNED'\">"
    hub.services.settings.update_general(admin, appName=name)
    try:
        page.goto(hub.url + "/hub/login")
        page.wait_for_load_state("load")
        assert page.title() == f"Sign in · {name}"  # as text: the name is escaped, never markup or script
        assert page.inner_text(".dl-brand").endswith(name) and page.locator(".dl-brand img").count() == 0
    finally:
        hub.services.settings.update_general(admin, appName=before)


def test_throttling_after_repeated_failures(hub, page):
    email = f"throttle-{uuid.uuid4().hex[:6]}@free.com"
    for _ in range(LOGIN_MAX_FAILURES):
        login(page, hub, email, "wrong")
    login(page, hub, email, "wrong")
    assert "Too many failed sign-in attempts" in page.inner_text(".login_error")
    shot(page, "hub-login-throttled")


@pytest.fixture
def open_registration(hub):
    """Registration without approval (a setting; approval is the default)."""
    admin = hub.services.auth.login("admin@free.com", "123456")
    hub.services.settings.update_general(admin, requireApproval=False)
    yield
    hub.services.settings.update_general(admin, requireApproval=True)


def test_register_then_login_lands_on_analyst_overview(hub, page, open_registration):
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(hub.url + "/hub/login")
    page.click("text=Create one")
    assert page.url.endswith("/hub/register")
    page.fill("#email_input", email)
    page.fill("#password_input", "An4lyst-pass")
    page.fill("#confirm_input", "An4lyst-pass")
    shot(page, "hub-register")
    page.click("#register_submit")
    assert f"Account ready for {email}" in page.inner_text(".dl-success")
    page.click("text=Sign in")
    started = time.monotonic()
    login(page, hub, email, "An4lyst-pass")
    page.wait_for_selector(APP, timeout=90_000)
    assert "/voila/render/home/overview.ipynb" in page.url
    print(f"cold login → analyst overview: {time.monotonic() - started:.1f} s")
    shot(page, "hub-analyst-overview")


def test_registering_an_existing_email_changes_nothing_and_tells_no_stranger(hub, page):
    def register(email: str, password: str) -> str:
        page.goto(hub.url + "/hub/register")
        page.fill("#email_input", email)
        page.fill("#password_input", password)
        page.fill("#confirm_input", password)
        page.click("#register_submit")
        return page.inner_text(".dl-success")

    fresh_email = f"fresh-{uuid.uuid4().hex[:6]}@example.com"
    fresh = register(fresh_email, "Fresh-pass-1")
    existing = register("analyst@free.com", "Another-pass-2")
    # Never "Account created" for an email that had one, and the same words as for a new email.
    assert "nothing was changed" in existing and "created" not in existing
    assert existing.replace("analyst@free.com", "X") == fresh.replace(fresh_email, "X")
    assert hub.services.users.find_by_email(fresh_email) is not None  # positive control: that one was created
    hub.services.auth.login("analyst@free.com", "123456")  # the existing account kept its password
    with pytest.raises(AuthenticationFailed):
        hub.services.auth.login("analyst@free.com", "Another-pass-2")


def test_register_refuses_bad_input_and_checks_xsrf(hub, page):
    page.goto(hub.url + "/hub/register")
    page.fill("#email_input", "bad@example.com")
    page.fill("#password_input", "short")
    page.fill("#confirm_input", "short")
    page.eval_on_selector("#password_input", "e => e.removeAttribute('minlength')")
    page.click("#register_submit")
    assert "at least 10 characters" in page.inner_text(".dl-error")
    status = page.evaluate("""async (url) => (await fetch(url, {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: 'email=x%40y.io&password=Abcdefg1&password_confirm=Abcdefg1'})).status""", hub.url + "/hub/register")
    assert status == 403  # no XSRF token: refused


def test_pending_registration_waits_for_approval(hub, page):
    from dallosh.services import SYSTEM

    admin = hub.services.auth.login("admin@free.com", "123456")
    assert hub.services.settings.general().requireApproval  # the default: strangers wait for an admin
    email = f"pending-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(hub.url + "/hub/register")
    page.fill("#email_input", email)
    page.fill("#password_input", "Pend1ng-pass")
    page.fill("#confirm_input", "Pend1ng-pass")
    page.click("#register_submit")
    assert "wait for an administrator's approval" in page.inner_text(".dl-success")
    login(page, hub, email, "Pend1ng-pass")
    assert "waiting for an administrator's approval" in page.inner_text(".login_error")
    shot(page, "hub-login-pending")
    user = hub.services.users.find_by_email(email)
    hub.services.users.approve(admin, user.uid)
    login(page, hub, email, "Pend1ng-pass")
    page.wait_for_selector(APP, timeout=90_000)
    assert hub.services.users.find(user.uid).data.status == "active" and SYSTEM


def test_admin_lands_on_admin_overview(hub, page):
    started = time.monotonic()
    login(page, hub, "admin@free.com", "123456")
    page.wait_for_selector(APP, timeout=90_000)
    assert "/voila/render/admin/overview.ipynb" in page.url
    print(f"cold login → admin overview: {time.monotonic() - started:.1f} s")
    shot(page, "hub-admin-overview")
    page.goto(hub.url + "/hub/home")
    shot(page, "hub-home")
    page.goto(hub.url + "/hub/admin")
    page.wait_for_load_state("networkidle")
    shot(page, "hub-admin")


def _api(page, method: str, url: str, body: str | None = None) -> int:
    return page.evaluate("""async ([method, url, body]) => {
        const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
        const r = await fetch(url, {method, headers: {'X-XSRFToken': decodeURIComponent(xsrf),
                                   'Content-Type': 'application/json'}, body});
        return r.status; }""", [method, url, body])


def test_analyst_lockdown(hub, page, tmp_path):
    login(page, hub, "analyst@free.com", "123456")
    page.wait_for_selector(APP, timeout=90_000)
    base = user_url(hub, "analyst@free.com")
    # JupyterLab and terminals do not exist on a Voilà-only server
    for path in ("/lab", "/terminals/1", "/api/terminals"):
        response = page.goto(base + path)
        assert response.status in (403, 404), path
    # an admin page is invisible
    response = page.goto(base + "/voila/render/admin/overview.ipynb")
    assert response.status == 404
    page.goto(base + "/voila/render/home/overview.ipynb")
    page.wait_for_selector(APP, timeout=60_000)
    # no contents writes
    assert _api(page, "PUT", base + "/api/contents/home/evil.ipynb",
                json.dumps({"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4,
                                                            "nbformat_minor": 5}})) == 403
    assert _api(page, "DELETE", base + "/api/contents/home/overview.ipynb") == 403
    # another user's server is refused
    other = page.goto(user_url(hub, "admin@free.com") + "/voila/render/admin/overview.ipynb")
    assert other.status in (403, 404) or "/hub/" in page.url
    page.goto(base + "/voila/render/home/overview.ipynb")
    page.wait_for_selector(APP, timeout=60_000)
    # execute_request over the kernel websocket: refused, no code runs
    marker = Path(f"/tmp/dallosh-pwned-{uuid.uuid4().hex}")
    result = page.evaluate("""async ([base, marker]) => {
        const xsrf = decodeURIComponent((document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '');
        const r = await fetch(base + '/api/kernels', {method: 'POST', headers: {'X-XSRFToken': xsrf}});
        if (!r.ok) return {created: false, status: r.status};
        const kernel = await r.json();
        const ws = new WebSocket(base.replace('http', 'ws') + '/api/kernels/' + kernel.id + '/channels');
        const replies = [];
        const opened = await new Promise((resolve) => { ws.onopen = () => resolve(true);
                                                         ws.onerror = () => resolve(false); });
        if (!opened) return {created: true, opened: false, replies};
        const answered = new Promise((resolve) => { ws.onmessage = (m) => {
            const type = JSON.parse(m.data).msg_type; replies.push(type);
            if (type === 'kernel_info_reply') resolve(true); }; });
        // positive control: a message widgets need is let through and answered on this very channel
        ws.send(JSON.stringify({channel: 'shell', header: {msg_id: 'k1', msg_type: 'kernel_info_request',
            username: 'a', session: 's', version: '5.3', date: new Date().toISOString()}, parent_header: {},
            metadata: {}, content: {}, buffers: []}));
        await answered;
        ws.send(JSON.stringify({channel: 'shell', header: {msg_id: 'x1', msg_type: 'execute_request',
            username: 'a', session: 's', version: '5.3', date: new Date().toISOString()}, parent_header: {},
            metadata: {}, content: {code: "open('" + marker + "', 'w').write('x')", silent: false,
            store_history: false, user_expressions: {}, allow_stdin: false}, buffers: []}));
        // the kernel would answer an execute_request within a second; no event tells that it never will
        await new Promise((resolve) => setTimeout(resolve, 3000));
        ws.close();
        return {created: true, opened: true, replies};
    }""", [base, str(marker)])
    if not result["created"]:  # refusing the kernel outright is as good
        assert result["status"] in (403, 404), result
        return
    assert result.get("opened") and "kernel_info_reply" in result["replies"], result  # the channel worked
    assert not marker.exists(), f"code ran on the analyst's kernel: {result}"
    assert "execute_reply" not in result["replies"] and "execute_input" not in result["replies"]


def test_logout(hub, page):
    login(page, hub, "analyst@free.com", "123456")
    page.wait_for_selector(APP, timeout=90_000)
    page.goto(hub.url + "/hub/logout")
    page.wait_for_load_state()
    page.goto(hub.url + "/")
    assert page.url.endswith("/hub/landing")
    response = page.goto(user_url(hub, "analyst@free.com") + "/voila/render/home/overview.ipynb")
    assert "/hub/login" in page.url or response.status in (302, 403)


def test_deleting_a_user_removes_them_from_the_hub(hub, page):
    from hub.secrets import service_token
    from hub.sync import HubClient

    admin = hub.services.auth.login("admin@free.com", "123456")
    role = hub.services.roles.by_name("analyst")
    email = f"gone-{uuid.uuid4().hex[:6]}@example.com"
    user = hub.services.users.create(admin, email, "G0ne-pass!", role.uid)
    login(page, hub, email, "G0ne-pass!")
    page.wait_for_selector(APP, timeout=90_000)
    client = HubClient(hub.url + "/hub/api", service_token(hub.services.config))
    assert client.user(email)["server"]
    from hub.sync import account_listener

    hub.services.account_listeners.append(account_listener(client))
    hub.services.users.delete(admin, user.uid)
    deadline = time.monotonic() + 30
    while client.user(email) is not None and time.monotonic() < deadline:
        time.sleep(0.5)  # polling the hub's API: it tells nobody when a user is removed
    assert client.user(email) is None
    login(page, hub, email, "G0ne-pass!")
    assert page.inner_text(".login_error") == "Invalid email or password."
