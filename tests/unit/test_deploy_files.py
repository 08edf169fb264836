"""docker-compose.yaml, docker/Dockerfile and .github/workflows/ parse and reference only what exists.

No Docker engine runs here or in CI's test job, so the files are checked with a YAML parser and a small
Dockerfile reader: published ports, health checks, paths, DALLOSH_* names, job graph and the test command.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from dallosh.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
SETTING_NAMES = {s.env for s in SETTINGS}
DALLOSH_VAR = re.compile(r"\bDALLOSH_[A-Z0-9_]+\b")
#: Variables the test suite itself reads (tests/conftest.py); allowed in CI files although not app settings.
TEST_ONLY_VARS = {"DALLOSH_TEST_MONGODB_URI"}
#: The services the app needs and the images the issue asks for.
BACKEND_IMAGES = {"mongodb": "mongo:7", "rabbitmq": "rabbitmq:3-management", "redis": "redis:7"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def workflow_triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """``on:`` (YAML 1.1 reads the bare key ``on`` as the boolean True)."""
    triggers = workflow.get("on", workflow.get(True))
    return triggers if isinstance(triggers, dict) else {name: None for name in triggers or []}


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line[:-1]}" if line.endswith("\\") else f"{pending} {line}"
        if not line.endswith("\\"):
            keyword, _, args = pending.strip().partition(" ")
            instructions.append((keyword.upper(), args.strip()))
            pending = ""
    return instructions


def is_one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") in ("no", False)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


# -- docker-compose.yaml ----------------------------------------------------------------------------------------


def test_compose_has_every_part(services):
    assert {"mongodb", "rabbitmq", "redis", "ollama", "bootstrap", "hub", "worker"} <= set(services)
    for name, image in BACKEND_IMAGES.items():
        assert services[name]["image"] == image
    assert services["ollama"]["profiles"] == ["ollama"], "Ollama is optional"
    assert services["ollama-pull"]["profiles"] == ["ollama"] and "pull" in services["ollama-pull"]["command"]
    assert isinstance(services["worker"]["deploy"]["replicas"], int | str), "workers scale with deploy.replicas"


def test_only_the_hub_publishes_a_port(services):
    published = {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}
    assert published == {"hub": ["8000:8000"]}
    for svc in services.values():
        assert "network_mode" not in svc, "host networking would publish every port"


def test_every_long_running_service_has_a_healthcheck(services):
    for name, svc in services.items():
        if is_one_shot(svc):
            continue
        check = svc.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no health check"
    assert "mongosh" in services["mongodb"]["healthcheck"]["test"]
    assert "rabbitmq-diagnostics" in services["rabbitmq"]["healthcheck"]["test"]
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]


def test_dependencies_exist_and_wait_for_health(services):
    for name, svc in services.items():
        depends = svc.get("depends_on") or {}
        for target, rule in (depends.items() if isinstance(depends, dict) else ((d, {}) for d in depends)):
            assert target in services, f"{name} depends on unknown service {target}"
            wanted = "service_completed_successfully" if is_one_shot(services[target]) else "service_healthy"
            assert rule.get("condition") == wanted, f"{name} → {target} should wait for {wanted}"
    for name in ("hub", "worker"):
        assert set(services[name]["depends_on"]) == {"mongodb", "rabbitmq", "redis", "bootstrap"}


def test_app_services_share_storage_and_read_secrets_from_env_file(compose, services):
    assert "storage" in compose["volumes"]
    for name in ("bootstrap", "hub", "worker"):
        svc = services[name]
        env = environment(svc)
        root = env["DALLOSH_STORAGE_ROOT"]
        assert root.startswith("/"), "the storage root must be absolute inside the containers"
        assert f"storage:{root}" in svc["volumes"], f"{name} must mount the shared storage at {root}"
        assert svc["env_file"] == ".env"
        assert env["DALLOSH_EMBEDDED_DB"] == "never"
        for key in ("DALLOSH_MONGODB_URI", "DALLOSH_REDIS_URL", "DALLOSH_RABBITMQ_URL"):
            assert "${" in env[key] and ":?" in env[key], f"{key} must take its password from .env"
    assert environment(services["hub"])["DALLOSH_HUB_IP"] == "0.0.0.0"
    for name in ("mongodb", "rabbitmq", "redis"):
        assert any(str(v).startswith(f"{name}:") for v in services[name]["volumes"]), f"{name} keeps its data"


def test_compose_builds_the_dockerfile(services):
    for name, svc in services.items():
        build = svc.get("build")
        if not build:
            continue
        context = ROOT / build["context"]
        assert context.is_dir(), f"{name}: build context {build['context']} is missing"
        assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']} is missing"
        stages = [args.split()[-1] for kw, args in dockerfile_instructions(context / build["dockerfile"])
                  if kw == "FROM" and " AS " in args.upper()]
        assert build.get("target") in stages


def test_healthcheck_scripts_exist(services):
    for svc in services.values():
        for word in (svc.get("healthcheck") or {}).get("test", []):
            if word.startswith("/srv/dallosh/app/"):
                assert (ROOT / word.removeprefix("/srv/dallosh/app/")).is_file(), word


# -- docker/Dockerfile and .dockerignore ------------------------------------------------------------------------


def test_the_image_installs_the_project_wheel_not_the_source_tree():
    instructions = dockerfile_instructions(DOCKERFILE)
    runs = [args for kw, args in instructions if kw == "RUN"]
    assert any("pip wheel" in r and "--no-deps" in r for r in runs), "the project's own wheel is built"
    assert any("pip install" in r and "dallosh_analysis-*.whl" in r for r in runs), "and installed as a wheel"
    assert not any(re.search(r"pip install .*(-e|--editable)\b", r) for r in runs), "no editable install"
    copies = [shlex.split(args) for kw, args in instructions if kw == "COPY" and "--from=" not in args]
    assert ["."] not in [c[:1] for c in copies], "no source tree in the image"


def test_dockerfile_is_multi_stage_non_root_and_installs_the_project():
    instructions = dockerfile_instructions(DOCKERFILE)
    stages = [args for kw, args in instructions if kw == "FROM"]
    assert len(stages) >= 3, "build stages (proxy, wheels) then a slim runtime"
    assert any(args.startswith("node:") for args in stages), "the proxy comes from npm ci in a node stage"
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert "npm ci" in runs and "pip wheel" in runs and "pip install" in runs
    users = [args for kw, args in instructions if kw == "USER"]
    assert users and users[-1] != "root" and "root" not in users[-1:], "the image must end as a non-root user"
    assert ("EXPOSE", "8000") in instructions


def test_the_image_finds_npm_packages_where_it_copies_them():
    """The proxy's binary and plotly.js's basic bundle (dallosh/ui/analysis/plotly_chart.py looks on NODE_PATH):
    both come from the folder the node stage's packages are copied to."""
    instructions = dockerfile_instructions(DOCKERFILE)
    copied = [shlex.split(args)[-1] for kw, args in instructions if kw == "COPY" and "node_modules" in args]
    env = " ".join(args for kw, args in instructions if kw == "ENV")
    assert copied and f"NODE_PATH={copied[0]}" in env and f"PATH={copied[0]}/.bin:" in env


