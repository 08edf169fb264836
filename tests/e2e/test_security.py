"""The security findings of the review, each replayed as the attacker did, through the real hub and Chromium.

Every browser payload sets ``document.title``: the tests read the title back, so a payload that ran is seen.
Each refusal has its positive control (the same request done right works).
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from urllib.parse import quote

import pytest

from tests.e2e.conftest import login, shot

APP = ".dl-app"
PWNED = "PWNED"


def user_url(hub, email: str) -> str:
    return f"{hub.url}/user/{quote(email, safe='@')}"


def api(page, method: str, url: str, body: str | None = None) -> tuple[int, str]:
    """A same-origin fetch from the signed-in page (cookies and XSRF token as the app's own requests)."""
    return tuple(page.evaluate("""async ([method, url, body]) => {
        const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
        const r = await fetch(url, {method, headers: {'X-XSRFToken': decodeURIComponent(xsrf),
                                   'Content-Type': 'application/json'}, body});
        return [r.status, await r.text()]; }""", [method, url, body]))


# -- a link must not run script --------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "theme=x%22%3E%3Cscript%3Edocument.title%3D%27PWNED%27%3C%2Fscript%3E",
    "theme=x%22%3E%3Cimg%20src%3Dx%20onerror%3D%22document.title%3D%27PWNED%27%22%3E",
    "template=../../../../etc&theme=dark",
])
def test_a_crafted_dashboard_link_runs_nothing_even_through_the_login(hub, page, query):
    target = f"/hub/user-redirect/voila/render/admin/overview.ipynb?{query}"
    page.goto(hub.url + target)  # signed out: the query string survives the login redirect
    assert "/hub/login" in page.url
    page.fill("#username_input", "admin@free.com")
    page.fill("#password_input", "123456")
    page.click("#login_submit")
    page.wait_for_selector(APP, timeout=90_000)
    assert page.title() != PWNED
    body = page.evaluate("document.body.outerHTML.slice(0, 400)")
    assert "PWNED" not in body and 'data-jp-theme-name="JupyterLab Light"' in body
    assert page.locator(".dl-view-overview").count() == 1  # positive control: the page itself works


def test_pages_carry_a_policy_that_refuses_inline_script(hub, page):
    login(page, hub, "analyst@free.com", "123456")
    page.wait_for_selector(APP, timeout=90_000)
    response = page.goto(user_url(hub, "analyst@free.com") + "/voila/render/home/overview.ipynb")
    policy = response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]+)", policy).group(1)
    assert "'unsafe-inline'" not in script_src and "object-src 'none'" in policy
    page.wait_for_selector(APP, timeout=60_000)
    # an injected inline script (what any future escaping bug would produce) is refused by the browser...
    page.evaluate("""() => { window.__refused = [];
        document.addEventListener('securitypolicyviolation', e => window.__refused.push(e.violatedDirective));
        const s = document.createElement('script');
        s.textContent = "document.title = 'PWNED'"; document.body.appendChild(s);
        const i = document.createElement('img'); i.src = 'x:'; i.setAttribute('onerror', "document.title='PWNED'");
        document.body.appendChild(i); }""")
    # The browser reports each script it refuses (a securitypolicyviolation event): both were refused, not late.
    # (The image's made-up ``x:`` source is refused too, by img-src: not what this test is about.)
    page.wait_for_function("() => ['script-src-elem', 'script-src-attr'].every(d => window.__refused.includes(d))",
                           timeout=10_000)
    assert page.title() != PWNED
    page.evaluate("document.title = 'ALLOWED'")  # positive control: the page's own code runs
    assert page.title() == "ALLOWED"
    hub_page = page.goto(hub.url + "/hub/login")
    assert "frame-ancestors 'self'" in hub_page.headers["content-security-policy"]


# -- a CSV must not run script ---------------------------------------------------------------------------


def test_csv_headers_and_cells_stay_text_in_the_upload_preview(hub, page, tmp_path):
    csv = tmp_path / "evil.csv"
    header = '"function(){}+(document.title=\'PWNED\')",created_at,full_text,"__js__:document.title=\'PWNED\'"'
    rows = ['1790000000000000001,2025-09-07 09:00:00,"<img src=x onerror=""document.title=\'PWNED\'"">",'
            '"helpers.constructor.constructor(\'document.title=1\')()"',
            '1790000000000000002,2025-09-07 09:01:00,"<script>document.title=\'PWNED\'</script>",x']
    # the id column is required: the first header stands in for it only as a display test
    csv.write_text("id," + header + "\n" + "\n".join(f"{i}," + r for i, r in enumerate(rows)) + "\n")
    login(page, hub, "analyst@free.com", "123456")
    page.wait_for_selector(APP, timeout=90_000)
    page.goto(user_url(hub, "analyst@free.com") + "/voila/render/home/datasets.ipynb")
    page.wait_for_selector(".dl-view-datasets", timeout=60_000)
    page.set_input_files(".dl-uploader input[type=file]", str(csv))
    page.wait_for_selector(".dl-view-datasets .ag-root", timeout=30_000)
    page.wait_for_selector(".ag-header-cell-text:has-text('function(){}')", timeout=10_000)
    shot(page, "security-preview-headers-as-text")
    assert page.title() != PWNED and page.title() != "1"
    headers = page.locator(".ag-header-cell-text").all_inner_texts()
    assert any("function(){}+(document.title='PWNED')" in h for h in headers)  # shown, as text
    assert page.locator(".ag-cell:has-text('<script>')").count() >= 1  # a cell's markup shown as text


# -- sessions ------------------------------------------------------------------------------------------


