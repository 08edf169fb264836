"""The ``dallosh`` API: a JupyterHub-managed service exposing the service layer to kernels (DESIGN.md §3).

Every request is authenticated by the hub: ``Authorization: token <JUPYTERHUB_API_TOKEN>`` (what kernels hold), or
the service's OAuth cookie for GETs from a browser (mutations need the header, so another site cannot make a
signed-in browser change anything). The hub user's name is their email; the dallosh Actor is looked up from it on
every request, so a disabled account or an edited role takes effect at once. The actor is never read from the
request. Errors keep their user-facing message: PermissionDenied → 403, NotFound → 404, validation → 400,
conflicts → 409, no or bad credentials → 401.

Routes (under the service prefix, ``/services/dallosh-api/``):

========================================  =================================================================
``GET  health``                           liveness, no authentication
``GET  api/whoami``                       the caller's Actor
``POST api/call/<service>/<method>``      one allow-listed service call, JSON ``{args, kwargs}`` → ``{result}``
``GET  api/files/<uid>/<kind>``           ``?format=csv`` (``&raw=1`` exact bytes) | ``arrow`` | ``typed``
``POST api/uploads``                      ``{filename, size}`` → ``{id, received}`` (size limit checked here)
``GET|PUT|DELETE api/uploads/<id>``       status / one chunk at ``?offset=`` / cancel
``POST api/uploads/<id>/inspect|add``     ``files.inspect`` / ``files.add`` on the finished upload
``GET  api/events``                       server-sent task events (``?file_id=`` narrows them)
========================================  =================================================================
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated, check_scopes
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from dallosh import errors
from dallosh.api import methods
from dallosh.api.codec import decode, encode
from dallosh.api.sse import EventFanout
from dallosh.api.streams import FORMATS, STREAM_CHUNK, arrow_file, version_tag
from dallosh.api.uploads import UploadStore, UploadTooLarge
from dallosh.services import Actor, Services
from dallosh.storage import KINDS

log = logging.getLogger(__name__)

#: Service calls run in threads (pymongo blocks); the hub's own default pool size is of the same order.
CALL_THREADS = 16
#: Seconds between SSE comments that keep proxies and idle clients from closing an event stream.
SSE_KEEPALIVE_S = 15.0
#: Typed errors → HTTP status; the most specific class wins (DuplicateDataset before InvalidDataset...).
STATUS = ((errors.PermissionDenied, 403), (errors.NotFound, 404), (errors.DuplicateDataset, 409),
          (errors.Conflict, 409), (errors.IllegalTransition, 409), (errors.MaintenanceMode, 409),
          (UploadTooLarge, 413), (errors.AuthenticationFailed, 400), (errors.ValidationError, 400),
          (errors.InvalidDataset, 400), (errors.DalloshError, 400))


def error_body(exc: errors.DalloshError) -> tuple[int, dict[str, Any]]:
    status = next(code for cls, code in STATUS if isinstance(exc, cls))
    body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, errors.ValidationError):
        body["field"], body["detail"] = exc.field, exc.message
    if isinstance(exc, errors.DuplicateDataset):
        body["existing_uid"] = exc.existing_uid
    return status, body


class APIContext:
    """What every handler shares: the services (the only database connection), uploads, events, a thread pool."""

    def __init__(self, services: Services, fanout: EventFanout | None = None):
        self.services = services
        self.uploads = UploadStore(services.storage.tmp_dir)
        self.fanout = fanout
        self.pool = ThreadPoolExecutor(CALL_THREADS, thread_name_prefix="dallosh-api")

    async def run(self, fn, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, partial(fn, *args, **kwargs))


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    """Authenticates with the hub and resolves the caller's dallosh Actor before any method runs."""

    actor: Actor

    def initialize(self, ctx: APIContext) -> None:
        self.ctx = ctx

    @property
    def services(self) -> Services:
        return self.ctx.services

    def check_xsrf_cookie(self) -> None:
        """Not needed: mutations are refused unless authenticated by the Authorization header (see prepare)."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else self._reason
        self.set_header("Content-Type", "application/json")
        self.finish({"error": "HTTPError", "message": message})

    def fail(self, exc: errors.DalloshError) -> None:
        status, body = error_body(exc)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    async def prepare(self) -> None:
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            if self.request.method == "GET" and "text/html" in self.request.headers.get("Accept", ""):
                return self.redirect(self.get_login_url())  # a browser: sign in through the hub (OAuth)
            self.set_header("WWW-Authenticate", 'token realm="dallosh"')
            raise web.HTTPError(401, "Send your JupyterHub token (Authorization: token …) or sign in first.")
        if self.request.method != "GET" and not getattr(self, "_token_authenticated", False):
            raise web.HTTPError(403, "Changes need the Authorization header; a cookie alone is not accepted.")
        if self.hub_scopes and not check_scopes(self.hub_scopes, set(model.get("scopes", []))):
            raise web.HTTPError(403, "Your token does not grant access to the dallosh API.")
        if model.get("kind", "user") != "user":
            raise web.HTTPError(403, "Only users act through the dallosh API.")
        actor = await self.ctx.run(self._actor_for, model["name"])
        if actor is None:
            raise web.HTTPError(403, f"No active account for {model['name']!r}. Sign in again, or ask an "
                                     "administrator to enable your account.")
        self.actor = actor

    def _actor_for(self, name: str) -> Actor | None:
        user = self.services.users.find_by_email(name)
        return self.services.users.actor(user.uid) if user else None

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise web.HTTPError(400, "The request body is not JSON.") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "The request body must be a JSON object.")
        return body

    def reply(self, result: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"result": encode(result)}))


class HealthHandler(web.RequestHandler):
    def get(self) -> None:
        self.finish({"ok": True})


class WhoAmIHandler(BaseHandler):
    def get(self) -> None:
        self.reply(self.actor)


class CallHandler(BaseHandler):
    async def post(self, service: str, method: str) -> None:
        if not methods.is_exposed(service, method):
            raise web.HTTPError(404, f"{service}.{method} is not part of the dallosh API.")
        body = self.json_body()
        try:
            args = decode(body.get("args", []))
            kwargs = decode(body.get("kwargs", {}))
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise errors.ValidationError("body", "args must be a list and kwargs an object")
            if any(not k.isidentifier() or k.startswith("_") or k == "actor" for k in kwargs):
                raise errors.ValidationError("kwargs", "names must be plain argument names (never 'actor')")
            result = await self.ctx.run(methods.call, self.services, self.actor, service, method, args, kwargs)
        except errors.DalloshError as exc:
            return self.fail(exc)
        except TypeError as exc:  # wrong arguments for the method's signature
            return self.fail(errors.ValidationError("args", str(exc)))
        if (service, method) == ("files", "delete"):
            for cached in self.services.storage.tmp_dir.glob(f"*-{args[0] if args else ''}-*.arrows"):
                cached.unlink(missing_ok=True)
        self.reply(result)


class FileHandler(BaseHandler):
    async def get(self, uid: str, kind: str) -> None:
        fmt = self.get_argument("format", "csv")
        raw = self.get_argument("raw", "0") == "1"
        try:
            if kind not in KINDS:
                raise errors.ValidationError("kind", f"must be one of {', '.join(KINDS)}")
            if fmt not in FORMATS:
                raise errors.ValidationError("format", f"must be one of {', '.join(FORMATS)}")
            if fmt == "csv":
                path, neutralised = await self.ctx.run(self.services.files.download, self.actor, uid, kind,
                                                       raw=raw)
            else:
                stored = await self.ctx.run(self.services.files.path, self.actor, uid, kind)
                path = await self.ctx.run(arrow_file, self.services.storage, uid, kind, stored, fmt)
                neutralised = 0
        except errors.DalloshError as exc:
            return self.fail(exc)
        etag = f'"{fmt}-{int(raw)}-{version_tag(path)}"'
        self.set_header("ETag", etag)
        self.set_header("Cache-Control", "private, no-cache")
        self.set_header("X-Dallosh-Neutralised", str(neutralised))
        if self.request.headers.get("If-None-Match") == etag:
            self.set_status(304)
            return self.finish()
        self.set_header("Content-Type", "text/csv; charset=utf-8" if fmt == "csv"
                        else "application/vnd.apache.arrow.stream")
        self.set_header("Content-Length", str(path.stat().st_size))
        suffix = "csv" if fmt == "csv" else "arrows"
        self.set_header("Content-Disposition", f'attachment; filename="{uid}-{kind}.{suffix}"')
        with open(path, "rb") as f:  # opened before a concurrent rewrite replaces it: the copy stays whole
            while chunk := f.read(STREAM_CHUNK):
                self.write(chunk)
                try:
                    await self.flush()
                except StreamClosedError:
                    return


class UploadsHandler(BaseHandler):
    async def post(self) -> None:
        body = self.json_body()
        try:
            await self.ctx.run(self.services.files.authorize, self.actor, "manage_datasets")
            general = await self.ctx.run(self.services.settings.general)
            upload = await self.ctx.run(self.ctx.uploads.create, self.actor, body.get("filename", ""),
                                        body.get("size"), general.maxUploadMB * 1024 * 1024)
        except errors.DalloshError as exc:
            return self.fail(exc)
        self.set_status(201)
        self.finish({"id": upload.id, "received": upload.received, "size": upload.size})


@web.stream_request_body
class UploadHandler(BaseHandler):
    """One upload: ``GET`` its offset, ``PUT`` the next chunk (the body is streamed, at most MAX_CHUNK_BYTES)."""

    async def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        await super().prepare()
        if self.request.method == "PUT":
            from dallosh.api.uploads import MAX_CHUNK_BYTES

            self.request.connection.set_max_body_size(MAX_CHUNK_BYTES)

    def data_received(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def get(self, upload_id: str) -> None:
        try:
            upload = self.ctx.uploads.get(self.actor, upload_id)
        except errors.DalloshError as exc:
            return self.fail(exc)
        self.finish({"id": upload.id, "received": upload.received, "size": upload.size})

    async def put(self, upload_id: str) -> None:
        try:
            offset = int(self.get_argument("offset"))
        except ValueError:
            raise web.HTTPError(400, "offset must be a whole number") from None
        try:
            upload = await self.ctx.run(self.ctx.uploads.write, self.actor, upload_id, offset, b"".join(self._chunks))
        except errors.DalloshError as exc:
            return self.fail(exc)
        self.finish({"id": upload.id, "received": upload.received, "size": upload.size})

    def delete(self, upload_id: str) -> None:
        try:
            self.ctx.uploads.remove(self.actor, upload_id)
        except errors.DalloshError as exc:
            return self.fail(exc)
        self.set_status(204)
        self.finish()


class UploadActionHandler(BaseHandler):
    async def post(self, upload_id: str, action: str) -> None:
        body = self.json_body()
        encoding = body.get("encoding")
        try:
            upload, part = self.ctx.uploads.finished(self.actor, upload_id)
            if action == "inspect":
                result = await self.ctx.run(self.services.files.inspect, self.actor, upload.filename, part,
                                            encoding=encoding)
                from dallosh.datasets.inspection import PREVIEW_ROWS_DEFAULT

                result.frame = result.frame.head(PREVIEW_ROWS_DEFAULT)  # the preview, not the whole table
            else:
                result = await self.ctx.run(self.services.files.add, self.actor, upload.filename, part,
                                            encoding=encoding, allow_duplicate=bool(body.get("allow_duplicate")))
                self.ctx.uploads.remove(self.actor, upload_id)
        except errors.DalloshError as exc:
            return self.fail(exc)
        self.reply(result)


class EventsHandler(BaseHandler):
    """Server-sent events: ``data: <json>`` per task event; ``?file_id=`` keeps one dataset's events."""

    async def get(self) -> None:
        try:
            await self.ctx.run(self.services.tasks.authorize, self.actor, "read_tasks", "manage_tasks",
                               "read_datasets")
        except errors.DalloshError as exc:
            return self.fail(exc)
        if self.ctx.fanout is None:
            raise web.HTTPError(503, "Task events are not available (no broker).")
        wanted = self.get_argument("file_id", "")
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        queue = self.ctx.fanout.open()
        try:
            self.write("retry: 1000\n: connected\n\n")
            await self.flush()
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE_S)
                except TimeoutError:
                    self.write(f": keepalive {time.time():.0f}\n\n")
                else:
                    if wanted and message.get("file_id") not in (wanted, None):
                        continue
                    message = {k: v for k, v in message.items() if k != "_user_id"}
                    self.write(f"data: {json.dumps(message, default=str)}\n\n")
                await self.flush()
        except StreamClosedError:
            pass
        finally:
            self.ctx.fanout.close(queue)


