"""The docs cannot drift from the code (datasette-style): every permission, task status, control command and
setting is documented, the generated reference is up to date, and links, paths and examples point at things
that exist."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

from dallosh import defaults, events, lifecycle
from dallosh.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
#: The pages the issue asks for (architecture, user guide, admin guide, developer guide, operations, scaling).
REQUIRED_PAGES = ("README.md", "architecture.md", "user-guide.md", "admin-guide.md", "developer-guide.md",
                  "operations.md", "deployment.md", "scaling.md", "reference.md")
#: Repository folders whose paths the docs may cite; each cited path must exist (git-ignored outputs excepted).
CITED_PREFIXES = ("dallosh/", "hub/", "worker/", "docker/", "tests/", "bench/", ".github/", "docs/", ".ci/")
GIT_IGNORED = ("bench/results", "tests/e2e/screenshots")


def load_generator():
    spec = importlib.util.spec_from_file_location("make_reference", DOCS / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_reference", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def docs_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in PAGES)


def code_blocks(language: str) -> list[tuple[Path, str]]:
    fence = re.compile(rf"^```{language}\n(.*?)^```", re.S | re.M)
    return [(page, block) for page in PAGES for block in fence.findall(page.read_text(encoding="utf-8"))]


def documented(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text) is not None


def test_the_pages_exist_and_the_index_links_them():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for name in REQUIRED_PAGES:
        assert (DOCS / name).is_file(), f"docs/{name} is missing"
    for page in PAGES:
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not link {page.name}"


def test_reference_is_generated_from_the_code():
    committed = (DOCS / "reference.md").read_text(encoding="utf-8")
    assert committed == load_generator().render(), "run `.venv/bin/python docs/make_reference.py`"


@pytest.mark.parametrize("kind, names", [
    ("permission", defaults.PERMISSIONS),
    ("status", lifecycle.STATUSES),
    ("control command", events.CONTROL_COMMANDS),
    ("setting", tuple(s.env for s in SETTINGS)),
])
def test_every_name_is_documented(docs_text, kind, names):
    missing = [name for name in names if not documented(name, docs_text)]
    assert not missing, f"undocumented {kind}(s): {missing} — see docs/make_reference.py"


def test_every_dallosh_variable_of_the_code_is_documented(docs_text):
    for name in load_generator().other_variables():
        assert documented(name, docs_text), f"{name} is read by the code but not documented"


def test_every_page_of_the_app_is_described():
    user = (DOCS / "user-guide.md").read_text(encoding="utf-8")
    admin = (DOCS / "admin-guide.md").read_text(encoding="utf-8")
    for page in ("Overview", "Datasets", "Tasks", "Analysis", "Alerts", "Reports", "Profile"):
        assert f"## {page}" in user or f"**{page}**" in user, f"user guide: {page}"
    for page in ("Overview", "Users", "Datasets", "Tasks", "Analysis", "Alerts", "Reports", "Logs",
                 "Settings"):
        assert page in admin, f"admin guide: {page}"
    for topic in ("Roles", "AI models", "Maintenance", "Backups", "mongodump", "storage/"):
        assert topic in admin, f"admin guide: {topic}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_links_between_pages_and_to_the_repository_resolve():
    link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
    for page in PAGES:
        for target in link.findall(page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            if path.startswith("images/"):
                assert path.endswith(".png") and "/" not in path[len("images/"):], f"{page.name}: {target}"
                continue  # screenshots are added separately
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.exists(), f"{page.name} links to {target}, which does not exist"
            if anchor and resolved.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", resolved.read_text(encoding="utf-8"), re.M)
                assert anchor in {_slug(h) for h in headings}, f"{page.name}: no heading #{anchor} in {path}"


def test_cited_repository_paths_exist():
    cited = re.compile(r"`((?:" + "|".join(re.escape(p) for p in CITED_PREFIXES) + r")[^`\s<>*]*)`")
    for page in PAGES:
        for path in cited.findall(page.read_text(encoding="utf-8")):
            path = path.split("::")[0].rstrip("/.,")
            if path.startswith(GIT_IGNORED):
                continue
            assert (ROOT / path).exists(), f"{page.name} cites {path}, which does not exist"


def test_cited_tests_exist():
    for page in PAGES:
        for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", page.read_text(encoding="utf-8")):
            assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8"), f"{page.name}: {path}::{name}"


def test_yaml_examples_parse():
    blocks = code_blocks("yaml")
    assert blocks, "the Kubernetes examples are YAML blocks"
    for page, block in blocks:
        for document in yaml.safe_load_all(block):
            assert document, f"{page.name}: an empty YAML document"


def _helm_values() -> dict:
    values = [block for page, block in code_blocks("yaml") if page.name == "scaling.md" and "singleuser:" in block]
    assert len(values) == 1, "scaling.md holds one values.yaml for Zero to JupyterHub"
    return yaml.safe_load(values[0])


def test_values_yaml_uses_the_images_and_paths_of_this_repository():
    values = _helm_values()
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert "AS k8s-hub" in dockerfile and values["hub"]["image"]["name"].endswith("-k8s-hub")
    assert values["singleuser"]["cmd"] == ["python", "-m", "hub.singleuser"]
    storage_root = re.search(r"DALLOSH_STORAGE_ROOT=(\S+)", dockerfile).group(1)
    assert values["hub"]["extraEnv"]["DALLOSH_STORAGE_ROOT"] == storage_root
    assert {m["mountPath"] for m in values["hub"]["extraVolumeMounts"]} == {storage_root}
    for name in values["hub"]["extraEnv"]:
        assert name in {s.env for s in SETTINGS}, f"values.yaml sets {name}, which is not a setting"


def test_values_yaml_keeps_users_pods_away_from_the_data_and_the_backends():
    """Issue 16: users' pods mount only their own volume, reach only the hub and the proxy, hold no credential."""
    from hub.spawner import SERVER_NOTEBOOKS, WORK_DIR

    values = _helm_values()
    single = values["singleuser"]
    assert single["storage"]["type"] == "dynamic" and "extraVolumes" not in single["storage"]
    assert single["storage"]["homeMountPath"] == f"{SERVER_NOTEBOOKS}/{WORK_DIR}"
    egress = single["networkPolicy"]["egressAllowRules"]
    assert egress["privateIPs"] is False and egress["nonPrivateIPs"] is False
    code = values["hub"]["extraConfig"]["dallosh"]
    assert "settings_environment(clients=True)" in code and "SETTINGS" not in code  # the spawner's one rule
    assert "DALLOSH_API_URL" in code and values["hub"]["extraEnv"]["DALLOSH_SPAWNER"] == "kubernetes"
    assert {p["port"] for p in values["hub"]["service"]["extraPorts"]} == {8082}