def _opener(jar: http.cookiejar.CookieJar):
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def test_logout_ends_the_session_on_the_server(hub):
    jar = http.cookiejar.CookieJar()
    opener = _opener(jar)
    html = opener.open(hub.url + "/hub/login").read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', html).group(1)
    opener.open(hub.url + "/hub/login", urllib.parse.urlencode(
        {"username": "analyst@free.com", "password": "123456", "_xsrf": xsrf}).encode())
    cookies = {c.name: c for c in jar}
    assert cookies["jupyterhub-hub-login"].get_nonstandard_attr("SameSite") == "Lax"
    stolen = list(jar)
    assert opener.open(hub.url + "/hub/home").geturl().endswith("/hub/home")  # positive control: signed in
    opener.open(hub.url + "/hub/logout")
    replay = http.cookiejar.CookieJar()
    for cookie in stolen:
        replay.set_cookie(cookie)
    assert "/hub/login" in _opener(replay).open(hub.url + "/hub/home").geturl()  # a copied cookie is dead


# -- what a user server serves -----------------------------------------------------------------------------


def test_dot_dot_and_raw_files_do_not_reach_admin_pages(hub, page):
    login(page, hub, "analyst@free.com", "123456")
    page.wait_for_selector(APP, timeout=90_000)
    base = user_url(hub, "analyst@free.com")
    for path in ("/voila/render/home%2f..%2fadmin/users.ipynb", "/voila/render/home/..%2fadmin/users.ipynb",
                 "/files/admin/users.ipynb", "/files/home%2f..%2fadmin/users.ipynb",
                 "/api/contents/home%2f..%2fadmin/users.ipynb"):
        assert api(page, "GET", base + path)[0] == 404, path
    assert api(page, "GET", base + "/files/home/overview.ipynb")[0] == 200  # positive control


def test_power_users_see_only_their_own_work_folder(hub, browser):
    admin = hub.services.auth.login("admin@free.com", "123456")
    role = hub.services.roles.create(admin, f"power-{uuid.uuid4().hex[:4]}", ["read_datasets", "use_notebooks"])
    alice, bob = (f"{name}-{uuid.uuid4().hex[:4]}@example.com" for name in ("alice", "bob"))
    for email in (alice, bob):
        hub.services.users.create(admin, email, "P0wer-user-pass", role.uid)
    pages = {}
    for email in (alice, bob):
        context = browser.new_context()
        pages[email] = context.new_page()
        login(pages[email], hub, email, "P0wer-user-pass")
        pages[email].wait_for_url(re.compile(r".*/user/.*"), timeout=90_000)
    notebook = json.dumps({"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4,
                                                           "nbformat_minor": 5}})
    alice_dir = "work/" + re.sub(r"[^\w.-]", "_", alice)
    status, _ = api(pages[alice], "PUT", user_url(hub, alice) + f"/api/contents/{alice_dir}/secret.ipynb", notebook)
    assert status in (200, 201)
    assert api(pages[alice], "GET", user_url(hub, alice) + f"/api/contents/{alice_dir}/secret.ipynb")[0] == 200
    for path in (f"/api/contents/{alice_dir}/secret.ipynb", f"/files/{alice_dir}/secret.ipynb"):
        assert api(pages[bob], "GET", user_url(hub, bob) + path)[0] == 404, path
    listing = json.loads(api(pages[bob], "GET", user_url(hub, bob) + "/api/contents/work")[1])
    assert [item["name"] for item in listing["content"]] == [re.sub(r"[^\w.-]", "_", bob)]
    # a kernel cannot start outside the notebooks folder, and checkpoints are writes
    base = user_url(hub, bob)
    assert api(pages[bob], "POST", base + "/api/kernels", json.dumps({"path": "../../../etc"}))[0] == 400
    assert api(pages[bob], "POST", base + "/api/contents/home/overview.ipynb/checkpoints")[0] == 403
    status, body = api(pages[bob], "POST", base + "/api/kernels", json.dumps({"path": "home"}))
    assert status == 201  # positive control
    assert api(pages[bob], "DELETE", base + f"/api/kernels/{json.loads(body)['id']}")[0] == 204
    for p in pages.values():
        p.context.close()


def test_registration_waits_for_an_admin_and_weak_passwords_are_refused(hub, page):
    page.goto(hub.url + "/hub/register")
    page.fill("#email_input", f"weak-{uuid.uuid4().hex[:4]}@example.com")
    for weak in ("password1", "aaaaaaa1", "azertyuiop1"):
        page.fill("#password_input", weak)
        page.fill("#confirm_input", weak)
        page.eval_on_selector("#password_input", "e => e.removeAttribute('minlength')")
        page.click("#register_submit")
        assert "password" in page.inner_text(".dl-error").lower(), weak
    email = f"stranger-{uuid.uuid4().hex[:4]}@example.com"
    page.fill("#email_input", email)
    page.fill("#password_input", "cheval agrafe 42 batterie")
    page.fill("#confirm_input", "cheval agrafe 42 batterie")
    page.click("#register_submit")
    assert "wait for an administrator's approval" in page.inner_text(".dl-success")
    assert hub.services.users.find_by_email(email).data.status == "pending"


def test_an_analyst_cannot_delete_someone_elses_dataset(hub):
    from tests.factories import make_csv

    admin = hub.services.auth.login("admin@free.com", "123456")
    analyst = hub.services.auth.login("analyst@free.com", "123456")
    theirs, _ = hub.services.files.add(admin, "admins.csv", make_csv(4))
    mine, _ = hub.services.files.add(analyst, "mine.csv", make_csv(5))
    from dallosh.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        hub.services.files.delete(analyst, theirs.uid)
    hub.services.files.delete(analyst, mine.uid)  # positive control
    assert hub.services.files.get(admin, theirs.uid)
