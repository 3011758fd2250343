"""Turns a dataset spec into tf.data batches of images in [-1, 1].

Spec grammar:

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
  mnist          dataset-fashion-mnist package puts them there), else tfds:NAME.

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

from tfgan_course import toy

# Local IDX directories that the bare dataset names resolve to first.
ALIASES = {
    "fashion_mnist": "/usr/share/datasets/fashion-mnist",
    "mnist": "/usr/share/datasets/mnist",
}

_SPEC_FORMS = "tfds:NAME, idx:DIR, folder:DIR, toy:NAME, fashion_mnist, mnist"
# A toy "epoch": fixed samples, so epochs mean the same as for images.
TOY_EXAMPLES = 100_000
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_IDX_IMAGES, _IDX_LABELS = 0x00000803, 0x00000801
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
# File sources are shuffled after the cache: the buffer bounds memory, not I/O.
_FILE_SHUFFLE_BUFFER = 10_000


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What make_dataset resolved a spec to, and what it produces.

    Attributes:
      spec: the spec as given, e.g. "fashion_mnist".
      source: the resolved spec, e.g. "idx:/usr/share/datasets/fashion-mnist".
      num_examples: examples in the split, before batching.
      image_shape: (H, W, C) of the produced images.
      num_classes: number of label classes; 0 when unlabelled.
    """

    spec: str
    source: str
    num_examples: int
    image_shape: tuple
    num_classes: int


def normalize(images) -> tf.Tensor:
    """Maps pixel values in [0, 255] to float32 in [-1, 1].

    The lectures' ToTensor() + Normalize(mean=0.5, std=0.5). The result is clipped so that
    resampling round-off never leaves the range.

    Args:
      images: tensor or array of any shape and numeric dtype, values in [0, 255].

    Returns:
      float32 tf.Tensor of the same shape; 0 maps to -1, 255 to 1.
    """
    return tf.clip_by_value(tf.cast(images, tf.float32) / 127.5 - 1.0, -1.0, 1.0)


def denormalize(images) -> tf.Tensor:
    """Maps images in [-1, 1] back to uint8 pixels in [0, 255]; inverts `normalize`.

    Args:
      images: float tensor or array of any shape; values outside [-1, 1] (as a generator
        may produce) are clipped.

    Returns:
      uint8 tf.Tensor of the same shape (call .numpy() for PIL or matplotlib).
    """
    images = tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)
    return tf.cast(tf.round((images + 1.0) * 127.5), tf.uint8)


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
) -> tuple[tf.data.Dataset, DataInfo]:
    """Builds a shuffled, batched, normalised image pipeline from a dataset spec.

    Args:
      spec: a dataset spec; see the module docstring.
      image_size: side S of the square output images; sources of another size are resized
        (bilinear, antialiased) so the shorter side is S, then center-cropped.
      channels: 1 or 3; grey sources are tiled to RGB, RGB sources converted to grey.
      batch_size: examples per batch; the last partial batch is dropped unless drop_remainder
        is False (then a source smaller than batch_size gives one partial batch).
      split: "train" or "test" (any TFDS split string for tfds: specs).
      data_dir: TFDS data directory; None for the TFDS default.
      shuffle: whether to shuffle, in a new order each epoch.
      seed: shuffle seed; the same seed gives the same sequence of epochs.
      repeat: whether to repeat indefinitely.
      drop_remainder: False keeps the last partial batch: every example once, for scoring
        (training wants equal batches).

    Returns:
      (dataset, info). The dataset yields (images, labels) when the source is labelled,
      else images alone: images float32 [batch_size, S, S, channels] in [-1, 1], labels
      int32 [batch_size].

    Raises:
      ValueError: a bad spec or argument; a missing, empty, unreadable or too small source.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if image_size < 1 or batch_size < 1:
        raise ValueError(
            f"image_size and batch_size must be >= 1, got {image_size} and {batch_size}"
        )
    source = _resolve(spec, split)
    scheme, _, arg = source.partition(":")
    if scheme not in SOURCES or not arg:
        raise ValueError(f"unknown dataset spec {spec!r}; valid forms: {_SPEC_FORMS}")
    request = _Request(image_size, channels, batch_size, split, data_dir, shuffle, seed, repeat, drop_remainder)
    ds, num_examples, example_shape, num_classes = SOURCES[scheme](spec, source, arg, request)
    return ds.prefetch(tf.data.AUTOTUNE), DataInfo(spec, source, num_examples, example_shape, num_classes)


@dataclasses.dataclass(frozen=True)
class _Request:
    """make_dataset's arguments, as a source loader gets them."""

    image_size: int
    channels: int
    batch_size: int
    split: str
    data_dir: str | None
    shuffle: bool
    seed: int
    repeat: bool
    drop_remainder: bool

    @property
    def image_shape(self):
        return (self.image_size, self.image_size, self.channels)

    def fit_uint8(self, images):
        """Pixels of any size and dtype -> uint8 [..., S, S, channels]."""
        return tf.saturate_cast(tf.round(_fit(images, self.image_size, self.channels)), tf.uint8)

    def check_size(self, source, num_examples):
        if self.drop_remainder and num_examples < self.batch_size:
            raise ValueError(f"{source}: {num_examples} images < batch_size {self.batch_size}: "
                             "lower --batch_size or add data")


