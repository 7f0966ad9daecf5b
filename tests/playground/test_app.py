"""The playground's server in process (Starlette's test client): routes, sessions, every bound of the
protocol, and ``monge playground`` itself."""

import contextlib
import json
import math
import select
import signal
import socket
import subprocess
import sys
import time
import warnings
import webbrowser

import numpy as np
import pytest
import torch

from monge.cli.main import main
from monge.playground import create_app, protocol
from monge.playground.protocol import decode_frame
from monge.transport import kantorovich, matching

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # starlette asks for httpx2; httpx is what its client runs on here
    from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

CURVE = [[float(x), float(2 * np.sin(1.5 * x))] for x in np.linspace(-3, 3, 60)]


class Page:
    """A client of ``/ws`` that acknowledges every flow frame, as the page does after drawing it."""

    def __init__(self, ws):
        self.ws = ws
        self.hello = ws.receive_json()
        assert self.hello["type"] == "hello"
        self.flow: list[dict] = []  # every flow frame's header, in order
        self.errors: list[str] = []

    def send(self, **message):
        self.ws.send_text(json.dumps(message))

    def next(self, kind, ack=True, limit=5000):
        """The next message of ``kind`` ("flow", "transport", "permutations" or "error"): (header, arrays)."""
        for _ in range(limit):
            message = self.ws.receive()
            if message["type"] == "websocket.close":
                raise AssertionError(f"closed with {message.get('code')} while waiting for {kind}")
            if message.get("text") is not None:
                error = json.loads(message["text"])
                assert error["type"] == "error", error
                self.errors.append(error["message"])
                if kind == "error":
                    return error, {}
                continue
            header, arrays = decode_frame(message["bytes"])
            if header["type"] == "flow":
                for name, array in arrays.items():
                    assert np.isfinite(array).all(), f"frame {header['frame']}: {name} not finite"
                assert math.isfinite(header["energy"]) and math.isfinite(header["t"])
                self.flow.append(header)
                if ack:
                    self.send(type="ack", frame=header["frame"])
            if header["type"] == kind:
                return header, arrays
        raise AssertionError(f"no {kind} message in {limit}")

    def until(self, condition, limit=5000):
        """Flow frames until one whose header satisfies ``condition``."""
        for _ in range(limit):
            header, arrays = self.next("flow")
            if condition(header):
                return header, arrays
        raise AssertionError("the condition never held")

    def closed(self, limit=5000):
        """The close code the server sends next (acknowledging flow frames meanwhile)."""
        for _ in range(limit):
            message = self.ws.receive()
            if message["type"] == "websocket.close":
                return message["code"]
            if message.get("bytes") is not None:
                header, _ = decode_frame(message["bytes"])
                if header["type"] == "flow":
                    self.send(type="ack", frame=header["frame"])
        raise AssertionError("the socket stayed open")


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


@contextlib.contextmanager
def page(client, **headers):
    with client.websocket_connect("/ws", headers=headers) as ws:
        yield Page(ws)


def transport_message(x, z, **fields):
    return {"type": "transport", "x": np.asarray(x).tolist(), "z": np.asarray(z).tolist(), "id": 1, **fields}


# -- routes -------------------------------------------------------------------------------------

