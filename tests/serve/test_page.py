"""The drawing page of ``i2i serve`` in a real browser: Debian's chromium driven by Playwright against a real server
(the ``server`` fixture). Every browser context refuses (and records) any request that leaves 127.0.0.1, and every
test fails on a console error it did not expect. The page's Content-Security-Policy stays on, so inline scripts or
styles would break these tests too."""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from PIL import Image
from serve_helpers import BUNDLED, Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
if not CHROMIUM.is_file():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package (make test does it as root) to run the browser "
        "tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]') for the browser tests"
)
expect = sync_api.expect

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
WAIT_MS = 20_000  # the longest any wait for the page may take (the server runs on the CPU beside the browser)
expect.set_options(timeout=WAIT_MS)

# JavaScript run in the page (functions, not strings: the page's CSP forbids eval).
CANVAS_SHA = """async () => {
    const c = document.querySelector('[data-testid=canvas]');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const digest = await crypto.subtle.digest('SHA-256', data);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}"""
CANVAS_COLOURS = """() => {
    const c = document.querySelector('[data-testid=canvas]');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const counts = {};
    for (let i = 0; i < data.length; i += 4) {
        const hex = '#' + [0, 1, 2].map((k) => data[i + k].toString(16).padStart(2, '0')).join('');
        const key = data[i + 3] === 255 ? hex : hex + '/alpha' + data[i + 3];
        counts[key] = (counts[key] || 0) + 1;
    }
    return {width: c.width, height: c.height, counts};
}"""
CANVAS_GRAY = """() => {
    const c = document.querySelector('[data-testid=canvas]');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const gray = [];
    for (let i = 0; i < data.length; i += 4) gray.push(Math.round((data[i] + data[i + 1] + data[i + 2]) / 3));
    return gray;
}"""
OUTPUT_SHA = """async () => {
    const img = document.querySelector('[data-testid=output]');
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const data = g.getImageData(0, 0, c.width, c.height).data;
    const digest = await crypto.subtle.digest('SHA-256', data);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}"""
NEW_OUTPUT = """([old, model, direction]) => {
    const img = document.querySelector('[data-testid=output]');
    return img.src.startsWith('blob:') && img.src !== old && img.complete && img.naturalWidth > 0
        && (!model || img.dataset.model === model) && (!direction || img.dataset.direction === direction);
}"""
# An init script (it runs before the page's own, outside its CSP) that holds back the answer to the next translate
# request once the test sets window.i2iHoldNext to a number of milliseconds.
HOLD_NEXT_ANSWER = """(() => {
    const original = window.fetch.bind(window);
    window.i2iHeld = 0;
    window.i2iReleased = 0;
    window.fetch = async (input, init) => {
        const hold = String(input).includes('/translate') ? window.i2iHoldNext : 0;
        if (hold) {
            window.i2iHoldNext = 0;
            window.i2iHeld += 1;
        }
        const response = await original(input, init);
        if (hold) {
            await new Promise((resolve) => setTimeout(resolve, hold));
            window.i2iReleased += 1;
        }
        return response;
    };
})();"""
# The pixels of the output shown, and of what the server answers for the canvas now.
OUTPUT_PIXELS = """async () => {
    const img = document.querySelector('[data-testid=output]');
    const c = new OffscreenCanvas(img.naturalWidth, img.naturalHeight);
    c.getContext('2d').drawImage(img, 0, 0);
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.slice(0, 4096 * 4));
}"""
FRESH_OUTPUT_PIXELS = """async (url) => {
    const canvas = document.querySelector('[data-testid=canvas]');
    const body = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    const answer = await fetch(url, {method: 'POST', body, headers: {'Content-Type': 'image/png'}});
    const image = await createImageBitmap(await answer.blob());
    const c = new OffscreenCanvas(image.width, image.height);
    c.getContext('2d').drawImage(image, 0, 0);
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.slice(0, 4096 * 4));
}"""
# Makes a PNG file in the page (a black square at x0..x1, y0..y1 of 256x256 white) and hands it to the page the way
# a drop on the canvas or a paste would.
GIVE_FILE = """async ([how, x0, y0, x1, y1]) => {
    const c = new OffscreenCanvas(256, 256);
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, 256, 256);
    g.fillStyle = '#000';
    g.fillRect(x0, y0, x1 - x0, y1 - y0);
    const file = new File([await c.convertToBlob({type: 'image/png'})], 'square.png', {type: 'image/png'});
    const data = new DataTransfer();
    data.items.add(file);
    if (how === 'drop') {
        const target = document.querySelector('[data-testid=canvas]');
        for (const type of ['dragenter', 'dragover', 'drop']) {
            target.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
        }
    } else {
        document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
    }
}"""
UNLABELLED_CONTROLS = """() => {
    const named = (el) => (el.getAttribute('aria-label') || '').trim()
        || (el.labels && Array.from(el.labels).some((l) => l.textContent.trim()))
        || (el.tagName === 'BUTTON' && el.textContent.trim());
    return Array.from(document.querySelectorAll('button, select, input, canvas'))
        .filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 80));
}"""


