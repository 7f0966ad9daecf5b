"""The playground's protocol: every bound of a client message, and the binary frames' layout."""

import json
import struct

import numpy as np
import pytest

from monge.errors import InputError
from monge.playground import protocol
from monge.playground.protocol import decode_frame, encode_frame, parse


def flow(**params):
    return json.dumps({"type": "flow", "params": params})


def refused(text, *words):
    with pytest.raises(InputError) as caught:
        parse(text)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    return str(caught.value)


# -- frames -------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", ["", "a", "ab", "abc"])  # every header length modulo 4
def test_frame_layout_aligns_every_array_and_round_trips(extra):
    particles = np.arange(12, dtype=np.float32).reshape(6, 2)
    perm = np.array([2, 0, 1], dtype=np.int32)
    data = encode_frame({"type": "flow", "frame": 3, "note": extra}, {"particles": particles, "permutation": perm})
    (length,) = struct.unpack_from("<I", data)
    header = json.loads(data[4:4 + length])
    start = 4 + length + (-(4 + length) % 4)
    assert start % 4 == 0 and data[4 + length:start] == b"\0" * (start - 4 - length)
    assert [e["name"] for e in header["arrays"]] == ["particles", "permutation"]
    for entry in header["arrays"]:
        assert entry["offset"] % 4 == 0
    assert header["arrays"][0] == {"name": "particles", "dtype": "float32", "shape": [6, 2], "offset": 0}
    assert header["arrays"][1] == {"name": "permutation", "dtype": "int32", "shape": [3], "offset": 48}
    assert len(data) == start + 48 + 12
    back, arrays = decode_frame(data)
    assert back["frame"] == 3 and back["note"] == extra
    np.testing.assert_array_equal(arrays["particles"], particles)
    np.testing.assert_array_equal(arrays["permutation"], perm)
    assert arrays["permutation"].dtype == np.int32


def test_frame_refuses_nan_inf_and_other_dtypes():
    with pytest.raises(ValueError, match="f_mu: non-finite"):
        encode_frame({"type": "flow"}, {"f_mu": np.array([0.0, np.nan], np.float32)})
    with pytest.raises(ValueError, match="x: non-finite"):
        encode_frame({"type": "flow"}, {"x": np.array([np.inf], np.float32)})
    with pytest.raises(ValueError):
        encode_frame({"type": "flow", "energy": float("nan")}, {})
    with pytest.raises(ValueError, match="float64"):
        encode_frame({"type": "flow"}, {"x": np.zeros(3)})


def test_hello_and_error_are_json_with_the_bounds():
    hello = json.loads(protocol.hello())
    assert hello["type"] == "hello"
    limits = hello["limits"]
    assert limits["n"] == [10, 2000] and limits["cloud"] == 500 and limits["max_message"] == 65536
    assert limits["dt"] == [1e-4, 1.0] and limits["eps"] == [1e-4, 1.0] and limits["max_clients"] == 4
    assert json.loads(protocol.error("n: nan; expected a finite number", paused=True)) == {
        "type": "error", "message": "n: nan; expected a finite number", "paused": True}


# -- flow parameters ----------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [(1e9, 2000), (10 ** 400, 2000), (3, 10), (-5, 10), (200.0, 200), (57, 57)])
def test_n_is_clamped(value, expected):
    changes = parse(json.dumps({"type": "flow", "params": {"n": value}})).changes
    assert changes == {"n": expected} and isinstance(changes["n"], int)


@pytest.mark.parametrize("text, found", [
    ('{"type": "flow", "params": {"n": NaN}}', "nan"),
    ('{"type": "flow", "params": {"n": Infinity}}', "inf"),
    ('{"type": "flow", "params": {"n": -Infinity}}', "-inf"),
    ('{"type": "flow", "params": {"n": 1e999}}', "inf"),
])
def test_nan_and_inf_are_refused_naming_the_field(text, found):
    message = refused(text, "n: ", found, "finite")
    assert message.startswith("n: ")


@pytest.mark.parametrize("value, words", [(2.5, ["n: 2.5", "integer"]), ("200", ["n: '200'", "number"]),
                                          (True, ["n: True", "number"]), (None, ["n: None"]), ([1], ["n: [1]"])])
def test_n_of_the_wrong_type_is_refused(value, words):
    refused(json.dumps({"type": "flow", "params": {"n": value}}), *words)


@pytest.mark.parametrize("key, value, expected", [
    ("dt", 1e-9, 1e-4), ("dt", 50, 1.0), ("dt", 0.02, 0.02), ("speed", 0, 0.1), ("speed", 1e6, 10.0),
    ("lam", -1, 0.0), ("lam", 1e300, 10.0), ("lam", 0.5, 0.5)])
def test_dt_speed_and_lam_are_clamped(key, value, expected):
    assert parse(flow(**{key: value})).changes == {key: expected}


@pytest.mark.parametrize("key", ["dt", "speed", "lam"])
def test_dt_speed_and_lam_refuse_nan(key):
    refused(f'{{"type": "flow", "params": {{"{key}": NaN}}}}', f"{key}: nan")


@pytest.mark.parametrize("seed", [-1, 2 ** 31, 1e12])
def test_seeds_outside_the_range_are_refused_not_clamped(seed):
    refused(flow(seed=seed), "seed: ", "[0, 2**31)")


def test_choices_are_checked():
    assert parse(flow(scaling="lazy", start="bad", target="relu-teacher")).changes == {
        "scaling": "lazy", "start": "bad", "target": "relu-teacher"}
    refused(flow(scaling="sideways"), "scaling: 'sideways'", "mean-field")
    refused(flow(target=3), "target: 3")
    refused(flow(start=None), "start: None")