def make_app(ctx: APIContext, prefix: str = "/services/dallosh-api/", hub_auth: HubOAuth | None = None
             ) -> web.Application:
    """The tornado application under ``prefix`` (the hub's proxy forwards the prefix unchanged)."""
    hub_auth = hub_auth or HubOAuth.instance()
    kw = {"ctx": ctx}
    routes = [
        (prefix, HealthHandler),  # the hub checks the service's root when it starts
        (url_path_join(prefix, "health"), HealthHandler),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        (url_path_join(prefix, r"api/whoami"), WhoAmIHandler, kw),
        (url_path_join(prefix, r"api/call/(\w+)/(\w+)"), CallHandler, kw),
        (url_path_join(prefix, r"api/files/(\w+)/(\w+)"), FileHandler, kw),
        (url_path_join(prefix, r"api/uploads"), UploadsHandler, kw),
        (url_path_join(prefix, r"api/uploads/(\w+)"), UploadHandler, kw),
        (url_path_join(prefix, r"api/uploads/(\w+)/(inspect|add)"), UploadActionHandler, kw),
        (url_path_join(prefix, r"api/events"), EventsHandler, kw),
    ]
    return web.Application(routes, hub_auth=hub_auth, cookie_secret=os.urandom(32))


def main() -> None:
    """Entry point of the managed service (``python -m dallosh.api``): the hub sets the JUPYTERHUB_* variables."""
    from urllib.parse import urlparse

    from tornado.httpserver import HTTPServer
    from tornado.ioloop import IOLoop

    from dallosh.config import get_config
    from dallosh.queue import connect_runtime
    from dallosh.services import get_services

    config = get_config()
    logging.basicConfig(level=config.log_level, format="[dallosh-api %(levelname)s %(asctime)s] %(message)s")
    services = get_services()
    connect_runtime(services)
    from hub.sync import account_listener, client_from_env

    hub = client_from_env(services.config)
    if hub is not None:  # account changes made through the API also stop/remove hub servers
        services.account_listeners.append(account_listener(hub))
    fanout = EventFanout(config)
    ctx = APIContext(services, fanout)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/dallosh-api/")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8082"))
    app = make_app(ctx, prefix)
    # Chunks are checked by UploadHandler; other bodies (JSON calls) stay small.
    server = HTTPServer(app, max_body_size=64 << 20, idle_connection_timeout=3600)
    server.listen(url.port or 80, config.api_listen or url.hostname or "127.0.0.1")
    loop = IOLoop.current()
    loop.add_callback(lambda: fanout.start(asyncio.get_running_loop()))
    log.info("dallosh API listening on %s%s", url.geturl().rstrip("/"), prefix)
    try:
        loop.start()
    finally:
        fanout.stop()