def test_dockerfile_copies_only_what_exists():
    for keyword, args in dockerfile_instructions(DOCKERFILE):
        if keyword not in ("COPY", "ADD"):
            continue
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        if "--from=" in args:
            continue  # copies from an earlier stage, not from the repository
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"


def test_entrypoint_and_its_commands_exist():
    instructions = dict(dockerfile_instructions(DOCKERFILE))
    entry = yaml.safe_load(instructions["ENTRYPOINT"])
    script = ROOT / entry[-1].removeprefix("/srv/dallosh/app/")
    assert script.is_file()
    text = script.read_text(encoding="utf-8")
    for part in ("hub)", "worker)", "bootstrap)"):
        assert part in text
    assert "python -m hub" in text and (ROOT / "hub" / "__main__.py").is_file()
    assert (ROOT / "hub" / "jupyterhub_config.py").is_file(), "python -m hub runs JupyterHub with this file"


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore semantics, simplified: last matching pattern wins, ``!`` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/")) for p in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_the_app_and_drops_secrets_and_data():
    patterns = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    for needed in ("pyproject.toml", "README.md", "package.json", "package-lock.json", "hub/jupyterhub_config.py",
                   "dallosh/config.py", "hub/config.py", "hub/templates/page.html", "worker/__main__.py",
                   "hub/notebooks/home/overview.ipynb", "hub/jupyter/voila/templates/dallosh/conf.json",
                   "docker/entrypoint.sh", "docker/healthcheck.py"):
        assert (ROOT / needed).exists() and not _ignored(needed, patterns), f"{needed} must reach the image"
    for secret in (".env", "storage/db", ".venv/bin/python", "node_modules/.bin", ".git/config"):
        assert _ignored(secret, patterns), f"{secret} must stay out of the image"


# -- DALLOSH_* names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [COMPOSE_FILE, DOCKERFILE, ROOT / "docker" / "entrypoint.sh", *WORKFLOWS],
                         ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_dallosh_variables_are_real_settings(path):
    unknown = set(DALLOSH_VAR.findall(path.read_text(encoding="utf-8"))) - SETTING_NAMES - TEST_ONLY_VARS
    assert not unknown, f"{path.name} uses {sorted(unknown)}, which dallosh/config.py SETTINGS does not define"


# -- .github/workflows ------------------------------------------------------------------------------------------


def local_pipeline(workflow: dict[str, Any]) -> dict[str, Any]:
    """The workflow whose jobs run: itself, or the local reusable workflow all its jobs call."""
    uses = {job.get("uses") for job in workflow["jobs"].values()}
    if uses == {None}:
        return workflow
    assert len(uses) == 1 and next(iter(uses)).startswith("./.github/workflows/"), uses
    called = ROOT / next(iter(uses)).removeprefix("./")
    assert called.is_file(), f"{called} is missing"
    callee = load_yaml(called)
    assert "workflow_call" in workflow_triggers(callee), f"{called.name} cannot be called"
    return callee


