"""The dallosh API through a real hub: authentication, the same permission checks as the service layer, files as
Arrow and CSV, chunked uploads and task events over SSE — with a real worker processing the datasets."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from dallosh import analytics
from dallosh.client import Client
from dallosh.config import PROJECT_ROOT
from dallosh.datasets import read_dataset
from dallosh.errors import DuplicateDataset, NotFound, PermissionDenied
from dallosh.processes import stop_tree
from dallosh.storage import ANALYSED
from tests.conftest import wait_status
from tests.integration.api.conftest import POWER_PERMISSIONS, ApiHub

POWER_EMAIL, POWER_PASSWORD = "power@free.com", "kiwi lantern 42 orbit"


def synthetic_csv(path: Path, rows: int, seed: int) -> Path:
    """A realistic tweet export (the generator every test and benchmark uses)."""
    from tools.synthetic import generate_tweets

    generate_tweets(rows, seed=seed).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def seeded(api_hub: ApiHub, tmp_path_factory: pytest.TempPathFactory):
    """An admin's analysed dataset, an analyst's dataset (not started), a power user; a worker for the run."""
    s = api_hub.services
    base = tmp_path_factory.mktemp("seed")
    admin = s.auth.login("admin@free.com", "123456")
    analyst = s.auth.login("analyst@free.com", "123456")
    role = s.roles.create(admin, "power", POWER_PERMISSIONS)
    s.users.create(admin, POWER_EMAIL, POWER_PASSWORD, role.uid)
    admin_file, admin_task = s.files.add(admin, "octobre.csv", synthetic_csv(base / "octobre.csv", 400, 4))
    analyst_file, analyst_task = s.files.add(analyst, "novembre.csv", synthetic_csv(base / "novembre.csv", 150, 5))
    from dallosh.queue import connect_runtime

    dispatcher = connect_runtime(s)
    log = open(api_hub.config.storage_root / "logs" / "api-worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen([sys.executable, "-m", "worker", "--name", f"api-{admin_task.uid[:6]}"],
                              cwd=PROJECT_ROOT, env=api_hub.env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        s.tasks.request(admin, admin_task.uid, "start")
        wait_status(s, admin_task.uid, {"done"})
        yield {"admin_file": admin_file, "admin_task": admin_task, "analyst_file": analyst_file,
               "analyst_task": analyst_task, "base": base}
    finally:
        # A warm shutdown waits for the job in hand (a task a test started may still run under load): SIGTERM,
        # then SIGKILL after 30 s, the worker's process group included.
        stop_tree(worker.pid, 30)
        dispatcher.events.publisher.close()


def client(api_hub: ApiHub, email: str, password: str, tmp_path: Path) -> Client:
    return Client(api_hub.api_url, api_hub.token_for(email, password), cache_dir=tmp_path / email)


# -- authentication ----------------------------------------------------------------------------------------


def test_requests_without_a_valid_token_are_refused_and_a_valid_token_works(api_hub: ApiHub):
    url = api_hub.api_url + "api/whoami"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "token not-a-real-token"}).status_code == 401
    call = api_hub.api_url + "api/call/users/list"
    assert httpx.post(call, json={}, headers={"Authorization": "token 0123456789abcdef"}).status_code == 401
    # A real token of a real user, but one that does not grant access to this service: authenticated, refused.
    narrow = api_hub.token_for("analyst@free.com", "123456", scopes=["read:users:name!user"])
    assert httpx.get(url, headers={"Authorization": f"token {narrow}"}).status_code == 403
    # Positive control: the same user's full token.
    token = api_hub.token_for("analyst@free.com", "123456")
    response = httpx.get(url, headers={"Authorization": f"token {token}"})
    assert response.status_code == 200, response.text
    actor = response.json()["result"]["fields"]
    assert actor["email"] == "analyst@free.com" and "manage_datasets" in actor["permissions"]["$set"]


def test_the_actor_comes_from_the_token_never_from_the_request(api_hub: ApiHub, seeded, tmp_path: Path):
    s = api_hub.services
    admin = s.auth.login("admin@free.com", "123456")
    token = api_hub.token_for(POWER_EMAIL, POWER_PASSWORD)
    headers = {"Authorization": f"token {token}"}
    refused = httpx.post(api_hub.api_url + "api/call/users/list", headers=headers,
                         json={"kwargs": {"actor": {"uid": admin.uid}}})
    assert refused.status_code == 400 and "actor" in refused.json()["message"]
    # Objects are never rebuilt from a request: an Actor smuggled as an argument is refused as such.
    smuggled = {"$dc": "dallosh.services.base:Actor", "fields": {"uid": admin.uid, "email": admin.email}}
    refused = httpx.post(api_hub.api_url + "api/call/files/list", headers=headers, json={"args": [smuggled]})
    assert refused.status_code == 400
    power = client(api_hub, POWER_EMAIL, POWER_PASSWORD, tmp_path)
    with pytest.raises(PermissionDenied, match="acts as power@free.com only"):
        power.files.list(admin)  # the client refuses to pretend; the API would act as the token's owner anyway
    assert power.files.list(None).total >= 2


def test_a_browser_session_reads_through_oauth_but_cannot_change_anything(api_hub: ApiHub):
    """The OAuth cookie serves GETs (a download link); mutations need the Authorization header, so a page on
    another site cannot use a signed-in browser's cookie to change anything."""
    with httpx.Client(base_url=api_hub.url, follow_redirects=True, timeout=30) as browser:
        browser.get("/hub/login")
        xsrf = browser.cookies.get("_xsrf", "")
        browser.post("/hub/login", data={"username": "analyst@free.com", "password": "123456", "_xsrf": xsrf})
        # A browser asking for a page is sent through the hub's OAuth (authorize, callback, cookie) and back.
        whoami = browser.get(api_hub.api_url + "api/whoami", headers={"Accept": "text/html"})
        assert whoami.status_code == 200, whoami.text
        assert whoami.json()["result"]["fields"]["email"] == "analyst@free.com"
        refused = browser.post(api_hub.api_url + "api/call/auth/update_account", json={"kwargs": {"name": "X"}})
        assert refused.status_code == 403 and "Authorization header" in refused.json()["message"]
    assert api_hub.services.users.find_by_email("analyst@free.com").data.name != "X"


