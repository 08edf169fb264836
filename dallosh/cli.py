"""The ``dallosh`` command: ``up``/``down`` for the whole app, ``db`` for the embedded database, ``bootstrap``,
``eval`` for label quality, ``report`` for a PDF or HTML report (``dallosh.reports.cli``).

Later parts add their sub-commands here (``worker``, ``process``); each one only parses arguments and calls the
library, like RQ's CLI.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from dallosh.config import get_config
from dallosh.db import embedded
from dallosh.defaults import HYBRID_THRESHOLD_DEFAULT
from dallosh.errors import DalloshError

log = logging.getLogger("dallosh")


def _print_bootstrap(report) -> None:
    for item in report.created:
        print(f"  created {item}")
    for warning in report.warnings:
        print(f"  WARNING: {warning}")


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from dallosh.bootstrap import bootstrap
    from dallosh.services import Services

    config = get_config()
    status = embedded.ensure_database(config) if args.start_db else embedded.status(config)
    if status.kind == "down":
        print(f"error: {status.describe()}. Run `dallosh db start` first (or pass --start-db).", file=sys.stderr)
        return 1
    services = Services.from_config(config)
    report = bootstrap(services)
    print(f"Bootstrap done on {status.describe()} (database {config.mongodb_database}).")
    _print_bootstrap(report)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    config = get_config()
    if args.action == "status":
        status = embedded.status(config)
        print(status.describe())
        return 0 if status.kind != "down" else 3
    if args.action == "start":
        status = embedded.ensure_database(config)
        print(status.describe())
        return 0
    if embedded.stop_embedded(config):
        print("embedded database stopped")
    else:
        print("no embedded database started by this project is running"
              + (" (an external MongoDB is left untouched)" if embedded.status(config).kind == "mongodb" else ""))
    return 0


def _up_pid_path():
    from dallosh.storage import Storage

    return Storage.from_config().run_dir / "up.pid"


def _running_up_pid() -> int | None:
    try:
        pid = int(_up_pid_path().read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def cmd_up(args: argparse.Namespace) -> int:
    """Start everything the app needs and stay in the foreground until Ctrl-C or ``dallosh down``."""
    from dallosh.bootstrap import bootstrap
    from dallosh.services import Services
    from dallosh.storage import Storage

    config = get_config()
    running = _running_up_pid()
    if running:
        print(f"Dallosh Analysis is already running (pid {running}). Stop it with `dallosh down`.")
        return 1
    storage = Storage.from_config(config)
    storage.ensure()
    before = embedded.status(config)
    status = embedded.ensure_database(config)
    started_db = before.kind == "down"
    print(f"Database: {status.describe()}")
    report = bootstrap(Services.from_config(config))
    _print_bootstrap(report)
    _check_brokers(config)
    _up_pid_path().write_text(str(os.getpid()))
    children = Children(storage.logs_dir)
    for i in range(args.workers):
        children.start(f"worker-{i + 1}", [sys.executable, "-m", "dallosh", "worker", "--name",
                                          f"{os.uname().nodename}-up-{os.getpid()}-{i + 1}"])
    if not args.no_hub and not args.once:
        children.start("jupyterhub", [sys.executable, "-m", "hub"], cwd=storage.run_dir)
        if not _wait_http(config.hub_url + "hub/health", 60, children):
            print(f"error: JupyterHub did not start; see {storage.logs_dir}/jupyterhub.log")
            children.stop_all()
            if started_db:
                embedded.stop_embedded(config)
            _up_pid_path().unlink(missing_ok=True)
            return 1
        print(f"Open {config.hub_url}")
    stopping = {"now": False}

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("Dallosh Analysis is up. Default accounts: admin@free.com / 123456 (admin), "
          "analyst@free.com / 123456 (analyst).")
    print("Press Ctrl-C (or run `dallosh down`) to stop.")
    try:
        while not stopping["now"] and not args.once:
            time.sleep(0.5)
            crashed = children.crashed()
            if crashed:
                print(f"error: {crashed} exited unexpectedly; see {storage.logs_dir}/{crashed}.log. Stopping.")
                break
    finally:
        print("Stopping…")
        children.stop_all()
        if started_db:
            embedded.stop_embedded(config)
        _up_pid_path().unlink(missing_ok=True)
        print("Stopped.")
    return 0


def _wait_http(url: str, timeout: float, children: Children | None = None) -> bool:
    """Poll ``url`` until it answers 200 (False on timeout or when a child died meanwhile)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if children is not None and children.crashed():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def _check_brokers(config) -> None:
    """Fail early, with the fix, when Redis or RabbitMQ is not reachable."""
    from dallosh.events import broker_alive
    from dallosh.queue import TaskQueue

    if not TaskQueue(config).alive():
        raise RuntimeError(f"Redis does not answer at {config.redis_url}. Start it (`./run start` does, or "
                           "`docker compose up -d redis`) or set DALLOSH_REDIS_URL.")
    if not broker_alive(config):
        raise RuntimeError("RabbitMQ does not answer at the configured DALLOSH_RABBITMQ_URL. Start it "
                           "(`./run start` does, or `docker compose up -d rabbitmq`).")


