"""``dallosh.services`` over HTTP: what a kernel uses when it holds a hub token and no database credentials.

``Client`` has the attributes of ``Services`` (``users``, ``roles``, ``tasks``, ``files``, ``settings``,
``logs``, ``corrections``, ``auth``) with the same method names and arguments, so views and notebooks need not
know which one they hold. The actor argument is checked, not sent: the API derives the actor from the token, and
passing another user's Actor raises PermissionDenied here instead of silently acting as the token's owner.

Files: ``files.path`` and ``files.download`` fetch the file into a private per-user cache and return its local
path (re-fetched only when the stored file changed, by ETag); ``files.frame`` reads a dataset as a DataFrame
through Arrow; ``files.inspect``/``files.add`` send the upload in chunks (resumed after a broken connection)
and upload a given file only once for an inspect followed by an add.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from dallosh import errors
from dallosh.api.codec import arrow_to_frame, decode, encode
from dallosh.services.base import Actor

#: Environment variable holding the API's base URL (set by the hub's spawner for every user server).
API_URL_ENV = "DALLOSH_API_URL"
#: Bytes per upload request: big enough that 200 MB is 50 requests, far below the API's chunk limit.
UPLOAD_CHUNK = 4 << 20
#: Attempts per chunk before an upload gives up (each retry resumes from the offset the API reports).
UPLOAD_RETRIES = 5
#: Calls that take no actor argument (``users.find(uid)``, ``auth.uses_default_password(user)``, ``topics()``).
NO_ACTOR = {("users", "find"), ("auth", "uses_default_password"), ("settings", "topics")}


class APIUnavailable(errors.DalloshError):
    """The dallosh API could not be reached."""


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:500]}
    message = body.get("message") or f"HTTP {response.status_code}"
    name = body.get("error", "")
    if name == "ValidationError" or (name == "UploadTooLarge" and "field" in body):
        raise errors.ValidationError(body.get("field", ""), body.get("detail", message))
    if name == "DuplicateDataset":
        raise errors.DuplicateDataset(message, body.get("existing_uid", ""))
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, errors.DalloshError) and name not in ("LoginThrottled",):
        raise cls(message)
    if response.status_code in (401, 403):
        raise errors.PermissionDenied(message)
    if response.status_code == 404:
        raise errors.NotFound(message)
    raise errors.DalloshError(message)


class RemoteService:
    """One service's methods, each a POST to ``api/call/<service>/<method>``."""

    def __init__(self, client: Client, name: str):
        self._client, self._name = client, name

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            if (self._name, method) in NO_ACTOR:
                if (self._name, method) == ("auth", "uses_default_password"):
                    args = ()  # the hash never leaves the API: it checks the caller's own account
                return self._client.call(self._name, method, list(args), kwargs)
            actor = args[0] if args else kwargs.pop("actor", None)
            self._client.check_actor(actor)
            return self._client.call(self._name, method, list(args[1:]), kwargs)

        call.__name__ = method
        return call

    def authorize(self, actor: Actor | None, *any_of: str) -> Actor:
        """The API's answer to "may I?": the caller's fresh Actor if it holds one of ``any_of``."""
        fresh = self._client.actor()
        if actor is not None:
            self._client.check_actor(actor)
        if any_of and not any(fresh.can(p) for p in any_of):
            raise errors.PermissionDenied(f"Your role ({fresh.role_name or 'none'}) lacks the permission "
                                          f"{' or '.join(any_of)}. Ask an administrator if you need it.")
        return fresh


