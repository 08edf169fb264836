"""Real receivers for the delivery tests: an SMTP server (aiosmtpd, plain or STARTTLS with a certificate made
here), a local HTTP endpoint that records webhook bodies and can fail a given number of times, and real
``dallosh worker --queue notify`` processes on a queue of their own.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dallosh.config import Config, load_config
from dallosh.processes import kill_tree
from tests.conftest import free_port
from tests.waiting import Collector

ROOT = Path(__file__).resolve().parents[3]
SMTP_USER, SMTP_PASSWORD = "reports@example.com", "s3cret-Pa55word-for-tests"


@dataclass
class Received:
    """One e-mail as the server got it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class Inbox(Collector):
    """The aiosmtpd handler: keeps every message, lets a test wait for a number of them."""

    def __init__(self) -> None:
        super().__init__("e-mails")
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.add(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, envelope.content))
        return "250 OK"


def _authenticator(inbox: Inbox):
    def check(server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER \
                and auth_data.password.decode() == SMTP_PASSWORD:
            inbox.logins.append(SMTP_USER)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return check


@dataclass
class SMTPServer:
    host: str
    port: int
    inbox: Inbox
    cert_file: Path | None = None
    settings: dict = field(default_factory=dict)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1 (cert, key) written to ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def smtp_plain() -> Iterator[SMTPServer]:
    """An SMTP server without encryption or login (a relay)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", port, inbox, settings={
            "smtpHost": "127.0.0.1", "smtpPort": port, "smtpSecurity": "none", "smtpUser": "",
            "smtpPassword": "", "fromAddress": "reports@example.com"})
    finally:
        controller.stop()


@pytest.fixture
def smtp_starttls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SMTPServer]:
    """An SMTP server requiring STARTTLS before login (as real submission servers do), with a self-signed
    certificate this process (and the workers it starts) trusts through ``SSL_CERT_FILE``."""
    cert_file, key_file = make_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            auth_require_tls=True, authenticator=_authenticator(inbox), server_hostname="localhost")
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    try:
        yield SMTPServer("localhost", port, inbox, cert_file, settings={
            "smtpHost": "localhost", "smtpPort": port, "smtpSecurity": "starttls", "smtpUser": SMTP_USER,
            "smtpPassword": SMTP_PASSWORD, "fromAddress": "reports@example.com"})
    finally:
        controller.stop()


class Hook(Collector):
    """A local HTTP endpoint recording every POST body; answers ``fail_status`` ``fail_times`` times first."""

    def __init__(self) -> None:
        super().__init__("posts")
        self.answers: list[int] = []
        self.fail_times, self.fail_status = 0, 503
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                with hook.cond:
                    status = hook.fail_status if len(hook.answers) < hook.fail_times else 200
                    hook.answers.append(status)
                    hook.add(body)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"failed")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/abcdefXYZ"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def bodies(self) -> list[dict]:
        return self.items


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture
def config(mongo_uri: str, db_name: str, storage) -> Config:
    """Each test has its own notify queue; retries come after 1 then 2 seconds."""
    suffix = uuid.uuid4().hex[:8]
    return load_config({
        "DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": db_name,
        "DALLOSH_STORAGE_ROOT": str(storage.root), "DALLOSH_QUEUE_NAME": f"test-{suffix}",
        "DALLOSH_NOTIFY_QUEUE_NAME": f"test-notify-{suffix}", "DALLOSH_NOTIFY_RETRY_S": "1,2",
    }, env_file=Path("/nonexistent"))


class NotifyWorkers:
    """Real ``dallosh worker --queue notify`` processes; killed (with their work-horses) at teardown."""

    def __init__(self, config: Config, log_dir: Path):
        self.config, self.log_dir = config, log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        name = f"notify-{uuid.uuid4().hex[:6]}"
        env = {**os.environ, "DALLOSH_MONGODB_URI": self.config.mongodb_uri,
               "DALLOSH_MONGODB_DATABASE": self.config.mongodb_database,
               "DALLOSH_STORAGE_ROOT": str(self.config.storage_root),
               "DALLOSH_NOTIFY_QUEUE_NAME": self.config.notify_queue_name,
               "DALLOSH_NOTIFY_RETRY_S": self.config.notify_retry_s, "DALLOSH_LOG_LEVEL": "DEBUG",
               "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "dallosh", "worker", "--queue", "notify", "--name", name],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("notify-*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                kill_tree(proc.pid)
                proc.wait(10)


@pytest.fixture
def notify_workers(config: Config, tmp_path: Path) -> Iterator[NotifyWorkers]:
    pool = NotifyWorkers(config, tmp_path)
    yield pool
    pool.stop_all()


def wait_for(check: Callable[[], object], timeout: float = 30, what: str = "condition") -> object:
    """Poll the database (where the notify worker writes a delivery's state) until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
