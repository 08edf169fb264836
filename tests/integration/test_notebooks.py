"""nbval on every notebook, against the real services (embedded database, Redis, RabbitMQ).

Each notebook runs top to bottom in a real kernel as the local user (an admin), with a dataset already analysed
so the analysis pages and the power-user examples have data. Outputs are not compared (widgets differ per run);
any error fails the test (``--nbval-lax``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from dallosh.config import PROJECT_ROOT
from dallosh.lifecycle import STEPS
from dallosh.llm.builtin import BuiltinAnalyzer
from dallosh.pipeline import Run, run_steps
from dallosh.services import SYSTEM
from hub.spawner import NOTEBOOKS_DIR
from tools.synthetic import generate_tweets

NOTEBOOKS = sorted(NOTEBOOKS_DIR.rglob("*.ipynb"))


def add_analysed_dataset(services, actor, rows: int = 300, seed: int = 1, name: str = "analysed.csv"):
    """A dataset that went through the real pipeline (in-process, built-in analyzer), its task marked done."""
    file, task = services.files.add(actor, name, generate_tweets(rows, seed=seed).to_csv(index=False).encode())
    storage = services.storage
    run_steps(Run(source=storage.path("datasets", file.uid), cleaned=storage.path("cleaned", file.uid),
                  analysed=storage.path("analysed", file.uid), checkpoints=storage.checkpoints(file.uid),
                  topics=services.settings.topics(), operator_accounts=services.settings.general().operatorAccounts,
                  providers=lambda: [BuiltinAnalyzer()]))
    services.tasks.request(actor, task.uid, "start")
    for status in (*STEPS, "done"):
        services.tasks.transition(SYSTEM, task.uid, status)
    services.tasks.update_progress(SYSTEM, task.uid, {"last_completed_step": "saving_file"})
    return file


def test_every_notebook_runs(services, admin, tmp_path):
    assert NOTEBOOKS, f"no notebook found under {NOTEBOOKS_DIR}"
    add_analysed_dataset(services, admin)
    env = {**os.environ, "DALLOSH_MONGODB_URI": services.config.mongodb_uri,
           "DALLOSH_MONGODB_DATABASE": services.config.mongodb_database,
           "DALLOSH_STORAGE_ROOT": str(services.config.storage_root), "DALLOSH_LOCAL_USER": "admin@free.com",
           "DALLOSH_QUEUE_NAME": f"nbval-{uuid.uuid4().hex[:6]}", "DALLOSH_EVENTS_EXCHANGE": "nbval-tasks",
           "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("JUPYTERHUB_USER", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q",
                             "-rA", *map(str, NOTEBOOKS)], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = {line.split(" ", 1)[1].split("::")[0] for line in result.stdout.splitlines()
              if line.startswith("PASSED ")}
    assert passed == {str(nb.relative_to(PROJECT_ROOT)) for nb in NOTEBOOKS}  # every notebook ran, none skipped
