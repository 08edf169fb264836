"""Writes docs/reference.md from the code, so the reference cannot drift from it.

    .venv/bin/python docs/make_reference.py           # rewrite docs/reference.md
    .venv/bin/python docs/make_reference.py --check   # exit 1 when the committed file is stale

Settings come from ``dallosh.config.SETTINGS`` (the fields of ``dallosh.config.Config``, with their help texts),
limits from the ``#:`` comments of ``dallosh/defaults.py``, statuses and actions from ``dallosh.lifecycle``,
control commands from ``dallosh.events``, and the other ``DALLOSH_*`` variables from a scan of the code. Only the
one-line meanings below are written by hand; generation fails when a permission, status, control command or
variable has none, so adding one to the code
without documenting it breaks ``tests/unit/test_docs.py``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if str(ROOT) not in sys.path:  # run as a script from any folder
    sys.path.insert(0, str(ROOT))

from dallosh import defaults, events, lifecycle  # noqa: E402
from dallosh.config import SETTINGS  # noqa: E402

REFERENCE = DOCS / "reference.md"

PERMISSION_MEANINGS = {
    "manage_users": "create, edit, disable, approve and delete users; create, edit and delete roles",
    "manage_datasets": "upload, add and delete datasets (adding one creates its task)",
    "manage_tasks": "start, pause, resume, stop and retry tasks",
    "manage_app": "admin dashboards: general and AI settings, activity logs; signs in to the admin pages",
    "view_overview": "the overview page (KPIs, task counts)",
    "read_users": "list users and roles, read only",
    "read_datasets": "list, preview and download datasets and their analysed files",
    "read_tasks": "list tasks, follow their progress and activity log",
    "use_notebooks": "JupyterLab with a private `storage/notebooks/work/<user>` folder (power users); without it the "
                     "user's server is Voilà-only",
    "manage_all_datasets": "delete, run, pause or stop datasets and tasks uploaded by other users (without it, "
                           "`manage_datasets` / `manage_tasks` act on one's own uploads only)",
}

STATUS_MEANINGS = {
    "added": "the dataset is stored; the task waits for Start",
    "in_queue": "Start was clicked: a job waits in the Redis queue for a free worker",
    "reading_dataset": "step 1: a worker reads `datasets/<uid>.csv`",
    "process_cleaning": "step 2: duplicates and empty texts dropped, text decoded, retweets / operator accounts / "
                        "outliers flagged; writes `cleaned/<uid>.csv`",
    "sending_to_llm": "step 3: pages of distinct texts go to the models in fallback order; a checkpoint per page",
    "appending_columns": "step 4: `sentiment`, `priority`, `main_topic`, `labelled_by` are appended",
    "saving_file": "step 5: the result is published as `analysed/<uid>.csv`",
    "done": "finished: the analysis pages can show it",
    "on_error": "a step failed (the message is on the task); Retry continues from the last completed step or page",
    "retry_step": "Retry was clicked: queued again, resumes after the last completed step",
    "paused": "Pause was clicked: the job stops at the next page boundary and frees its worker",
    "resumed": "Resume was clicked: queued again, resumes from the checkpoint",
    "stopped": "Stop was clicked: the running job is killed at once; Start runs it again from the checkpoint",
}

CONTROL_MEANINGS = {
    "proceed_task": "`{file_id, file_path, ai}`: start the dataset's task (the `ai` field is ignored: workers read "
                    "the AI settings themselves, so API keys never travel on the bus)",
    "retry_step": "`{file_id, file_path, ai, last_event_step}`: retry a task in `on_error`",
    "handle_process": "`{file_id, event: pause|resume|stop}`: pause, resume or stop a task",
}


#: ``DALLOSH_*`` variables the code reads directly, outside ``SETTINGS`` (found by ``other_variables``).
OTHER_VARIABLE_MEANINGS = {
    "DALLOSH_CULL_KERNEL_S": "seconds before an idle dashboard kernel is stopped (default 900); read by "
                             "`hub/singleuser_config.py` in each user's server",
    "DALLOSH_CULL_SERVER_S": "seconds without kernels before a user's server stops itself (default 3600)",
    "DALLOSH_NOTEBOOKS": "set by the spawner: `1` when the user's role has `use_notebooks` (JupyterLab), else `0`",
    "DALLOSH_IS_ADMIN": "set by the spawner: `1` when the user's role has `manage_app`",
    "DALLOSH_WORK_DIR": "set by the spawner: the power user's writable folder under `storage/notebooks/`",
    "DALLOSH_API_URL": "set by the hub for users' servers: base URL of the dallosh API service "
                       "(`dallosh.client` calls it with `JUPYTERHUB_API_TOKEN`)",
    "DALLOSH_CLIENT_CACHE": "folder where `dallosh.client` keeps the dataset files it fetched from the API "
                            "(default `~/.cache/dallosh-client`)",
    "DALLOSH_SERVICES_STATE": "folder of the generated Redis / RabbitMQ passwords of the local services "
                              "(default `~/.local/state/dallosh`, 0700; see docs/security.md)",
    "DALLOSH_LLM_API_KEY": "API key for `dallosh process --model ollama:MODEL@URL` or `openai:MODEL@URL`",
    "DALLOSH_TEST_MONGODB_URI": "tests only: run the suite against this MongoDB instead of a fresh nx-27017",
    "DALLOSH_WHEEL_CACHE": "`./run test` only: where the llama-cpp-python wheel is built once and reused "
                           "(default `~/.cache/dallosh-wheels`)",
    "DALLOSH_MODEL_CACHE": "tests only: where the real-server tests' model (.gguf) is assembled once "
                           "(default `~/.cache/dallosh/models`)",
}
#: Where ``other_variables`` looks for ``DALLOSH_*`` names.
SCANNED = ("dallosh", "hub", "worker", "docker", "docker-compose.yaml", "tests/conftest.py")
_VARIABLE = re.compile(r"\bDALLOSH_[A-Z0-9_]+\b")


def other_variables() -> list[str]:
    """``DALLOSH_*`` names used in the code that are not settings of ``dallosh/config.py``."""
    found: set[str] = set()
    for name in SCANNED:
        path = ROOT / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and p.suffix in
                                               ("", ".py", ".sh", ".yaml", ".yml", ".html")]
        for file in files:
            found.update(_VARIABLE.findall(file.read_text(encoding="utf-8", errors="ignore")))
    return sorted(found - {s.env for s in SETTINGS})


def _require(meanings: dict[str, str], names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if name not in meanings]
    if missing:
        raise SystemExit(f"docs/make_reference.py: describe the {what} {', '.join(missing)} "
                         f"(add it to the meanings in docs/make_reference.py)")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def documented_limits() -> list[tuple[str, str, str]]:
    """``(names, values, reason)`` for the constants of dallosh/defaults.py, grouped under their ``#:`` comment.

    A comment covers the assignments on the lines right after it (``LOGIN_MAX_FAILURES`` and the two lines that
    follow share one reason). Tuples (permissions, columns, …) have their own sections and are skipped.
    """
    source = Path(defaults.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    groups: list[tuple[list[str], list[str], str]] = []
    previous_end = -10
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            previous_end = -10
            continue
        name = node.targets[0].id
        value = getattr(defaults, name)
        comment, index = [], node.lineno - 2
        while index >= 0 and lines[index].lstrip().startswith("#:"):
            comment.insert(0, lines[index].lstrip()[2:].strip())
            index -= 1
        follows = node.lineno == previous_end + 1
        previous_end = node.end_lineno or node.lineno
        if isinstance(value, tuple):
            continue
        if comment:
            groups.append(([name], [repr(value)], " ".join(comment)))
        elif follows and groups:
            groups[-1][0].append(name)
            groups[-1][1].append(repr(value))
    return [(", ".join(f"`{n}`" for n in names), ", ".join(f"`{v}`" for v in values), reason)
            for names, values, reason in groups]


def stored_settings() -> list[tuple[str, str, str]]:
    """``(dotted name, default, help)`` of every stored setting declared with a help text."""
    import dataclasses

    from dallosh.schemas.settings import AIPreferences, GeneralSettings, ModelData

    found = []
    for prefix, cls in (("general", GeneralSettings), ("ai.preferences", AIPreferences),
                        ("ai.local[] / ai.external[] data", ModelData)):
        for f in dataclasses.fields(cls):
            if "help" in f.metadata:
                default = f"`{f.default}`" if f.default is not dataclasses.MISSING else "(computed)"
                found.append((f"{prefix}.{f.name}", default, f.metadata["help"]))
    return found


def render() -> str:
    _require(PERMISSION_MEANINGS, defaults.PERMISSIONS, "permission")
    _require(STATUS_MEANINGS, lifecycle.STATUSES, "status")
    _require(CONTROL_MEANINGS, events.CONTROL_COMMANDS, "control command")
    others = sorted(set(other_variables()) | set(OTHER_VARIABLE_MEANINGS))
    _require(OTHER_VARIABLE_MEANINGS, tuple(others), "variable")
    out = [
        "# Reference",
        "",
        "<!-- Generated by docs/make_reference.py from the code; do not edit by hand. -->",
        "",
        "Everything here is read from the code: settings from `dallosh/config.py`, limits from "
        "`dallosh/defaults.py`, task states from `dallosh/lifecycle.py`, messages from `dallosh/events.py`.",
        "",
        "## Settings",
        "",
        "Environment variables, or a `.env` file in the app's home (`DALLOSH_HOME`: the source checkout, or "
        "`~/.local/share/dallosh` for an installed wheel; the environment wins). Each value is checked when read: "
        "a bad one stops the command with the variable's name and what it expects. "
        "`.venv/bin/dallosh config` prints the effective values, secrets hidden; "
        "`dallosh config env-example` prints `.env.example`.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        secret = " **Secret.**" if s.secret else ""
        out.append(f"| `{s.env}` | {_cell(default)} | {_cell(s.help)}{secret} |")
    out += [
        "",
        "Other variables, read directly by the code (not in `.env.example`):",
        "",
        "| variable | meaning |",
        "| --- | --- |",
    ]
    out += [f"| `{name}` | {_cell(OTHER_VARIABLE_MEANINGS[name])} |" for name in others]
    out += [
        "",
        "Settings stored in the database and edited on the admin Settings page, where their help is declared "
        "(`dallosh/schemas/settings.py`):",
        "",
        "| setting | default | meaning |",
        "| --- | --- | --- |",
    ]
    out += [f"| `{name}` | {_cell(default)} | {_cell(text)} |" for name, default, text in stored_settings()]
    out += [
        "",
        "## Permissions",
        "",
        "A role is a named list of permissions (Admin → Users → Roles). Every service call checks them, "
        "re-read from the database on each call, so a role change applies at once.",
        "",
        "| permission | allows | default roles |",
        "| --- | --- | --- |",
    ]
    for name in defaults.PERMISSIONS:
        roles = "admin" + (", analyst" if name in defaults.ANALYST_PERMISSIONS else "")
        out.append(f"| `{name}` | {_cell(PERMISSION_MEANINGS[name])} | {roles} |")
    out += [
        "",
        "## Task statuses",
        "",
        "A task's status is also the name of the event published when it is reached. Pipeline steps, in order: "
        + ", ".join(f"`{s}`" for s in lifecycle.STEPS) + ".",
        "",
        "| status | meaning | may become |",
        "| --- | --- | --- |",
    ]
    for status in lifecycle.STATUSES:
        targets = ", ".join(f"`{t}`" for t in sorted(lifecycle.TRANSITIONS.get(status, ()))) or "—"
        out.append(f"| `{status}` | {_cell(STATUS_MEANINGS[status])} | {targets} |")
    out += [
        "",
        "User actions (the buttons of the Tasks page) and the statuses they are allowed from:",
        "",
        "| action | sets | allowed from |",
        "| --- | --- | --- |",
    ]
    for action, (new, sources) in lifecycle.ACTIONS.items():
        out.append(f"| {action} | `{new}` | {', '.join(f'`{s}`' for s in sorted(sources))} |")
    out += [
        "",
        "## Events and control messages (RabbitMQ)",
        "",
        "One durable topic exchange, `DALLOSH_EVENTS_EXCHANGE` (default `tasks`). Messages are JSON.",
        "",
        f"- Step events: routing key `{events.routing_key_for('<file_id>', '<event>')}`, body "
        "`{file_id, task_id, event, ts, run, event_uid, ...details}` (rows read, rows removed and why, page k of n, "
        f"model used, fallback, error text). Subscribe to one dataset with `{events.routing_key_for('<file_id>')}`, "
        f"to all with `{events.routing_key_for()}`. They are notifications: the task document and its stored "
        "events are the truth.",
        f"- Control messages: routing key `{events.control_key('<file_id>', '<command>')}`, consumed by one worker "
        "from the shared durable queue `<exchange>.control`:",
        "",
        "| command | body and effect |",
        "| --- | --- |",
    ]
    for command in events.CONTROL_COMMANDS:
        out.append(f"| `{command}` | {_cell(CONTROL_MEANINGS[command])} |")
    out += [
        "",
        "## Limits and defaults",
        "",
        "From `dallosh/defaults.py`, each with the reason for its value. The settings forms refuse AI model "
        "values outside the `*_MAX` bounds.",
        "",
        "| name | value | why |",
        "| --- | --- | --- |",
    ]
    for names, values, reason in documented_limits():
        out.append(f"| {names} | {_cell(values)} | {_cell(reason)} |")
    out += [
        "",
        "Default topics: " + ", ".join(defaults.DEFAULT_TOPICS) + ". "
        "Sentiments: " + ", ".join(defaults.SENTIMENTS) + ". "
        "Priorities: " + ", ".join(str(p) for p in defaults.PRIORITIES) + " (0 low, 1 medium, 2 high).",
        "",
        "Columns of a tweet export: " + ", ".join(f"`{c}`" for c in defaults.DATASET_COLUMNS) + "; required: "
        + ", ".join(f"`{c}`" for c in defaults.REQUIRED_COLUMNS) + ".",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
        if current != text:
            print("docs/reference.md is stale: run .venv/bin/python docs/make_reference.py", file=sys.stderr)
            return 1
        return 0
    REFERENCE.write_text(text, encoding="utf-8")
    print(f"wrote {REFERENCE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