def test_the_page_and_its_static_files_are_served(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>monge playground</title>")
    (tmp_path / "playground.js").write_text("export const answer = 42;\n")
    with TestClient(create_app(static=tmp_path)) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<title>monge playground</title>" in page.text
        script = client.get("/static/playground.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert script.text == "export const answer = 42;\n"
        assert client.get("/static/missing.js").status_code == 404
        assert client.get("/static/../app.py").status_code == 404


def test_the_packaged_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in ("playground.js", "playground.css"):
        assert name in page.text
        assert client.get(f"/static/{name}").status_code == 200


def test_a_missing_page_is_a_404_that_says_so(tmp_path):
    with TestClient(create_app(static=tmp_path / "nowhere")) as client:
        response = client.get("/")
        assert response.status_code == 404 and "page is missing" in response.text


def test_create_app_checks_max_clients():
    with pytest.raises(ValueError, match="max_clients"):
        create_app(max_clients=0)


# -- the flow board over the socket -----------------------------------------------------------------

def test_frames_arrive_numbered_from_0_and_the_energy_falls(client):
    with page(client) as p:
        assert p.hello["limits"]["n"] == [10, 2000]
        first, arrays = p.next("flow")
        assert first["frame"] == 0 and first["step"] == 0 and first["n"] == 200
        assert arrays["particles"].shape == (200, 2) and arrays["f_mu"].shape == (protocol.GRID,)
        p.until(lambda h: h["t"] >= 0.5)
        frames = [h["frame"] for h in p.flow]
        assert frames == list(range(len(frames)))
        energies = [h["energy"] for h in p.flow]
        assert energies[-1] < energies[0]
        assert all(b <= a * (1 + 1e-9) for a, b in zip(energies, energies[1:]))


def test_no_frame_is_sent_before_the_previous_is_acknowledged(client):
    with page(client) as p:
        header, _ = p.next("flow", ack=False)
        time.sleep(0.3)  # the flow plays meanwhile: at most one more frame is computed, none sent
        p.send(**transport_message([[0, 0]], [[1, 0]]))
        p.next("transport", ack=False)
        assert [h["frame"] for h in p.flow] == [0]
        p.send(type="ack", frame=0)
        later, _ = p.next("flow")
        assert later["frame"] == 1 and later["step"] > 0


def test_n_of_1e9_is_clamped_to_2000(client):
    with page(client) as p:
        p.send(type="flow", params={"n": 1e9})
        header, arrays = p.until(lambda h: h["n"] != 200)
        assert header["n"] == 2000 and arrays["particles"].shape == (2000, 2)
        assert header["params"]["n"] == 2000


@pytest.mark.parametrize("text, words", [
    ('{"type": "flow", "params": {"n": NaN}}', ["n: nan", "finite"]),
    ('{"type": "flow", "params": {"dt": Infinity}}', ["dt: inf", "finite"]),
    ('{"type": "flow", "params": {"lam": 1e999}}', ["lam: inf"]),
    ('{"type": "flow", "params": {"n": "many"}}', ["n: 'many'", "number"]),
    ('{"type": "teleport"}', ["type: 'teleport'", "expected one of"]),
    ('{"type": "control", "action": 3}', ["action: 3"]),
    ("definitely not json", ["message: ", "JSON"]),
    ('{"type": "transport", "x": [[0, 0]], "z": [[0, NaN]], "id": 1}', ["z[0][1]: nan"]),
])
def test_a_bad_message_gets_an_error_and_the_socket_stays_open(client, text, words):
    with page(client) as p:
        p.ws.send_text(text)
        error, _ = p.next("error")
        for word in words:
            assert word in error["message"]
        p.send(**transport_message([[0, 0]], [[3, 4]], p=1))
        header, _ = p.next("transport")
        assert header["cost"] == pytest.approx(5.0)


def test_a_binary_message_gets_an_error(client):
    with page(client) as p:
        p.ws.send_bytes(b"\x00\x01\x02")
        error, _ = p.next("error")
        assert "binary" in error["message"]


def test_a_message_over_64_kib_closes_the_socket_with_1009(client):
    with page(client) as p:
        p.ws.send_text(json.dumps({"type": "flow", "params": {"points": [[0.0, 0.0]] * 100_000}}))  # ~1 MB
        assert p.closed() == protocol.CLOSE_TOO_LARGE
    with page(client) as p:  # the server goes on
        p.ws.send_text(" " * protocol.MAX_MESSAGE)  # exactly the limit: refused as JSON, not closed
        error, _ = p.next("error")
        assert "JSON" in error["message"]


def test_a_flood_of_parameters_is_coalesced_and_the_socket_still_answers(client):
    with page(client) as p:
        p.next("flow")
        for k in range(2000):
            p.send(type="flow", params={"n": 10 + k % 50, "dt": 0.001 + k * 1e-6, "seed": k % 7})
        p.send(type="flow", params={"n": 37, "dt": 0.02, "seed": 3})
        header, _ = p.until(lambda h: h["params"] == {**h["params"], "n": 37, "dt": 0.02, "seed": 3})
        assert header["n"] == 37
        assert len(p.flow) < 500  # far fewer frames than messages: the latest parameters won
        p.send(**transport_message([[0, 0], [1, 0]], [[0, 1], [1, 1]], id=99))
        header, _ = p.next("transport")
        assert header["id"] == 99 and not p.errors


def test_a_foreign_origin_is_refused_with_1008(client):
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}):
            pass
    assert refused.value.code == protocol.CLOSE_POLICY
    with pytest.raises(WebSocketDisconnect):  # a loopback name on another port is another origin
        with client.websocket_connect("/ws", headers={"origin": "http://127.0.0.1:9999"}):
            pass
    for origin in ("http://127.0.0.1", "http://localhost:80", "http://[::1]"):  # this server (port 80 here)
        with page(client, origin=origin) as p:
            assert p.hello["type"] == "hello"


