"""The issuer's ASGI app: token endpoint, discovery (RFC 8414), JWKS, health and metrics.

Signing runs on signing threads, one per HSM session, and one committer thread makes the
tokens' records durable in batches (`_Pipeline`). When the HSM is unreachable (or does not
answer within GRANT_DEADLINE), the token endpoint answers 503 (`temporarily_unavailable`): it
never falls back to another key or backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..audit.batch import GroupCommit, WriterLock
from ..errors import HsmError, HsmUnavailable, NoSigningKey, NotFound, SignwardError, StoreError
from ..keys.registry import Registry, rotation_error
from ..store.sqlite import SqliteStore
from .clients import ClientRegistry
from .hotpath import body_whole, token_answer
from .issuance import IssuanceRecords
from .metrics import IssuerMetrics
from .oauth import MAX_BODY, OAuthError, TokenRequest, parse_client_request, parse_token_request
from .tokens import IssuedToken, TokenRecord, TokenService

log = logging.getLogger("signward.issuer")


@dataclass
class IssuerContext:
    registry: Registry
    clients: ClientRegistry
    tokens: TokenService
    metrics: IssuerMetrics
    rotation_interval: float = 60.0
    audit: Any = None  # signward.audit.AuditLog when the home has one
    issuance: IssuanceRecords | None = None  # answers introspection; None: the endpoint says 404
    startup: list[Callable[[], object]] = field(default_factory=list)  # run once as the app starts (canaries)
    signers: int = 4  # signing threads: one per HSM session (`hsm.sessions`, default 4)


INTROSPECT_SCOPE = "introspect"  # a relying party's client needs it to call /introspect


def _oauth_error(err: OAuthError) -> JSONResponse:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if err.basic_challenge and err.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="signward"'
    return JSONResponse({"error": err.error, "error_description": err.description}, status_code=err.status,
                        headers=headers)


MAX_SCOPES = 64
BODY_TIMEOUT = 10.0  # seconds for a token request's body to arrive


def served_base(issuer: str, realm: str) -> str:
    """Where this server serves a realm, from its configured issuer URL only: the issuer itself
    when its path ends in /realms/NAME (also behind a proxy that adds a prefix), else the
    issuer's origin + /realms/NAME. A request's Host header never enters a served URL."""
    suffix = f"/realms/{realm}"
    if issuer.endswith(suffix):
        return issuer
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}{suffix}"


SIGN_BATCH = 8  # grants one signing thread takes from the queue at once
QUEUE_MAX = 4096  # grants waiting for a signing thread; one more is refused at once (503)
GRANT_DEADLINE = 30.0  # seconds: a grant not answered by then is refused (503), whatever holds it
TOKEN_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


def create_app(ctx: IssuerContext) -> Starlette:
    """The issuer's ASGI app: its routes, each group built by its own function over `ctx` (one
    app per home, no globals)."""
    _share_sqlite_writer(ctx)
    # the grant's one hop off the event loop: signing threads (one per HSM session) that take the
    # waiting grants in batches and one thread that commits their records together (#39)
    prepare, commit = _grant(ctx)
    hop = _Pipeline(max(1, ctx.signers), prepare, commit)
    token = _token_endpoint(ctx, hop)
    return _IssuerApp(
        token,
        routes=[
            Route("/realms/{realm}/token", _Asgi(token), methods=["POST"]),
            _introspection_route(ctx),
            *_discovery_routes(ctx),
            *_service_routes(ctx),
        ],
        lifespan=_lifespan(ctx, hop),
        exception_handlers={Exception: _server_error},
    )


def _per_realm(family: Any) -> Callable[[str], Any]:
    """A metric family's child for a realm, kept once made (prometheus_client's labels() locks)."""
    children: dict[str, Any] = {}

    def child(realm_name: str) -> Any:
        found = children.get(realm_name)
        if found is None:
            found = children[realm_name] = family.labels(realm_name)
        return found

    return child


@dataclass
class _Signed:
    """A grant signed on a signing thread: its answer, and the record it waits for (None: the
    record is already durable)."""

    realm: str
    req: TokenRequest
    answer: tuple[IssuedToken, list[str]]
    record: TokenRecord | None


_Outcome = tuple[Any, BaseException | None]  # (result, error): one grant's, in order


def _grant(ctx: IssuerContext) -> tuple[Callable[[str, TokenRequest], _Signed],
                                        Callable[[list[_Outcome]], list[_Outcome]]]:
    """The blocking part of a token request in two steps: `prepare` authenticates, authorizes
    and signs (on a signing thread), `commit` makes a batch of signed grants' records durable
    together (on the committer thread); only a grant whose record is durable is answered."""
    sign_seconds = _per_realm(ctx.metrics.sign_seconds)

    def prepare(realm_name: str, req: TokenRequest) -> _Signed:
        """The client's row may come from the cache; the token's record re-checks it (and the
        key) as it commits. When reading fails, the caches go and the grant is tried once more
        from the database, which answers for the client as it is now."""
        try:
            answer, record = granted(realm_name, req, cached=True)
        except StoreError:
            return _Signed(realm_name, req, again(realm_name, req), None)
        return _Signed(realm_name, req, answer, record)

    def again(realm_name: str, req: TokenRequest) -> tuple[IssuedToken, list[str]]:
        ctx.clients.forget(realm_name, req.client_id)
        ctx.tokens.forget()
        answer, record = granted(realm_name, req, cached=False)
        ctx.tokens.record(record)
        return answer

    def commit(signed: list[_Outcome]) -> list[_Outcome]:
        """Each signed grant's answer once its record is durable; a record the store refused
        (a cached client or key that changed) sends its grant once more through the database."""
        waiting = [n for n, (done, exc) in enumerate(signed) if exc is None and done.record is not None]
        errors = ctx.tokens.record_all([signed[n][0].record for n in waiting])
        out: list[_Outcome] = [(None, exc) if exc is not None else (done.answer, None) for done, exc in signed]
        for n, error in zip(waiting, errors, strict=True):
            if isinstance(error, StoreError):
                done = signed[n][0]
                try:
                    out[n] = (again(done.realm, done.req), None)
                except Exception as exc:  # noqa: BLE001 - handed to the request, which answers for it
                    out[n] = (None, exc)
            elif error is not None:
                out[n] = (None, error)
        return out

    def granted(realm_name: str, req: TokenRequest, cached: bool) -> tuple[tuple[IssuedToken, list[str]],
                                                                           TokenRecord]:
        found = (ctx.clients.authenticate_cached if cached else ctx.clients.authenticate_checked)(
            realm_name, req.client_id, req.client_secret)
        if found is None:
            raise OAuthError("invalid_client", "client authentication failed", 401, req.used_basic)
        client, check = found
        audience = req.params.get("audience") or req.params.get("resource") or client.audiences[0]
        if audience not in client.audiences:
            raise OAuthError("invalid_target", f"audience {audience!r} is not allowed for this client")
        scopes = list(dict.fromkeys(req.params["scope"].split())) if req.params.get("scope") else list(client.scopes)
        if len(scopes) > MAX_SCOPES:  # deduplicated, then capped: a token stays far below any validator's limit
            raise OAuthError("invalid_scope", f"at most {MAX_SCOPES} scopes per token")
        if any(s not in client.scopes for s in scopes):
            raise OAuthError("invalid_scope", "a requested scope is not granted to this client")
        started = time.perf_counter()
        issued, record = ctx.tokens.sign(realm_name, sub=client.client_id, audience=audience, tenant=client.tenant,
                                         client_id=client.client_id, scope=" ".join(scopes), client=check)
        sign_seconds(realm_name).observe(time.perf_counter() - started)
        return (issued, scopes), record

    return prepare, commit


def _token_endpoint(ctx: IssuerContext, hop: _Pipeline) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """POST /realms/{realm}/token: the grant runs on `hop`, everything else on the event loop."""
    issued_counter = _per_realm(ctx.metrics.tokens_issued)

    async def token(scope: Scope, receive: Receive, send: Send) -> None:
        """The token endpoint as a plain ASGI app (no Request/Response objects on the success
        path: Starlette's request/response wrapping cost about a tenth of a token's CPU)."""
        realm_name = scope["path_params"]["realm"]
        if not ctx.tokens.knows(realm_name):
            await JSONResponse({"error": "invalid_request", "error_description": "unknown realm"}, 404)(
                scope, receive, send)
            return
        refusal: Response
        try:
            body = await _asgi_body(receive, scope.get("path", ""))
            if isinstance(body, Response):
                await body(scope, receive, send)
                return
            content_type = authorization = None
            for name, value in scope["headers"]:  # the first of each, as Starlette's Headers.get
                if name == b"content-type" and content_type is None:
                    content_type = value.decode("latin-1")
                elif name == b"authorization" and authorization is None:
                    authorization = value.decode("latin-1")
            req = parse_token_request(content_type, authorization, body)
            issued, scopes = await hop.run(realm_name, req)
        except OAuthError as err:
            ctx.metrics.token_errors.labels(realm_name, err.error).inc()
            refusal = _oauth_error(err)
        except (HsmError, NoSigningKey, StoreError) as exc:
            ctx.metrics.hsm_errors.labels(realm_name).inc()
            log.error("signing failed for realm %s: %s", realm_name, exc.diagnostics())
            refusal = JSONResponse({"error": "temporarily_unavailable",
                                    "error_description": "the signing service is unavailable; retry later"},
                                   status_code=503, headers={"Retry-After": "1", "Cache-Control": "no-store"})
        except Exception:  # what Starlette's error middleware answered before the shortcut (#39)
            log.exception("unexpected error on %s", scope.get("path", ""))
            refusal = JSONResponse({"error": "server_error"}, 500)
        else:
            issued_counter(realm_name).inc()
            answer = token_answer(issued.token, issued.expires_in, " ".join(scopes))
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*TOKEN_HEADERS, (b"content-length", str(len(answer)).encode())]})
            await send({"type": "http.response.body", "body": answer})
            return
        await refusal(scope, receive, send)

    return token


def _introspection_route(ctx: IssuerContext) -> Route:
    """POST /realms/{realm}/introspect: RFC 7662 for a relying party's client."""

    def introspected(realm_name: str, req: TokenRequest) -> dict[str, Any]:
        """RFC 7662 for a relying party: a client of this realm holding the `introspect` scope."""
        client = ctx.clients.authenticate(realm_name, req.client_id, req.client_secret)
        if client is None:
            raise OAuthError("invalid_client", "client authentication failed", 401, req.used_basic)
        if INTROSPECT_SCOPE not in client.scopes:
            raise OAuthError("insufficient_scope", f"the client lacks the {INTROSPECT_SCOPE} scope", 403)
        token = req.params.get("token", "")
        if not token:
            raise OAuthError("invalid_request", "token is required")
        assert ctx.issuance is not None
        return ctx.issuance.introspect(realm_name, token)

    async def introspect(request: Request) -> Response:
        realm_name = request.path_params["realm"]
        if ctx.issuance is None or not ctx.tokens.knows(realm_name):
            return JSONResponse({"error": "invalid_request", "error_description": "unknown realm"}, 404)
        try:
            body = await _body(request)
            if isinstance(body, Response):
                return body
            req = parse_client_request(request.headers.get("content-type"), request.headers.get("authorization"), body)
            answer = await run_in_threadpool(introspected, realm_name, req)
        except OAuthError as err:
            return _oauth_error(err)
        except StoreError as exc:
            log.error("introspection failed for realm %s: %s", realm_name, exc.diagnostics())
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503,
                                headers={"Retry-After": "1", "Cache-Control": "no-store"})
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return Route("/realms/{realm}/introspect", introspect, methods=["POST"])


