"""Content-Security-Policy of the hub's pages and of every user server (DESIGN.md §7, docs/security.md).

Measured on this stack:
- Voilà pages (our ``dallosh`` template) run no inline script at all: every executable script is a file served by
  the user's own server, so ``script-src`` has no ``'unsafe-inline'`` and an injected ``<script>`` or ``onerror=``
  attribute does not run. ``'unsafe-eval'`` stays: ipyaggrid turns grid-option strings into functions with
  ``eval`` (our cell renderers and comparators) and plotly compiles expressions with ``Function``; no user string
  reaches those options (dallosh/ui/grids.py). ``blob:`` loads plotly.js from the widget's own bytes.
- Widgets set inline styles everywhere, so ``style-src`` keeps ``'unsafe-inline'`` (styles cannot run code).
- JupyterHub's own pages (login, admin, token, spawn-pending) carry inline scripts rendered per request (its
  require.js configuration, ``window.jhdata``), so the hub keeps ``'unsafe-inline'`` for scripts. Every value on
  those pages goes through JupyterHub's autoescaping Jinja templates and ours (hub/templates) through the same.
"""

from __future__ import annotations

_COMMON = ("default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
           "frame-ancestors 'self'; img-src 'self' data: blob:; font-src 'self' data:; "
           "style-src 'self' 'unsafe-inline'")

#: Every response of a user server (Voilà pages, JupyterLab for power users, their APIs).
USER_SERVER_POLICY = (f"{_COMMON}; script-src 'self' 'unsafe-eval' blob:; connect-src 'self' ws: wss:; "
                      "worker-src 'self' blob:")

#: The hub's pages.
HUB_POLICY = f"{_COMMON}; script-src 'self' 'unsafe-inline'; connect-src 'self'"
