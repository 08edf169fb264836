"""jupyter_server configuration of every user's server (passed by the spawner with ``--config``).

The spawner sets DALLOSH_NOTEBOOKS (1 when the user's role has ``use_notebooks``), DALLOSH_IS_ADMIN and
DALLOSH_WORK_DIR; everything else is common to all users.
"""

import os

from dallosh.config import get_config as dallosh_config  # not `get_config`: the loader provides that name
from hub.csp import USER_SERVER_POLICY
from hub.lockdown import WIDGET_MESSAGE_TYPES
from hub.pages import VOILA_EXTENSION_DENYLIST

c = get_config()  # noqa: F821 - provided by the traitlets config loader

notebooks = os.environ.get("DALLOSH_NOTEBOOKS") == "1"
is_admin = os.environ.get("DALLOSH_IS_ADMIN") == "1"

c.ServerApp.contents_manager_class = "hub.lockdown.DalloshContentsManager"
# DalloshKernelManager (kernels start inside the served folder) with preheated kernels for the Analysis page.
c.ServerApp.kernel_manager_class = "hub.preheat.PreheatKernelManager"
c.DalloshContentsManager.hidden_prefixes = [] if is_admin else ["admin"]
c.DalloshContentsManager.writable_prefix = os.environ.get("DALLOSH_WORK_DIR", "") if notebooks else ""

# Culling: Voilà kernels of closed tabs linger otherwise (DESIGN.md §8).
config = dallosh_config()
c.MappingKernelManager.cull_idle_timeout = config.cull_kernel_s
c.MappingKernelManager.cull_interval = 60
c.MappingKernelManager.cull_connected = False
c.ServerApp.shutdown_no_activity_timeout = config.cull_server_s
# The page shared links open (home/analysis.ipynb, on every user's server: dallosh/ui/location.py) starts on a
# kernel that already ran it.
c.PreheatKernelManager.pool_sizes = {"home/analysis.ipynb": config.preheat_kernels}

# Large widget messages (the chunked uploader keeps frames small; this is the safety margin).
c.ServerApp.tornado_settings = {"websocket_max_message_size": 64 * 1024 * 1024,
                                "headers": {"Content-Security-Policy": USER_SERVER_POLICY}}
c.VoilaConfiguration.template = "dallosh"
# The page's theme and template come from this file only: a ``?theme=`` / ``?template=`` query string was written
# unescaped into the page (a link that ran script in the viewer's session).
c.VoilaConfiguration.allow_theme_override = "NO"
c.VoilaConfiguration.allow_template_override = "NO"
c.VoilaConfiguration.show_tracebacks = False
c.VoilaConfiguration.extension_denylist = VOILA_EXTENSION_DENYLIST
# Tokens are re-checked with the hub after this many seconds: a signed-out session stops working that soon.
c.HubOAuth.cache_max_age = 10

if not notebooks:
    # Voilà only: no JupyterLab, no terminals, no contents writes, kernels accept widget messages only.
    c.ServerApp.jpserver_extensions = {"jupyterlab": False, "notebook": False, "jupyter_lsp": False,
                                       "jupyter_server_terminals": False, "notebook_shim": False, "voila": True,
                                       "voila.server_extension": True}
    c.ServerApp.terminals_enabled = False
    c.MappingKernelManager.allowed_message_types = WIDGET_MESSAGE_TYPES
elif not is_admin:
    c.ServerApp.terminals_enabled = False
