"""Captions of labelled images, from attributes measured on the image itself (numpy only).

A caption names the image's class and three binary attributes, each measured on the pixels:

  shade     light | dark       the mean ink of the foreground (a dark garment is drawn with little ink:
                               Fashion-MNIST is bright garments on black)
  fit       narrow | wide      the foreground's mean width per row it covers, over the image width
  texture   plain | patterned  the mean |Laplacian| over the foreground's interior (print, stripes,
                               buttons and folds are high-frequency energy inside the silhouette)

Each attribute's threshold is the median of its measure over one class's training images
(`fit_thresholds`), so within every class each attribute is about half one value and half the
other: the words say something the class name does not. Captions come from templates: the
training split's phrasings (`TRAIN_TEMPLATES`) and held-out phrasings for the test split
(`TEST_TEMPLATES`) with other sentence structures and some words the training captions never
use, e.g. "a dark, wide, patterned t-shirt" in training and "a picture of a wide t-shirt with a
pattern in a dark shade" in test. Image i's template is a hash of (seed, i): the same image
always gets the same caption.

This module is a leaf: numpy, no TensorFlow.
"""

import collections

import numpy as np

FASHION_MNIST_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                         "ankle boot")
# Class names of the sources captions know, by the data spec of the source.
CLASS_NAMES = {"fashion_mnist": FASHION_MNIST_CLASSES, "idx:/usr/share/datasets/fashion-mnist": FASHION_MNIST_CLASSES}
ATTRIBUTES = ("shade", "fit", "texture")
# Each attribute's words for its values 0 and 1: (adjective, phrase).
WORDS = {
    "shade": (("light", "in a light shade"), ("dark", "in a dark shade")),
    "fit": (("narrow", "with a narrow cut"), ("wide", "with a wide cut")),
    "texture": (("plain", "without a pattern"), ("patterned", "with a pattern")),
}
TRAIN_TEMPLATES = (
    "a {shade}, {fit}, {texture} {cls}",
    "a {shade} {fit} {cls} {texture_phrase}",
    "a photo of a {texture} {cls} {shade_phrase}, {fit}",
    "{cls}: {fit}, {shade} and {texture}",
)
# Held out: sentence structures and words ("picture", "showing", "an image") the training captions never use.
TEST_TEMPLATES = (
    "a picture of a {fit} {cls} {texture_phrase} {shade_phrase}",
    "an image showing a {texture}, {shade} {cls} {fit_phrase}",
)
TEMPLATES = {"train": TRAIN_TEMPLATES, "test": TEST_TEMPLATES}
# What TextVectorization's default standardisation strips (its DEFAULT_STRIP_REGEX).
_PUNCTUATION = set('!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\'')
# A pixel with at least this much ink (of 1) is foreground.
FOREGROUND = 0.1


def class_names(source: str, num_classes: int) -> tuple:
    """The class names of a labelled source (`CLASS_NAMES`), or "class 0", "class 1", ... for one captions
    does not know."""
    names = CLASS_NAMES.get(source)
    if names is not None and len(names) == num_classes:
        return names
    return tuple(f"class {c}" for c in range(num_classes))


