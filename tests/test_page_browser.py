"""The drawing page in a real browser: Playwright drives Debian's chromium against a live gunicorn.

Digits are drawn with mouse strokes from ``page_strokes.py`` (hand-written polylines, not MNIST
pixels) and read back from the page, as a person would see them. A failing test leaves a
screenshot in a temporary folder named in the failure. Chromium comes from Debian
(``make test`` installs it): Playwright's own browser download is not reachable here.

Run as a script, ``python tests/test_page_browser.py docs/page.png`` serves the shipped models,
draws a digit and writes the README's screenshot of the page.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from page_strokes import DIGITS, Stroke

import live

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SEVEN = ROOT / "service" / "examples" / "seven.png"
SHOTS = Path(tempfile.gettempdir()) / "mlpserve-page-shots"
BODY_CAP = 512 * 1024  # small, so that a 600 KB file shows the 413 message
PX_PER_STEP = 20  # a mouse event every ~20 CSS px along a stroke


def _missing() -> list[str]:
    missing = [] if Path(CHROMIUM).exists() else [CHROMIUM]
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package")
    return missing


# -- server, browser, page ----------------------------------------------------------------------


@contextmanager
def live_server(model_dir: Path, log: Path) -> Iterator[live.Server]:
    server = live.start(model_dir, log, 1, 200, {"MLPSERVE_MAX_REQUEST_BYTES": str(BODY_CAP)})
    try:
        yield server
    finally:
        live.stop(server)


@contextmanager
def chromium() -> Iterator:
    """Debian's chromium under Playwright, with a fresh empty profile (Playwright's own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page_server(tmp_path_factory, served_models) -> Iterator[live.Server]:
    """gunicorn over a real MNIST model plus two feature models (which the page must not list)."""
    missing = _missing()
    if missing:
        reason = f"browser tests need {' and '.join(missing)} (`make test` installs both)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with live_server(served_models, tmp_path_factory.mktemp("logs") / "page.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser(page_server) -> Iterator:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, page_server, request):
    """A fresh tab on the page, its model list loaded; a screenshot is kept if the test fails."""
    context = browser.new_context(viewport={"width": 1040, "height": 900})
    tab = context.new_page()
    tab.goto(page_server.url + "/")
    tab.wait_for_selector("#model:not([disabled])")
    failed_before = request.session.testsfailed
    yield tab
    if request.session.testsfailed > failed_before:
        print(f"screenshot of the failed test: {screenshot(tab, request.node.name)}")
    context.close()


def screenshot(tab, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name.replace('/', '_')}.png"
    tab.screenshot(path=path, full_page=True)
    return path


# -- what a person does -------------------------------------------------------------------------


def smooth(stroke: Stroke, step: float) -> Stroke:
    """The stroke as a hand moves: a Catmull-Rom curve through its points, sampled about every
    ``step`` units (the points are where the curve passes, so the shape stays as written)."""
    ends = [stroke[0], *stroke, stroke[-1]]
    out = [stroke[0]]
    for p0, p1, p2, p3 in zip(ends, ends[1:], ends[2:], ends[3:], strict=False):
        n = max(1, round(((p2[0] - p1[0]) ** 2 + (p2[1] - p1[1]) ** 2) ** 0.5 / step))
        for k in range(1, n + 1):
            t = k / n
            out.append(
                tuple(
                    0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t * t
                           + (3 * b - a - 3 * c + d) * t ** 3)
                    for a, b, c, d in zip(p0, p1, p2, p3, strict=True)
                )
            )  # fmt: skip
    return out


def draw(tab, strokes: list[Stroke]) -> None:
    """Draw strokes given in a 100 x 100 box with the mouse on the canvas."""
    box = tab.locator("#pad").bounding_box()
    for stroke in strokes:
        points = [
            (box["x"] + x * box["width"] / 100, box["y"] + y * box["height"] / 100)
            for x, y in smooth(stroke, 100 * PX_PER_STEP / box["width"])
        ]
        tab.mouse.move(*points[0])
        tab.mouse.down()
        for point in points[1:]:
            tab.mouse.move(*point)
        tab.mouse.up()


def settled(tab) -> dict[str, str]:
    """Wait until no prediction is due or on its way; the result as the page shows it."""
    from playwright.sync_api import expect

    result = tab.locator("#result")
    expect(result).to_have_attribute("data-pending", "0", timeout=10_000)
    return {
        "state": result.get_attribute("data-state"),
        "label": tab.locator("#label").inner_text(),
        "status": tab.locator("#status").inner_text(),
    }


