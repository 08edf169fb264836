"""The users' servers' preheated kernels (hub/preheat.py): real kernels, started by the real kernel manager.

A kernel waiting in a pool is nobody's page: it must not be culled, must not count as a kernel in use (an idle
server stops) and its activity must not be watched; once handed to a page it is an ordinary kernel again.
"""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from hub.preheat import PreheatKernelManager


def test_singleuser_config_preheats_the_page_shared_links_open(monkeypatch):
    from dallosh.config import get_config
    from hub.lockdown import DalloshKernelManager
    from tests.unit.test_hub_lockdown import _load_singleuser_config

    assert issubclass(PreheatKernelManager, DalloshKernelManager)  # kernels still start inside the served tree
    try:
        for admin, size in (("0", "2"), ("1", "2"), ("0", "0")):
            monkeypatch.setenv("DALLOSH_PREHEAT_KERNELS", size)
            get_config.cache_clear()
            config = _load_singleuser_config(monkeypatch, "0", admin)
            assert config.ServerApp.kernel_manager_class == "hub.preheat.PreheatKernelManager"
            # every user's server has home/ (an analyst's has no admin/): shared links open there
            assert config.PreheatKernelManager.pool_sizes == {"home/analysis.ipynb": int(size)}
    finally:
        monkeypatch.delenv("DALLOSH_PREHEAT_KERNELS")
        get_config.cache_clear()


@pytest.mark.skipif(sys.platform == "win32", reason="kernels as subprocesses")
def test_a_pooled_kernel_is_not_culled_counted_or_watched_until_it_serves_a_page(tmp_path):
    async def scenario() -> None:
        # any idle time is too long (0: no periodic culler either; the test asks ``cull_kernel_if_idle`` itself)
        manager = PreheatKernelManager(root_dir=str(tmp_path), cull_idle_timeout=0)
        env = {**os.environ, "VOILA_PREHEAT": "True"}
        pooled = await manager.start_pooled("python3", "", env)
        ordinary = await manager.start_kernel(kernel_name="python3", path="")  # control: a page's kernel
        try:
            assert set(manager.list_kernel_ids()) == {pooled, ordinary}
            assert len(manager) == 1  # only the page's kernel keeps the server up
            assert getattr(manager.get_kernel(pooled), "_activity_stream", None) is None
            assert manager.get_kernel(ordinary)._activity_stream is not None
            await manager.cull_kernel_if_idle(pooled)
            await manager.cull_kernel_if_idle(ordinary)
            assert pooled in manager and ordinary not in manager  # the pool's survives, the idle page's goes

            manager.adopt(pooled)  # it serves a page now
            assert len(manager) == 1 and manager.get_kernel(pooled)._activity_stream is not None
            await manager.cull_kernel_if_idle(pooled)
            assert pooled not in manager  # culled like any page's kernel once idle
        finally:
            await manager.shutdown_all(now=True)

    asyncio.run(scenario())


def test_a_pooled_kernel_stopped_from_outside_is_replaced(tmp_path):
    async def scenario() -> None:
        manager = PreheatKernelManager(root_dir=str(tmp_path), fill_delay=0)
        manager.pool_sizes = {"home/analysis.ipynb": 1}
        started: list[str] = []

        async def preheat(notebook: str, delay: float) -> dict:  # the kernel part of ``_preheat``, no page
            kernel_id = await manager.start_pooled("python3", "", dict(os.environ))
            started.append(kernel_id)
            return {"kernel_id": kernel_id}

        manager._preheat = preheat
        try:
            manager.fill_all()
            first = (await manager._pools["home/analysis.ipynb"][0])["kernel_id"]
            assert manager.get_pool_size("home/analysis.ipynb") == 1 and len(manager) == 0
            await manager.shutdown_kernel(first)  # e.g. DELETE /api/kernels/<id>
            assert first not in manager and manager.get_pool_size("home/analysis.ipynb") == 1
            second = (await manager._pools["home/analysis.ipynb"][0])["kernel_id"]
            assert second != first and second in manager and started == [first, second]
        finally:
            await manager.shutdown_all(now=True)

    asyncio.run(scenario())