def ink(images) -> np.ndarray:
    """Images [N, H, W] or [N, H, W, 1], uint8 in [0, 255] or float in [-1, 1] -> float32 [N, H, W] in [0, 1]."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return np.clip((images.astype(np.float32) + 1.0) / 2.0, 0.0, 1.0)


def measures(images) -> np.ndarray:
    """The attributes' raw measures: images (as `ink` takes them) -> float32 [N, 3] (shade, fit, texture).

    shade: the mean ink of foreground pixels (ink >= FOREGROUND), in [0, 1]; 0 for a blank image.
    fit: foreground pixels over (rows with foreground x W): the mean fraction of a row the
      garment covers, in [0, 1].
    texture: the mean |4-neighbour Laplacian| of the ink over interior foreground pixels (the
      pixel and its 4 neighbours foreground: the silhouette's own edge is not texture); 0 when
      there are none.
    """
    pixels = ink(images)
    width = pixels.shape[2]
    mask = pixels >= FOREGROUND
    count = mask.sum(axis=(1, 2))
    shade = np.where(count > 0, (pixels * mask).sum(axis=(1, 2)) / np.maximum(count, 1), 0.0)
    rows = mask.any(axis=2).sum(axis=1)
    fit = count / np.maximum(rows * width, 1)
    padded = np.pad(pixels, ((0, 0), (1, 1), (1, 1)))
    padded_mask = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    neighbours = [padded[:, 1 + dy:padded.shape[1] - 1 + dy, 1 + dx:padded.shape[2] - 1 + dx]
                  for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    interior = mask.copy()
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        interior &= padded_mask[:, 1 + dy:padded_mask.shape[1] - 1 + dy, 1 + dx:padded_mask.shape[2] - 1 + dx]
    laplacian = np.abs(4.0 * pixels - sum(neighbours))
    inside = interior.sum(axis=(1, 2))
    texture = np.where(inside > 0, (laplacian * interior).sum(axis=(1, 2)) / np.maximum(inside, 1), 0.0)
    return np.stack([shade, fit, texture], axis=1).astype(np.float32)


def fit_thresholds(images, labels, num_classes: int) -> np.ndarray:
    """float32 [num_classes, 3]: each class's median of each measure over `images` (the training split).

    A class with no images takes the medians over all images.
    """
    values = measures(images)
    labels = np.asarray(labels)
    overall = np.median(values, axis=0)
    return np.stack([np.median(values[labels == c], axis=0) if np.any(labels == c) else overall
                     for c in range(num_classes)]).astype(np.float32)


def attributes(images, labels, thresholds) -> np.ndarray:
    """int32 [N, 3], each attribute's value (the index into its WORDS): 1 = dark, wide, patterned.

    dark: shade below the class's threshold (less ink); wide and patterned: fit and texture above it.
    """
    values = measures(images)
    limits = np.asarray(thresholds, np.float32)[np.asarray(labels)]
    return np.stack([values[:, 0] < limits[:, 0], values[:, 1] > limits[:, 1], values[:, 2] > limits[:, 2]],
                    axis=1).astype(np.int32)


def caption(template: str, name: str, values) -> str:
    """One caption: `template` filled with the class `name` and the attribute `values` (int [3])."""
    words = {}
    for attribute, value in zip(ATTRIBUTES, values):
        words[attribute], words[f"{attribute}_phrase"] = WORDS[attribute][int(value)]
    return template.format(cls=name, **words)


def template_indices(indices, split: str, seed: int = 0) -> np.ndarray:
    """The templates images `indices` (int [N]) of a split get: int [N], a hash of (seed, index) each, so an
    image's caption does not depend on which other images are captioned with it."""
    mixed = (np.asarray(indices, np.uint64) * np.uint64(0x9E3779B1) + np.uint64(seed) * np.uint64(0x85EBCA77))
    mixed = (mixed ^ (mixed >> np.uint64(15))) * np.uint64(0x2C1B3C6D) % np.uint64(2 ** 32)
    return ((mixed >> np.uint64(8)) % np.uint64(len(TEMPLATES[split]))).astype(np.int64)


def captions(labels, values, names, split: str = "train", seed: int = 0) -> np.ndarray:
    """Image i's caption for labels int [N] and attribute values int [N, 3]: bytes [N] (UTF-8).

    `split` picks the phrasings (TEMPLATES: training or held-out); image i's template is
    `template_indices([i], split, seed)`, so captions are deterministic per image.
    """
    if split not in TEMPLATES:
        raise ValueError(f"Unknown caption split {split!r}; valid splits: {', '.join(TEMPLATES)}.")
    templates = TEMPLATES[split]
    labels, values = np.asarray(labels, np.int64), np.asarray(values, np.int64)
    chosen = template_indices(np.arange(len(labels)), split, seed)
    # Every caption is one of classes x 8 attribute combinations x templates: format each once.
    keys = (labels * 8 + values[:, 0] * 4 + values[:, 1] * 2 + values[:, 2]) * len(templates) + chosen
    unique, inverse = np.unique(keys, return_inverse=True)
    texts = [caption(templates[key % len(templates)], names[key // len(templates) // 8],
                     [(key // len(templates)) >> bit & 1 for bit in (2, 1, 0)]).encode() for key in unique.tolist()]
    return np.array(texts, dtype=object)[inverse.reshape(-1)] if len(labels) else np.array([], dtype=object)


def every_caption(names, split: str = "train") -> list:
    """Every caption a split's templates make of `names`: each class, attribute combination and template."""
    combinations = np.array(np.meshgrid(*[[0, 1]] * len(ATTRIBUTES), indexing="ij")).reshape(len(ATTRIBUTES), -1).T
    return [caption(template, name, values) for name in names for values in combinations
            for template in TEMPLATES[split]]


def tokens(text: str) -> list:
    """A caption's words as Keras' TextVectorization splits them by default: lower case, ASCII punctuation
    removed (so "t-shirt" is one word, "tshirt"), split on whitespace."""
    return "".join(ch for ch in text.lower() if ch not in _PUNCTUATION).split()


def vocabulary(names) -> list:
    """The training captions' words, most frequent first (ties alphabetical): a text encoder's vocabulary.

    The words of `every_caption(names, "train")`, the captions the training split can hold, so a
    run and its restore build the same vocabulary without reading the data.
    """
    counts = collections.Counter(word for text in every_caption(names, "train") for word in tokens(text))
    return [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