class RemoteFiles(RemoteService):
    """``files``: the calls, plus files streamed from the API and uploads sent to it in chunks."""

    def __init__(self, client: Client):
        super().__init__(client, "files")
        self._uploads: dict[tuple[str, int, int], str] = {}

    # -- downloads -----------------------------------------------------------------------------------------

    def _fetch(self, uid: str, kind: str, fmt: str, raw: bool = False) -> tuple[Path, int]:
        """Download to the cache unless the cached copy is current (ETag); returns (path, neutralised cells)."""
        cache = self._client.cache_dir / "files"
        cache.mkdir(parents=True, exist_ok=True)
        suffix = "csv" if fmt == "csv" else "arrows"
        target = cache / f"{uid}-{kind}-{fmt}{'-raw' if raw else ''}.{suffix}"
        tag_file = target.with_suffix(".etag")
        headers = {}
        if target.exists() and tag_file.exists():
            headers["If-None-Match"] = tag_file.read_text()
        params = {"format": fmt, "raw": "1" if raw else "0"}
        with self._client.http.stream("GET", f"api/files/{uid}/{kind}", params=params, headers=headers) as r:
            if r.status_code == 304:
                return target, int(r.headers.get("X-Dallosh-Neutralised", "0"))
            if r.status_code >= 400:
                r.read()
                _raise_for(r)
            staged = target.with_suffix(".part")
            with open(staged, "wb") as f:
                for chunk in r.iter_bytes(1 << 20):
                    f.write(chunk)
            os.replace(staged, target)
            tag_file.write_text(r.headers.get("ETag", ""))
            return target, int(r.headers.get("X-Dallosh-Neutralised", "0"))

    def path(self, actor: Actor, uid: str, kind: str = "datasets") -> Path:
        """A local copy of the stored CSV (exact bytes), for code that reads files by path."""
        self._client.check_actor(actor)
        return self._fetch(uid, kind, "csv", raw=True)[0]

    def download(self, actor: Actor, uid: str, kind: str = "datasets", *, raw: bool = False) -> tuple[Path, int]:
        """As ``FilesService.download``: spreadsheet-safe unless ``raw``; the count of neutralised cells."""
        self._client.check_actor(actor)
        return self._fetch(uid, kind, "csv", raw=raw)

    def frame(self, actor: Actor | None, uid: str, kind: str = "analysed", *, typed: bool = False,
              dataset_name: str | None = None):
        """The dataset as a DataFrame through Arrow: every cell as text, or (``typed``, analysed files) the
        frame ``analytics.load_analysed`` builds, its ``dataset`` category named ``dataset_name`` (default uid)."""
        self._client.check_actor(actor)
        path = self._fetch(uid, kind, "typed" if typed else "arrow")[0]
        frame = arrow_to_frame(path.read_bytes())
        if typed and dataset_name is not None and "dataset" in frame:
            frame["dataset"] = frame["dataset"].cat.rename_categories({uid: dataset_name})
        return frame

    # -- uploads -------------------------------------------------------------------------------------------

    def upload(self, filename: str, source: bytes | Path) -> str:
        """Send ``source`` in chunks; returns the upload id (a Path already sent unchanged is not sent again)."""
        key = None
        if isinstance(source, Path):
            stat = source.stat()
            key = (str(source.resolve()), stat.st_size, stat.st_mtime_ns)
            if key in self._uploads:
                return self._uploads[key]
            size = stat.st_size
        else:
            size = len(source)
        http = self._client.http
        response = http.post("api/uploads", json={"filename": filename, "size": size})
        _raise_for(response)
        upload_id = response.json()["id"]
        offset, failures = 0, 0
        with (open(source, "rb") if isinstance(source, Path) else _BytesReader(source)) as f:
            while offset < size:
                f.seek(offset)
                chunk = f.read(UPLOAD_CHUNK)
                try:
                    response = http.put(f"api/uploads/{upload_id}", params={"offset": offset}, content=chunk)
                    if response.status_code == 409:  # the API has a different offset: resume from there
                        response = http.get(f"api/uploads/{upload_id}")
                    _raise_for(response)
                    offset = response.json()["received"]
                except httpx.TransportError:
                    failures += 1
                    if failures >= UPLOAD_RETRIES:
                        raise APIUnavailable("The upload was interrupted; try again.") from None
                    status = http.get(f"api/uploads/{upload_id}")
                    _raise_for(status)
                    offset = status.json()["received"]
        if key is not None:
            self._uploads[key] = upload_id
        return upload_id

    def _on_upload(self, action: str, actor: Actor, filename: str, source: bytes | Path, body: dict[str, Any]):
        self._client.check_actor(actor)
        upload_id = self.upload(filename, source)
        response = self._client.http.post(f"api/uploads/{upload_id}/{action}", json=body)
        if action == "add" or response.status_code == 404:
            self._uploads = {k: v for k, v in self._uploads.items() if v != upload_id}
        _raise_for(response)
        return decode(response.json()["result"], trusted=True)

    def inspect(self, actor: Actor, filename: str, source: bytes | Path, *, encoding: str | None = None):
        return self._on_upload("inspect", actor, filename, source, {"encoding": encoding})

    def add(self, actor: Actor, filename: str, source: bytes | Path, *, encoding: str | None = None,
            allow_duplicate: bool = False):
        return self._on_upload("add", actor, filename, source, {"encoding": encoding,
                                                                "allow_duplicate": allow_duplicate})


