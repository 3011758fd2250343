"""The demo page (serving/web/) in headless Chromium against the embedded server on tiny exports.

Drives Debian's `chromium` (or $TFGAN_CHROMIUM) through Playwright's Python package; `./run.sh
setup` installs both. Without them the tests skip, saying what is missing. Screenshots are
written to $TFGAN_TEST_ARTIFACTS/serving_web/ (default test-artifacts/ at the repository root).
"""

import base64
import io
import json
import os
import shutil
import tempfile
import unittest
import urllib.parse
import urllib.request

import numpy as np
import tensorflow as tf
from PIL import Image

from serving import model_config
from serving.server import Server
from tests import fixtures
from tests.serving_fixtures import add_version, config_text
from tfgan_course import export, inpainting, models
from tfgan_course import spec as spec_lib
from tfgan_course.gans import context_encoder

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # Skipped below, with the reason.
    sync_playwright = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACTS = os.path.join(os.environ.get("TFGAN_TEST_ARTIFACTS", os.path.join(ROOT, "test-artifacts")), "serving_web")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless as root needs --no-sandbox; on a closed network Chromium's connections fail
# unless its background traffic (updates, sync, QUIC probes) is off.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000  # generous: the machine may be training in the background
NUM_CLASSES = 3


def find_chromium() -> str | None:
    """$TFGAN_CHROMIUM, else the first usual Chromium or Chrome command on PATH."""
    if os.environ.get("TFGAN_CHROMIUM"):
        return os.environ["TFGAN_CHROMIUM"]
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def brighten(generator, factor):
    """Scales the weights of the generator's last layer: the DCGAN initialisation, N(0, 0.02),
    makes an untrained generator's images flat grey; scaled, they span [-1, 1] and show."""
    last = [layer for layer in generator.layers if layer.weights][-1]
    last.set_weights([weight * factor for weight in last.get_weights()])
    return generator


def decode_png(data_url: str) -> np.ndarray:
    """A `data:image/png;base64,...` URL -> uint8 [H, W, C]."""
    return decode_png_bytes(base64.b64decode(data_url.split(",", 1)[1]))


def decode_png_bytes(png: bytes) -> np.ndarray:
    """A PNG file -> uint8 [H, W, C]."""
    image = np.asarray(Image.open(io.BytesIO(png)))
    return image[..., None] if image.ndim == 2 else image


def export_cyclegan(base):
    """A tiny grey -> colour CycleGAN "t" with 3 test images forward and 2 back; its version's path."""
    forward, _ = models.build_translator("resnet", input_shape=(8, 8, 1), output_shape=(8, 8, 3), conditional=False,
                                        g_width=4, seed=0, resnet_blocks=1, patch_size=1)
    backward, _ = models.build_translator("resnet", input_shape=(8, 8, 3), output_shape=(8, 8, 1), conditional=False,
                                         g_width=4, seed=1, resnet_blocks=1, patch_size=1)
    plain = export.spec_of(forward)
    cyclegan = spec_lib.GeneratorSpec(plain.inputs, plain.outputs, variant="cyclegan",
                                      state={"reverse": json.loads(export.spec_of(backward).to_json())})
    rng = np.random.default_rng(0)
    return export.export_generator(forward, base, "t", spec=cyclegan, reverse=backward,
                                   examples=rng.integers(0, 256, (3, 8, 8, 1), dtype=np.uint8),
                                   reverse_examples=rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8))


def export_upscaler(base):
    """A tiny 2x SRResNet "u" (4x4 -> 8x8, grey) with 2 test images; its version's path."""
    generator, _ = models.build_translator("srresnet", input_shape=(4, 4, 1), output_shape=(8, 8, 1),
                                           conditional=False, g_width=4, seed=0, resnet_blocks=1)
    examples = np.random.default_rng(2).integers(0, 256, (2, 4, 4, 1), dtype=np.uint8)
    return export.export_generator(generator, base, "u", spec=export.spec_of(generator), examples=examples)


def export_inpainter(base):
    """A tiny context encoder "i" (8x8 grey, its mean image mid-grey) with 2 test images; its version's path."""
    generator, discriminator = models.build_inpainter("context_encoder", image_shape=(8, 8, 1), g_width=4, seed=0)
    brighten(generator, 100)
    model = context_encoder.ContextEncoder(generator, discriminator, hole_size=4)
    examples = np.random.default_rng(4).integers(0, 256, (2, 8, 8, 1), dtype=np.uint8)
    return export.export_generator(generator, base, "i", spec=model.generator_spec("context_encoder"),
                                   examples=examples)


