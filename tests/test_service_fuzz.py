"""No client input causes a 5xx: seeded random bodies, valid-looking and hostile, in-process.

Warnings are errors in this suite, so a NumPy overflow or invalid-value warning on any of these
inputs would surface as a 500 here.
"""

from __future__ import annotations

import io
import json
import random

import numpy as np
from PIL import Image

ATOMS = [0, 1, 255, 256, -1, 0.5, 1e300, -1e-300, 2**63, -(2**63) - 1, True, False, None, "", "7",
         "mnist", [], {}, {"a": 1}, [[]], 1.5e38, 3.5e38]  # fmt: skip
KEYS = ["images", "features", "model", "image", "Images", ""]


def random_value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 3 or r < 0.4:
        return rng.choice(ATOMS)
    if r < 0.7:
        n = rng.choice([0, 1, 2, 3]) if depth else rng.choice([1, 2, 28])
        return [random_value(rng, depth + 1) for _ in range(n)]
    if r < 0.8:  # a flat 784-long list of one atom: a wrong-typed image
        return [rng.choice(ATOMS)] * 784
    return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def near_valid(rng: random.Random):
    """A valid request with one thing changed."""
    img = np.random.default_rng(rng.randint(0, 10**6)).integers(0, 256, (28, 28)).tolist()
    body: dict = {"images": [img]} if rng.random() < 0.6 else {"features": [[0.5]]}
    field = "images" if "images" in body else "features"
    where = rng.random()
    if where < 0.3 and field == "images":
        i, j = rng.randrange(28), rng.randrange(28)
        img[i][j] = rng.choice(ATOMS)
    elif where < 0.5 and field == "images":
        img[rng.randrange(28)] = rng.choice(ATOMS)
    elif where < 0.7:
        body["model"] = rng.choice(["mnist", "moons", "regression", "nope", 3, None, ""])
    elif where < 0.85:
        body[field].append(rng.choice(ATOMS))
    else:
        body[field][0] = random_value(rng)
    return body


def test_random_json_bodies_never_cause_a_5xx(client):
    rng = random.Random(1234)
    seen = set()
    for k in range(400):
        payload = near_valid(rng) if k % 2 else random_value(rng)
        r = client.post("/predict", data=json.dumps(payload), content_type="application/json")
        assert r.status_code < 500, (payload, r.data)
        seen.add(r.status_code)
        body = r.get_json()
        assert (
            ("predictions" in body) if r.status_code == 200 else set(body) == {"error", "details"}
        )
    assert {200, 422} <= seen


def test_random_bytes_never_cause_a_5xx(client):
    rng = np.random.default_rng(7)
    good = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (40, 30), dtype=np.uint8)).save(good, "PNG")
    png = good.getvalue()
    for k in range(150):
        if k % 3 == 0:
            blob = rng.bytes(int(rng.integers(0, 300)))
        else:  # a real PNG with some bytes flipped or cut
            b = bytearray(png)
            for _ in range(int(rng.integers(1, 8))):
                b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
            blob = bytes(b[: int(rng.integers(8, len(b) + 1))])
        ctype = ["image/png", "image/gif", "image/jpeg", "application/json"][k % 4]
        r = client.post("/predict", data=blob, content_type=ctype)
        assert r.status_code < 500, (k, ctype, r.data)
        r = client.post("/predict", data={"image": (io.BytesIO(blob), "x.png")})
        assert r.status_code < 500, (k, "multipart", r.data)
