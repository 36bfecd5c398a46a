"""The OpenAPI document, the offline docs page, and Schemathesis against the live server.

Schemathesis (its CLI, as a user would run it) reads ``/openapi.json`` from the real gunicorn on
127.0.0.1 and sends schema-valid and schema-violating requests to every route, with every check
on (``tests/schemathesis.toml`` says which statuses the two inference routes may answer valid
envelopes with): no 5xx, every status and body as documented, invalid data refused.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import live
from service import create_app

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 40  # per operation and phase: about a minute on this 2-core machine
SEED = 20261129


@pytest.fixture(scope="module")
def server(tmp_path_factory, served_models) -> Iterator[live.Server]:
    log = tmp_path_factory.mktemp("openapi") / "gunicorn.log"
    s = live.start(served_models, log, 2, 200, {"MLPSERVE_MAX_BATCH": "16"})
    yield s
    live.stop(s)


def _rules(tiny_models: Path) -> set[str]:
    app = create_app({"MODEL_DIR": str(tiny_models)})
    paths = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()}
    return paths - {"/static/{filename}"}


def test_every_route_is_documented(server, tiny_models):
    doc = server.get("/openapi.json").json()
    assert doc["openapi"] == "3.0.3"
    assert _rules(tiny_models) <= set(doc["paths"])
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                assert "default" in op["responses"], (path, method)
    version = server.get("/v2/models/mnist").json()["versions"][0]
    params = doc["paths"]["/v2/models/{name}/versions/{version}/infer"]["parameters"]
    assert [p["example"] for p in params] == ["mnist", version]
    schemas = doc["components"]["schemas"]
    assert {"InferenceRequest", "InferenceResponse", "PredictRequest", "Error"} <= set(schemas)
    assert schemas["InferenceRequest"]["additionalProperties"] is False


def test_docs_page_works_offline(server):
    page = server.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    refs = re.findall(r'(?:src|href|url:)\s*=?\s*"([^"]+)"', page.text)
    assert refs and not [u for u in refs if "//" in u]  # nothing from another host
    for ref in refs:
        r = server.get("/" + ref)
        assert r.status_code == 200, ref
    assert len(server.get("/docs/static/swagger-ui-bundle.js").content) > 100_000
    assert server.get("/docs/static/swagger-editor.js").status_code == 404


def test_schemathesis_finds_nothing(server, tmp_path):
    argv = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG)]
    argv += ["run", server.url + "/openapi.json", "--checks", "all", "--mode", "all"]
    argv += ["--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--request-timeout", "10"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=420)
    counts = re.search(r"(\d+) generated, (.*)", done.stdout)
    print(counts.group(0) if counts else done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-6000:]
    assert counts and "passed" in counts.group(2) and "fail" not in counts.group(2)