@dataclass
class Watch:
    """What the browser did that a test should know about."""

    external: list[str] = field(default_factory=list)  # requests that tried to leave the machine (all refused)
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    expected: list[str] = field(default_factory=list)  # substrings of console errors a test expects

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]


@dataclass
class Tab:
    """A fresh page on the server, with helpers to draw and to read what it shows."""

    page: Any
    server: Server
    watch: Watch

    def open(self, model: str) -> None:
        self.page.goto(f"{self.server.url}#{model}")
        expect(self.page.get_by_test_id("model-picker")).to_have_value(model)
        expect(self.page.get_by_test_id("status")).to_have_attribute("data-state", "done")

    def stroke(self, points: list[tuple[float, float]], steps: int = 6) -> None:
        """Drags the mouse through ``points`` (fractions of the canvas's width and height)."""
        box = self.page.get_by_test_id("canvas").bounding_box()
        assert box is not None

        def at(p: tuple[float, float]) -> tuple[float, float]:
            return box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"]

        self.page.mouse.move(*at(points[0]))
        self.page.mouse.down()
        for p in points[1:]:
            self.page.mouse.move(*at(p), steps=steps)
        self.page.mouse.up()

    def click_canvas(self, p: tuple[float, float]) -> None:
        self.stroke([p])

    def canvas_sha(self) -> str:
        return self.page.evaluate(CANVAS_SHA)

    def colours(self) -> dict[str, Any]:
        return self.page.evaluate(CANVAS_COLOURS)

    def output_src(self) -> str:
        return self.page.get_by_test_id("output").get_attribute("src") or ""

    def wait_new_output(self, old_src: str, model: str = "", direction: str = "") -> str:
        """Waits until the output shows a newer result (of ``model``/``direction`` when given); its src."""
        self.page.wait_for_function(NEW_OUTPUT, arg=[old_src, model, direction], timeout=WAIT_MS)
        return self.output_src()

    def output_sha(self) -> str:
        return self.page.evaluate(OUTPUT_SHA)

    def settle(self) -> None:
        """Waits until the page has shown the answer to its newest input."""
        expect(self.page.get_by_test_id("status")).to_have_attribute("data-state", "done")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def models(server: Server) -> dict[str, dict[str, Any]]:
    """The server's /v1/models entries by name."""
    return {m["name"]: m for m in httpx.get(server.url + "v1/models", timeout=10).json()["models"]}


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Tab]:
    """A page in a fresh context; fails the test on any request off this machine and any unexpected console error."""
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    watch = Watch()

    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            watch.external.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("console", lambda message: message.type == "error" and watch.errors.append(message.text))
    page.on("pageerror", lambda error: watch.errors.append(f"uncaught: {error}"))
    yield Tab(page, server, watch)
    context.close()
    assert not watch.external, f"the page tried to reach other hosts: {watch.external}"
    assert not watch.unexpected_errors(), f"console errors: {watch.unexpected_errors()}"


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def circle(cx: float, cy: float, r: float, n: int = 16) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)) for i in range(n + 1)]