# -- the service layer's checks, through the API ------------------------------------------------------------


def test_a_power_user_reads_what_its_role_allows_and_nothing_more(api_hub: ApiHub, seeded, tmp_path: Path):
    power = client(api_hub, POWER_EMAIL, POWER_PASSWORD, tmp_path)
    me = power.actor()
    assert me.email == POWER_EMAIL and me.permissions == frozenset(POWER_PERMISSIONS)
    listed = power.files.list(me)
    names = {item["file"].data.filename for item in listed.items}
    assert {"octobre.csv", "novembre.csv"} <= names
    assert power.files.get(me, seeded["admin_file"].uid).data.rows == seeded["admin_file"].data.rows
    frame = power.files.frame(me, seeded["admin_file"].uid, ANALYSED)
    assert len(frame) > 0 and "sentiment" in frame.columns

    with pytest.raises(PermissionDenied, match="lacks the permission read_users or manage_users"):
        power.users.list(me)
    with pytest.raises(PermissionDenied, match="manage_datasets"):
        power.files.delete(me, seeded["admin_file"].uid)
    with pytest.raises(PermissionDenied, match="manage_tasks"):
        power.tasks.request(me, seeded["analyst_task"].uid, "start")
    # The same refusals as HTTP statuses, with the service layer's message kept.
    headers = {"Authorization": f"token {api_hub.token_for(POWER_EMAIL, POWER_PASSWORD)}"}
    for path, body in (("users/list", {}), ("files/delete", {"args": [seeded["admin_file"].uid]}),
                       ("tasks/request", {"args": [seeded["analyst_task"].uid, "start"]})):
        response = httpx.post(api_hub.api_url + f"api/call/{path}", json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert "lacks the permission" in response.json()["message"]
    # Internal lookups without permission checks are not part of the API at all.
    for path in ("users/find_by_email", "users/actor", "settings/ai_config", "tasks/transition", "users/remove"):
        assert httpx.post(api_hub.api_url + f"api/call/{path}", json={}, headers=headers).status_code == 404
    # Every refusal is in the activity log, attributed to the power user.
    s = api_hub.services
    logs = s.logs.list(s.auth.login("admin@free.com", "123456"), user=POWER_EMAIL, result="denied").items
    assert {entry.data.action for entry in logs} >= {"files.delete", "tasks.request"}
    # Nothing was deleted or started.
    assert s.files.find_duplicate(seeded["admin_file"].data.sha256) is not None
    assert s.tasks.find(seeded["analyst_task"].uid).data.status == "added"


def test_an_analyst_cannot_start_someone_elses_task_but_can_start_its_own(api_hub: ApiHub, seeded, tmp_path: Path):
    analyst = client(api_hub, "analyst@free.com", "123456", tmp_path)
    me = analyst.actor()
    with pytest.raises(PermissionDenied, match="belongs to another user"):
        analyst.tasks.request(me, seeded["admin_task"].uid, "start")
    with pytest.raises(PermissionDenied, match="belongs to another user"):
        analyst.files.delete(me, seeded["admin_file"].uid)
    with pytest.raises(NotFound, match="This dataset no longer exists"):
        analyst.files.get(me, "nope")
    assert analyst.tasks.get(me, seeded["admin_task"].uid).data.status == "done"


# -- files -------------------------------------------------------------------------------------------------


def test_files_stream_as_arrow_and_round_trip_equal_to_the_csv(api_hub: ApiHub, seeded, tmp_path: Path):
    analyst = client(api_hub, "analyst@free.com", "123456", tmp_path)
    me = analyst.actor()
    uid = seeded["admin_file"].uid
    stored = api_hub.services.storage.path(ANALYSED, uid)
    csv_copy = analyst.files.path(me, uid, ANALYSED)
    assert csv_copy.read_bytes() == stored.read_bytes()  # the exact stored bytes
    arrow = analyst.files.frame(me, uid, ANALYSED)
    pd.testing.assert_frame_equal(arrow, read_dataset(csv_copy), check_dtype=False)
    # ... and back to CSV gives the same table again.
    back = tmp_path / "back.csv"
    arrow.to_csv(back, index=False)
    pd.testing.assert_frame_equal(read_dataset(back), read_dataset(stored), check_dtype=False)
    # The typed frame is exactly what the Analysis view builds from the CSV.
    typed = analyst.files.frame(me, uid, ANALYSED, typed=True, dataset_name="octobre.csv")
    expected = analytics.load_analysed(stored, dataset_names=["octobre.csv"])
    pd.testing.assert_frame_equal(typed, expected, check_categorical=False)
    # The original and cleaned files too; a second fetch is answered "not modified" from the cache.
    for kind in ("datasets", "cleaned"):
        assert analyst.files.path(me, uid, kind).read_bytes() == api_hub.services.storage.path(kind, uid).read_bytes()
    before = csv_copy.stat().st_mtime_ns
    assert analyst.files.path(me, uid, ANALYSED).stat().st_mtime_ns == before
    # The spreadsheet-safe download reports what it neutralised, as FilesService.download does.
    safe, count = analyst.files.download(me, uid, ANALYSED)
    assert count == api_hub.services.files.download(me, uid, ANALYSED)[1]
    assert safe.exists()


def test_uploads_go_in_chunks_resume_and_respect_the_size_limit(api_hub: ApiHub, seeded, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch):
    import dallosh.client as client_module

    monkeypatch.setattr(client_module, "UPLOAD_CHUNK", 16 * 1024)  # many chunks for a small file
    analyst = client(api_hub, "analyst@free.com", "123456", tmp_path)
    me = analyst.actor()
    csv = synthetic_csv(tmp_path / "decembre.csv", 300, 6)
    assert csv.stat().st_size > 3 * 16 * 1024
    inspection = analyst.files.inspect(me, "decembre.csv", csv)
    assert inspection.rows == 300 and not inspection.missing_columns
    file, task = analyst.files.add(me, "decembre.csv", csv)  # reuses the upload the inspection sent
    assert file.data.rows == 300 and task.data.status == "added"
    stored = api_hub.services.storage.path("datasets", file.uid)
    assert len(read_dataset(stored)) == 300
    with pytest.raises(DuplicateDataset) as duplicate:
        analyst.files.add(me, "again.csv", csv.read_bytes())
    assert duplicate.value.existing_uid == file.uid

    headers = {"Authorization": f"token {api_hub.token_for('analyst@free.com', '123456')}"}
    uploads = api_hub.api_url + "api/uploads"
    data = csv.read_bytes()
    started = httpx.post(uploads, json={"filename": "x.csv", "size": len(data)}, headers=headers).json()
    first = httpx.put(f"{uploads}/{started['id']}", params={"offset": 0}, content=data[:1000], headers=headers)
    assert first.json()["received"] == 1000
    gap = httpx.put(f"{uploads}/{started['id']}", params={"offset": 5000}, content=data[5000:6000], headers=headers)
    assert gap.status_code == 409 and "1000 bytes" in gap.json()["message"]
    assert httpx.get(f"{uploads}/{started['id']}", headers=headers).json()["received"] == 1000  # resume point
    early = httpx.post(f"{uploads}/{started['id']}/add", json={}, headers=headers)
    assert early.status_code == 409 and "incomplete" in early.json()["message"]
    # Another user cannot touch this upload.
    power = {"Authorization": f"token {api_hub.token_for(POWER_EMAIL, POWER_PASSWORD)}"}
    assert httpx.get(f"{uploads}/{started['id']}", headers=power).status_code == 404
    assert httpx.delete(f"{uploads}/{started['id']}", headers=headers).status_code == 204
    # The size limit is enforced by the API before a byte is sent; uploads need manage_datasets.
    limit = api_hub.services.settings.general().maxUploadMB
    big = httpx.post(uploads, json={"filename": "big.csv", "size": (limit + 1) << 20}, headers=headers)
    assert big.status_code == 413 and f"{limit} MB" in big.json()["message"]
    assert httpx.post(uploads, json={"filename": "p.csv", "size": 10}, headers=power).status_code == 403


# -- events ------------------------------------------------------------------------------------------------


def test_server_sent_events_deliver_task_events(api_hub: ApiHub, seeded, tmp_path: Path):
    analyst = client(api_hub, "analyst@free.com", "123456", tmp_path)
    me = analyst.actor()
    task = seeded["analyst_task"]
    received: list[dict] = []
    done = threading.Event()

    def on_event(message: dict) -> None:
        if message.get("task_id") == task.uid:
            received.append(message)
            if message.get("event") == "done":
                done.set()

    stream = analyst.event_subscriber(on_event, [f"task.{task.data.file_id}.*"]).start()
    try:
        assert stream.connected
        analyst.tasks.request(me, task.uid, "start")
        assert done.wait(120), f"events received: {[m.get('event') for m in received]}"
    finally:
        stream.stop()
    events = [m["event"] for m in received]
    assert events[0] == "in_queue" and events[-1] == "done"
    assert {"reading_dataset", "process_cleaning", "saving_file"} <= set(events)
    assert all("_user_id" not in m and "api_key" not in str(m).lower() for m in received)


def test_events_need_a_role_that_reads_tasks_or_datasets(api_hub: ApiHub, seeded):
    s = api_hub.services
    admin = s.auth.login("admin@free.com", "123456")
    role = s.roles.create(admin, "nothing", [])
    s.users.create(admin, "idle@free.com", POWER_PASSWORD, role.uid)
    token = api_hub.token_for("idle@free.com", POWER_PASSWORD)
    started = time.monotonic()
    response = httpx.get(api_hub.api_url + "api/events", headers={"Authorization": f"token {token}"}, timeout=10)
    assert response.status_code == 403 and time.monotonic() - started < 10


def test_the_delivery_tab_works_through_the_api_and_secrets_stay_inside(api_hub: ApiHub, tmp_path: Path):
    admin = client(api_hub, "admin@free.com", "123456", tmp_path)
    me = admin.actor()
    shown = admin.delivery.update(me, smtpHost="smtp.example.com", smtpUser="r@example.com",
                                  smtpPassword="api-secret-password", fromAddress="r@example.com")
    assert shown.smtpPassword == "••••word" and admin.delivery.smtp_settings(me).smtpPassword == "••••word"
    assert admin.settings.get(me).delivery.smtpPassword == "••••word"
    assert admin.delivery.list(me).total == 0
    headers = {"Authorization": f"token {api_hub.token_for('admin@free.com', '123456')}"}
    for path in ("delivery/enqueue", "delivery/attempt", "delivery/purge", "delivery/_settings"):
        assert httpx.post(api_hub.api_url + f"api/call/{path}", json={}, headers=headers).status_code == 404, path
    analyst = client(api_hub, "analyst@free.com", "123456", tmp_path)
    with pytest.raises(PermissionDenied, match="manage_app"):
        analyst.delivery.smtp_settings(analyst.actor())


def test_scheduled_reports_through_the_api_are_the_callers_own(api_hub: ApiHub, seeded, tmp_path: Path):
    analyst = client(api_hub, "analyst@free.com", "123456", tmp_path)
    power = client(api_hub, POWER_EMAIL, POWER_PASSWORD, tmp_path)
    me = analyst.actor()
    # Switched off: this module's hub shares Redis, and nothing needs to run.
    sub = analyst.subscriptions.create(me, time="07:30", active=False, filters={"sentiments": ["negative"]})
    assert sub.data.owner == me.uid and sub.data.filters.sentiments == ["negative"]  # nested schema rebuilt
    assert [s.uid for s in analyst.subscriptions.list(me)] == [sub.uid]
    html = analyst.subscriptions.preview(me, sub.uid)
    assert "octobre.csv" in html and "unsubscribe?token=" in html
    assert analyst.subscriptions.update(me, sub.uid, time="08:15").data.time == "08:15"
    with pytest.raises(PermissionDenied, match="another user"):
        power.subscriptions.get(power.actor(), sub.uid)
    with pytest.raises(PermissionDenied, match="manage_app"):
        analyst.subscriptions.list(me, everyone=True)
    headers = {"Authorization": f"token {api_hub.token_for('analyst@free.com', '123456')}"}
    # Internal calls (the worker's run, the token's unsubscribe) are not part of the API.
    for path in ("subscriptions/run", "subscriptions/reschedule_missing", "subscriptions/unsubscribe",
                 "subscriptions/find", "subscriptions/unsubscribe_url"):
        assert httpx.post(api_hub.api_url + f"api/call/{path}", json={}, headers=headers).status_code == 404
    analyst.subscriptions.delete(me, sub.uid)
    assert analyst.subscriptions.list(me) == []