def test_origins_may_be_added():
    with TestClient(create_app(origins=["http://192.168.1.5:8765"])) as client:
        with page(client, origin="http://192.168.1.5:8765") as p:
            assert p.hello["type"] == "hello"


def test_a_fifth_client_is_closed_with_1013_and_a_departure_frees_a_place(app, client):
    with contextlib.ExitStack() as stack:
        pages = [stack.enter_context(page(client)) for _ in range(4)]
        with client.websocket_connect("/ws") as fifth:
            message = fifth.receive()
            assert message["type"] == "websocket.close" and message["code"] == protocol.CLOSE_TRY_AGAIN
            assert message["reason"] == "try again later"
        assert len(app.state.sessions) == 4
        pages[0].ws.close()
        deadline = time.monotonic() + 10
        while len(app.state.sessions) > 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        with page(client) as again:
            again.next("flow")


def test_a_disconnect_stops_the_sessions_work(app, client):
    with page(client) as p:
        p.send(type="flow", params={"n": 500, "speed": 10})
        p.until(lambda h: h["n"] == 500)
        (session,) = app.state.sessions
    deadline = time.monotonic() + 10
    while app.state.sessions and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not app.state.sessions and session.closed  # both of its tasks ended (run() awaits them)
    time.sleep(0.2)  # the slice of steps running when the page left (25 ms of compute) ends on its own
    step = session.board.step
    time.sleep(0.3)
    assert session.board.step == step


def test_a_failing_session_closes_with_1011_and_the_server_goes_on(app, client, monkeypatch):
    from monge.playground import app as module

    class Broken(module.FlowBoard):
        def advance(self, budget=protocol.FRAME_BUDGET):
            raise RuntimeError("a bug")

    monkeypatch.setattr(module, "FlowBoard", Broken)
    with page(client) as p:
        assert p.closed() == 1011
    monkeypatch.undo()
    with page(client) as p:
        p.next("flow")


def test_the_app_serves_again_after_its_lifespan():
    app = create_app()
    for _ in range(2):
        with TestClient(app) as client, page(client) as p:
            p.next("flow")


def test_pause_stops_the_frames_and_play_resumes(client):
    with page(client) as p:
        p.until(lambda h: h["step"] > 0)
        p.send(type="control", action="pause")
        paused, _ = p.until(lambda h: h["paused"])
        time.sleep(0.3)
        p.send(**transport_message([[0, 0]], [[1, 0]]))  # a probe: what comes before it was sent meanwhile
        p.next("transport")
        assert p.flow[-1]["frame"] == paused["frame"]
        p.send(type="control", action="step")
        stepped, _ = p.next("flow")
        assert stepped["step"] == paused["step"] + 1 and stepped["paused"]
        p.send(type="control", action="play")
        resumed, _ = p.until(lambda h: h["step"] > stepped["step"] + 1)
        assert not resumed["paused"]


