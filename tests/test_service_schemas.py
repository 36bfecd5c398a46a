"""Request validation: each kind of bad input, its status, its field path and its message."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from marshmallow import ValidationError

from service.errors import InvalidInputError
from service.registry import Registry
from service.schemas import (
    body_kind,
    flatten_errors,
    load_envelope,
    make_predict_schema,
    to_batch,
)

IMG = [[(r * 28 + c) % 256 for c in range(28)] for r in range(28)]
FLAT = [v for row in IMG for v in row]


def post(client, payload, **kw):
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return client.post("/predict", data=body, content_type="application/json", **kw)


def test_nested_and_flat_images_agree(client):
    a = post(client, {"images": [IMG]})
    b = post(client, {"images": [FLAT, IMG]})
    assert a.status_code == b.status_code == 200
    pa, pb = a.get_json()["predictions"], b.get_json()["predictions"]
    assert len(pb) == 2
    np.testing.assert_allclose(pa[0]["probabilities"], pb[0]["probabilities"], rtol=1e-6)
    np.testing.assert_allclose(pb[0]["probabilities"], pb[1]["probabilities"], rtol=1e-6)
    assert a.get_json()["model"] == "mnist"
    assert a.get_json()["model_version"] == "20261123T200000Z"


def test_floats_and_ints_mix(client):
    r = post(client, {"images": [[float(v) + 0.5 if v < 255 else 255 for v in FLAT]]})
    assert r.status_code == 200


def test_defaults_and_tasks(client):
    reg = post(client, {"features": [[0.5], [-3e5]]}).get_json()
    assert reg["model"] == "regression"
    assert [set(p) for p in reg["predictions"]] == [{"value"}, {"value"}]
    moons = post(client, {"model": "moons", "features": [[0.1, -0.2]]}).get_json()
    (p,) = moons["predictions"]
    assert set(p) == {"label", "probability"} and 0 <= p["probability"] <= 1
    assert p["label"] == (1 if p["probability"] >= 0.5 else 0)


BAD = [
    # (name, body, status, details key, message fragment)
    ("malformed json", b'{"images": [', 400, None, None),
    ("nan literal", b'{"features": [[NaN]]}', 400, None, None),
    ("empty body", b"", 400, None, None),
    ("top level list", [1, 2], 422, "_schema", "Invalid input type"),
    ("no input", {"model": "mnist"}, 422, "_schema", "Provide 'images' or 'features'"),
    ("both inputs", {"images": [IMG], "features": [[1]]}, 422, "_schema", "not both"),
    ("unknown key", {"images": [IMG], "extra": 1}, 422, "extra", "Unknown field"),
    ("images not a list", {"images": "abc"}, 422, "images", "Must be a list"),
    ("empty batch", {"images": []}, 422, "images", "at least one"),
    ("batch over cap", {"features": [[1.0]] * 9}, 422, "features", "maximum batch size is 8"),
    ("model not a string", {"model": 3, "images": [IMG]}, 422, "model", "Not a valid string"),
    ("model name charset", {"model": "../x", "images": [IMG]}, 422, "model", "valid model name"),
    ("image wrong length", {"images": [FLAT[:100]]}, 422, "images.0", "28x28 nested or 784"),
    ("image ragged rows", {"images": [IMG[:27]]}, 422, "images.0", "length 28; got 27"),
    (
        "row too short",
        {"images": [[*IMG[:3], IMG[3][:5], *IMG[4:]]]},
        422,
        "images.0.3",
        "length 28; got 5",
    ),
    (
        "string pixel",
        {"images": [[*FLAT[:10], "7", *FLAT[11:]]]},
        422,
        "images.0.10",
        "Not a number",
    ),
    ("null pixel", {"images": [IMG, [None] * 784]}, 422, "images.1.0", "Not a number"),
    ("bool pixel", {"images": [[True, *FLAT[1:]]]}, 422, "images.0.0", "Not a number"),
    ("object pixel", {"images": [[{"v": 1}, *FLAT[1:]]]}, 422, "images.0.0", "Not a number"),
    ("image not a list", {"images": [IMG, 5]}, 422, "images.1", "Must be 28x28"),
    ("null item", {"images": [None]}, 422, "images.0", "Must be 28x28"),
    (
        "pixel over 255",
        {"images": [[*FLAT[:5], 256, *FLAT[6:]]]},
        422,
        "images.0",
        "between 0 and 255",
    ),
    ("negative pixel", {"images": [IMG, [-1] * 784]}, 422, "images.1", "got -1 at flat index 0"),
    ("huge number", {"features": [[1e300]], "model": "moons"}, 422, "features.0", None),
    ("float32 overflow", {"features": [[1e300]]}, 422, "features.0", "float32 range"),
    ("wrong feature count", {"features": [[1.0, 2.0]]}, 422, "features.0", "length 1; got 2"),
    ("scalar feature row", {"features": [1.0]}, 422, "features.0", "list of 1 number"),
    (
        "moons feature range",
        {"model": "moons", "features": [[0, 9]]},
        422,
        "features.0",
        "-5 and 5",
    ),
    ("features to image model", {"model": "mnist", "features": [[1]]}, 422, "features", "takes"),
    ("images to features model", {"model": "regression", "images": [IMG]}, 422, "images", "takes"),
]


@pytest.mark.parametrize("name,body,status,key,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_json_inputs(client, name, body, status, key, fragment):
    r = post(client, body)
    assert r.status_code == status, r.data
    j = r.get_json()
    assert set(j) == {"error", "details"} and isinstance(j["error"], str) and j["error"]
    assert "Traceback" not in r.get_data(as_text=True)
    if key is not None:
        assert key in j["details"], j
        assert all(isinstance(m, str) for m in j["details"][key])
        if fragment:
            assert any(fragment in m for m in j["details"][key]), j


def test_unknown_and_unavailable_models(tmp_path, tiny_models, write_npz, contract_arrays):
    from service import create_app

    (tiny_models / "broken.npz").write_bytes(b"PK\x03\x04 not really")
    client = create_app({"MODEL_DIR": str(tiny_models)}).test_client()
    r = post(client, {"model": "nope", "images": [IMG]})
    assert r.status_code == 404 and "nope" in r.get_json()["error"]
    r = post(client, {"model": "broken", "images": [IMG]})
    assert r.status_code == 503 and "model" in r.get_json()["details"]


def test_many_bad_items_are_capped(client):
    r = post(client, {"features": [["x"]] * 8})
    assert r.status_code == 422
    assert len(r.get_json()["details"]) == 8


# -- the pieces directly ------------------------------------------------------------------------


def test_schema_envelope_directly():
    schema = make_predict_schema(4)
    assert schema.load({"images": [1, 2]}) == {"images": [1, 2]}
    with pytest.raises(ValidationError) as e:
        schema.load({"images": [1] * 5, "model": ""})
    flat = flatten_errors(e.value.messages)
    assert flat["images"] == ["Holds 5 items; the maximum batch size is 4."]
    assert flat["model"] == ["Not a valid model name."]


def test_flatten_errors_paths():
    assert flatten_errors({"images": {0: ["x"], 3: {"b": ["y"]}}, "_schema": ["z"]}) == {
        "images.0": ["x"],
        "images.3.b": ["y"],
        "_schema": ["z"],
    }


def test_to_batch_fast_and_slow_paths_agree(tiny_models):
    model = Registry(tiny_models).get("mnist")
    exact = to_batch([IMG, FLAT], "images", model, "exact")
    for kind in ("int", "float"):
        fast = to_batch([IMG, FLAT], "images", model, kind)
        assert fast.dtype == np.float32 and fast.shape == (2, 784) and fast.flags.c_contiguous
        np.testing.assert_array_equal(fast, exact)
    with pytest.raises(InvalidInputError) as e:
        to_batch([[1] * 783 + [True]], "images", model, "exact")
    assert e.value.details == {"images.0.783": ["Not a number."]}


@pytest.mark.parametrize(
    "items",
    [
        [FLAT, FLAT],  # the bytes() path
        [[*FLAT[:-1], 256]],  # out of 0-255: the general path says where
        [[-1, *FLAT[1:]]],
        [[*FLAT, 0]],
        [784],  # not a list: bytes(784) must not become a blank image
        [[*FLAT[:-1], 2**70]],
        [[*FLAT[:-1], [1]]],
    ],
)
def test_pixel_path_answers_as_the_exact_path(tiny_models, items):
    model = Registry(tiny_models).get("mnist")

    def run(kind):
        try:
            return to_batch(items, "images", model, kind)
        except InvalidInputError as e:
            return e.details

    fast, exact = run("int"), run("exact")
    if isinstance(exact, dict):
        assert fast == exact
    else:
        np.testing.assert_array_equal(fast, exact)
        assert fast.dtype == np.float32 and fast.flags.c_contiguous


@pytest.mark.parametrize(
    "data",
    [
        {"images": [FLAT]},
        {"model": "mnist", "features": [[1, 2]]},
        {"images": []},
        {"images": [FLAT] * 3},
        {"images": "x"},
        {"model": "bad name!", "images": [FLAT]},
        {"model": None, "images": [FLAT]},
        {"model": 3, "images": [FLAT]},
        {"images": [FLAT], "features": [FLAT]},
        {"images": [FLAT], "extra": 1},
        {},
        [FLAT],
    ],
)
def test_load_envelope_answers_as_marshmallow(data):
    schema = make_predict_schema(2)
    try:
        expected = schema.load(data)
    except ValidationError as e:
        with pytest.raises(InvalidInputError) as got:
            load_envelope(schema, data, 2)
        assert got.value.details == flatten_errors(e.messages)
    else:
        assert load_envelope(schema, data, 2) == expected


@pytest.mark.parametrize(
    "body,kind",
    [
        (b'{"images": [[1, 2]]}', "int"),
        (b'{"model": "mnist", "images": [[1, 2]]}', "int"),
        (b'{"model": "e.E-au", "images": [[1, 2]]}', "int"),
        (b'{"images": [[1.5, 2]]}', "float"),
        (b'{"features": [[1e5, 2E-3]]}', "float"),
        (b'{"images": [[1, true]]}', "exact"),
        (b'{"images": [[1, false]]}', "exact"),
        (b'{"images": [[1, null]]}', "exact"),
        (b'{"images": [[1, "2"]]}', "exact"),
        (b'{"imag\\u0065s": [[1, 2]]}', "exact"),
        (b'{"images": [[1, {}]]}', "exact"),
        (b'{"images": [[1, []]]}', "int"),  # well-typed, wrong shape: the shape check says so
        (b'{"images": [[1, 2]], "images": [[3, 4]]}', "exact"),
        (b'{ "model" : "m-1.e" ,\n "features" : [ [ -1 , 2 ] ] }', "int"),
        (b'{"model": "m", "features": [[1, 2]], "model": "m"}', "exact"),
    ],
)
def test_body_kind(body, kind):
    data = orjson.loads(body)
    field = "features" if "features" in body.decode() else "images"
    assert body_kind(body, data, field) == kind


def test_integer_and_float_bodies_give_the_same_prediction(client):
    ints = post(client, b'{"images": [[' + b",".join(b"%d" % v for v in FLAT) + b"]]}")
    floats = post(client, b'{"images": [[' + b",".join(b"%d.0" % v for v in FLAT) + b"]]}")
    expo = post(client, b'{"images": [[' + b",".join(b"%de0" % v for v in FLAT) + b"]]}")
    assert ints.status_code == floats.status_code == expo.status_code == 200
    assert ints.get_json() == floats.get_json() == expo.get_json()
