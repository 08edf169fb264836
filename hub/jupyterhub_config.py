"""JupyterHub configuration of Dallosh Analysis, shipped in the package and passed by ``python -m hub``.
Everything lives in ``hub/config.py``; settings come from ``dallosh.config`` (environment variables / .env,
documented in .env.example)."""

from hub.config import configure

configure(c)  # noqa: F821 - `c` is provided by JupyterHub's config loader
