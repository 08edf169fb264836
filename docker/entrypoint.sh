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
    # JupyterHub keeps its state (sqlite, pid files, cookie secret) in storage/run, like `dallosh up`;
    # `python -m hub` runs it with the configuration file shipped in the package (hub/jupyterhub_config.py).
    cd "$storage/run"
    exec python -m hub "$@"
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
