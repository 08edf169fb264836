"""Container health checks of the Dallosh image: ``python docker/healthcheck.py hub|worker`` exits 0 when healthy.

- ``hub``: JupyterHub answers ``/hub/health`` through its proxy on ``DALLOSH_HUB_PORT``.
- ``worker``: RQ workers started in this container (same hostname) are registered in Redis on the app's task
  queue and on its notify queue (``dallosh worker`` runs both: a dead notify worker means no alert e-mail, no
  report and no retry). RQ refreshes each registration with its heartbeat, so a hung or dead worker disappears.

Used by docker-compose.yaml and the Kubernetes probes in docs/scaling.md; the slim image has no curl.
"""

from __future__ import annotations

import socket
import sys
import urllib.request

from dallosh.config import get_config


def hub_healthy() -> bool:
    url = f"http://127.0.0.1:{get_config().hub_port}/hub/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local URL
            return response.status == 200
    except OSError:
        return False


def worker_healthy() -> bool:
    from redis.exceptions import RedisError
    from rq import Worker

    from dallosh.delivery import notify_queue
    from dallosh.queue import TaskQueue

    config = get_config()
    tasks = TaskQueue(config)
    here = socket.gethostname()
    try:
        return all(any(worker.hostname == here for worker in Worker.all(connection=tasks.redis, queue=queue))
                   for queue in (tasks.queue, notify_queue(config, connection=tasks.redis)))
    except RedisError:
        return False


CHECKS = {"hub": hub_healthy, "worker": worker_healthy}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in CHECKS:
        print(f"usage: healthcheck.py {'|'.join(CHECKS)}", file=sys.stderr)
        return 2
    healthy = CHECKS[argv[0]]()
    print("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