def seen_ink(tab) -> int:
    """Sum of the grey levels of the 28x28 'what the model saw' canvas."""
    return tab.evaluate(
        """() => document.getElementById("seen").getContext("2d")
              .getImageData(0, 0, 28, 28).data.reduce((s, v, i) => s + (i % 4 ? 0 : v), 0)"""
    )


def pad_is_blank(tab) -> bool:
    return tab.evaluate(
        """() => { const c = document.getElementById("pad");
                   return c.getContext("2d").getImageData(0, 0, c.width, c.height).data
                     .every((v) => v === 255); }"""
    )


# -- tests --------------------------------------------------------------------------------------


def test_hand_drawn_digits_are_read(page):
    read: dict[int, str] = {}
    for digit, strokes in DIGITS.items():
        page.click("#clear")
        draw(page, strokes)
        shown = settled(page)
        read[digit] = shown["label"]
        assert shown["state"] == "ok", shown
        assert shown["status"].startswith(f"Read as {shown['label']} (")
        top = page.locator("#bars li.best .digit").inner_text()
        assert top == shown["label"]
        assert seen_ink(page) > 0
        if shown["label"] != str(digit):
            screenshot(page, f"misread-{digit}-as-{shown['label']}")
    right = [d for d, label in read.items() if label == str(d)]
    print(f"hand-drawn digits read right: {len(right)}/10 {read}")
    assert len(right) >= 9, f"read {read}; screenshots of misreads in {SHOTS}"


def test_a_photo_from_the_file_picker_is_read(page):
    page.set_input_files("#file", str(SEVEN))
    shown = settled(page)
    assert (shown["state"], shown["label"]) == ("ok", "7"), shown
    assert seen_ink(page) > 0
    assert not pad_is_blank(page)  # the photo is shown on the canvas


def test_a_dropped_photo_is_read(page):
    data = base64.b64encode(SEVEN.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """(b64) => {
             const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
             const transfer = new DataTransfer();
             transfer.items.add(new File([bytes], "seven.png", { type: "image/png" }));
             return transfer;
           }""",
        data,
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    shown = settled(page)
    assert (shown["state"], shown["label"]) == ("ok", "7"), shown


def test_clear_returns_to_the_empty_state(page):
    draw(page, DIGITS[7])
    assert settled(page)["state"] == "ok"
    page.click("#clear")
    shown = settled(page)
    assert shown == {"state": "empty", "label": "", "status": "Draw a digit to start."}
    assert pad_is_blank(page) and seen_ink(page) == 0
    assert page.locator("#bars li.best").count() == 0
    draw(page, DIGITS[1])  # the keyboard way: Delete on the focused canvas
    settled(page)
    page.focus("#pad")
    page.keyboard.press("Delete")
    assert settled(page)["state"] == "empty" and pad_is_blank(page)


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("predict on a blank canvas", ["No digit in the image", "422", "no digit in the image"]),
        ("a text file", ["could not read that file as an image", "400", "undecodable image"]),
        ("a file over the body cap", ["too large", "413", "over the"]),
    ],
)
def test_api_errors_are_shown_in_words(page, tmp_path, action, words):
    if action == "predict on a blank canvas":
        page.click("#predict")
    else:
        path = tmp_path / ("notes.txt" if action == "a text file" else "huge.png")
        size = 100 if action == "a text file" else 600 * 1024  # over BODY_CAP
        path.write_bytes(b"x" * size)
        page.set_input_files("#file", str(path))
    shown = settled(page)
    assert shown["state"] == "error" and shown["label"] == "", shown
    for word in words:
        assert word in shown["status"], shown


def test_the_model_selector_lists_image_models_only(page):
    assert page.locator("#model option").evaluate_all("os => os.map((o) => o.value)") == ["mnist"]
    assert page.locator("#bars li").count() == 10


def test_the_page_fits_a_phone(page):
    page.set_viewport_size({"width": 375, "height": 740})
    fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert fits
    box = page.locator("#pad").bounding_box()
    assert 300 <= box["width"] <= 375 and abs(box["width"] - box["height"]) < 1
    draw(page, DIGITS[7])
    assert settled(page)["label"] == "7"


# -- the README's screenshot --------------------------------------------------------------------


def write_readme_screenshot(out: Path, digit: int = 3) -> None:
    """Serve the shipped models, draw ``digit`` and save the page as ``out`` (PNG)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_server(ROOT / "models", Path(tmp) / "gunicorn.log") as server,
        chromium() as browser,
    ):
        tab = browser.new_page(viewport={"width": 1040, "height": 820})
        tab.goto(server.url + "/")
        tab.wait_for_selector("#model:not([disabled])")
        draw(tab, DIGITS[digit])
        print(settled(tab))
        tab.screenshot(path=out, full_page=True)


if __name__ == "__main__":
    write_readme_screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/page.png"))
