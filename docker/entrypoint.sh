#!/bin/sh
# Entry point of the Dallosh Analysis image (docker/Dockerfile). One image, several parts:
#   hub        JupyterHub and its proxy on DALLOSH_HUB_PORT; users' Voilà servers run as its child processes
#   worker     one processing worker (RQ) with its control listener; extra arguments go to `dallosh worker`
#   bootstrap  indexes, default roles, settings and accounts (idempotent), then exit
#   anything else runs as is: `python -m hub.singleuser ...` in KubeSpawner pods, `dallosh db status`, `sh`, ...
set -eu
storage="${DALLOSH_STORAGE_ROOT:-/srv/dallosh/storage}"
mkdir -p "$storage/run" "$storage/logs"

part="${1:-hub}"
[ "$#" -gt 0 ] && shift
case "$part" in
  hub)
    # JupyterHub keeps its state (sqlite, pid files, cookie secret) in storage/run, like `dallosh up`.
    cd "$storage/run"
    exec jupyterhub -f /srv/dallosh/app/jupyterhub_config.py "$@"
    ;;
  worker)
    exec dallosh worker "$@"
    ;;
  bootstrap)
    exec dallosh bootstrap "$@"
    ;;
  *)
    exec "$part" "$@"
    ;;
esac
