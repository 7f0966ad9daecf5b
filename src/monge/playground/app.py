"""The playground's ASGI app: the page, its static files, and one WebSocket session per page.

Starlette (routing, static files, the WebSocket API) under uvicorn with the ``websockets``
protocol: the smallest stack that serves files and WebSockets from one process, measured to work
here. A session has two tasks: one receives, checks (:mod:`.protocol`) and coalesces the client's
messages (the latest parameters and transport request win), the other computes in a worker thread
(the event loop never runs a step or a solve) and sends. A flow frame is sent only when the page has
acknowledged the previous one; the next is computed meanwhile, one at a time, so frames are dropped
rather than queued and the flow slows down with a slow page. torch and monge's solvers are imported
with this module, at start-up: imported in the first handler, they would block the event loop for
seconds.

The app has two worker threads, shared by its sessions in turn (first come, first served): one for
the flows' steps, one for the transport solves (so that a long Sinkhorn solve never stalls a flow).
One thread per session would let each keep its own malloc arena of freed N x N temporaries:
measured with four clients at N = 2000 (ReLU teacher), 1.9 GB resident against 0.72 GB with the
shared threads (0.5 GB with ``monge playground``'s malloc setting, :mod:`monge.cli.playground`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import numpy as np
import torch  # at start-up, not in the first handler: see the module's docstring
from starlette.applications import Starlette
from starlette.responses import FileResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from monge.errors import InputError

from . import protocol
from .flow_board import FlowBoard
from .transport_board import permutations, solve

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
log = logging.getLogger(__name__)


def create_app(*, max_clients: int = protocol.MAX_CLIENTS, origins=None, static=None) -> Starlette:
    """The playground's Starlette app.

    Routes: ``/`` (``static/index.html``), ``/static/*`` (the page's files), ``/ws`` (the WebSocket,
    :mod:`.protocol`).

    Parameters
    ----------
    max_clients : int >= 1, sockets served at once; the next is closed with 1013 ("try again later")
    origins : iterable of str, optional; ``Origin`` headers accepted besides ``http://127.0.0.1:PORT``,
        ``http://localhost:PORT`` and ``http://[::1]:PORT`` of this server (a request without
        ``Origin``, from a program rather than a browser, is accepted)
    static : path, optional; the folder of ``index.html`` and the page's files (default: the package's)

    Returns
    -------
    starlette.applications.Starlette, with ``app.state.sessions``: the :class:`Session` of each socket served

    Examples
    --------
    >>> app = create_app(max_clients=2)
    >>> sorted(r.path for r in app.routes)
    ['/', '/static', '/ws']
    """
    if isinstance(max_clients, bool) or not isinstance(max_clients, int) or max_clients < 1:
        raise InputError(f"max_clients: {max_clients!r}; expected a positive integer")
    folder = Path(STATIC if static is None else static)
    extra = frozenset(origins or ())
    workers = Workers()
    sessions: set[Session] = set()  # the sockets served now

    async def index(request):
        page = folder / "index.html"
        if not page.is_file():
            return PlainTextResponse(f"monge playground: the page is missing ({page}): a broken install", 404)
        return FileResponse(page, media_type="text/html; charset=utf-8")

    async def socket(websocket: WebSocket):
        if not _origin_allowed(websocket, extra):
            await websocket.close(protocol.CLOSE_POLICY)  # before accepting: the handshake is refused (403)
            return
        if len(sessions) >= max_clients:
            await websocket.accept()  # then a close code the page can read (a refused handshake has none)
            await websocket.close(protocol.CLOSE_TRY_AGAIN, "try again later")
            return
        session = Session(websocket, workers)
        sessions.add(session)
        try:
            await websocket.accept()
            await session.run()
        finally:
            sessions.discard(session)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        warm = [loop.run_in_executor(workers.solver, _warm_up), loop.run_in_executor(workers.flow, _warm_up_flow)]
        yield
        for future in warm:
            future.cancel()
        workers.shutdown()

    routes = [Route("/", index), Mount("/static", StaticFiles(directory=folder, check_dir=False), name="static"),
              WebSocketRoute("/ws", socket)]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sessions = sessions
    return app


def _origin_allowed(websocket: WebSocket, extra: frozenset) -> bool:
    """Whether the handshake's ``Origin`` is this server's own page (a loopback name and its port).

    Any web page the user visits can open a WebSocket to localhost; only the browser's ``Origin``
    tells them apart. It is compared with fixed names, not with the ``Host`` header, which a page
    could control through DNS rebinding.
    """
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    port = (websocket.scope.get("server") or (None, None))[1]
    allowed = {f"http://{host}:{port}" for host in LOOPBACK_NAMES}
    if port == 80:  # a browser omits the default port
        allowed |= {f"http://{host}" for host in LOOPBACK_NAMES}
    return origin in allowed or origin in extra


def _only_departures(error: BaseException) -> bool:
    """Whether ``error`` (an exception group) holds nothing but a departed client's errors."""
    departure = (WebSocketDisconnect, OSError)
    if isinstance(error, BaseExceptionGroup):
        return error.subgroup(lambda e: not isinstance(e, (BaseExceptionGroup, *departure))) is None
    return isinstance(error, departure)


class Workers:
    """The app's two worker threads: ``flow`` (every session's steps) and ``solver`` (transport solves),
    started on first use.

    Each runs torch on one thread of its own (OpenMP's setting is per thread: the process's other
    threads keep theirs). Two OpenMP teams of two threads each, spinning in turn on two cores, were
    three times slower: Sinkhorn at n = 200, eps = 1e-3 of the diameter, 190 ms in a worker thread
    against 59 ms on one thread; one step at N = 2000 of the RBF example, 90 ms against 21 ms.
    """

    def __init__(self):
        self._flow: ThreadPoolExecutor | None = None
        self._solver: ThreadPoolExecutor | None = None

    @property
    def flow(self) -> ThreadPoolExecutor:
        """The flows' thread."""
        if self._flow is None:
            self._flow = ThreadPoolExecutor(1, "playground-flow", initializer=_one_torch_thread)
        return self._flow

    @property
    def solver(self) -> ThreadPoolExecutor:
        """The transport solves' thread."""
        if self._solver is None:
            self._solver = ThreadPoolExecutor(1, "playground-solver", initializer=_one_torch_thread)
        return self._solver

    def shutdown(self) -> None:
        """Stop both threads once their current job ends (queued jobs are dropped); a later use starts new ones."""
        for executor in (self._flow, self._solver):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        self._flow = self._solver = None


def _one_torch_thread() -> None:
    """Torch on one thread in the calling (worker) thread only: OpenMP's thread count is per thread."""
    torch.set_num_threads(1)


def _warm_up_flow() -> None:
    """A few steps of a small flow: torch's kernels loaded before the first page asks."""
    FlowBoard(playing=False).run(2)


def _warm_up() -> None:
    """Import POT and run each solver once on a few points, so that the first drag is not the slow one."""
    x = np.array([[0.0, 0.0], [1.0, 0.0]])
    z = np.array([[0.0, 1.0], [1.0, 1.0]])
    solve(x, z)
    solve(x, z, a=np.array([0.5, 0.5]))
    solve(x, z, method="sinkhorn")


class Session:
    """One page's socket: a receive task that checks and coalesces, a compute task that works and sends.

    Parameters
    ----------
    websocket : an accepted starlette WebSocket
    workers : the app's :class:`Workers`
    """

    def __init__(self, websocket: WebSocket, workers: Workers):
        self.websocket = websocket
        self.workers = workers
        self.params: dict = {}
        self.actions: collections.deque = collections.deque(maxlen=64)
        self.transport: protocol.TransportRequest | None = None
        self.permutations: protocol.PermutationsRequest | None = None
        self.in_flight: int | None = None  # the flow frame sent and not yet acknowledged
        self.frames = 0  # flow frames sent
        self.board: FlowBoard | None = None
        self.closed = False  # set when the socket is done: queued work is then skipped
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        """Serve the socket until the client leaves (or sends a message over the size limit)."""
        try:
            await self._send(protocol.hello())
            await self._serve()
        finally:
            self.closed = True

    async def _serve(self) -> None:
        left = False

        async def receive():
            nonlocal left
            await self._receive()
            left = True
            group.cancel_scope.cancel()  # the compute task too: a departed page's work stops

        try:
            # anyio's task group, as Starlette's: a cancellation from the server (or the test client) ends both
            async with anyio.create_task_group() as group:
                group.start_soon(receive)
                group.start_soon(self._compute)
        except Exception as failure:  # an ExceptionGroup: the page left while a frame was sent, or a bug
            if left or _only_departures(failure):
                return
            log.error("monge playground: a session failed", exc_info=failure)
            with contextlib.suppress(Exception):
                await self.websocket.close(1011, "internal error")

    # -- receiving ------------------------------------------------------------------------------

    async def _receive(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text, data = message.get("text"), message.get("bytes") or b""
            if text is None:
                size = len(data)
            else:  # UTF-8 takes at most 4 bytes a character: encode only a text that might be too large
                size = len(text) if 4 * len(text) <= protocol.MAX_MESSAGE else len(text.encode("utf-8", "replace"))
            if size > protocol.MAX_MESSAGE:
                await self.websocket.close(protocol.CLOSE_TOO_LARGE, "message too big")
                return
            try:
                parsed = protocol.parse(text if text is not None else data)
            except InputError as error:
                await self._send(protocol.error(str(error)))
                continue
            self._take(parsed)

    def _take(self, message: protocol.Message) -> None:
        """Keep a checked message for the compute task: parameters merge, a newer request replaces an older."""
        if isinstance(message, protocol.FlowParams):
            self.params.update(message.changes)
        elif isinstance(message, protocol.Control):
            self.actions.append(message.action)
        elif isinstance(message, protocol.Ack):
            if message.frame == self.in_flight:
                self.in_flight = None
        elif isinstance(message, protocol.TransportRequest):
            self.transport = message
        else:
            self.permutations = message
        self._wake.set()

    # -- computing ------------------------------------------------------------------------------

    async def _compute(self) -> None:
        self.board = await self._flow(FlowBoard)
        ready = self.board.frame()  # the next flow frame, computed and not yet sent
        while True:
            self._wake.clear()
            if self.params or self.actions:
                changes, actions = self.params, list(self.actions)
                self.params = {}
                self.actions.clear()
                errors, ready = await self._flow(self._apply, changes, actions)
                for error, fields in errors:
                    await self._send(protocol.error(error, **fields))
            if self.transport is not None:
                request, self.transport = self.transport, None
                await self._answer(self._transport, request)
            if self.permutations is not None:
                request, self.permutations = self.permutations, None
                await self._answer(self._permutations, request)
            if ready is not None and self.in_flight is None:
                await self._send_frame(*ready)
                ready = None
            if ready is None and self.board.playing and self.board.seconds_until_due() == 0:
                error, ready = await self._flow(self._advance)
                if error is not None:
                    await self._send(protocol.error(error, paused=True))
                continue
            timeout = math.inf if ready is not None else self.board.seconds_until_due()
            with anyio.move_on_after(timeout):
                await self._wake.wait()

    async def _flow(self, work, *args):
        """``work(*args)`` in the flow thread; a job of a closed session is skipped (the one running, at
        most a frame's budget of steps, ends on its own)."""
        def job():
            return None if self.closed else work(*args)

        return await asyncio.get_running_loop().run_in_executor(self.workers.flow, job)

    def _apply(self, changes: dict, actions: list[str]):
        """In the worker thread: apply parameters, then actions; return ([(error, its fields)], the new frame)."""
        errors = []
        if changes:
            try:
                self.board.update(changes)
            except InputError as error:
                errors.append((str(error), {}))
        for action in actions:
            self.board.control(action)
            message = self.board.take_error()  # a single step that diverged
            if message is not None:
                errors.append((message, {"paused": True}))
        return errors, self.board.frame()

    def _advance(self):
        """In the worker thread: the steps due, within the frame's budget; (divergence message, frame or None)."""
        steps = self.board.advance()
        error = self.board.take_error()
        return error, self.board.frame() if steps or error is not None else None

    async def _answer(self, work, request) -> None:
        try:
            data = await asyncio.get_running_loop().run_in_executor(self.workers.solver, work, request)
        except (InputError, ArithmeticError, RuntimeError) as error:
            log.warning("monge playground: %s refused: %s", type(request).__name__, error)
            await self._send(protocol.error(f"{type(request).__name__}: {error}"))
            return
        await self._send(data)

    @staticmethod
    def _transport(request: protocol.TransportRequest) -> bytes:
        s = solve(request.x, request.z, request.a, request.b, request.p, request.method, request.eps)
        header = {"type": "transport", "id": request.id, "cost": s.cost, "p": request.p, "method": s.method,
                  "seconds": s.seconds, "n": len(request.x), "m": len(request.z), "eps": request.eps,
                  "eps_cost": s.eps, "converged": s.converged}
        arrays = {"permutation": s.permutation} if s.permutation is not None else {"plan": s.plan}
        return protocol.encode_frame(header, arrays)

    @staticmethod
    def _permutations(request: protocol.PermutationsRequest) -> bytes:
        costs, best, best_permutation = permutations(request.x, request.z, request.p)
        header = {"type": "permutations", "id": request.id, "p": request.p, "best": best,
                  "distance": float(costs[best]), "count": len(costs)}
        return protocol.encode_frame(header, {"costs": costs.astype(np.float32),
                                              "best_permutation": best_permutation.astype(np.int32)})

    # -- sending --------------------------------------------------------------------------------

    async def _send_frame(self, header: dict, arrays: dict) -> None:
        data = protocol.encode_frame({**header, "frame": self.frames}, arrays)
        self.in_flight = self.frames
        self.frames += 1
        await self._send(data)

    async def _send(self, data) -> None:
        async with self._send_lock:
            if isinstance(data, bytes):
                await self.websocket.send_bytes(data)
            else:
                await self.websocket.send_text(data)