class _BytesReader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def __enter__(self) -> _BytesReader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def seek(self, pos: int) -> None:
        self.pos = pos

    def read(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk


class LocalScratch:
    """The one ``storage`` attribute views use (``tmp_dir`` for uploads in progress and exports), kernel-local."""

    def __init__(self, root: Path):
        self.tmp_dir = root / "tmp"


class Client:
    """The service layer seen through the API, as the token's owner. Thread-safe (httpx pools connections)."""

    def __init__(self, url: str, token: str, *, timeout: float = 120.0, cache_dir: Path | None = None):
        self.url = url.rstrip("/") + "/"
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"token {token}"},
                                 timeout=httpx.Timeout(timeout, connect=10.0))
        self._whoami: Actor | None = None
        self._lock = threading.Lock()
        self.cache_dir = cache_dir or Path(os.environ.get("DALLOSH_CLIENT_CACHE") or
                                           Path.home() / ".cache" / "dallosh-client")
        self.storage = LocalScratch(self.cache_dir)
        self.users = RemoteService(self, "users")
        self.roles = RemoteService(self, "roles")
        self.tasks = RemoteService(self, "tasks")
        self.files = RemoteFiles(self)
        self.settings = RemoteService(self, "settings")
        self.logs = RemoteService(self, "logs")
        self.corrections = RemoteService(self, "corrections")
        self.results = RemoteService(self, "results")
        self.alerts = RemoteService(self, "alerts")
        self.subscriptions = RemoteService(self, "subscriptions")
        self.delivery = RemoteService(self, "delivery")
        self.auth = RemoteService(self, "auth")
        #: What only the API can see (queue, workers, database and broker health), for the admin overview.
        self.system = RemoteService(self, "system")

    @classmethod
    def from_env(cls) -> Client | None:
        """The client for this kernel's user, or None outside a hub server that knows the API."""
        url, token = os.environ.get(API_URL_ENV), os.environ.get("JUPYTERHUB_API_TOKEN")
        if not url or not token:
            return None
        return cls(url, token)

    def call(self, service: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        try:
            response = self.http.post(f"api/call/{service}/{method}",
                                      content=json.dumps({"args": encode(args), "kwargs": encode(kwargs)}),
                                      headers={"Content-Type": "application/json"})
        except httpx.TransportError as exc:
            raise APIUnavailable(f"The dallosh API cannot be reached ({type(exc).__name__}); try again.") from exc
        _raise_for(response)
        return decode(response.json()["result"], trusted=True)

    def actor(self) -> Actor:
        """The token owner's Actor as the API sees it now (permissions read from the database)."""
        try:
            response = self.http.get("api/whoami")
        except httpx.TransportError as exc:
            raise APIUnavailable(f"The dallosh API cannot be reached ({type(exc).__name__}).") from exc
        _raise_for(response)
        actor = decode(response.json()["result"], trusted=True)
        with self._lock:
            self._whoami = actor
        return actor

    def check_actor(self, actor: Actor | None) -> None:
        """An Actor passed by the caller must be the token's owner (None is allowed: the token decides)."""
        if actor is None:
            return
        own = self._whoami or self.actor()
        if actor.is_system or actor.uid != own.uid:
            raise errors.PermissionDenied(f"This kernel acts as {own.email} only; it cannot act as {actor.email}.")

    def reachable(self) -> bool:
        try:
            return self.http.get("health", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def event_subscriber(self, callback: Callable[[dict[str, Any]], None], binding_keys: list[str] | None = None):
        """Task events from the API's event stream, with ``dallosh.events.Subscriber``'s interface."""
        from dallosh.client.events import EventStream

        return EventStream(self, callback, binding_keys)

    def close(self) -> None:
        self.http.close()