def test_drawing_translates_and_classifies(tab: Tab, models: dict[str, dict[str, Any]]) -> None:
    tab.open("sketch2photo")
    page = tab.page
    expect(page.get_by_test_id("direction-picker")).to_be_hidden()
    expect(page.get_by_test_id("error")).to_be_hidden()
    blank = tab.output_src()

    tab.stroke(circle(0.5, 0.5, 0.3))
    first = tab.wait_new_output(blank, "sketch2photo")
    output = page.get_by_test_id("output")
    assert first.startswith("blob:")
    assert output.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [256, 256]
    first_pixels = tab.output_sha()
    tab.settle()
    expect(page.get_by_test_id("timing")).to_have_text(re.compile(r"took \d+ ms \(model \d+ ms"))

    # The sketch classifier's top categories, with bars as wide as their probabilities.
    labels = models["sketch-classifier"]["labels"]
    rows = page.get_by_test_id("categories").get_by_test_id("category")
    expect(rows).to_have_count(min(3, len(labels)))
    total = 0.0
    for row in rows.all():
        label = row.get_attribute("data-label")
        assert label in labels
        probability = float(row.get_attribute("data-probability") or "nan")
        total += probability
        expect(row).to_contain_text(label.replace("_", " "))
        expect(row).to_contain_text(f"{round(probability * 100)} %")
        bar = row.locator(".bar span").evaluate("el => el.getBoundingClientRect().width / el.parentElement.clientWidth")
        assert bar == pytest.approx(probability, abs=0.02)
    assert 0.5 < total <= 1.0001

    # A second stroke gives another output.
    tab.stroke([(0.2, 0.85), (0.8, 0.85), (0.8, 0.95)])
    second = tab.wait_new_output(first, "sketch2photo")
    assert second != first
    assert tab.output_sha() != first_pixels
    tab.settle()


def test_label_map_tools_keep_exact_palette_colours(tab: Tab, models: dict[str, dict[str, Any]]) -> None:
    palette = models["facades"]["input"]["palette"]
    colours = [entry["color"] for entry in palette]
    tab.open("facades")
    page = tab.page

    # The swatches are the API's palette, in its order, each showing its colour and name.
    swatches = page.get_by_test_id("palette").locator("[data-testid^='swatch-']")
    expect(swatches).to_have_count(len(palette))
    for swatch, entry in zip(swatches.all(), palette, strict=True):
        assert swatch.get_attribute("data-testid") == f"swatch-{entry['name']}"
        assert swatch.get_attribute("data-color") == entry["color"]
        expect(swatch).to_contain_text(entry["name"])
        r, g, b = (int(entry["color"][i : i + 2], 16) for i in (1, 3, 5))
        expect(swatch.locator(".chip")).to_have_css("background-color", f"rgb({r}, {g}, {b})")
    start = tab.colours()
    assert start["counts"] == {colours[0]: start["width"] * start["height"]}, "a label canvas starts as background"

    # A rectangle in the last class's colour: whole pixels, nothing in between.
    page.get_by_test_id(f"swatch-{palette[-1]['name']}").click()
    page.get_by_test_id("tool-rect").click()
    expect(page.get_by_test_id("tool-rect")).to_have_attribute("aria-pressed", "true")
    before = tab.output_src()
    tab.stroke([(0.2, 0.25), (0.45, 0.5), (0.6, 0.7)])
    seen = tab.colours()
    assert set(seen["counts"]) <= set(colours), f"colours outside the palette: {set(seen['counts']) - set(colours)}"
    area = seen["counts"].get(colours[-1], 0)
    expected = (0.4 * seen["width"]) * (0.45 * seen["height"])
    assert 0.8 * expected < area < 1.2 * expected

    # The brush: a diagonal stroke, still exact.
    page.get_by_test_id(f"swatch-{palette[3]['name']}").click()
    page.get_by_test_id("tool-pen").click()
    tab.stroke([(0.1, 0.9), (0.9, 0.1)])
    seen = tab.colours()
    assert set(seen["counts"]) <= set(colours)
    assert seen["counts"].get(colours[3], 0) > 0.8 * seen["width"] * int(page.get_by_test_id("pen-size").input_value())

    # The fill tool turns the whole background region (touching the corner) into the second class.
    page.get_by_test_id(f"swatch-{palette[1]['name']}").click()
    page.get_by_test_id("tool-fill").click()
    tab.click_canvas((0.02, 0.02))
    filled = tab.colours()
    assert set(filled["counts"]) <= set(colours)
    assert colours[0] not in filled["counts"]
    assert filled["counts"][colours[1]] == seen["counts"][colours[0]]
    assert filled["counts"][colours[-1]] == seen["counts"][colours[-1]]

    tab.wait_new_output(before, "facades")
    tab.settle()