def test_the_original_spec_workflows_exist():
    names = {p.name for p in WORKFLOWS}
    assert "deployment.yaml" in names, "the all-in-one CI/CD of the original spec"
    assert len(names) >= 2, "plus per-part workflows"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_runs_lint_test_build_then_deploy(path):
    workflow = load_yaml(path)
    assert workflow_triggers(workflow), f"{path.name} has no trigger"
    jobs = local_pipeline(workflow)["jobs"]
    assert {"lint", "test", "build", "deploy"} <= set(jobs)
    needs = jobs["deploy"].get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    assert "test" in needs, "deploy must be gated on the tests"
    build_needs = jobs["build"].get("needs", [])
    assert "test" in ([build_needs] if isinstance(build_needs, str) else build_needs)
    assert "refs/heads/main" in str(jobs["deploy"].get("if", "")), "deploy only from main"
    for job in workflow["jobs"].values():
        if "uses" in job:
            assert job.get("secrets") == "inherit", "the called pipeline needs the deploy secrets"


def test_test_job_has_the_services_and_real_mongodb():
    jobs = load_yaml(ROOT / ".github/workflows/deployment.yaml")["jobs"]
    test = jobs["test"]
    images = {name: svc["image"] for name, svc in test["services"].items()}
    assert images == BACKEND_IMAGES
    ports = {name: svc["ports"] for name, svc in test["services"].items()}
    assert ports == {"mongodb": ["27017:27017"], "redis": ["6379:6379"], "rabbitmq": ["5672:5672"]}
    step_env = [step.get("env", {}) for step in test["steps"]] + [test.get("env", {})]
    uris = [env["DALLOSH_TEST_MONGODB_URI"] for env in step_env if "DALLOSH_TEST_MONGODB_URI" in env]
    assert uris == ["mongodb://localhost:27017"], "the adapter contract must also run on the real MongoDB"


def test_test_job_runs_the_readme_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./run test" in readme and "./run test" in ci
    test = load_yaml(ROOT / ".github/workflows/deployment.yaml")["jobs"]["test"]
    commands = [step.get("run", "") for step in test["steps"]]
    assert any(cmd.strip().startswith(("./run test", ".ci/run", "bash .ci/run")) for cmd in commands)
    for cmd in commands:
        if "pytest" in cmd:
            pytest.fail(f"call the README's `./run test [ARGS]`, not pytest directly: {cmd!r}")
    readme_db = re.search(r"DALLOSH_TEST_MONGODB_URI=\S+ \./run test (tests/[\w/]+)", readme)
    assert readme_db and any(readme_db.group(1) in cmd for cmd in commands), "the README's contract-test command"


def test_workflow_versions_match_the_project():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ruff_pin = next(dep for dep in pyproject["project"]["optional-dependencies"]["test"] if dep.startswith("ruff"))
    workflow = load_yaml(ROOT / ".github/workflows/deployment.yaml")
    lint = " ".join(step.get("run", "") for step in workflow["jobs"]["lint"]["steps"])
    assert f'"{ruff_pin}"' in lint, f"lint must install the pinned {ruff_pin}"
    assert "ruff check ." in lint
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    python = workflow["env"]["PYTHON_VERSION"]
    node = workflow["env"]["NODE_VERSION"]
    assert f"ARG PYTHON_VERSION={python}\n" in dockerfile and f"ARG NODE_VERSION={node}\n" in dockerfile
    low = re.search(r">=\s*(\d+)\.(\d+)", pyproject["project"]["requires-python"]).groups()
    assert tuple(map(int, python.split("."))) >= tuple(map(int, low))


def test_build_job_builds_the_dockerfile_targets():
    jobs = load_yaml(ROOT / ".github/workflows/deployment.yaml")["jobs"]
    build = next(step for step in jobs["build"]["steps"] if "build-push-action" in step.get("uses", ""))
    assert (ROOT / build["with"]["file"]).is_file()
    targets = {item["target"] for item in jobs["build"]["strategy"]["matrix"]["include"]}
    stages = {args.split()[-1] for kw, args in dockerfile_instructions(DOCKERFILE) if kw == "FROM"}
    assert targets <= stages and "runtime" in targets


def test_workflows_reference_only_repository_files():
    for path in WORKFLOWS:
        # Action references (``uses: docker/build-push-action@v6``) name other repositories; skip those lines.
        text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                         if not line.strip().startswith(("uses:", "- uses:")))
        for ref in re.findall(r"(?<![\w/.-])((?:docker|\.github/workflows|tests|docs|\.ci)/[\w./-]+)", text):
            assert (ROOT / ref.rstrip(".")).exists(), f"{path.name} references {ref}, which does not exist"