def test_unknown_parameters_are_refused():
    refused(flow(n=20, colour="red"), "params.colour", "unknown")
    refused(json.dumps({"type": "flow", "params": [1, 2]}), "params: [1, 2]")
    refused(json.dumps({"type": "flow", "params": {}, "extra": 1}), "extra: unknown field")


def test_drawn_points_are_clamped_to_the_drawing_area():
    points = [[-9, 0], [-1, 5], [0, -0.5], [2, 0.25], [9, -7]]
    changes = parse(flow(points=points)).changes
    np.testing.assert_array_equal(changes["points"], [[-4, 0], [-1, 3], [0, -0.5], [2, 0.25], [4, -3]])


def test_drawn_points_bounds():
    refused(flow(points=[[float(i) / 100, 0.0] for i in range(401)]), "points: 401 points", "0 to 400")
    refused(flow(points=[[0, 0], [0, 1], [1, 0], [1, 1], [2, 2]]), "points: 3 distinct x", "at least 4")
    refused(flow(points=[[0, 0], [1, 0], [2], [3, 0]]), "points[2]: [2]", "pair")
    refused('{"type": "flow", "params": {"points": [[0, 0], [1, NaN], [2, 0], [3, 0]]}}', "points[1][1]: nan")
    refused(flow(points="a curve"), "points: 'a curve'", "list")


# -- other messages -----------------------------------------------------------------------------

def test_controls_and_acks():
    for action in protocol.ACTIONS:
        assert parse(json.dumps({"type": "control", "action": action})).action == action
    refused('{"type": "control", "action": "rewind"}', "action: 'rewind'", "play")
    assert parse('{"type": "ack", "frame": 41}').frame == 41
    refused('{"type": "ack", "frame": -1}', "frame: -1")
    refused('{"type": "ack", "frame": "41"}', "frame: '41'")
    refused('{"type": "ack"}', "frame: None")


@pytest.mark.parametrize("text, words", [
    ("not json", ["message: 'not json'", "JSON object"]),
    ("[1, 2]", ["message: [1, 2]", "JSON object"]),
    ('{"kind": "flow"}', ["type: None", "expected one of"]),
    ('{"type": "teleport"}', ["type: 'teleport'", "'flow'", "'permutations'"]),
    ('{"type": 7}', ["type: 7"]),
    ("[" * 100000, ["message: "]),
])
def test_unknown_types_and_non_json_are_refused(text, words):
    if len(text) > protocol.MAX_MESSAGE:
        text = text[:protocol.MAX_MESSAGE]
    refused(text, *words)


def test_binary_and_oversized_messages_are_refused():
    refused(b"\x00\x01", "binary")
    refused(" " * (protocol.MAX_MESSAGE + 1), "message: 65537 bytes", "65536")
    refused("\u00e9" * (protocol.MAX_MESSAGE // 2 + 1), "bytes")  # 2 bytes a character in UTF-8


def transport(**fields):
    message = {"type": "transport", "x": [[0, 0], [1, 0]], "z": [[0, 1], [1, 1]], "id": 1}
    message.update(fields)
    return json.dumps(message)


def test_a_transport_request_with_defaults():
    request = parse(transport())
    assert (request.p, request.method, request.eps, request.id) == (2, "exact", 1e-2, 1)
    assert request.a is None and request.b is None
    assert request.x.shape == (2, 2) and request.x.dtype == np.float64


def test_transport_bounds():
    big = [[0.01 * i, 0.0] for i in range(501)]
    refused(transport(x=big), "x: 501 points", "1 to 500")
    refused(transport(z=[]), "z: 0 points")
    refused(transport(x=[[0, 0], [10.5, 0]]), "x[1]: [10.5, 0.0]", "[-10, 10]")
    refused('{"type": "transport", "x": [[0, NaN]], "z": [[0, 0]], "id": 1}', "x[0][1]: nan")
    refused(transport(p=3), "p: 3", "1 or 2")
    refused(transport(p=True), "p: True")
    refused(transport(method="simplex"), "method: 'simplex'")
    refused(transport(a=[1.0]), "a: 1 masses", "2 masses")
    refused(transport(b=[1.0, -1.0]), "b[1]: -1.0", ">= 0")
    refused(transport(a=[0, 0]), "a: masses summing to 0")
    refused(transport(id=None), "id: None")
    refused(transport(id=2 ** 60), "id: ")
    refused(transport(colour=1), "colour: unknown field")


@pytest.mark.parametrize("eps, expected", [(1e-9, 1e-4), (0.0, 1e-4), (-3, 1e-4), (7.0, 1.0), (1e-3, 1e-3)])
def test_sinkhorn_eps_is_clamped(eps, expected):
    assert parse(transport(method="sinkhorn", eps=eps)).eps == expected


def test_transport_masses_are_normalised():
    request = parse(transport(a=[1, 3], b=[2, 2]))
    np.testing.assert_allclose(request.a, [0.25, 0.75])
    np.testing.assert_allclose(request.b, [0.5, 0.5])


def test_permutations_take_exactly_six_points():
    six = [[i, 0] for i in range(6)]
    request = parse(json.dumps({"type": "permutations", "x": six, "z": six, "id": 4}))
    assert request.p == 1 and request.x.shape == (6, 2)
    refused(json.dumps({"type": "permutations", "x": six[:5], "z": six, "id": 4}), "x: 5 points", "exactly 6")