class Children:
    """Processes started by ``dallosh up``; each logs to ``storage/logs/<name>.log``."""

    def __init__(self, logs_dir):
        self.logs_dir = logs_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None, cwd=None) -> subprocess.Popen:
        from dallosh.storage import private_umask

        log_file = open(self.logs_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        # umask 077: the hub's database, secrets and logs, the worker's outputs are the app account's alone.
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True, preexec_fn=private_umask)
        self.procs[name] = proc
        print(f"  started {name} (pid {proc.pid}, log {self.logs_dir / (name + '.log')})")
        return proc

    def crashed(self) -> str | None:
        return next((name for name, proc in self.procs.items() if proc.poll() is not None), None)

    def stop_all(self, timeout: float = 15.0) -> None:
        """Stop every child with its descendants (RQ work-horses, the hub's proxy and user servers)."""
        from dallosh.processes import stop_pid_file, stop_tree
        from dallosh.storage import Storage

        for proc in self.procs.values():
            stop_tree(proc.pid, timeout)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        # A hub that crashed leaves its proxy behind (it runs in a session of its own).
        stop_pid_file(Storage.from_config().proxy_pid_file, "configurable-http-proxy", timeout)


def cmd_down(args: argparse.Namespace) -> int:
    pid = _running_up_pid()
    if pid is None:
        print("Dallosh Analysis is not running.")
        stopped = embedded.stop_embedded()
        if stopped:
            print("(stopped a leftover embedded database)")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _running_up_pid():
        time.sleep(0.2)
    print("Dallosh Analysis stopped." if not _running_up_pid() else f"pid {pid} did not stop within 30 s.")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from dallosh.config import SETTINGS, env_example

    if args.action == "env-example":
        sys.stdout.write(env_example())
        return 0
    config = get_config()
    for setting in SETTINGS:
        value = getattr(config, setting.attr)
        print(f"{setting.env}={'***' if setting.secret and value else value}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from dallosh.worker import run_notify_worker, run_worker

    config = get_config()
    embedded.ensure_database(config)
    if args.queue == "notify":
        run_notify_worker(config, burst=args.burst, name=args.name)
        return 0
    notify = None
    if args.queue == "all":  # the notify worker in its own process: RQ runs one worker per process
        command = [sys.executable, "-m", "dallosh", "worker", "--queue", "notify",
                   *(["--burst"] if args.burst else []), *(["--name", f"{args.name}-notify"] if args.name else [])]
        notify = subprocess.Popen(command)
    try:
        run_worker(config, burst=args.burst, name=args.name)
        if notify is not None and args.burst:
            notify.wait()
    finally:
        if notify is not None and notify.poll() is None:
            notify.terminate()  # RQ's warm shutdown: the e-mail being sent finishes
            try:
                notify.wait(30)
            except subprocess.TimeoutExpired:
                notify.kill()
    return 0


def _providers_from_arg(spec: str):
    """``builtin``, ``settings``, or ``ollama:MODEL@URL`` / ``openai:MODEL@URL`` (key from DALLOSH_LLM_API_KEY)."""
    from dallosh.llm.models import ModelConfig
    from dallosh.llm.registry import build_provider, fallback_providers, providers_for

    if spec == "builtin":
        return fallback_providers
    if spec == "settings":
        from dallosh.services import SYSTEM, Services

        embedded.ensure_database()
        ai = Services.from_config().settings.ai_config(SYSTEM)
        return lambda: providers_for(ai)
    kind, _, rest = spec.partition(":")
    model, _, url = rest.partition("@")
    if kind not in ("ollama", "openai") or not model or not url:
        raise SystemExit("--model must be builtin, settings, ollama:MODEL@URL or openai:MODEL@URL")
    cfg = ModelConfig(uid="cli", model=model, base_url=url, api_key=os.environ.get("DALLOSH_LLM_API_KEY", ""),
                      kind="local" if kind == "ollama" else "external", provider=kind)
    return lambda: [build_provider(cfg), *fallback_providers()]


class ProgressBar:
    """A one-line progress display on stderr for ``dallosh process``."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.started = time.perf_counter()

    def step(self, name: str) -> None:
        self.stream.write(f"\n{name.replace('_', ' ')} …")
        self.stream.flush()

    def done(self, name: str, stats: dict) -> None:
        self.stream.write(f"\r{name.replace('_', ' ')} done in {stats.get('duration_s', 0):.2f} s" + " " * 30)
        self.stream.flush()

    def report(self, event: str, details: dict) -> None:
        if "pages" in details:
            page, pages = details["page"], details["pages"]
            filled = int(30 * page / pages)
            self.stream.write(f"\rsending to llm [{'#' * filled}{'.' * (30 - filled)}] page {page}/{pages} "
                              f"({details.get('model')})")
            self.stream.flush()


def _process_paths(file: str, out_arg: str | None) -> tuple[Path, Path]:
    """The input file and the output path of ``dallosh process``, checked before any work is done."""
    import tempfile

    source = Path(file)
    if not source.exists():
        raise DalloshError(f"There is no file at {source}. Check the path (relative paths start from "
                           f"{Path.cwd()}).")
    if source.is_dir():
        raise DalloshError(f"{source} is a folder, not a file. Give the path of the CSV export inside it.")
    out = Path(out_arg) if out_arg else source.with_name(source.stem + "_analysed.csv")
    if out.is_dir():
        example = out / (source.stem + "_analysed.csv")
        raise DalloshError(f"--out {out} is a folder. Give a file name, e.g. --out {example}.")
    if not out.parent.is_dir():
        raise DalloshError(f"The folder {out.parent} does not exist. Create it, or choose another --out.")
    if out.exists() and out.resolve() == source.resolve():
        raise DalloshError("--out names the input file itself. Choose another output file, so the export is kept.")
    try:  # fail now rather than after the whole run: the output is written beside its destination
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".dallosh-check-"):
            pass
    except OSError as exc:
        raise DalloshError(f"Cannot write in {out.parent} ({exc.strerror}). Choose another --out.") from None
    return source, out


def cmd_process(args: argparse.Namespace) -> int:
    """Run the whole pipeline on one CSV without the queue or the database."""
    import json
    import tempfile

    from dallosh.datasets import inspect_csv, megabytes, write_normalised
    from dallosh.defaults import DEFAULT_OPERATOR_ACCOUNTS, DEFAULT_TOPICS
    from dallosh.pipeline import Run, run_steps

    source, out = _process_paths(args.file, args.out)
    max_bytes = args.max_mb * 1024 * 1024
    if source.stat().st_size > max_bytes:
        raise DalloshError(f"{source} is {megabytes(source.stat().st_size)}, over --max-mb {args.max_mb}. Raise "
                           "--max-mb, or split the file.")
    providers = _providers_from_arg(args.model)
    bar = ProgressBar()
    with tempfile.TemporaryDirectory(prefix="dallosh-process-") as tmp:
        work = Path(tmp)
        inspection = inspect_csv(source, source.name, max_bytes=max_bytes)
        normalised = work / "source.csv"
        write_normalised(inspection, source, normalised)
        for warning in inspection.warnings:
            print(f"note: {warning}", file=sys.stderr)
        # The parsed upload is what reading_dataset would read back from the normalised file: hand it over.
        frames, removals = {"source": inspection.frame}, inspection.removals
        del inspection
        run = Run(source=normalised, cleaned=work / "cleaned.csv", analysed=out, checkpoints=work / "checkpoints",
                  topics=args.topics or list(DEFAULT_TOPICS), operator_accounts=list(DEFAULT_OPERATOR_ACCOUNTS),
                  providers=providers, report=bar.report, frames=frames, source_removals=removals,
                  hybrid_threshold=args.hybrid_threshold)
        results = run_steps(run, on_start=bar.step, on_done=bar.done)
    sys.stderr.write("\n")
    print(json.dumps({"output": str(out), "steps": results}, indent=2, default=str))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score a model, or a previous analysed file, against a labelled CSV (docs/labels.md)."""
    import json

    from dallosh.defaults import DEFAULT_TOPICS
    from dallosh.evaluation import ProgressBar, evaluate_model, evaluate_predictions, format_report, load_gold

    gold = load_gold(args.gold, split=args.split, texts=args.texts)
    topics = list(args.topics or DEFAULT_TOPICS)
    topics += [t for t in sorted(set(gold["main_topic"]) - set(topics)) if t]
    if args.predictions:
        report = evaluate_predictions(gold, args.predictions, topics)
        report.source = f"{args.gold} vs {args.predictions}"
    else:
        providers = _providers_from_arg(args.model)()
        try:
            report = evaluate_model(gold, providers, topics, progress=None if args.quiet else ProgressBar())
        finally:
            for provider in providers:
                close = getattr(provider, "close", None)
                if callable(close):
                    close()
        report.source = f"{args.gold} vs {args.model}"
    if args.split:
        report.source += f" (split {args.split})"
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dallosh", description="Dallosh Analysis command line.")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the app (database, bootstrap, …) in the foreground")
    up.add_argument("--once", action="store_true", help="start, bootstrap and stop at once (smoke test)")
    up.add_argument("--workers", type=int, default=1, help="processing workers to start (default 1)")
    up.add_argument("--no-hub", action="store_true", help="do not start JupyterHub (database and workers only)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop a running `dallosh up`").set_defaults(func=cmd_down)

    boot = sub.add_parser("bootstrap", help="create indexes, default roles, settings and accounts (idempotent)")
    boot.add_argument("--start-db", action="store_true", help="start the embedded database if none answers")
    boot.set_defaults(func=cmd_bootstrap)

    db = sub.add_parser("db", help="the embedded database")
    db.add_argument("action", choices=["start", "stop", "status"])
    db.set_defaults(func=cmd_db)

    worker = sub.add_parser("worker", help="run a processing worker (RQ) with its control listener")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--name", help="worker name (default: host:pid)")
    worker.add_argument("--queue", choices=("all", "tasks", "notify"), default="all",
                        help="all (default): the task worker here and the notify worker (e-mails, webhooks, "
                             "with RQ's scheduler) in a child process; tasks or notify: only that one")
    worker.set_defaults(func=cmd_worker)

    process = sub.add_parser("process", help="run the pipeline on one CSV file, without queue or database")
    process.add_argument("file", help="a tweet export (CSV)")
    process.add_argument("--model", default="builtin",
                         help="builtin (default), settings, ollama:MODEL@URL or openai:MODEL@URL")
    process.add_argument("--out", help="output CSV (default: <file>_analysed.csv next to the input)")
    process.add_argument("--topics", nargs="+", help="topic list (default: the product's default topics)")
    process.add_argument("--max-mb", type=int, default=2048, help="refuse files larger than this")
    process.add_argument("--hybrid-threshold", type=float, default=HYBRID_THRESHOLD_DEFAULT, metavar="T",
                         help="with an LLM: rows the built-in analyzer labels with confidence >= T keep its labels "
                              f"(default {HYBRID_THRESHOLD_DEFAULT}; 1 sends every row to the LLM)")
    process.set_defaults(func=cmd_process)

    ev = sub.add_parser("eval", help="score a model or an analysed file against gold labels (accuracy, "
                                     "macro-F1, confusion matrices)")
    ev.add_argument("gold", help="CSV with id, sentiment, priority, main_topic (and full_text, or use --texts); "
                                 "a corrections export works as is")
    ev.add_argument("--texts", help="tweet export holding the texts, joined by id (e.g. ../shared/data/…)")
    ev.add_argument("--split", help="keep rows whose 'split' column equals this (e.g. test)")
    what = ev.add_mutually_exclusive_group()
    what.add_argument("--model", default="builtin",
                      help="builtin (default), settings, ollama:MODEL@URL or openai:MODEL@URL")
    what.add_argument("--predictions", help="score this analysed CSV (or a corrections export's model_* columns) "
                                            "instead of running a model")
    ev.add_argument("--topics", nargs="+", help="topic list given to the model (default: the default topics)")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=cmd_eval)

    from dallosh.reports.cli import add_parser as add_report_parser

    add_report_parser(sub)

    # Listed for --help only: main() hands "train-builtin" to dallosh.llm.train's own parser.
    sub.add_parser("train-builtin", add_help=False,
                   help="retrain the built-in analyzer (pip install -e .[train]); --help for its options")

    cfg = sub.add_parser("config", help="show the configuration, or print .env.example")
    cfg.add_argument("action", choices=["show", "env-example"], nargs="?", default="show")
    cfg.set_defaults(func=cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train-builtin"]:  # its own parser: argparse cannot forward "--help" or "--cv" through REMAINDER
        from dallosh.llm.train import main as train_main

        return train_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=get_config().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)  # pika logs every connection step at INFO
    try:
        return args.func(args)
    except (RuntimeError, DalloshError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
