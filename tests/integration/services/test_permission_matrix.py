"""Every role × every service method: a call is refused exactly when the role lacks the permission.

Roles tested: the two defaults, a role without permissions, one role per single permission, and anonymous.
Allowed calls may still fail for other reasons (missing target, wrong password); only PermissionDenied counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dallosh.defaults import PERMISSIONS
from dallosh.errors import DalloshError, PermissionDenied
from tests.factories import make_csv

ANY_USER = "any signed-in user"
#: A scheduled report's due time (subscriptions.run).
DUE = datetime(2025, 10, 22, 5, 0, tzinfo=UTC)
SYSTEM_ONLY = "system"
#: Acting on another user's dataset or task: the permission to act at all, AND manage_all_datasets.
OTHERS_DATASET = "manage_all_datasets"

# (name, required permissions (any of), call(services, actor, targets))
METHODS = [
    ("users.list", ("read_users", "manage_users"), lambda s, a, t: s.users.list(a)),
    ("users.get", ("read_users", "manage_users"), lambda s, a, t: s.users.get(a, t["user"])),
    ("users.emails", ("read_users", "manage_users"), lambda s, a, t: s.users.emails(a, [t["user"]])),
    ("users.create", ("manage_users",), lambda s, a, t: s.users.create(a, "m@example.com", "s3cret-pass", t["role"])),
    ("users.update", ("manage_users",), lambda s, a, t: s.users.update(a, t["user"], name="N")),
    ("users.approve", ("manage_users",), lambda s, a, t: s.users.approve(a, t["user"])),
    ("users.reset_password", ("manage_users",), lambda s, a, t: s.users.reset_password(a, t["user"], "n3w-pass-word!")),
    ("users.delete", ("manage_users",), lambda s, a, t: s.users.delete(a, "missing")),
    ("roles.list", ("read_users", "manage_users"), lambda s, a, t: s.roles.list(a)),
    ("roles.get", ("read_users", "manage_users"), lambda s, a, t: s.roles.get(a, t["role"])),
    ("roles.create", ("manage_users",), lambda s, a, t: s.roles.create(a, "new role", [])),
    ("roles.update", ("manage_users",), lambda s, a, t: s.roles.update(a, t["role"], description="d")),
    ("roles.delete", ("manage_users",), lambda s, a, t: s.roles.delete(a, "missing")),
    ("files.inspect", ("manage_datasets",), lambda s, a, t: s.files.inspect(a, "x.csv", make_csv(2))),
    ("files.add", ("manage_datasets",), lambda s, a, t: s.files.add(a, "x.csv", make_csv(2))),
    ("files.list", ("read_datasets", "manage_datasets"), lambda s, a, t: s.files.list(a)),
    ("files.get", ("read_datasets", "manage_datasets"), lambda s, a, t: s.files.get(a, t["file"])),
    ("files.path", ("read_datasets", "manage_datasets"), lambda s, a, t: s.files.path(a, t["file"])),
    ("files.download", ("read_datasets", "manage_datasets"), lambda s, a, t: s.files.download(a, t["file"])),
    ("files.delete", ("manage_datasets", OTHERS_DATASET), lambda s, a, t: s.files.delete(a, t["doomed"])),
    ("files.count_owned", ("read_datasets", "manage_datasets"), lambda s, a, t: s.files.count_owned(a)),
    ("tasks.list", ("read_tasks", "manage_tasks"), lambda s, a, t: s.tasks.list(a)),
    ("tasks.get", ("read_tasks", "manage_tasks"), lambda s, a, t: s.tasks.get(a, t["task"])),
    ("tasks.rows_analysed", ("read_tasks", "manage_tasks", "view_overview"), lambda s, a, t: s.tasks.rows_analysed(a)),
    ("tasks.counts_by_status", ("read_tasks", "manage_tasks", "view_overview"),
     lambda s, a, t: s.tasks.counts_by_status(a)),
    ("tasks.request", ("manage_tasks", OTHERS_DATASET), lambda s, a, t: s.tasks.request(a, t["task"], "pause")),
    ("tasks.transition", ("manage_tasks",), lambda s, a, t: s.tasks.transition(a, t["task"], "done")),
    ("tasks.update_progress", ("manage_tasks",), lambda s, a, t: s.tasks.update_progress(a, t["task"], {})),
    ("tasks.claim", ("manage_tasks",), lambda s, a, t: s.tasks.claim(a, t["task"], 99, "reading_dataset", "w")),
    ("tasks.heartbeat", ("manage_tasks",), lambda s, a, t: s.tasks.heartbeat(a, t["task"], 99)),
    ("tasks.recover_orphans", ("manage_tasks",), lambda s, a, t: s.tasks.recover_orphans(a, 3600)),
    ("tasks.record_event", ("manage_tasks",),
     lambda s, a, t: s.tasks.record_event(a, s.tasks.find(t["task"]), "paused", {})),
    ("tasks.history", ("read_tasks", "manage_tasks"), lambda s, a, t: s.tasks.history(a, t["task"])),
    ("tasks.labelling", ("read_tasks", "manage_tasks", "read_datasets"),
     lambda s, a, t: s.tasks.labelling(a, t["task"])),
    ("tasks.create_for_file", ("manage_datasets",),
     lambda s, a, t: s.tasks.create_for_file(a, s.files.get(t["admin"], t["file"]))),
    ("corrections.correct", ("manage_datasets",),
     lambda s, a, t: s.corrections.correct(a, t["file"], "1", "sentiment", "neutral")),
    ("corrections.correct_many", ("manage_datasets",),
     lambda s, a, t: s.corrections.correct_many(a, t["file"], [("1", None)], "sentiment", "neutral")),
    ("corrections.history", ("read_datasets", "manage_datasets"), lambda s, a, t: s.corrections.history(a, t["file"])),
    ("corrections.effective", ("read_datasets", "manage_datasets"),
     lambda s, a, t: s.corrections.effective(a, t["file"])),
    ("corrections.revert", ("manage_datasets",), lambda s, a, t: s.corrections.revert(a, "missing")),
    ("results.analysed", ("read_datasets", "manage_datasets"), lambda s, a, t: s.results.analysed(a, t["file"])),
    ("results.corrected", ("read_datasets", "manage_datasets"), lambda s, a, t: s.results.corrected(a, [t["file"]])),
    ("results.headline", ("read_datasets", "manage_datasets"), lambda s, a, t: s.results.headline(a, t["file"])),
    ("alerts.list_rules", ("manage_app",), lambda s, a, t: s.alerts.list_rules(a)),
    ("alerts.get_rule", ("manage_app",), lambda s, a, t: s.alerts.get_rule(a, "missing")),
    ("alerts.create_rule", ("manage_app",),
     lambda s, a, t: s.alerts.create_rule(a, {"name": "r", "metric": "negative_volume"})),
    ("alerts.update_rule", ("manage_app",), lambda s, a, t: s.alerts.update_rule(a, "missing", {"name": "x"})),
    ("alerts.delete_rule", ("manage_app",), lambda s, a, t: s.alerts.delete_rule(a, "missing")),
    ("alerts.list_firings", ("read_datasets", "manage_datasets", "manage_app"),
     lambda s, a, t: s.alerts.list_firings(a)),
    ("alerts.get_firing", ("read_datasets", "manage_datasets", "manage_app"),
     lambda s, a, t: s.alerts.get_firing(a, "missing")),
    ("alerts.delivery_outcomes", ("read_datasets", "manage_datasets", "manage_app"),
     lambda s, a, t: s.alerts.delivery_outcomes(a, ["missing"])),
    ("alerts.firing_rules", ("read_datasets", "manage_datasets", "manage_app"),
     lambda s, a, t: s.alerts.firing_rules(a)),
    ("alerts.evaluate_after_task", SYSTEM_ONLY,
     lambda s, a, t: s.alerts.evaluate_after_task(a, s.tasks.find(t["task"]))),
    ("logs.list", ("manage_app",), lambda s, a, t: s.logs.list(a)),
    ("settings.get", ("manage_app",), lambda s, a, t: s.settings.get(a)),
    ("settings.update_general", ("manage_app",), lambda s, a, t: s.settings.update_general(a, appName="X")),
    ("settings.add_model", ("manage_app",),
     lambda s, a, t: s.settings.add_model(a, "local", {"model": "m", "baseUrl": "http://h"})),
    ("settings.update_model", ("manage_app",), lambda s, a, t: s.settings.update_model(a, "local", "missing", {})),
    ("settings.delete_model", ("manage_app",), lambda s, a, t: s.settings.delete_model(a, "local", "missing")),
    ("settings.set_preferences", ("manage_app",), lambda s, a, t: s.settings.set_preferences(a, mode="local")),
    ("settings.check_models", ("manage_app",), lambda s, a, t: s.settings.check_models(a, timeout=0.5)),
    ("settings.check_model", ("manage_app",),
     lambda s, a, t: s.settings.check_model(a, "local", "missing", timeout=0.5)),
    ("settings.ai_config", SYSTEM_ONLY, lambda s, a, t: s.settings.ai_config(a)),
    ("settings.remember_response_format", SYSTEM_ONLY,
     lambda s, a, t: s.settings.remember_response_format(a, "local", "missing", "json")),
    ("delivery.smtp_settings", ("manage_app",), lambda s, a, t: s.delivery.smtp_settings(a)),
    ("delivery.update", ("manage_app",), lambda s, a, t: s.delivery.update(a, smtpPort=2525)),
    ("delivery.statuses", ("manage_app",), lambda s, a, t: s.delivery.statuses(a, ["missing"])),
    ("delivery.send_test_email", ("manage_app",), lambda s, a, t: s.delivery.send_test_email(a, "x@example.com")),
    ("delivery.test_webhook", ("manage_app",), lambda s, a, t: s.delivery.test_webhook(a, "http://127.0.0.1:9/h")),
    ("delivery.enqueue", ("manage_app",),
     lambda s, a, t: s.delivery.enqueue(a, None, emails=[], webhooks=[], payload=None, origin={"test": "matrix"})),
    ("delivery.list", ("manage_app",), lambda s, a, t: s.delivery.list(a)),
    ("delivery.retry", ("manage_app",), lambda s, a, t: s.delivery.retry(a, "missing")),
    ("delivery.attempt", SYSTEM_ONLY, lambda s, a, t: s.delivery.attempt(a, "missing", final=True)),
    ("delivery.purge", SYSTEM_ONLY, lambda s, a, t: s.delivery.purge(a)),
    ("subscriptions.list", ("read_datasets", "manage_datasets"), lambda s, a, t: s.subscriptions.list(a)),
    ("subscriptions.list everyone", ("manage_app",), lambda s, a, t: s.subscriptions.list(a, everyone=True)),
    ("subscriptions.get", ("read_datasets", "manage_datasets", "manage_app"),
     lambda s, a, t: s.subscriptions.get(a, "missing")),
    # Switched off: nothing is scheduled in Redis by the matrix.
    ("subscriptions.create", ("read_datasets", "manage_datasets"),
     lambda s, a, t: s.subscriptions.create(a, active=False)),
    ("subscriptions.update", ("read_datasets", "manage_datasets"),
     lambda s, a, t: s.subscriptions.update(a, "missing", time="07:00")),
    ("subscriptions.delete", ("read_datasets", "manage_datasets", "manage_app"),
     lambda s, a, t: s.subscriptions.delete(a, "missing")),
    ("subscriptions.preview", ("read_datasets", "manage_datasets"),
     lambda s, a, t: s.subscriptions.preview(a, "missing")),
    ("subscriptions.send_now", ("read_datasets", "manage_datasets"),
     lambda s, a, t: s.subscriptions.send_now(a, "missing")),
    ("subscriptions.run", SYSTEM_ONLY, lambda s, a, t: s.subscriptions.run(a, "missing", 1, t["due"])),
    ("subscriptions.reschedule_missing", SYSTEM_ONLY, lambda s, a, t: s.subscriptions.reschedule_missing(a)),
    ("auth.me", ANY_USER, lambda s, a, t: s.auth.me(a)),
    ("auth.change_password", ANY_USER, lambda s, a, t: s.auth.change_password(a, "wrong", "n3w-password")),
    ("auth.update_account", ANY_USER, lambda s, a, t: s.auth.update_account(a, name="Me")),
    ("auth.delete_account", ANY_USER, lambda s, a, t: s.auth.delete_account(a, "wrong")),
]

ROLES = {"admin": None, "analyst": None, "nothing": [], **{f"only_{p}": [p] for p in PERMISSIONS}}


def test_matrix_covers_every_public_service_method(services):
    covered = {name for name, _, _ in METHODS}
    internal = {"find", "find_by_email", "actor", "actor_from", "count_in_role", "count_active_in_roles",
                "ensure_admin_remains", "insert_user", "apply_update", "remove", "by_name", "find_duplicate",
                "find_by_file", "record", "ensure", "general", "topics", "authorize", "check_password_policy",
                "clear_failures", "login", "register", "uses_default_password", "wait_time", "local_time",
                # subscriptions: the unsubscribe link's token is the authority (tests/integration/subscriptions)
                "unsubscribe", "describe_token", "unsubscribe_url"}
    for service_name in ("users", "roles", "files", "tasks", "logs", "settings", "auth", "corrections", "results",
                         "delivery", "alerts", "subscriptions"):
        service = getattr(services, service_name)
        for attr in dir(service):
            if attr.startswith("_") or attr in internal or not callable(getattr(service, attr)):
                continue
            if attr in ("db", "ctx", "dispatchers"):
                continue
            assert f"{service_name}.{attr}" in covered, f"{service_name}.{attr} is not in the permission matrix"


@pytest.mark.parametrize("role_name", list(ROLES))
def test_permission_matrix(services, admin, role_name):
    if ROLES[role_name] is None:
        role = services.roles.by_name(role_name)
    else:
        role = services.roles.create(admin, role_name, ROLES[role_name])
    email = f"{role_name}@matrix.io"
    if services.users.find_by_email(email) is None:
        services.users.create(admin, email, "m4trix-pass", role.uid)
    actor = services.auth.login(email, "m4trix-pass")
    file, task = services.files.add(admin, "target.csv", make_csv(2))  # the admin's: not the actor's own
    doomed, _ = services.files.add(admin, "doomed.csv", make_csv(3))
    victim = services.users.create(admin, "victim@matrix.io", "v1ctim-pass", role.uid)
    targets = {"user": victim.uid, "role": role.uid, "file": file.uid, "task": task.uid, "admin": admin,
               "doomed": doomed.uid, "due": DUE}
    problems = []
    for name, required, call in METHODS:
        if required == ANY_USER:
            allowed = True
        elif required == SYSTEM_ONLY:
            allowed = False
        elif required[-1] == OTHERS_DATASET:
            allowed = all(p in role.data.permissions for p in required)
        else:
            allowed = any(p in role.data.permissions for p in required)
        try:
            call(services, actor, targets)
            denied = False
        except PermissionDenied:
            denied = True
        except DalloshError:
            denied = False
        if denied == allowed:
            problems.append(f"{name}: {'refused' if denied else 'allowed'}")
    assert not problems, f"role {role_name}: {problems}"


def test_anonymous_is_refused_everywhere(services, admin):
    file, task = services.files.add(admin, "target.csv", make_csv(2))
    role = services.roles.by_name("analyst")
    targets = {"user": admin.uid, "role": role.uid, "file": file.uid, "task": task.uid, "admin": admin,
               "doomed": file.uid, "due": DUE}
    for name, _, call in METHODS:
        with pytest.raises(PermissionDenied):
            call(services, None, targets)
            pytest.fail(f"{name} accepted an anonymous call")


def test_denied_calls_are_logged(services, analyst):
    with pytest.raises(PermissionDenied):
        services.settings.update_general(analyst, appName="Hacked")
    entry = services.db.find("logs", {"data.action": "settings.update_general"})[-1]
    assert entry["data"]["result"] == "denied" and entry["data"]["requested_by"] == analyst.uid


def test_analysts_act_on_their_own_datasets_only(services, admin, analyst):
    own, own_task = services.files.add(analyst, "mine.csv", make_csv(2))
    theirs, their_task = services.files.add(admin, "theirs.csv", make_csv(3))
    # Another user's dataset: refused in the service, whatever the page shows.
    with pytest.raises(PermissionDenied, match="belongs to another user"):
        services.files.delete(analyst, theirs.uid)
    with pytest.raises(PermissionDenied, match="belongs to another user"):
        services.tasks.request(analyst, their_task.uid, "start")
    assert services.files.get(analyst, theirs.uid).uid == theirs.uid  # reading stays shared with the team
    # Positive controls: their own, and an admin's on anyone's.
    assert services.tasks.request(analyst, own_task.uid, "start").data.status == "in_queue"
    assert services.tasks.request(analyst, own_task.uid, "stop").data.status == "stopped"
    services.files.delete(analyst, own.uid)
    assert services.tasks.request(admin, their_task.uid, "start").data.status == "in_queue"
    assert services.tasks.request(admin, their_task.uid, "stop").data.status == "stopped"
    services.files.delete(admin, theirs.uid)