def test_a_diverging_step_pauses_with_a_message_naming_dt(client):
    with page(client) as p:
        p.next("flow")
        p.send(type="flow", params={"lam": 10, "dt": 1})
        error, _ = p.next("error")
        assert "dt = 1" in error["message"] and "step" in error["message"] and error["paused"] is True
        header, arrays = p.until(lambda h: h["paused"])
        assert math.isfinite(header["energy"])
        p.send(type="flow", params={"dt": 0.01})
        p.send(type="control", action="play")
        header, _ = p.until(lambda h: not h["paused"] and h["step"] > 0)


def run_to(client, t, **params):
    with page(client) as p:
        p.send(type="flow", params=params)
        p.until(lambda h: h["params"] == {**h["params"], **params} and h["step"] == 0)
        header, _ = p.until(lambda h: h["t"] >= t)
        return header


def test_the_bad_start_stalls_above_the_good_start(client):
    settings = {"n": 100, "seed": 1, "speed": 10, "dt": 0.01}
    good = run_to(client, 3.0, start="good", **settings)
    bad = run_to(client, good["t"], start="bad", **settings)
    assert bad["energy"] > 2 * good["energy"]


def test_a_drawn_target_is_fitted(client):
    with page(client) as p:
        p.send(type="flow", params={"target": "drawn", "points": CURVE, "n": 100, "dt": 0.05, "speed": 10})
        start, arrays = p.until(lambda h: h["params"]["target"] == "drawn")
        assert start["domain"] == [-3.0, 3.0] and arrays["target"].shape == (protocol.GRID,)
        end, _ = p.until(lambda h: h["t"] >= 20 or h["energy"] < start["energy"] / 10)
        assert end["energy"] < start["energy"] / 10


def test_a_drawn_target_without_points_is_an_error(client):
    with page(client) as p:
        p.send(type="flow", params={"target": "drawn"})
        error, _ = p.next("error")
        assert error["message"].startswith("points:")


# -- the transport board over the socket ----------------------------------------------------------

def test_transport_cost_equals_matchings(client, rng):
    x, z = rng.uniform(-5, 5, (40, 2)), rng.uniform(-5, 5, (40, 2))
    with page(client) as p:
        p.send(**transport_message(x, z, id=7, p=2))
        header, arrays = p.next("transport")
    reference = matching(torch.from_numpy(x), torch.from_numpy(z), p=2)
    assert (header["id"], header["method"], header["n"], header["m"], header["p"]) == (7, "matching", 40, 40, 2)
    assert header["cost"] == pytest.approx(float(reference.cost), rel=1e-12)
    assert arrays["permutation"].dtype == np.int32
    np.testing.assert_array_equal(arrays["permutation"], reference.permutation.numpy())
    assert header["seconds"] > 0


def test_kantorovichs_plan_has_the_marginals(client, rng):
    x, z = rng.uniform(-5, 5, (5, 2)), rng.uniform(-5, 5, (8, 2))
    a, b = rng.uniform(0.1, 1, 5), rng.uniform(0.1, 1, 8)
    with page(client) as p:
        p.send(**transport_message(x, z, a=a.tolist(), b=b.tolist()))
        header, arrays = p.next("transport")
    assert header["method"] == "kantorovich" and arrays["plan"].shape == (5, 8)
    np.testing.assert_allclose(arrays["plan"].sum(1), a / a.sum(), atol=1e-6)
    np.testing.assert_allclose(arrays["plan"].sum(0), b / b.sum(), atol=1e-6)
    reference = kantorovich(torch.from_numpy(x), torch.from_numpy(z), torch.from_numpy(a / a.sum()),
                            torch.from_numpy(b / b.sum()))
    assert header["cost"] == pytest.approx(float(reference.cost), rel=1e-10)


def test_sinkhorn_eps_is_clamped(client, rng):
    x, z = rng.uniform(-5, 5, (20, 2)), rng.uniform(-5, 5, (20, 2))
    with page(client) as p:
        p.send(**transport_message(x, z, method="sinkhorn", eps=1e-9))
        header, arrays = p.next("transport")
    assert header["method"] == "sinkhorn" and header["eps"] == 1e-4 and header["converged"]
    both = np.vstack([x, z])
    assert header["eps_cost"] == pytest.approx(1e-4 * np.sum((both.max(0) - both.min(0)) ** 2))
    assert arrays["plan"].shape == (20, 20) and np.isfinite(arrays["plan"]).all()


