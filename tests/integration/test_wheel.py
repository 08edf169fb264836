"""The wheel alone runs the app: ``pip wheel .``, a fresh virtualenv, ``dallosh up`` from an empty folder.

This is what the image does (docker/Dockerfile installs the same wheel), so a page, template or data file read from
the source tree instead of the package fails here: the analyst signs in and the Voilà dashboard renders with the
``dallosh`` template from the installed package. Packages come from pip's cache or the registry; the embedded
database, Redis and RabbitMQ are the real ones.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from hub.config import free_public_port
from tests.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd[:3]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def wait_for(url: str, opener: urllib.request.OpenerDirector, up: subprocess.Popen, log: Path,
             timeout: float = 180, contains: str = "") -> str:
    """The body of ``url`` once it answers 200 (and holds ``contains``); fails at once if ``dallosh up`` died."""
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        assert up.poll() is None, f"dallosh up exited with {up.returncode}:\n{log.read_text()[-4000:]}"
        try:
            with opener.open(url, timeout=10) as response:
                last = response.read().decode(errors="replace")
                if response.status == 200 and contains in last:
                    return last
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {timeout} s (last: {last[-500:]})\n{log.read_text()[-4000:]}")


def proxy_bin() -> str:
    """The folder of configurable-http-proxy: the checkout's npm install (``./run``), else PATH."""
    local = ROOT / "node_modules" / ".bin"
    found = shutil.which("configurable-http-proxy", path=str(local)) or shutil.which("configurable-http-proxy")
    assert found, "configurable-http-proxy is missing: `./run test` installs it (npm)"
    return str(Path(found).parent)


def test_the_wheel_installs_into_a_clean_venv_and_runs_the_app(tmp_path):
    wheels, venv, empty = tmp_path / "wheels", tmp_path / "venv", tmp_path / "empty"
    empty.mkdir()
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)])
    wheel = next(wheels.glob("dallosh_analysis-*.whl"))
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DALLOSH_", "PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)], env=env, cwd=empty)

    located = run([str(python), "-c", "import dallosh, hub, importlib.util as u; print(dallosh.__file__); "
                                      "print(u.find_spec('tools'), u.find_spec('tests'))"], env=env, cwd=empty)
    package_file, leftovers = located.stdout.splitlines()
    assert Path(package_file).is_relative_to(venv), "the app runs from the wheel, not the checkout"
    assert leftovers == "None None", "neither the test-data generator nor the tests ship"

    port = free_public_port()
    env.update({"DALLOSH_HOME": str(tmp_path / "home"), "DALLOSH_STORAGE_ROOT": str(tmp_path / "storage"),
                "DALLOSH_MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}", "DALLOSH_HUB_PORT": str(port),
                "DALLOSH_QUEUE_NAME": f"wheel-{port}", "DALLOSH_EVENTS_EXCHANGE": f"wheel-{port}",
                "NO_PROXY": "127.0.0.1,localhost", "PATH": os.pathsep.join([proxy_bin(), env.get("PATH", "")])})
    dallosh = str(venv / "bin" / "dallosh")
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen([dallosh, "up"], cwd=empty, env=env, stdout=out, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        wait_for(base + "/hub/health", opener, up, log)
        login = wait_for(base + "/hub/login", opener, up, log)
        assert "Sign in · Dallosh Analysis" in login, "the hub's pages come from the package's templates"
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', login).group(1)
        opener.open(base + "/hub/login", urllib.parse.urlencode(
            {"username": "analyst@free.com", "password": "123456", "_xsrf": xsrf}).encode(), timeout=120)
        wait_for(f"{base}/user/analyst@free.com/voila/render/home/overview.ipynb", opener, up, log,
                 contains="dallosh-page.js")  # rendered with the Voilà template shipped in the package
        served = tmp_path / "storage" / "notebooks" / "home"
        assert served.resolve().is_relative_to(venv), "the users' servers serve the installed pages"
        assert not any(empty.iterdir()), "nothing is written to the working directory"
    finally:
        down = subprocess.run([dallosh, "down"], cwd=empty, env=env, capture_output=True, text=True, timeout=60)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, 9)
            up.wait(10)
    assert "stopped" in down.stdout, down.stdout + down.stderr
    assert up.returncode == 0, log.read_text()[-4000:]
