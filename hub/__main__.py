"""``python -m hub [SUBCOMMAND] [OPTIONS]``: JupyterHub with the package's configuration file.

The configuration ships inside the package (``hub/jupyterhub_config.py``), so neither ``dallosh up``, the image's
entry point nor an operator (``python -m hub upgrade-db``) needs to know where it was installed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def jupyterhub_argv(args: Sequence[str]) -> list[str]:
    """``args`` with ``-f <config>`` added after a subcommand (JupyterHub reads a subcommand first only)."""
    from hub.config import CONFIG_FILE

    head = list(args[:1]) if args and not args[0].startswith("-") else []
    return [*head, "-f", str(CONFIG_FILE), *args[len(head):]]


def main(args: Sequence[str] | None = None) -> None:
    from jupyterhub.app import main as jupyterhub_main

    jupyterhub_main(jupyterhub_argv(sys.argv[1:] if args is None else args))


if __name__ == "__main__":
    main()