def test_transport_requests_coalesce_the_latest_wins(client):
    with page(client) as p:
        p.send(type="control", action="pause")
        for k in range(300):
            p.send(**transport_message([[0, 0]], [[k / 100, 0]], id=k))
        ids = []
        while not ids or ids[-1] != 299:
            header, _ = p.next("transport")
            ids.append(header["id"])
        assert len(ids) < 300 and ids == sorted(ids)


def test_the_720_permutations(client, rng):
    x, z = rng.uniform(-5, 5, (6, 2)), rng.uniform(-5, 5, (6, 2))
    with page(client) as p:
        p.send(type="permutations", x=x.tolist(), z=z.tolist(), p=1, id=12)
        header, arrays = p.next("permutations")
    reference = matching(torch.from_numpy(x), torch.from_numpy(z), p=1)
    assert header["id"] == 12 and arrays["costs"].shape == (720,) and arrays["costs"].dtype == np.float32
    assert arrays["costs"].min() == pytest.approx(float(reference.distance), rel=1e-6)
    assert header["distance"] == pytest.approx(float(reference.distance), rel=1e-12)
    assert arrays["costs"][header["best"]] == arrays["costs"].min()
    np.testing.assert_array_equal(arrays["best_permutation"], reference.permutation.numpy())


# -- monge playground ---------------------------------------------------------------------------

@pytest.fixture
def no_server(monkeypatch):
    """``monge playground`` in process, without serving (and without its process-wide malloc setting)."""
    import uvicorn

    from monge.cli import playground

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    monkeypatch.setattr(playground, "return_freed_memory", lambda: False)
    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    return opened


def test_the_command_prints_the_url_and_opens_the_browser(no_server, capsys):
    assert main(["playground", "--port", "0"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("monge playground: http://127.0.0.1:") and out.endswith("/\n") and not err
    assert no_server == [out.split(": ", 1)[1].strip()]


def test_no_browser(no_server, capsys):
    assert main(["playground", "--port", "0", "--no-browser"]) == 0
    assert no_server == []


def test_a_host_beyond_this_machine_only_warns(no_server, capsys):
    assert main(["playground", "--port", "0", "--host", "0.0.0.0", "--no-browser"]) == 0
    out, err = capsys.readouterr()
    assert "warning" in err and "anyone" in err and "127.0.0.1" in err
    assert out.startswith("monge playground: http://127.0.0.1:")


def test_ctrl_c_exits_0(no_server, monkeypatch):
    import uvicorn

    def interrupted(self, sockets=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(uvicorn.Server, "run", interrupted)
    assert main(["playground", "--port", "0", "--no-browser"]) == 0


def test_a_port_in_use_is_one_line_and_exit_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("monge playground: error: port (--port): cannot listen") and err.count("\n") == 1


@pytest.mark.parametrize("port", ["-1", "65536", "eighty"])
def test_a_bad_port_is_a_usage_error(port, capsys):
    assert main(["playground", "--port", port]) == 2
    assert "--port" in capsys.readouterr().err


def test_the_command_serves_the_page_and_the_socket_then_ctrl_c_exits_0(tmp_path):
    import httpx
    from websockets.sync.client import connect

    process = subprocess.Popen([sys.executable, "-m", "monge", "playground", "--port", "0", "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 120)
        assert ready, "no URL printed"
        line = process.stdout.readline()
        assert line.startswith("monge playground: http://127.0.0.1:"), line + process.stderr.read()
        url = line.split(": ", 1)[1].strip()
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        with connect(url.replace("http", "ws") + "ws", origin=url.rstrip("/"), open_timeout=30) as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
            header, _ = decode_frame(ws.recv(timeout=30))
            assert header["type"] == "flow" and header["frame"] == 0
        with pytest.raises(Exception):  # a foreign origin: the handshake is refused
            with connect(url.replace("http", "ws") + "ws", origin="http://evil.example", open_timeout=30):
                pass
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