def export_text_to_image(base):
    """A tiny 8x8 StackGAN-lite "s" of a three-word vocabulary; its version's path."""
    generator, _ = models.build_text("stackgan", image_shape=(8, 8, 1), latent_dim=8, vocabulary=["a", "dark", "coat"],
                                     code_dim=4, g_width=4, d_width=4, seed=0)
    text_spec = spec_lib.GeneratorSpec((spec_lib.latent_input(8), spec_lib.text_input(3)),
                                       (spec_lib.output_for((8, 8, 1)),), family="stackgan", variant="text_to_image")
    return export.export_generator(generator, base, "s", spec=text_spec)


class DemoPageTest(tf.test.TestCase):
    """One server (an unconditional model with versions 1 and 2, a conditional one, a CycleGAN, an upscaler, an
    inpainter, a text-to-image model) and one browser."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.chromium = find_chromium()
        if sync_playwright is None:
            raise unittest.SkipTest("Playwright's Python package is not installed: ./run.sh setup installs it "
                                    "(pip install -e '.[dev]').")
        if cls.chromium is None:
            raise unittest.SkipTest(f"No Chromium found ($TFGAN_CHROMIUM or {', '.join(CHROMIUM_NAMES)} on PATH): "
                                    "./run.sh setup installs Debian's chromium when run as root or with sudo.")
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.base = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.base, ignore_errors=True)
        generator = brighten(models.build("dcgan", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0)[0], 100)
        conditional, _ = models.build("cmlp", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0,
                                      num_classes=NUM_CLASSES)
        g_path = export.export_generator(generator, cls.base, "g")
        add_version(g_path, os.path.dirname(g_path), 2)
        export.export_generator(conditional, cls.base, "c", num_classes=NUM_CLASSES)
        cls.loaded = {"g": tf.saved_model.load(g_path), "c": tf.saved_model.load(os.path.join(cls.base, "c", "1")),
                      "t": tf.saved_model.load(export_cyclegan(cls.base)),
                      "u": tf.saved_model.load(export_upscaler(cls.base)),
                      "i": tf.saved_model.load(export_inpainter(cls.base)),
                      "s": tf.saved_model.load(export_text_to_image(cls.base))}
        cls.server = Server(config_text(f"""model_config_list {{
            config {{ name: "g" base_path: "{cls.base}/g" model_version_policy {{ all {{}} }} }}
            config {{ name: "c" base_path: "{cls.base}/c" }}
            config {{ name: "t" base_path: "{cls.base}/t" }}
            config {{ name: "u" base_path: "{cls.base}/u" }}
            config {{ name: "i" base_path: "{cls.base}/i" }}
            config {{ name: "s" base_path: "{cls.base}/s" }} }}"""),
                            port=0, rest_api_port=0, file_system_poll_wait_seconds=0, demo_page=True).start()
        # Class cleanups run, last first, even when a later step of setUpClass fails.
        cls.addClassCleanup(cls.server.stop)
        cls.url = f"http://127.0.0.1:{cls.server.rest_port}"
        cls.playwright = sync_playwright().start()
        cls.addClassCleanup(cls.playwright.stop)
        cls.browser = cls.playwright.chromium.launch(executable_path=cls.chromium, args=CHROMIUM_ARGS)
        cls.addClassCleanup(cls.browser.close)

    def setUp(self):
        super().setUp()
        self.page = self.browser.new_page(viewport={"width": 1100, "height": 900})
        self.page.set_default_timeout(TIMEOUT_MS)
        self.requests = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.signatures = []  # of the predict requests, in order
        self.page.on("request", lambda request: request.method == "POST" and self.signatures.append(
            json.loads(request.post_data)["signature_name"]))
        self.page_errors = []
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def tearDown(self):
        # Closing a page with requests in flight would break their connections.
        self.page.wait_for_function("() => !document.querySelector('[aria-busy]')")
        self.page.close()
        self.assertEqual(self.page_errors, [])
        super().tearDown()

    # ------------------------------------------------------------------ helpers

    def open(self, query: str, url: str | None = None, path: str = "/demo/") -> None:
        """Opens the page with `query` and waits until every panel shown is drawn, or the error shown."""
        self.page.goto(f"{url or self.url}{path}?{query}")
        self.page.wait_for_function("""() => !document.getElementById("error").hidden ||
            !document.getElementById("panels").hidden &&
            [...document.querySelectorAll("#panels > section:not([hidden])")].every(p => p.dataset.renders)""")

    def wait_for_redraw(self, panel: str, renders_before: int) -> None:
        self.page.wait_for_function(
            "([id, before]) => { const p = document.getElementById(id); "
            "return Number(p.dataset.renders) > before && !p.hasAttribute('aria-busy'); }", arg=[panel, renders_before])

    def renders(self, panel: str) -> int:
        return int(self.page.get_attribute(f"#{panel}", "data-renders") or 0)

    def grid_images(self) -> np.ndarray:
        return self.images("#grid img")

    def images(self, selector: str) -> np.ndarray:
        """The <img> elements `selector` picks, decoded: uint8 [N, H, W, C]."""
        urls = self.page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.src)")
        return np.stack([decode_png(url) for url in urls])

    @staticmethod
    def stroke(cdp, pointer: str, path) -> None:
        """One stroke along `path` ([(x, y)] in page pixels) by a finger ("touch", on an emulated touch
        screen) or a pen ("pen"), through Chromium's DevTools input events."""
        (x0, y0), *rest = path
        if pointer == "touch":
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
            for x, y in rest:
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
            return
        pen = {"button": "left", "clickCount": 1, "pointerType": "pen"}
        cdp.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x0, "y": y0, "buttons": 1, **pen})
        for x, y in rest:
            cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, "buttons": 1, **pen})
        x, y = path[-1]
        cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": y, "buttons": 0, **pen})

    def canvas_pixels(self) -> np.ndarray:
        """The latent canvas as uint8 [H, W, 1] (its red channel; the images are grey)."""
        width, height, data = self.page.evaluate("""() => {
            const canvas = document.getElementById("latent-canvas");
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            return [canvas.width, canvas.height, Array.from(data)]; }""")
        return np.asarray(data, np.uint8).reshape(height, width, 4)[..., :1]

    def expected_latent_image(self, model: str, label: int | None = None) -> np.ndarray:
        """The export's serving_default on the z the page holds, as the page rounds it to bytes."""
        z = np.asarray([self.page.evaluate("() => state.z")], np.float32)
        extra = {} if label is None else {"label": tf.constant([label])}
        images = self.loaded[model].signatures["serving_default"](z=tf.constant(z), **extra)["images"]
        return export.to_uint8(images).numpy()[0]

    def expected_samples(self, model: str, first_seed: int, label: int | None = None) -> np.ndarray:
        seeds = tf.range(first_seed, first_seed + 16, dtype=tf.int64)
        extra = {} if label is None else {"label": tf.fill([16], label)}
        return self.loaded[model].signatures["sample"](seed=seeds, **extra)["images_uint8"].numpy()

    def translate_png(self, png: bytes, signature: str = "translate_png") -> np.ndarray:
        """What model t's `signature` answers for one PNG file: uint8 [H, W, C]."""
        answer = self.loaded["t"].signatures[signature](images_png_bytes=tf.constant([png]))
        return answer["images_uint8"].numpy()[0]

    def stored_examples(self, signature: str = "examples") -> list[bytes]:
        """Model t's test images of a direction, its PNG files."""
        count = int(self.loaded["t"].signatures[signature](index=tf.constant([0]))["num_examples"][0])
        return list(self.loaded["t"].signatures[signature](index=tf.range(count))["images_png_bytes"].numpy())

    def banner(self) -> str:
        return self.page.inner_text("#error") if self.page.is_visible("#error") else ""

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=True)

    # ------------------------------------------------------------------ tests

    def test_grid_shows_the_seeds_samples_and_the_latency(self):
        self.open("model=g&seed=5")
        self.screenshot("grid")
        self.assertEqual(self.banner(), "")
        images = self.grid_images()
        self.assertAllEqual(images, self.expected_samples("g", 5))
        self.assertGreaterEqual((images.max(axis=(1, 2, 3)) - images.min(axis=(1, 2, 3))).min(), 64)  # not blank
        self.assertRegex(self.page.inner_text("#grid-latency"), r"^16 images in \d+ ms$")
        self.assertIn("g · latest version · images 8×8×1 · latent 8 · unconditional",
                      self.page.inner_text("#model-info"))
        self.assertEqual(self.page.eval_on_selector_all("#version option", "os => os.map(o => o.value)"),
                         ["", "2", "1"])
        self.assertTrue(self.page.is_hidden("#class-controls"))
        self.assertTrue(self.page.is_hidden("#translate-panel"))  # A translator's panel.
        # Offline-safe: everything the page loaded came from the server that served it.
        self.assertEqual({url for url in self.requests if not url.startswith(self.url + "/")}, set())

        renders = self.renders("grid-panel")
        self.page.click("#new-seed")
        self.page.click("#new-seed")  # two quick clicks: the grid must end on the second seed
        self.wait_for_redraw("grid-panel", renders)
        seed = int(self.page.input_value("#seed"))
        self.assertAllEqual(self.grid_images(), self.expected_samples("g", seed))
        self.assertIn(f"seed={seed}", self.page.url)

        renders, requests = self.renders("interp-panel"), len(self.requests)
        self.page.select_option("#version", "1")
        self.wait_for_redraw("interp-panel", renders)  # the last panel to redraw
        # metadata; sample (the latent panel's z); the grid; the latent image; sample (the pair's z); interpolate.
        self.assertEqual([url.removeprefix(self.url) for url in self.requests[requests:]],
                         ["/v1/models/g/versions/1/metadata"] + ["/v1/models/g/versions/1:predict"] * 5)
        self.assertIn("g · version 1 ·", self.page.inner_text("#model-info"))

    def test_slider_changes_the_image(self):
        self.open("model=g")
        before = self.canvas_pixels()
        self.assertAllEqual(before, self.expected_latent_image("g"))
        # The panel starts at seed 0's z, as the sample signature draws it: seed 0's sample.
        self.assertAllClose(before.astype(int), self.expected_samples("g", 0)[0].astype(int), atol=1)
        self.assertLen(self.page.query_selector_all("#sliders input[type=range]"), 6)

        renders = self.renders("latent-panel")
        self.page.focus("#z0")
        self.page.keyboard.press("End")  # as a user would: the slider to +3
        self.wait_for_redraw("latent-panel", renders)
        self.screenshot("slider")
        self.assertEqual(self.page.inner_text("#z0-value"), "3.00")
        self.assertEqual(self.page.evaluate("() => state.z[0]"), 3)
        after = self.canvas_pixels()
        self.assertNotAllEqual(after, before)
        self.assertAllEqual(after, self.expected_latent_image("g"))

    def test_class_selector_changes_the_images_of_a_conditional_model(self):
        self.open(f"model=c&classes={NUM_CLASSES}")
        self.assertTrue(self.page.is_visible("#class-controls"))
        self.assertEqual(self.page.eval_on_selector_all("#label option", "os => os.map(o => o.value)"),
                         ["0", "1", "2"])
        class_0 = self.grid_images()
        self.assertAllEqual(class_0, self.expected_samples("c", 0, label=0))
        latent_0 = self.canvas_pixels()

        renders = self.renders("interp-panel")
        self.page.select_option("#label", "2")
        self.wait_for_redraw("interp-panel", renders)  # the last panel to redraw
        self.screenshot("class")
        self.assertEqual(self.banner(), "")
        self.assertAllEqual(self.grid_images(), self.expected_samples("c", 0, label=2))
        self.assertNotAllEqual(self.grid_images(), class_0)
        self.assertNotAllEqual(self.canvas_pixels(), latent_0)
        self.assertAllEqual(self.canvas_pixels(), self.expected_latent_image("c", label=2))
        self.assertIn("label=2", self.page.url)

    def test_a_class_the_model_lacks_shows_the_server_s_message(self):
        self.open(f"model=c&classes={NUM_CLASSES + 2}&label={NUM_CLASSES + 1}")
        self.page.wait_for_selector("#error:not([hidden])")
        self.screenshot("bad_label")
        self.assertIn(f"label must be a class in [0, {NUM_CLASSES})", self.banner())

    def test_interpolation_is_the_export_s_and_animates_until_paused(self):
        self.open("model=g")
        frames = self.images("#filmstrip img")
        z = self.loaded["g"].signatures["sample"](seed=tf.constant([0, 1], tf.int64))["z"]
        expected = self.loaded["g"].signatures["interpolate"](
            z_start=z[:1], z_end=z[1:], num_steps=tf.constant([16]))["images"]
        self.assertAllEqual(frames, export.to_uint8(expected[0]).numpy())
        # The path runs from seed 0's sample to seed 1's.
        self.assertAllEqual(frames[[0, -1]], self.expected_samples("g", 0)[:2])
        self.assertRegex(self.page.inner_text("#interp-latency"), r"^16 frames in \d+ ms$")

        first = self.page.inner_text("#frame-number")
        self.page.wait_for_function("f => document.getElementById('frame-number').textContent !== f", arg=first)
        self.page.click("#play")
        self.assertEqual(self.page.get_attribute("#play", "aria-pressed"), "false")
        paused = self.page.inner_text("#frame-number")
        self.page.wait_for_timeout(500)
        self.assertEqual(self.page.inner_text("#frame-number"), paused)
        self.page.click("#filmstrip img:nth-child(16)")
        self.assertEqual(self.page.inner_text("#frame-number"), "16 / 16")
        self.screenshot("interpolation")

    def test_missing_model_shows_the_server_s_message(self):
        self.open("model=nope", path="/demo")
        self.screenshot("missing_model")
        self.assertEqual(self.banner(), "The model server answered HTTP 404: Could not find any versions of model "
                         "nope. This server serves: g, c, t, u, i, s.")
        self.assertTrue(self.page.is_hidden("#panels"))
        self.assertEqual(urllib.parse.urlsplit(self.page.url).path, "/demo/")  # relative URLs need the slash
        # The embedded server's config.json offers the models it serves.
        self.assertEqual(self.page.eval_on_selector_all("#model-names option", "os => os.map(o => o.value)"),
                         ["g", "c", "t", "u", "i", "s"])  # in the config's order
        with urllib.request.urlopen(f"{self.url}/demo/config.json", timeout=60) as response:
            self.assertEqual(json.loads(response.read()),
                             {"models": {"c": [1], "g": [1, 2], "i": [1], "t": [1], "u": [1], "s": [1]}})

    def test_a_translator_gets_the_translate_panel_and_its_test_images(self):
        self.open("model=t")
        self.assertEqual(self.banner(), "")
        self.assertEqual([self.page.is_visible(f"#{panel}-panel") for panel in ("translate", "grid", "latent", "interp")],
                         [True, False, False, False])
        self.assertIn("t · latest version · images 8×8×1 → 8×8×3 · translator, both directions",
                      self.page.inner_text("#model-info"))
        examples = self.stored_examples()
        self.assertAllEqual(self.images("#examples img"), np.stack([decode_png_bytes(png) for png in examples]))
        # The first test image is translated as the page opens; another when it is picked.
        self.assertAllEqual(self.images("#translate-output"), [self.translate_png(examples[0])])
        renders = self.renders("translate-panel")
        self.page.click("#examples button:nth-child(2)")
        self.wait_for_redraw("translate-panel", renders)
        self.screenshot("translate")
        self.assertAllEqual(self.images("#translate-output"), [self.translate_png(examples[1])])
        self.assertEqual(self.page.get_attribute("#examples button:nth-child(2)", "aria-pressed"), "true")
        self.assertRegex(self.page.inner_text("#translate-latency"), r"^1 image in \d+ ms$")
        self.assertEqual(self.signatures, ["examples", "examples", "translate_png", "translate_png"])

    def test_a_stroke_on_the_canvas_is_translated(self):
        self.open("model=t")
        box = self.page.locator("#draw-canvas").bounding_box()
        self.assertGreaterEqual(box["width"], 8 * 8)  # 8 x 8 pixels, shown scaled up
        renders = self.renders("translate-panel")
        self.page.mouse.move(box["x"] + 5, box["y"] + 5)
        self.page.mouse.down()
        self.page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] - 5, steps=8)
        self.page.mouse.up()
        self.wait_for_redraw("translate-panel", renders)
        drawing = decode_png(self.page.evaluate("() => document.getElementById('draw-canvas').toDataURL('image/png')"))
        self.assertEqual(drawing.min(), 0)  # a black stroke on the test image
        output = self.images("#translate-output")[0]
        self.assertEqual(output.shape, (8, 8, 3))
        self.assertAllEqual(output, self.translate_png(base64.b64decode(self.page.evaluate(
            "() => document.getElementById('draw-canvas').toDataURL('image/png').split(',')[1]"))))
        self.assertEqual(self.page.get_attribute("#examples button:nth-child(1)", "aria-pressed"), "false")

        renders = self.renders("translate-panel")
        self.page.click("#clear-drawing")
        self.wait_for_redraw("translate-panel", renders)
        self.assertAllEqual(self.images("#translate-output")[0],
                            self.translate_png(fixtures.png_bytes(np.full((8, 8), 255, np.uint8))))

    def test_a_finger_and_a_pen_draw_as_the_mouse_does(self):
        self.open("model=t")
        self.page.evaluate("""() => { window.pointerTypes = [];
            document.getElementById('draw-canvas').addEventListener('pointerdown', e => pointerTypes.push(e.pointerType)); }""")
        cdp = self.page.context.new_cdp_session(self.page)
        cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
        box = self.page.locator("#draw-canvas").bounding_box()
        left, top, right, bottom = box["x"] + 5, box["y"] + 5, box["x"] + box["width"] - 5, box["y"] + box["height"] - 5
        path = [(left + (right - left) * i / 8, top + (bottom - top) * i / 8) for i in range(9)]
        for pointer in ("touch", "pen"):
            with self.subTest(pointer):
                renders = self.renders("translate-panel")
                self.page.click("#clear-drawing")
                self.wait_for_redraw("translate-panel", renders)
                renders = self.renders("translate-panel")
                self.stroke(cdp, pointer, path)
                self.wait_for_redraw("translate-panel", renders)
                self.assertEqual(self.page.evaluate("() => pointerTypes.at(-1)"), pointer)
                drawing = decode_png(self.page.evaluate("() => document.getElementById('draw-canvas').toDataURL()"))
                self.assertEqual(drawing.min(), 0)  # the stroke is drawn
                self.assertAllEqual(self.images("#translate-output")[0], self.translate_png(base64.b64decode(
                    self.page.evaluate("() => document.getElementById('draw-canvas').toDataURL().split(',')[1]"))))

    def test_an_image_file_is_translated_and_a_file_that_is_none_says_so(self):
        self.open("model=t")
        picture = np.random.default_rng(1).integers(0, 256, (12, 20), dtype=np.uint8)  # resized by the export
        renders = self.renders("translate-panel")
        self.page.set_input_files("#upload", files=[{"name": "in.png", "mimeType": "image/png",
                                                     "buffer": fixtures.png_bytes(picture)}])
        self.wait_for_redraw("translate-panel", renders)
        # Sent as the browser re-encodes it (RGBA): a grey's luma may round 1 apart.
        expected = self.translate_png(fixtures.png_bytes(picture)).astype(int)
        self.assertAllClose(self.images("#translate-output")[0].astype(int), expected, atol=2)
        self.assertEqual(self.page.get_attribute("#translate-output", "alt"), "The model's translation of in.png")
        self.page.set_input_files("#upload", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                                     "buffer": b"not a picture"}])
        self.page.wait_for_selector("#error:not([hidden])")
        self.assertEqual(self.banner(), "notes.txt is not an image this browser can read.")

    def test_an_upscaler_upscales_its_test_images_and_a_file_at_its_own_size(self):
        self.open("model=u")
        self.assertEqual(self.banner(), "")
        self.assertEqual([self.page.is_visible(f"#{panel}-panel") for panel in ("translate", "upscale", "grid")],
                         [True, True, False])
        self.assertIn("u · latest version · images 4×4×1 → 8×8×1 · upscaler ×2", self.page.inner_text("#model-info"))
        signature = self.loaded["u"].signatures["upscale_png"]
        count = int(self.loaded["u"].signatures["examples"](index=tf.constant([0]))["num_examples"][0])
        examples = self.loaded["u"].signatures["examples"](index=tf.range(count))["images_png_bytes"].numpy()
        # Both panels show the test images, fetched once: the first (which says how many) and the rest.
        self.assertEqual(self.signatures.count("examples"), 2)
        # The first test image is upscaled as the page opens; another when it is picked.
        self.assertAllEqual(self.images("#upscale-output"),
                            [decode_png_bytes(signature(images_png_bytes=tf.constant(examples[:1]))
                                              ["images_png_bytes"].numpy()[0])])
        renders = self.renders("upscale-panel")
        self.page.click("#upscale-examples button:nth-child(2)")
        self.wait_for_redraw("upscale-panel", renders)
        self.assertAllEqual(self.images("#upscale-output"),
                            [decode_png_bytes(signature(images_png_bytes=tf.constant(examples[1:]))
                                              ["images_png_bytes"].numpy()[0])])
        self.assertEqual(self.page.get_attribute("#upscale-examples button:nth-child(2)", "aria-pressed"), "true")
        # A file of another size is upscaled at its own size (3x5 -> 6x10), not resized to the trained one.
        picture = np.random.default_rng(3).integers(0, 256, (3, 5), dtype=np.uint8)
        renders = self.renders("upscale-panel")
        self.page.set_input_files("#upscale-upload", files=[{"name": "small.png", "mimeType": "image/png",
                                                             "buffer": fixtures.png_bytes(picture)}])
        self.wait_for_redraw("upscale-panel", renders)
        self.screenshot("upscale")
        output = self.images("#upscale-output")[0].astype(int)
        expected = decode_png_bytes(signature(images_png_bytes=tf.constant([fixtures.png_bytes(picture)]))
                                    ["images_png_bytes"].numpy()[0]).astype(int)
        self.assertEqual(output.shape[:2], (6, 10))
        self.assertAllClose(output, expected, atol=2)  # the browser re-encodes the file (RGBA): luma may round
        self.assertEqual([self.page.inner_text(f"#upscale-{end}-size") for end in ("input", "output")],
                         ["Input 3×5", "Output 6×10"])
        self.assertEqual(self.page.get_attribute("#upscale-output", "alt"), "The model's upscaling of small.png")
        self.assertRegex(self.page.inner_text("#upscale-latency"), r"^1 image in \d+ ms$")

    def inpaint_png(self, png: bytes, mask_png: bytes) -> np.ndarray:
        """What model i's `inpaint_png` answers for one PNG file and its mask's: uint8 [H, W, C]."""
        answer = self.loaded["i"].signatures["inpaint_png"](images_png_bytes=tf.constant([png]),
                                                             mask_png_bytes=tf.constant([mask_png]))
        return answer["images_uint8"].numpy()[0]

    def test_an_inpainter_completes_the_pixels_erased_on_its_test_images(self):
        self.open("model=i")
        self.assertEqual([self.page.is_visible(f"#{panel}-panel") for panel in ("inpaint", "translate", "grid")],
                         [True, False, False])
        self.assertIn("i · latest version · images 8×8×1 + mask → 8×8×1 · inpainter", self.page.inner_text("#model-info"))
        signature = self.loaded["i"].signatures["examples"]
        examples = list(signature(index=tf.range(2))["images_png_bytes"].numpy())
        self.assertAllEqual(self.images("#inpaint-examples img"), np.stack([decode_png_bytes(png) for png in examples]))
        # The first test image opens with the centred hole erased (red), completed by the model.
        centre = inpainting.centre_mask((8, 8), 4)[0]
        self.assertAllEqual(self.images("#inpaint-output")[0],
                            self.inpaint_png(examples[0], fixtures.png_bytes((255 * centre[..., 0]).astype(np.uint8))))
        shown = decode_png(self.page.evaluate("() => document.getElementById('erase-canvas').toDataURL('image/png')"))
        self.assertAllEqual(shown[2:6, 2:6, :3], np.broadcast_to([255, 0, 0], (4, 4, 3)))

        # A stroke along the top row erases it too; every pixel not erased comes back as the test image's.
        box = self.page.locator("#erase-canvas").bounding_box()
        self.assertGreaterEqual(box["width"], 8 * 8)  # 8 x 8 pixels, shown scaled up
        row = box["y"] + box["height"] / 16  # the middle of the first row
        renders = self.renders("inpaint-panel")
        self.page.mouse.move(box["x"] + 2, row)
        self.page.mouse.down()
        self.page.mouse.move(box["x"] + box["width"] - 2, row, steps=8)
        self.page.mouse.up()
        self.wait_for_redraw("inpaint-panel", renders)
        self.screenshot("inpaint")
        erased = np.asarray(self.page.evaluate("() => erasedPixels()")).reshape(8, 8)
        self.assertGreaterEqual(erased[0].sum(), 6)
        self.assertTrue(erased[2:6, 2:6].all())
        self.assertFalse(erased[7].any())
        mask_png = base64.b64decode(self.page.evaluate("() => state.mask.toDataURL('image/png').split(',')[1]"))
        output = self.images("#inpaint-output")[0]
        self.assertAllEqual(output, self.inpaint_png(examples[0], mask_png))
        original = decode_png_bytes(examples[0])
        self.assertAllEqual(output[~erased], original[~erased])
        self.assertEqual(self.page.get_attribute("#inpaint-output", "alt"), "The model's completion of your erasure")
        self.assertRegex(self.page.inner_text("#inpaint-latency"), r"^1 image in \d+ ms$")

        # Restored, nothing is missing: the output is the test image itself; the second one opens with its hole.
        renders = self.renders("inpaint-panel")
        self.page.click("#restore-image")
        self.wait_for_redraw("inpaint-panel", renders)
        self.assertAllEqual(self.images("#inpaint-output")[0], original)
        renders = self.renders("inpaint-panel")
        self.page.click("#inpaint-examples button:nth-child(2)")
        self.wait_for_redraw("inpaint-panel", renders)
        self.assertEqual(self.page.get_attribute("#inpaint-examples button:nth-child(2)", "aria-pressed"), "true")
        self.assertEqual(self.signatures[-1], "inpaint_png")
    def test_a_text_to_image_model_draws_its_prompt_and_refuses_an_empty_one(self):
        self.open("model=s&seed=3")
        self.assertEqual(self.banner(), "")
        self.assertEqual([self.page.is_visible(f"#{panel}-panel") for panel in ("prompt", "grid", "translate")],
                         [True, False, False])
        self.assertIn("s · latest version · images 8×8×1 · latent 8 · text to image", self.page.inner_text("#model-info"))
        generate = self.loaded["s"].signatures["generate"]
        seeds = tf.range(3, 11, dtype=tf.int64)
        expected = generate(text=tf.constant(["a dark, wide, patterned coat"] * 8), seed=seeds)["images_uint8"]
        self.assertAllEqual(self.images("#prompt-grid img"), expected)
        renders = self.renders("prompt-panel")
        self.page.fill("#prompt", "a coat of words it never saw")
        self.page.click("#generate")
        self.wait_for_redraw("prompt-panel", renders)
        self.screenshot("prompt")
        expected = generate(text=tf.constant(["a coat of words it never saw"] * 8), seed=seeds)["images_uint8"]
        self.assertAllEqual(self.images("#prompt-grid img"), expected)
        self.assertRegex(self.page.inner_text("#prompt-latency"), r"^8 images in \d+ ms$")
        self.page.fill("#prompt", " ")
        self.page.click("#generate")
        self.page.wait_for_selector("#error:not([hidden])")
        self.assertIn("every prompt needs at least one word", self.banner())

    def test_the_reverse_direction_uses_reverse_png_and_its_test_images(self):
        self.open("model=t")
        renders = self.renders("translate-panel")
        self.page.click("#reverse")
        self.wait_for_redraw("translate-panel", renders)
        self.screenshot("translate_reverse")
        self.assertEqual(self.page.get_attribute("#reverse", "aria-pressed"), "true")
        self.assertEqual(self.page.inner_text("#translate-signature"), "reverse_png")
        examples = self.stored_examples("reverse_examples")
        self.assertAllEqual(self.images("#examples img"), np.stack([decode_png_bytes(png) for png in examples]))
        output = self.images("#translate-output")[0]
        self.assertEqual(output.shape, (8, 8, 1))
        self.assertAllEqual(output, self.translate_png(examples[0], "reverse_png"))
        self.assertEqual(self.signatures[-3:], ["reverse_examples", "reverse_examples", "reverse_png"])

    def test_stopped_server_shows_that_it_cannot_be_reached(self):
        with Server(model_config.single_model_config("g", os.path.join(self.base, "g")), port=0, rest_api_port=0,
                    file_system_poll_wait_seconds=0, demo_page=True) as server:
            url = f"http://127.0.0.1:{server.rest_port}"
            self.open("model=g", url=url)
            self.assertEqual(self.banner(), "")
        self.page.click("#new-seed")
        self.page.wait_for_selector("#error:not([hidden])")
        self.screenshot("server_stopped")
        self.assertEqual(self.banner(), f"Cannot reach the model server at {url}: is it running?")
        self.assertIn("stale", self.page.get_attribute("#grid-panel", "class"))
        self.assertEqual(self.page.inner_text("#grid-latency"), "")


if __name__ == "__main__":
    tf.test.main()