def test_values_yaml_hub_config_imports_only_what_exists():
    code = _helm_values()["hub"]["extraConfig"]["dallosh"]
    compile(code, "values.yaml:hub.extraConfig.dallosh", "exec")
    for module, names in re.findall(r"^from ([\w.]+) import (.+)$", code, re.M):
        imported = importlib.import_module(module) if module else None
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(imported, name), f"values.yaml imports {module}.{name}, which does not exist"
    for dotted in re.findall(r'"((?:hub|dallosh)\.[\w.]+\.\w+)"', code):
        module, _, attribute = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), f"values.yaml names {dotted}"


def test_kubernetes_manifests_use_the_entrypoint_commands():
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    manifests = [doc for page, block in code_blocks("yaml") if page.name == "scaling.md"
                 for doc in yaml.safe_load_all(block) if isinstance(doc, dict) and "kind" in doc]
    containers = [c for doc in manifests if doc["kind"] in ("Job", "Deployment")
                  for c in doc["spec"]["template"]["spec"]["containers"]]
    assert {c["args"][0] for c in containers} == {"bootstrap", "worker"}
    for container in containers:
        assert f"  {container['args'][0]})" in entrypoint
        probe = container.get("livenessProbe", {}).get("exec", {}).get("command", [])
        for word in probe:
            if word.startswith("/srv/dallosh/app/"):
                assert (ROOT / word.removeprefix("/srv/dallosh/app/")).is_file(), word


def test_compose_commands_in_the_docs_name_real_services(docs_text):
    services = set(yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))["services"])
    pattern = (r"docker compose (?:exec|logs(?: -f)?|run --rm --no-deps(?: -T)?(?: --entrypoint \w+)?|stop|start) "
               r"(?:-T )?([a-z][\w-]*)")
    for service in re.findall(pattern, docs_text):
        assert service in services, f"the docs use `docker compose … {service}`, not a service of docker-compose.yaml"
