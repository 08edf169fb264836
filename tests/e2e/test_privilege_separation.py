"""Issue 16: what code running in a user's kernel can reach, replayed through the real hub, API and kernels.

A power user (``read_datasets`` + ``use_notebooks`` only) and an admin each open a kernel in their own server
(their browser session, the Jupyter kernel REST and websocket API, as JupyterLab does) and run one attack script
in it. Every attempt is recorded as ``refused: …`` or ``SUCCEEDED: …`` and printed (``pytest -s`` shows the
list); each refusal has its positive control. Servers run as their own system accounts when the tests run as root
(``DALLOSH_SYSTEM_USERS=auto``): the test needs that, and an interpreter and code readable by other accounts.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import uuid
from pathlib import Path
from urllib.parse import quote, urlparse

import pymongo
import pytest

from dallosh.errors import NotFound
from hub import sysusers
from hub.spawner import runtime_paths
from tests.e2e.conftest import login
from tests.factories import make_csv

PASSWORD = "P0wer-user-pass"

pytestmark = pytest.mark.skipif(not sysusers.resolve_mode(os.environ.get("DALLOSH_SYSTEM_USERS", "auto")),
                                reason="users' servers run as system accounts only when the hub runs as root")


@pytest.fixture(scope="module", autouse=True)
def readable_runtime() -> None:
    """As root, these tests must see servers run unprivileged: not the hub's fallback when the interpreter or the
    code sit where other accounts cannot read them (docs/security.md says how to install)."""
    try:
        sysusers.check_reachable(runtime_paths())
    except sysusers.AccountError as exc:
        pytest.fail(f"users' servers would run as root here: {exc}")

#: Runs in the kernel: each attempt's outcome, as JSON on the last output line.
ATTACK = r'''
import glob, json, os, socket
P = json.loads(PARAMS)
R = {}
def attempt(name, fn):
    try:
        R[name] = "SUCCEEDED: " + repr(fn())[:160]
    except BaseException as exc:
        R[name] = f"refused: {type(exc).__name__}: {str(exc)[:160]}"
def read(path):
    with open(path, "rb") as f:
        return f.read(64)
def no_root():
    if os.geteuid() == 0 or os.getegid() == 0 or 0 in os.getgroups():
        return "root"
    raise PermissionError(f"uid {os.geteuid()} gid {os.getegid()}")
def secrets_in_env():
    found = [k for k, v in os.environ.items() if any(s in v for s in ("mongodb://", "redis://", "amqp://"))
             or k in ("DALLOSH_SECRET_KEY", "DALLOSH_SERVICES_STATE", "JPY_COOKIE_SECRET")]
    if found:
        return found
    raise LookupError("no credential in the environment")
def other_processes():
    found = []
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            data = open(path, "rb").read()
        except OSError:
            continue
        if any(s in data for s in (b"redis://:", b"amqp://dallosh", b"DALLOSH_SECRET_KEY=")):
            found.append(path)
    if found:
        return found
    raise PermissionError("no other process's environment holding credentials is readable")
def mongo():
    import pymongo
    client = pymongo.MongoClient(P["mongodb_uri"], serverSelectionTimeoutMS=3000)
    return client[P["database"]]["users"].find_one({}, {"data.email": 1})
def redis_():
    import redis
    return redis.Redis(host="127.0.0.1", port=6379, socket_timeout=3).keys("*")[:3]
def rabbit():
    import pika
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672, socket_timeout=3,
                                                             credentials=pika.PlainCredentials("guest", "guest")))
    conn.channel().basic_publish(P["exchange"], "control.x.proceed_task", b"{}")
    return "published"
def hub_users():
    import urllib.request
    req = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"] + "/users",
                                 headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
    return urllib.request.urlopen(req, timeout=10).status
from dallosh.session import app_services, current_actor
svc = app_services()
me = current_actor(svc)
storage = P["storage"]
attempt("is root", no_root)
attempt("credentials in the kernel's environment", secrets_in_env)
attempt("credentials in other processes' environments", other_processes)
attempt("list the storage root", lambda: os.listdir(storage))
attempt("list storage/run", lambda: os.listdir(f"{storage}/run"))
attempt("read the hub service token", lambda: read(f"{storage}/run/hub-service-token"))
attempt("read the cookie secret", lambda: read(f"{storage}/run/jupyterhub_cookie_secret"))
attempt("read the hub database", lambda: read(f"{storage}/run/jupyterhub.sqlite"))
attempt("list storage/db", lambda: os.listdir(f"{storage}/db"))
attempt("read a stored dataset file", lambda: read(f"{storage}/datasets/{P['dataset']}.csv"))
attempt("list storage/homes", lambda: os.listdir(f"{storage}/homes"))
attempt("list another user's home", lambda: os.listdir(P["other_home"]))
attempt("list another user's work folder", lambda: os.listdir(P["other_work"]))
attempt("read the Redis/RabbitMQ passwords", lambda: [read(p) for p in P["password_files"]] or 1 / 0)
attempt("MongoDB at the configured port, no credentials", mongo)
attempt("Redis without the password", redis_)
attempt("RabbitMQ as guest: publish a control message", rabbit)
attempt("hub API: list all users with the server's token", hub_users)
attempt("API users.list", lambda: len(svc.users.list(me).items))
attempt("API files.delete of a dataset", lambda: svc.files.delete(me, P["delete"]))
attempt("API tasks.request (control message)", lambda: svc.tasks.request(me, P["task"], "pause"))
attempt("API: read the datasets (positive control)",
        lambda: (len(svc.files.list(me).items), len(svc.files.frame(me, P["dataset"], "datasets"))))
attempt("API: who am I (positive control)", lambda: (me.email, sorted(me.permissions)))
print(json.dumps(R))
'''

#: Run in the page: start a kernel in ``path`` of the user's server, execute ``code`` over its websocket, return
#: the text it printed (or the error), as JupyterLab does.
RUN_IN_KERNEL = """async ([base, path, code]) => {
  const xsrf = decodeURIComponent((document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '');
  const r = await fetch(base + '/api/kernels', {method: 'POST', body: JSON.stringify({path}),
                        headers: {'X-XSRFToken': xsrf, 'Content-Type': 'application/json'}});
  if (r.status !== 201) return 'kernel not started: ' + r.status + ' ' + await r.text();
  const kernel = await r.json();
  const ws = new WebSocket(base.replace(/^http/, 'ws') + '/api/kernels/' + kernel.id + '/channels');
  const msgId = crypto.randomUUID();
  let out = '';
  const done = await new Promise((resolve) => {
    setTimeout(() => resolve('timeout: ' + out), 120000);
    ws.onerror = () => resolve('websocket error');
    ws.onopen = () => ws.send(JSON.stringify({channel: 'shell', buffers: [], metadata: {}, parent_header: {},
      header: {msg_id: msgId, msg_type: 'execute_request', username: '', session: crypto.randomUUID(),
               version: '5.3', date: new Date().toISOString()},
      content: {code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false,
                stop_on_error: true}}));
    ws.onmessage = (event) => {
      const m = JSON.parse(event.data);
      if (!m.parent_header || m.parent_header.msg_id !== msgId) return;
      if (m.msg_type === 'stream') out += m.content.text;
      if (m.msg_type === 'error') out += 'ERROR ' + m.content.ename + ': ' + m.content.evalue;
      if (m.msg_type === 'status' && m.content.execution_state === 'idle') resolve(out);
    };
  });
  ws.close();
  await fetch(base + '/api/kernels/' + kernel.id, {method: 'DELETE', headers: {'X-XSRFToken': xsrf}});
  return done;
}"""


def user_url(hub, email: str) -> str:
    return f"{hub.url}/user/{quote(email, safe='@')}"


def work_dir(email: str) -> str:
    return "work/" + re.sub(r"[^\w.-]", "_", email)


def run_attack(page, hub, email: str, params: dict) -> dict[str, str]:
    code = f"PARAMS = {json.dumps(json.dumps(params))}\n" + ATTACK
    out = page.evaluate(RUN_IN_KERNEL, [user_url(hub, email), work_dir(email), code])
    last = out.strip().splitlines()[-1] if out.strip() else out
    try:
        return json.loads(last)
    except ValueError:
        pytest.fail(f"the attack script did not finish: {out[-2000:]}")


def report(who: str, results: dict[str, str]) -> None:
    print(f"\n== attempts from {who}'s kernel ==")
    for name, outcome in results.items():
        print(f"- {name}: {outcome}")


@pytest.fixture(scope="module")
def sessions(hub, browser):
    """The admin and a power user signed in, their servers started (so each has its account and home)."""
    services = hub.services
    admin = services.auth.login("admin@free.com", "123456")
    role = services.roles.create(admin, f"power-{uuid.uuid4().hex[:4]}", ["read_datasets", "use_notebooks"])
    power = f"mallory-{uuid.uuid4().hex[:4]}@example.com"
    services.users.create(admin, power, PASSWORD, role.uid)
    dataset, _ = services.files.add(admin, "admins.csv", make_csv(5))
    task = services.tasks.find_by_file(dataset.uid)
    pages = {}
    for email, password in (("admin@free.com", "123456"), (power, PASSWORD)):
        context = browser.new_context()
        pages[email] = context.new_page()
        login(pages[email], hub, email, password)
        pages[email].wait_for_url(re.compile(r".*/user/.*"), timeout=90_000)
    storage = hub.storage_root
    admin_account = sysusers.account_name(admin.uid)
    uri = hub.env["DALLOSH_MONGODB_URI"]
    common = {"storage": str(storage), "mongodb_uri": uri, "database": hub.env["DALLOSH_MONGODB_DATABASE"],
              "exchange": hub.env["DALLOSH_EVENTS_EXCHANGE"], "dataset": dataset.uid,
              "task": task.uid if task else "0" * 32,
              "password_files": [str(p) for p in Path(pwd.getpwuid(0).pw_dir, ".local/state/dallosh").glob("*")]}
    yield {"pages": pages, "power": power, "admin": admin, "common": common, "dataset": dataset,
           "admin_home": str(storage / "homes" / admin_account),
           "admin_work": str(storage / "notebooks" / work_dir("admin@free.com")),
           "power_home": str(storage / "homes" / sysusers.account_name(services.users.find_by_email(power).uid)),
           "power_work": str(storage / "notebooks" / work_dir(power)),
           "mongodb_port": urlparse(uri).port}
    for page in pages.values():
        page.context.close()


#: Attempts that must fail in every kernel: secrets, other users' files, the services without credentials.
ALWAYS_REFUSED = (
    "is root", "credentials in the kernel's environment", "credentials in other processes' environments",
    "list the storage root", "list storage/run", "read the hub service token", "read the cookie secret",
    "read the hub database", "list storage/db", "read a stored dataset file", "list storage/homes",
    "list another user's home", "list another user's work folder", "read the Redis/RabbitMQ passwords",
    "Redis without the password", "RabbitMQ as guest: publish a control message",
    "hub API: list all users with the server's token", "MongoDB at the configured port, no credentials",
)
#: The embedded database has no authentication: what stops a server's account is the hub's netfilter chain
#: (hub/firewall.py), which resets its connections to the database, Redis and RabbitMQ ports.
DATABASE = "MongoDB at the configured port, no credentials"


def test_a_power_users_kernel_gets_its_roles_rights_and_nothing_more(hub, sessions):
    power = sessions["power"]
    results = run_attack(sessions["pages"][power], hub, power, {
        **sessions["common"], "other_home": sessions["admin_home"], "other_work": sessions["admin_work"],
        "delete": sessions["dataset"].uid})
    report(f"power user {power} (read_datasets + use_notebooks)", results)
    for name in ALWAYS_REFUSED:
        assert results[name].startswith("refused"), (name, results[name])
    for name in ("API users.list", "API files.delete of a dataset", "API tasks.request (control message)"):
        assert results[name].startswith("refused: PermissionDenied"), (name, results[name])
    assert results["API: read the datasets (positive control)"] == "SUCCEEDED: (1, 5)"
    assert power in results["API: who am I (positive control)"]
    assert hub.services.files.get(sessions["admin"], sessions["dataset"].uid)  # the dataset is still there
    # its own home and work folder are its account's alone
    entry = pwd.getpwnam(sysusers.account_name(hub.services.users.find_by_email(power).uid))
    for folder in (sessions["power_home"], sessions["power_work"]):
        st = os.stat(folder)
        assert (st.st_uid, st.st_mode & 0o777) == (entry.pw_uid, 0o700), folder


def test_the_admins_kernel_holds_no_secret_and_acts_through_the_api(hub, sessions):
    spare, _ = hub.services.files.add(sessions["admin"], "spare.csv", make_csv(3))
    results = run_attack(sessions["pages"]["admin@free.com"], hub, "admin@free.com", {
        **sessions["common"], "other_home": sessions["power_home"], "other_work": sessions["power_work"],
        "delete": spare.uid})
    report("admin@free.com (every permission), as an XSS would drive it", results)
    for name in ALWAYS_REFUSED:
        assert results[name].startswith("refused"), (name, results[name])
    assert results["API users.list"].startswith("SUCCEEDED")  # what the admin role may do, through the API
    assert results["API files.delete of a dataset"].startswith("SUCCEEDED")
    with pytest.raises(NotFound):
        hub.services.files.get(sessions["admin"], spare.uid)
    assert results["API: read the datasets (positive control)"] == "SUCCEEDED: (1, 5)"


def test_users_servers_cannot_even_connect_to_the_database_redis_or_rabbitmq(hub, sessions):
    power = sessions["power"]
    results = run_attack(sessions["pages"][power], hub, power, {
        **sessions["common"], "other_home": sessions["admin_home"], "other_work": sessions["admin_work"],
        "delete": sessions["dataset"].uid})
    # refused at the connection (reset by the firewall), not later for a missing password
    assert "Connection refused" in results[DATABASE], results[DATABASE]
    for name in ("Redis without the password", "RabbitMQ as guest: publish a control message"):
        assert re.search(r"refused: (ConnectionError|AMQPConnectionError|StreamLostError)", results[name]) and \
            "Authentication" not in results[name], (name, results[name])
    # positive controls: the hub's account reaches the same database at the same address, and the kernel reaches
    # the data through the API
    client = pymongo.MongoClient(sessions["common"]["mongodb_uri"], serverSelectionTimeoutMS=5000)
    try:
        assert client[sessions["common"]["database"]]["users"].find_one({}) is not None
    finally:
        client.close()
    assert results["API: read the datasets (positive control)"] == "SUCCEEDED: (1, 5)"