def test_upload_shows_the_image_and_its_output(tab: Tab, tmp_path: Path) -> None:
    example = BUNDLED / "sketch2photo" / "examples" / "teapot_1.png"
    upload = tmp_path / "my teapot.png"
    upload.write_bytes(example.read_bytes())
    tab.open("sketch2photo")
    page = tab.page
    blank_canvas = tab.canvas_sha()
    before = tab.output_src()

    page.get_by_test_id("upload").set_input_files(str(upload))
    tab.wait_new_output(before, "sketch2photo")
    tab.settle()
    assert page.get_by_test_id("output").evaluate("img => img.naturalWidth") == 256
    # The canvas shows the uploaded drawing (same size, so pixel for pixel up to rounding).
    expected = np.asarray(Image.open(upload).convert("L"), dtype=np.float64).ravel()
    shown = np.asarray(page.evaluate(CANVAS_GRAY), dtype=np.float64)
    assert np.abs(shown - expected).mean() < 2.0
    expect(page.get_by_test_id("categories").get_by_test_id("category").first).to_have_attribute("data-label", "teapot")
    # ... as a new state that undo takes back.
    page.get_by_test_id("undo").click()
    assert tab.canvas_sha() == blank_canvas


def test_drop_and_paste_upload(tab: Tab) -> None:
    tab.open("shoes")
    page = tab.page
    for how, square in (("drop", (40, 60, 120, 200)), ("paste", (150, 20, 230, 90))):
        shown = tab.output_src()
        page.evaluate(GIVE_FILE, [how, *square])
        tab.wait_new_output(shown, "shoes")
        tab.settle()
        gray = np.asarray(page.evaluate(CANVAS_GRAY)).reshape(256, 256)
        x0, y0, x1, y1 = square
        assert gray[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].max() < 10, f"the {how}ped square is not on the canvas"
        assert gray[y1 + 5 :, :].min() > 245 or y1 > 250, f"the canvas shows more than the {how}ped image"
    expect(page.get_by_test_id("canvas-wrap")).not_to_have_class(re.compile("dragging"))


def test_undo_and_redo(tab: Tab) -> None:
    tab.open("shoes")
    page = tab.page
    undo, redo = page.get_by_test_id("undo"), page.get_by_test_id("redo")
    expect(undo).to_be_disabled()
    states = [tab.canvas_sha()]
    tab.stroke([(0.2, 0.2), (0.8, 0.3)])
    states.append(tab.canvas_sha())
    page.get_by_test_id("pen-size").select_option("12")
    tab.stroke([(0.3, 0.8), (0.7, 0.6)])
    states.append(tab.canvas_sha())
    assert len(set(states)) == 3

    undo.click()
    assert tab.canvas_sha() == states[1]
    page.keyboard.press("Control+z")
    assert tab.canvas_sha() == states[0]
    expect(undo).to_be_disabled()
    redo.click()
    assert tab.canvas_sha() == states[1]
    page.keyboard.press("Control+Shift+Z")
    assert tab.canvas_sha() == states[2]
    expect(redo).to_be_disabled()
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+y")
    assert tab.canvas_sha() == states[2]

    # Clear is undoable too, and the output follows the canvas.
    shown = tab.output_src()
    page.get_by_test_id("clear").click()
    assert tab.canvas_sha() == states[0]
    tab.wait_new_output(shown, "shoes")
    undo.click()
    assert tab.canvas_sha() == states[2]
    tab.settle()


