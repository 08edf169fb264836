"""JupyterHub configuration of Dallosh Analysis. Everything lives in ``hub/config.py``; settings come from
``dallosh.config`` (environment variables / .env, documented in .env.example)."""

from hub.config import configure

configure(c)  # noqa: F821 - `c` is provided by JupyterHub's config loader