def _discovery_routes(ctx: IssuerContext) -> list[Route]:
    """A realm's metadata (RFC 8414 and OpenID discovery) and its JWKS."""

    async def discovery(request: Request) -> Response:
        try:
            realm = await run_in_threadpool(ctx.registry.realm, request.path_params["realm"])
        except NotFound:
            return JSONResponse({"error": "not_found"}, 404)
        base = served_base(realm.issuer, realm.name)  # from the configured issuer, never the Host header
        return JSONResponse({
            "issuer": realm.issuer,
            "token_endpoint": f"{base}/token",
            "introspection_endpoint": f"{base}/introspect",
            "jwks_uri": f"{base}/jwks.json",
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": [realm.alg.value],
            "token_endpoint_auth_signing_alg_values_supported": [realm.alg.value],
        }, headers={"Cache-Control": "public, max-age=300"})

    async def jwks(request: Request) -> Response:
        try:
            realm = await run_in_threadpool(ctx.registry.realm, request.path_params["realm"])
            document = await run_in_threadpool(ctx.registry.jwks, realm.name)
        except NotFound:
            return JSONResponse({"error": "not_found"}, 404)
        max_age = int(max(0, min(300, realm.policy.prepublish_lead / 2)))
        return JSONResponse(document, headers={"Cache-Control": f"public, max-age={max_age}"},
                            media_type="application/jwk-set+json")

    return [
        Route("/realms/{realm}/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/realms/{realm}/.well-known/oauth-authorization-server", discovery, methods=["GET"]),
        Route("/realms/{realm}/jwks.json", jwks, methods=["GET"]),
    ]