def test_switching_models_changes_tools_and_output(tab: Tab, models: dict[str, dict[str, Any]]) -> None:
    tab.open("sketch2photo")
    page = tab.page
    picker = page.get_by_test_id("model-picker")
    titles = picker.locator("option").all_inner_texts()
    assert titles == [m["title"] or m["name"] for m in models.values()]
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    expect(page.get_by_test_id("canvas")).to_have_attribute("aria-label", re.compile(r"\w"))
    expect(page.locator("a[href='/docs']")).to_be_visible()
    expect(page.get_by_test_id("palette")).to_be_hidden()
    expect(page.get_by_test_id("tool-eraser")).to_be_visible()
    tab.stroke([(0.3, 0.3), (0.6, 0.6)])
    drawn = tab.canvas_sha()
    shown = tab.wait_new_output(tab.output_src(), "sketch2photo")

    picker.select_option("facades")
    shown = tab.wait_new_output(shown, "facades")
    expect(page.get_by_test_id("palette")).to_be_visible()
    expect(page.get_by_test_id("palette").locator("[data-testid^='swatch-']")).to_have_count(
        len(models["facades"]["input"]["palette"])
    )
    for tool in ("tool-pen", "tool-rect", "tool-fill"):
        expect(page.get_by_test_id(tool)).to_be_visible()
    expect(page.get_by_test_id("tool-eraser")).to_be_hidden()
    expect(page.get_by_test_id("direction-picker")).to_be_hidden()
    background = models["facades"]["input"]["palette"][0]["color"]
    assert list(tab.colours()["counts"]) == [background]
    examples = page.get_by_test_id("example-picker").locator("option")
    expect(examples).to_have_count(1 + len(models["facades"]["examples"]))

    picker.select_option("shoes")
    tab.wait_new_output(shown, "shoes")
    expect(page.get_by_test_id("palette")).to_be_hidden()
    expect(page.get_by_test_id("tool-rect")).to_be_hidden()
    expect(page.get_by_test_id("tool-fill")).to_be_hidden()
    expect(page.get_by_test_id("tool-eraser")).to_be_visible()
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    tab.settle()

    # Each model keeps its own drawing.
    picker.select_option("sketch2photo")
    assert tab.canvas_sha() == drawn
    tab.settle()


def test_oversized_upload_is_refused_in_words(tab: Tab, tmp_path: Path) -> None:
    limit = 2**20  # the server fixture's --max-upload-mb 1
    noise = np.random.default_rng(0).integers(0, 256, (800, 800, 3), dtype=np.uint8)
    big = tmp_path / "noise.png"
    big.write_bytes(png_bytes(noise))
    assert big.stat().st_size > limit
    tab.open("sketch2photo")
    page = tab.page
    tab.stroke([(0.2, 0.2), (0.7, 0.4)])
    tab.settle()
    canvas = tab.canvas_sha()
    shown = tab.output_src()
    tab.watch.expected.append("413")  # chromium logs the refused request as a failed resource
    refused: list[str] = []  # the page sends the file itself: the server's limit is what refuses it
    page.on("response", lambda response: response.status == 413 and refused.append(response.url))

    page.get_by_test_id("upload").set_input_files(str(big))
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "error")
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("too large")
    assert any("/v1/models/sketch2photo/translate" in url for url in refused)
    assert tab.canvas_sha() == canvas
    assert tab.output_src() == shown

    # The next good answer clears the error.
    tab.stroke([(0.3, 0.7), (0.6, 0.8)])
    tab.wait_new_output(shown, "sketch2photo")
    tab.settle()
    expect(error).to_be_hidden()


def test_a_late_answer_never_replaces_a_newer_one(tab: Tab, models: dict[str, dict[str, Any]]) -> None:
    tab.page.add_init_script(HOLD_NEXT_ANSWER)
    tab.open("sketch2photo")
    page = tab.page
    page.evaluate("() => { window.i2iHoldNext = 1500; }")
    tab.stroke(circle(0.5, 0.5, 0.3))
    page.wait_for_function("() => window.i2iHeld === 1", timeout=WAIT_MS)  # the first drawing's answer is held
    tab.stroke([(0.1, 0.1), (0.9, 0.9)])  # a newer drawing, answered at once
    page.wait_for_function("() => window.i2iReleased === 1", timeout=WAIT_MS)  # the late answer reached the page
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 100))")  # time to (wrongly) show it
    tab.settle()
    expect(page.get_by_test_id("output")).to_have_attribute("src", re.compile("^blob:"))
    assert page.evaluate(OUTPUT_PIXELS) == page.evaluate(FRESH_OUTPUT_PIXELS, models["sketch2photo"]["translate_url"])