# A source loader: (spec, resolved source, its argument, _Request) -> (batched dataset without
# prefetch, examples in the split, one example's shape, number of classes or 0).

def _idx_source(spec, source, directory, request):
    """idx:DIR: MNIST-format files, held in memory and batched by shuffled index batches."""
    del spec
    images, labels = _read_idx_dir(directory, request.split)
    request.check_size(source, len(images))
    ds = _in_memory_batches(images, labels, request.batch_size, request.shuffle, request.seed, request.repeat,
                            request.drop_remainder,
                            lambda batch: normalize(_fit(batch, request.image_size, request.channels)))
    return ds, len(images), request.image_shape, 0 if labels is None else int(labels.max()) + 1


def _folder_source(spec, source, directory, request):
    """folder:DIR: every image file under DIR, unlabelled."""
    del spec
    ds, num_examples = _folder_images(directory)
    ds = ds.map(request.fit_uint8, num_parallel_calls=tf.data.AUTOTUNE)
    return _file_batches(ds, source, num_examples, 0, request), num_examples, request.image_shape, 0


def _tfds_source(spec, source, name, request):
    """tfds:NAME: a TFDS image dataset, labelled when it has labels; only a prepared copy (see `prepare`)."""
    ds, num_examples, num_classes = _load_tfds_or_explain(spec, name, request.split, request.data_dir)
    ds = ds.map(lambda ex: _pick(ex, request.fit_uint8, num_classes), num_parallel_calls=tf.data.AUTOTUNE)
    return _file_batches(ds, source, num_examples, num_classes, request), num_examples, request.image_shape, num_classes


def _file_batches(ds, source, num_examples, num_classes, request):
    """Decoded uint8 examples -> cached, shuffled, batched, normalised batches."""
    # Decoding and resizing are the expensive part: do them once, and cache uint8,
    # a quarter the size of float32.
    ds = ds.ignore_errors().cache()
    request.check_size(source, num_examples)
    if request.shuffle:
        ds = ds.shuffle(min(_FILE_SHUFFLE_BUFFER, num_examples), seed=request.seed, reshuffle_each_iteration=True)
    ds = ds.batch(request.batch_size, drop_remainder=request.drop_remainder)
    ds = ds.map((lambda x, y: (normalize(x), y)) if num_classes else normalize, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.repeat() if request.repeat else ds


def _in_memory_batches(images, labels, batch_size, shuffle, seed, repeat, drop_remainder, per_batch):
    """Batches of in-memory uint8 images (and labels), gathered by shuffled index batches.

    Each pass draws one random permutation (a new one every pass, as
    `shuffle(reshuffle_each_iteration=True)` would) and slices it into batches
    of indices, so the pipeline handles one element per batch, not per image:
    about twice the images/s of shuffling 60,000 single images, which an MLP
    GAN's step would otherwise outrun (benchmarks/README.md).
    """
    count = len(images)
    images = tf.constant(images)
    labels = None if labels is None else tf.constant(labels)

    def one_pass(pass_seed):
        if shuffle:
            order = tf.argsort(tf.random.stateless_uniform([count], seed=tf.stack([pass_seed, seed])))
        else:
            order = tf.range(count)
        full = count // batch_size
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(order[:full * batch_size], [full, batch_size]))
        if not drop_remainder and count % batch_size:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size:]))
        return batches

    # A fresh seed per pass, drawn from `seed`: the same seed gives the same passes.
    pass_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    batches = pass_seeds.flat_map(one_pass) if repeat else pass_seeds.take(1).flat_map(one_pass)
    if labels is None:
        return batches.map(lambda index: per_batch(tf.gather(images, index)), num_parallel_calls=tf.data.AUTOTUNE)
    return batches.map(lambda index: (per_batch(tf.gather(images, index)), tf.gather(labels, index)),
                       num_parallel_calls=tf.data.AUTOTUNE)