def _service_routes(ctx: IssuerContext) -> list[Route]:
    """The server's own: health (the HSM reachable) and Prometheus metrics."""

    async def healthz(request: Request) -> Response:
        try:
            status = await run_in_threadpool(ctx.tokens.signer.backend.status)
        except SignwardError as exc:
            return JSONResponse({"status": "unavailable", "hsm": exc.diagnostics()}, 503)
        return JSONResponse({"status": "ok", "hsm": {"backend": ctx.tokens.signer.backend.name,
                                                     "private_keys": status.get("private_keys")}})

    async def metrics(request: Request) -> Response:
        return Response(ctx.metrics.render(), media_type=ctx.metrics.content_type)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])]


def _lifespan(ctx: IssuerContext, hop: _Pipeline) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The app's start (the startup hooks, the rotation loop) and end (the loop, the signing threads)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for hook in ctx.startup:
            hook()
        task = asyncio.create_task(_rotation_loop(ctx))
        try:
            yield
        finally:
            hop.shutdown()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path)
    return JSONResponse({"error": "server_error"}, 500)


def _share_sqlite_writer(ctx: IssuerContext) -> None:
    """On SQLite, the group commits of every worker process take turns on an flock beside the
    database (`audit.batch.WriterLock`) instead of in SQLite's busy-handler sleeps."""
    store = getattr(ctx.audit, "store", None)
    batcher = getattr(ctx.audit, "batcher", None)
    if isinstance(store, SqliteStore) and isinstance(batcher, GroupCommit) and batcher.writer_lock is None:
        try:
            batcher.writer_lock = WriterLock(Path(f"{store.path}.writers"))
        except OSError as exc:  # only slower without it: SQLite's lock still orders the writers
            log.warning("no writer lock beside %s (%s): workers wait in SQLite's busy handler", store.path,
                        exc.strerror)