def test_classifier_shows_only_categories(tab: Tab, models: dict[str, dict[str, Any]]) -> None:
    labels = models["sketch-classifier"]["labels"]
    tab.open("sketch-classifier")
    page = tab.page
    rows = page.get_by_test_id("categories").get_by_test_id("category")
    expect(rows).to_have_count(min(3, len(labels)))
    expect(page.get_by_test_id("output")).to_be_hidden()
    expect(page.get_by_test_id("output-area")).to_be_hidden()
    expect(page.get_by_test_id("download-output")).to_be_hidden()
    expect(page.get_by_test_id("download-pair")).to_be_hidden()
    first = rows.evaluate_all("rows => rows.map((r) => r.dataset.label + r.dataset.probability).join()")

    tab.stroke(circle(0.5, 0.5, 0.35, 24))
    page.wait_for_function(
        """(old) => Array.from(document.querySelectorAll('[data-testid=category]'))
            .map((r) => r.dataset.label + r.dataset.probability).join() !== old""",
        arg=first,
        timeout=WAIT_MS,
    )
    tab.settle()
    for row in rows.all():
        assert row.get_attribute("data-label") in labels
    expect(page.get_by_test_id("timing")).to_contain_text("took")


def test_screenshot_of_a_drawing(tab: Tab, tmp_path: Path) -> None:
    tab.open("sketch2photo")
    page = tab.page
    shown = tab.output_src()
    # the README's screenshot: the example teapot
    page.get_by_test_id("example-picker").select_option("/v1/models/sketch2photo/examples/teapot_1.png")
    tab.wait_new_output(shown, "sketch2photo")
    tab.settle()
    expect(page.get_by_test_id("categories").get_by_test_id("category")).to_have_count(3)
    # The downloads: the output, and the input and output side by side.
    for button, size in (("download-output", (256, 256)), ("download-pair", (512, 256))):
        with page.expect_download() as download:
            page.get_by_test_id(button).click()
        saved = tmp_path / f"{button}.png"
        download.value.save_as(saved)
        assert download.value.suggested_filename.startswith("sketch2photo") and saved.suffix == ".png"
        with Image.open(saved) as image:
            assert image.format == "PNG" and image.size == size
    path = Path(os.environ.get("I2I_SCREENSHOT") or tmp_path / "page.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000
    with Image.open(path) as shot:
        assert shot.width >= 800 and shot.height >= 600


def test_two_way_model_switches_direction(tab: Tab, models: dict[str, dict[str, Any]]) -> None:
    directions = {d["direction"]: d for d in models["twoway"]["directions"]}
    assert set(directions) == {"AtoB", "BtoA"}
    trained = next(name for name, d in directions.items() if d["trained"])
    other = "BtoA" if trained == "AtoB" else "AtoB"
    tab.open("twoway")
    page = tab.page
    picker = page.get_by_test_id("direction-picker")
    expect(picker).to_be_visible()
    expect(picker).to_have_value(trained)
    shown = tab.wait_new_output("", "twoway", trained)

    requests: list[str] = []
    page.on("request", lambda request: "/translate" in request.url and requests.append(request.url))
    picker.select_option(other)
    shown = tab.wait_new_output(shown, "twoway", other)
    assert requests and requests[-1].endswith(f"direction={other}")
    picker.select_option(trained)
    tab.wait_new_output(shown, "twoway", trained)
    tab.settle()


def test_the_api_page_works_offline(tab: Tab) -> None:
    """/docs (the OpenAPI page the framework generates) renders the API from files this server serves."""
    page = tab.page
    page.goto(tab.server.url + "docs")
    expect(page.get_by_text("/v1/models/{name}/translate").first).to_be_visible()
    expect(page.get_by_text("/v1/models/{name}/classify").first).to_be_visible()
