"""Preheated Voilà kernels in the users' servers: a page of ``pool_sizes`` opens on a kernel that already ran it.

Voilà 0.5 preheats kernels only when it runs as its own application; the users' servers run it as a Jupyter
server extension, where its handler finds no pool (``kernel_manager.notebook_data`` is missing) and starts a
kernel per page. This kernel manager gives the handler what it looks for: per notebook, kernels started ahead
with the notebook executed through Voilà's own ``NotebookRenderer`` (the same template, configuration and
contents manager as a normal page, so hidden ``admin/`` pages cannot be preheated for analysts), handed to the
next request for that notebook, then replaced ``fill_delay`` seconds later.

A pooled kernel is nobody's page yet: it is never culled, it does not keep the server from stopping when idle
(``__len__`` and the activity watch leave it out) and its own activity does not count as the user's. Everything
that depends on the request (the address fragment, the signed-in user's current role, the settings, the theme,
the datasets) is read again by the App when the page connects (``dallosh/ui/app.py``, ``VOILA_PREHEAT``).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from typing import Any

from traitlets import Dict, Float, Integer
from voila.configuration import VoilaConfiguration
from voila.notebook_renderer import NotebookRenderer
from voila.paths import collect_template_paths
from voila.request_info_handler import RequestInfoSocketHandler
from voila.server_extension import load_config_file
from voila.utils import ENV_VARIABLE, get_page_config

from hub.lockdown import DalloshKernelManager

#: True while this manager starts a kernel for a pool (its activity is not watched until it serves a page).
_POOLED: contextvars.ContextVar[bool] = contextvars.ContextVar("dallosh_pooled", default=False)


class PreheatKernelManager(DalloshKernelManager):
    pool_sizes = Dict(value_trait=Integer(), default_value={}, config=True,
                      help="Notebook path (relative to the served folder) → kernels kept ready for it, its "
                           "notebook already executed. Each costs one idle kernel's memory for as long as the "
                           "server runs.")
    fill_delay = Float(10.0, config=True, help="Seconds after a preheated kernel is used before its replacement "
                                               "starts: a kernel starting takes a core for ~2 s, which the page "
                                               "that took the pooled one needs first.")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        #: What Voilà's handler reads: per notebook, the template and theme its pool rendered with.
        self.notebook_data: dict[str, dict[str, Any]] = {}
        self._pools: dict[str, list[asyncio.Task]] = {}
        #: Kernels waiting in a pool (started, not handed to a page yet).
        self._pooled: set[str] = set()
        self._closing = False
        loop = getattr(self.parent, "io_loop", None)
        if self.pool_sizes and loop is not None:
            # After the server's initialisation: the Voilà extension and the web app exist by then.
            loop.add_callback(self.fill_all)

    # -- the interface of Voilà's handler --------------------------------------------------------------------

    def get_pool_size(self, notebook: str) -> int:
        """Kernels ready (or getting ready) for ``notebook``; a failed start does not count."""
        return sum(1 for task in self._pools.get(notebook, ()) if not _failed(task))

    async def get_rendered_notebook(self, notebook_name: str, extra_kernel_env_variables: dict | None = None,
                                    **_kwargs: Any) -> tuple[asyncio.Task, list[str], str]:
        """Hand the oldest healthy kernel of ``notebook_name``'s pool to the request asking for the page."""
        pool = self._pools.get(notebook_name, [])
        content = None
        while pool and content is None:
            task = pool.pop(0)
            try:
                content = await task  # a kernel still starting is awaited: it is ahead of a new one anyway
            except Exception:  # noqa: BLE001 - logged by ``_log_failure``; the next one may do
                content = None
        if content is None:
            self.fill(notebook_name, delay=self.fill_delay)
            raise RuntimeError(f"No preheated kernel could start for {notebook_name}; open the page again.")
        renderer: NotebookRenderer = content["renderer"]
        renderer.stop_generator = True  # the rest of the page (if any) is rendered for this request
        kernel_id = content["kernel_id"]
        self.adopt(kernel_id)
        self.log.info("Using preheated kernel %s for %s", kernel_id, notebook_name)
        self.fill(notebook_name, delay=self.fill_delay)
        return content["task"], renderer.rendered_cache, kernel_id

    # -- pools ------------------------------------------------------------------------------------------------

    def fill_all(self) -> None:
        for notebook in self.pool_sizes:
            self.fill(notebook, delay=0)

    def fill(self, notebook: str, delay: float) -> None:
        """Start kernels until ``notebook``'s pool is full again (failed starts are dropped and retried)."""
        if self._closing:
            return
        pool = [task for task in self._pools.get(notebook, []) if not _failed(task)]
        self._pools[notebook] = pool
        for _ in range(max(self.pool_sizes.get(notebook, 0), 0) - len(pool)):
            task = asyncio.ensure_future(self._preheat(notebook, delay))
            task.add_done_callback(lambda done, name=notebook: self._log_failure(done, name))
            pool.append(task)

    def _log_failure(self, task: asyncio.Task, notebook: str) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.error("Could not preheat a kernel for %s: %s", notebook, task.exception())

    async def _preheat(self, notebook: str, delay: float) -> dict[str, Any]:
        if delay:
            await asyncio.sleep(delay)
        renderer = self._renderer(notebook)
        await renderer.initialize()
        env = {**os.environ, ENV_VARIABLE.VOILA_PREHEAT: "True",
               ENV_VARIABLE.VOILA_BASE_URL: self.parent.base_url,
               ENV_VARIABLE.VOILA_SERVER_URL: self.parent.web_app.settings.get("server_url", "/"),
               ENV_VARIABLE.VOILA_APP_PORT: str(self.parent.port)}
        kernel_id = await self.start_pooled(renderer.notebook.metadata.kernelspec.name, os.path.dirname(notebook),
                                            env)
        self.notebook_data[notebook] = {"template": renderer.template_name, "theme": renderer.theme}
        task = asyncio.ensure_future(renderer.generate_content_hybrid(kernel_id, self.get_kernel(kernel_id)))
        self.log.info("Preheating kernel %s for %s", kernel_id, notebook)
        task.add_done_callback(lambda _done: self.log.info("Preheated kernel %s is ready for %s", kernel_id,
                                                           notebook))
        return {"task": task, "renderer": renderer, "kernel_id": kernel_id}

    async def start_pooled(self, kernel_name: str, path: str, env: dict[str, str]) -> str:
        """Start a kernel that waits in a pool: not watched, not culled, not counted until ``adopt``."""
        token = _POOLED.set(True)
        try:
            kernel_id = await self.start_kernel(kernel_name=kernel_name, path=path, env=env)
        finally:
            _POOLED.reset(token)
        self._pooled.add(kernel_id)
        return kernel_id

    def adopt(self, kernel_id: str) -> None:
        """A pooled kernel now serves a page: it is watched, culled when idle and counted like any other."""
        self._pooled.discard(kernel_id)
        if kernel_id in self:
            super().start_watching_activity(kernel_id)

    def _renderer(self, notebook: str) -> NotebookRenderer:
        """Voilà's renderer configured as its server extension configures a page's (``voila.server_extension``)."""
        app = self.parent
        settings = app.web_app.settings
        configuration = VoilaConfiguration(parent=app)
        local = load_config_file()
        if local is not None:
            configuration.update_config(local)
        page_config = get_page_config(base_url=settings["base_url"], settings=settings, log=self.log,
                                      voila_configuration=configuration)
        return NotebookRenderer(
            voila_configuration=configuration, traitlet_config=app.config, notebook_path=notebook,
            template_paths=collect_template_paths(["voila", "nbconvert"], configuration.template),
            config_manager=settings["config_manager"], contents_manager=app.contents_manager,
            base_url=settings["base_url"], kernel_spec_manager=app.kernel_spec_manager, page_config=page_config,
            mathjax_config=settings.get("mathjax_config"), mathjax_url=settings.get("mathjax_url"))

    # -- a pooled kernel is nobody's page -----------------------------------------------------------------------

    def start_watching_activity(self, kernel_id: str) -> None:
        if _POOLED.get():
            return  # watched once it serves a page (``get_rendered_notebook``)
        super().start_watching_activity(kernel_id)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        if kernel_id in self._pooled:
            return
        await super().cull_kernel_if_idle(kernel_id)

    def __len__(self) -> int:
        """Kernels serving pages: an idle server with only its pool stops like one with no kernel."""
        return sum(1 for kernel_id in self.list_kernel_ids() if kernel_id not in self._pooled)

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:
        self._pooled.discard(kernel_id)
        RequestInfoSocketHandler._cache.pop(kernel_id, None)  # the request info Voilà keeps for the kernel
        emptied = []
        for notebook, pool in self._pools.items():
            for task in list(pool):
                if task.done() and not _failed(task) and task.result()["kernel_id"] == kernel_id:
                    pool.remove(task)
                    emptied.append(notebook)
        await super().shutdown_kernel(kernel_id, *args, **kwargs)
        for notebook in emptied:  # a pooled kernel stopped from outside (the API, a crash): replace it
            self.fill(notebook, delay=self.fill_delay)

    async def shutdown_all(self, *args: Any, **kwargs: Any) -> None:
        self._closing = True
        for pool in self._pools.values():
            for task in pool:
                if not task.done():
                    task.cancel()
        self._pools = {}
        await super().shutdown_all(*args, **kwargs)


def _failed(task: asyncio.Task) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)