TOKEN_PATH_START, TOKEN_PATH_END = "/realms/", "/token"


def token_path_realm(path: str) -> str | None:
    """The realm of a token endpoint path, as the route `/realms/{realm}/token` matches it
    (one non-empty segment without '/'); None for any other path."""
    if not (path.startswith(TOKEN_PATH_START) and path.endswith(TOKEN_PATH_END)):
        return None
    realm = path[len(TOKEN_PATH_START):-len(TOKEN_PATH_END)]
    return realm if realm and "/" not in realm else None


class _IssuerApp(Starlette):
    """The issuer's Starlette app with one shortcut: a POST to a realm's token endpoint goes
    straight to its plain ASGI handler, past Starlette's two middlewares (their send wrappers)
    and its router's match over every route, which cost about a tenth of a token's CPU (#39).
    Everything else, and a token path under a root_path, takes the ordinary route."""

    def __init__(self, token: Callable[[Scope, Receive, Send], Awaitable[None]], **kwargs: Any) -> None:
        if kwargs.get("middleware"):  # the shortcut would go past it: route the token path too, then
            raise TypeError("the issuer's token shortcut passes no middleware: remove the shortcut first")
        super().__init__(**kwargs)
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            realm = token_path_realm(scope["path"])
            if realm is not None:
                scope["app"] = self
                scope["path_params"] = {"realm": realm}
                await self._token(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class _Asgi:
    """An ASGI callable Starlette routes to as it is (a plain function would be wrapped in
    Request/Response)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class _Hop:
    """Threads that run the blocking part of a request for the event loop, without
    concurrent.futures' locks and callbacks. Results go back to their loop in bunches: the
    first result that finds none waiting schedules one `call_soon_threadsafe` (a write to the
    loop's wake-up socket), and the results that finish before it runs ride along (the group
    commit ends many grants at once; issue 39)."""

    def __init__(self, threads: int) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._finished: dict[asyncio.AbstractEventLoop, list[tuple[Any, ...]]] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"signward-grant-{n}", daemon=True)
                         for n in range(threads)]
        for thread in self._threads:
            thread.start()

    def run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, future, fn, args = job
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the awaiting request, which answers for it
                self._finish(loop, (future, None, exc))
            else:
                self._finish(loop, (future, result, None))

    def _finish(self, loop: asyncio.AbstractEventLoop, done: tuple[Any, ...]) -> None:
        self._finish_many(loop, [done])

    def _finish_many(self, loop: asyncio.AbstractEventLoop, done: list[tuple[Any, ...]]) -> None:
        with self._lock:
            waiting = self._finished.get(loop)
            if waiting is not None:  # a drain is scheduled and has not taken the list yet
                waiting.extend(done)
                return
            self._finished[loop] = done
        try:
            loop.call_soon_threadsafe(self._drain, loop)
        except RuntimeError:  # the loop is closed: nobody awaits these any more
            with self._lock:
                self._finished.pop(loop, None)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            done = self._finished.pop(loop, [])
        for future, result, exc in done:
            _settle(future, result, exc)

    def shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)


_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", tuple[Any, ...], "_Waiting"]
_Done = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Any, BaseException | None]


class _Waiting:
    """A grant's mark that nobody waits for it any more (refused at its deadline, or its request
    cancelled): set on the loop, read by a signing thread as a plain attribute, never through
    the asyncio future, which is not thread-safe."""

    __slots__ = ("given_up",)

    def __init__(self) -> None:
        self.given_up = False

    def give_up(self, _future: object = None) -> None:
        self.given_up = True


class _Pipeline(_Hop):
    """The token grant's way off the event loop with few thread hand-offs (issue 39): one
    signing thread per HSM session takes every grant waiting (up to SIGN_BATCH) and runs
    `prepare` on each in turn (authenticate, sign, check the signature), then hands the whole
    batch to one committer thread, which takes every batch waiting, makes their records durable
    in one transaction (`commit`) and returns the answers to the loop in one wake-up per bunch
    (`_Hop._finish`). Sixteen grant threads each blocked on the HSM and on the group commit
    before, handing the GIL back and forth.

    Never a hung request: the queue is bounded (QUEUE_MAX waiting: one more is refused at once
    with HsmUnavailable) and every grant has a deadline (GRANT_DEADLINE seconds, watched on its
    loop: then HsmUnavailable, whatever holds it; a grant refused before a signing thread took it
    is not signed at all); an error in any step fails only the grants it touched, with their
    error; the threads outlive it."""

    def __init__(self, signers: int, prepare: Callable[..., Any],
                 commit: Callable[[list[_Outcome]], list[_Outcome]], *, batch: int = SIGN_BATCH,
                 queue_max: int = QUEUE_MAX, deadline: float = GRANT_DEADLINE) -> None:
        self._prepare, self._commit = prepare, commit
        self.batch, self.queue_max, self.deadline = batch, queue_max, deadline
        self._commits: queue.SimpleQueue[list[tuple[_Job, Any, BaseException | None]] | None] = queue.SimpleQueue()
        # loop thread only: each loop's grants in the order they came, with their deadline
        self._due: dict[asyncio.AbstractEventLoop, dict[asyncio.Future[Any], tuple[float, _Waiting]]] = {}
        self._watching: set[asyncio.AbstractEventLoop] = set()
        super().__init__(0)
        self._threads = [threading.Thread(target=self._sign, name=f"signward-signer-{n}", daemon=True)
                         for n in range(signers)]
        self._committer = threading.Thread(target=self._commit_all, name="signward-committer", daemon=True)
        for thread in (*self._threads, self._committer):
            thread.start()

    def run(self, *args: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._jobs.qsize() >= self.queue_max:
            future.set_exception(HsmUnavailable(f"{self.queue_max} grants are waiting for the HSM"))
            return future
        due = self._due.get(loop)
        if due is None:
            due = self._due[loop] = {}
        if loop not in self._watching:  # the watch ends when nothing is due: start it again
            self._watching.add(loop)
            loop.call_later(self._watch_every, self._expire, loop)
        waiting = _Waiting()
        future.add_done_callback(waiting.give_up)  # cancelled (the request went away): not signed
        due[future] = (time.monotonic() + self.deadline, waiting)
        self._jobs.put((loop, future, args, waiting))
        return future

    @property
    def _watch_every(self) -> float:
        return min(1.0, self.deadline / 4)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Refuse the grants past their deadline (in the order they came: the oldest first)."""
        due = self._due.get(loop, {})
        now = time.monotonic()
        while due:
            future, (at, waiting) = next(iter(due.items()))  # the oldest: no copy of the whole dict
            if at > now:
                break
            del due[future]
            waiting.give_up()  # before the refusal: a signing thread that takes it now skips it
            if not future.done():
                future.set_exception(HsmUnavailable(f"no signature within {self.deadline:g} s"))
        if due:
            loop.call_later(self._watch_every, self._expire, loop)
        else:
            self._watching.discard(loop)
            self._due.pop(loop, None)  # a closed loop leaves nothing behind

    def _sign(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch: list[_Job] = [job]
            stop = False
            while len(batch) < self.batch:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            signed: list[tuple[_Job, Any, BaseException | None]] = []
            for each in batch:
                if each[3].given_up:  # refused at its deadline (or cancelled) while it waited: not signed
                    continue
                try:
                    signed.append((each, self._prepare(*each[2]), None))
                except BaseException as exc:  # handed to the awaiting request, which answers for it
                    signed.append((each, None, exc))
            self._commits.put(signed)
            if stop:
                return

    def _commit_all(self) -> None:
        while True:
            signed = self._commits.get()
            if signed is None:
                return
            with contextlib.suppress(queue.Empty):
                while len(signed) < 4 * self.batch * len(self._threads):
                    more = self._commits.get_nowait()
                    if more is None:
                        self._commits.put(None)
                        break
                    signed.extend(more)
            try:
                outcomes = self._commit([(result, exc) for _, result, exc in signed])
            except BaseException as exc:  # every grant of the batch fails with it; the thread goes on
                outcomes = [(None, exc)] * len(signed)
            done: list[_Done] = [(job[0], job[1], result, exc)
                                 for (job, _, _), (result, exc) in zip(signed, outcomes, strict=True)]
            self._finish_all(done)

    def _finish_all(self, done: list[_Done]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, ...]]] = {}
        for loop, future, result, exc in done:
            by_loop.setdefault(loop, []).append((future, result, exc))
        for loop, finished in by_loop.items():
            self._finish_many(loop, finished)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            done = self._finished.pop(loop, [])
        due = self._due.get(loop, {})
        for future, result, exc in done:
            entry = due.pop(future, None)
            if entry is not None:  # answered now: its give-up mark has no use left, and a done
                future.remove_done_callback(entry[1].give_up)  # callback is one more loop turn per token
            _settle(future, result, exc)

    def shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        self._commits.put(None)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # cancelled, or refused at its deadline
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