def load_examples(spec, split, num_samples, image_shape, data_dir=None, seed=0):
    """Up to num_samples shuffled real examples of a split: (images [N, H, W, C] in [-1, 1], labels [N] or None, info)."""
    dataset, info = make_dataset(spec, image_size=image_shape[0], channels=image_shape[-1], batch_size=500,
                                 split=split, data_dir=data_dir, shuffle=True, seed=seed, repeat=False,
                                 drop_remainder=False)
    images, labels = take(dataset, num_samples)
    return images, labels, info


def take(dataset, count):
    """The first `count` examples (fewer if batches run out) of a batched dataset: (images, labels or None)."""
    images, labels, total = [], [], 0
    for element in dataset:
        batch, batch_labels = element if isinstance(element, tuple) else (element, None)
        images.append(batch.numpy())
        labels.append(None if batch_labels is None else batch_labels.numpy())
        total += len(images[-1])
        if total >= count:
            break
    labels = None if labels[0] is None else np.concatenate(labels)[:count]
    return np.concatenate(images)[:count], labels


def _toy_source(spec, source, name, request):
    """toy:NAME: float32 [batch_size, dim] vectors of a toy distribution (`toy.py`)."""
    del source
    if request.drop_remainder and request.batch_size > TOY_EXAMPLES:
        raise ValueError(f"{spec}: batch_size {request.batch_size} > {TOY_EXAMPLES} toy samples: lower --batch_size")
    # The test split is drawn with another seed: fresh samples of the same distribution.
    vectors = toy.sample(name, TOY_EXAMPLES, seed=request.seed + (0 if request.split == "train" else 1_000_003))
    ds = tf.data.Dataset.from_tensor_slices(vectors)
    if request.shuffle:
        ds = ds.shuffle(TOY_EXAMPLES, seed=request.seed, reshuffle_each_iteration=True)
    ds = ds.batch(request.batch_size, drop_remainder=request.drop_remainder)
    if request.repeat:
        ds = ds.repeat()
    return ds, TOY_EXAMPLES, tuple(vectors.shape[1:]), 0


SOURCES = {"idx": _idx_source, "folder": _folder_source, "tfds": _tfds_source, "toy": _toy_source}


def _resolve(spec, split):
    """Maps a bare alias to idx:DIR when its IDX files are there, else to tfds:NAME."""
    if spec not in ALIASES:
        return spec
    directory = ALIASES[spec]
    if _idx_path(directory, _IDX_PREFIX.get(split, split), "images-idx3"):
        return f"idx:{directory}"
    return f"tfds:{spec}"


def _fit(images, image_size, channels):
    """Pixels [..., H, W, C] of any dtype -> float32 [..., S, S, channels] in [0, 255]."""
    images = tf.cast(images, tf.float32)
    if images.shape[-1] == 4:
        images = images[..., :3]  # Drop alpha.
    # Grey before resampling and RGB after: fewer channels to resample either way.
    if channels == 1 and images.shape[-1] == 3:
        images = tf.image.rgb_to_grayscale(images)
    if tuple(images.shape[-3:-1]) != (image_size, image_size):
        images = _resize_and_crop(images, image_size)
    if channels == 3 and images.shape[-1] == 1:
        images = tf.image.grayscale_to_rgb(images)
    return images


def _resize_and_crop(images, size):
    """torchvision's Resize(size) + CenterCrop(size) on float [..., H, W, C]."""
    hw = tf.cast(tf.shape(images)[-3:-1], tf.float32)
    new_hw = tf.maximum(tf.cast(tf.round(hw * size / tf.reduce_min(hw)), tf.int32), size)
    images = tf.image.resize(images, new_hw, method="bilinear", antialias=True)
    return tf.image.resize_with_crop_or_pad(images, size, size)


def _pick(example, fit_uint8, num_classes):
    """A TFDS example dict -> (image, label), or image when unlabelled."""
    image = fit_uint8(example["image"])
    return (image, tf.cast(example["label"], tf.int32)) if num_classes else image


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


def _folder_images(directory):
    """The image files under directory: (dataset of uint8 [H, W, 3], number of files)."""
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

    def decode(path):
        return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)

    ds = tf.data.Dataset.from_tensor_slices(good)
    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE), len(good)


def prepare(spec: str, data_dir: str | None = None) -> None:
    """Downloads and prepares the TFDS dataset a spec reads, unless TFDS has it; needs internet.

    A no-op for specs that read local files (idx:, folder:, toy:, an alias with its IDX files).

    Raises:
      ValueError: TFDS does not know the dataset, or could not download or prepare it.
    """
    source = _resolve(spec, "train")
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
                "t10k-labels-idx1-ubyte (raw or .gz).")
    return "pass --data_dir=DIR where TFDS has prepared it."


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
