"""Entry point of every user's server: ``jupyterhub-singleuser`` without one needlessly slow import.

jsonschema (through jupyter_events) imports ``rfc3987_syntax`` when it is installed, only to check the "iri"
string formats, and that module compiles a Lark grammar at import: 0.8 s of every server start on the
reference machine, about a fifth of a cold login. No schema a Jupyter server validates uses those formats, so
the import is refused (jsonschema then simply does not check them).

    python -m hub.singleuser [jupyterhub-singleuser options]
"""

from __future__ import annotations

import os
import sys


def prepare_container_root() -> None:
    """In a server container or pod (``DALLOSH_SPAWNER`` docker or kubernetes), the links to the shipped pages
    and the user's work folder; on the hub's machine the hub makes them before the server starts."""
    from hub.spawner import notebook_root

    root = notebook_root()
    work = os.environ.get("DALLOSH_WORK_DIR", "")
    if work:
        (root / work).mkdir(parents=True, exist_ok=True)


def main() -> int:
    sys.modules.setdefault("rfc3987_syntax", None)  # a None entry makes the import raise ImportError
    if os.environ.get("DALLOSH_SPAWNER") in ("docker", "kubernetes"):
        prepare_container_root()
    from jupyterhub.singleuser import main as singleuser_main

    return singleuser_main()


if __name__ == "__main__":
    raise SystemExit(main())