async def _asgi_body(receive: Receive, path: str) -> bytes | Response:
    """`_body` for a plain ASGI endpoint: the body within BODY_TIMEOUT and MAX_BODY."""
    if body_whole(receive):  # already here: no deadline to arm (a timer made and cancelled per token)
        return await _asgi_body_now(receive, path)
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            return await _asgi_body_now(receive, path)
    except TimeoutError:
        return JSONResponse({"error": "invalid_request", "error_description": "the body did not arrive in time"},
                            status_code=408, headers={"Connection": "close"})


async def _asgi_body_now(receive: Receive, path: str) -> bytes | Response:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            log.info("client disconnected during the request body on %s", path)
            return Response(status_code=400)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise OAuthError("invalid_request", f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _body(request: Request) -> bytes | Response:
    """The request body within its deadline, or the answer to give instead (408, or 400 when
    the client went away mid-body: one line, no traceback)."""
    try:
        return await asyncio.wait_for(_read_body(request), BODY_TIMEOUT)
    except asyncio.TimeoutError:
        return JSONResponse({"error": "invalid_request", "error_description": "the body did not arrive in time"},
                            status_code=408, headers={"Connection": "close"})
    except ClientDisconnect:
        log.info("client disconnected during the request body on %s", request.url.path)
        return Response(status_code=400)


async def _read_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise OAuthError("invalid_request", f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _rotation_loop(ctx: IssuerContext) -> None:
    """Apply the rotation policy of every realm now and then. Nothing one round raises ends the
    loop: the error is logged, counted (`signward_rotation_loop_errors`) and the round is tried
    again after `rotation_interval`."""
    while True:
        try:
            await _rotation_round(ctx)
        except Exception as exc:  # noqa: BLE001 - the loop outlives any error of one round
            log.error("rotation round failed (retried in %gs): %s", ctx.rotation_interval, rotation_error(exc))
            ctx.metrics.rotation_loop_errors.inc()
        await asyncio.sleep(ctx.rotation_interval)


async def _rotation_round(ctx: IssuerContext) -> None:
    """One round: each realm rotates on its own (`Registry.rotate_each`: a realm that fails is
    alerted, audited and left for the next round), then issued-token rows and the checkpoint."""
    done, failed = await run_in_threadpool(ctx.registry.rotate_each)
    for name, error in failed.items():
        log.error("rotation failed in realm %s (retried in %gs): %s", name, ctx.rotation_interval, error)
        ctx.metrics.rotation_failures.labels(name).inc()
    for name, events in done.items():
        if events:
            ctx.tokens.forget()
            log.info("rotation in realm %s: %s", name, events)
    if ctx.issuance is not None:  # rows of long-expired tokens go (the audit log keeps token.issue)
        try:
            await run_in_threadpool(ctx.issuance.prune)
        except SignwardError as exc:
            log.error("pruning issued tokens failed: %s", exc.diagnostics())
    if ctx.audit is not None:  # rotation records were appended inside transactions: sign them when due
        try:
            await run_in_threadpool(ctx.audit.checkpoint_if_due)
        except SignwardError as exc:
            log.error("audit checkpoint failed: %s", exc.diagnostics())

