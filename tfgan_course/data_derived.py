"""Specs built on other specs: derived images, class filters, pairs and unpaired domains.

  edges:SPEC             Sobel edge maps of SPEC's images: black one-pixel outlines on white, like
                         a sketch (pix2pix's edges2shoes). The gradient is taken at twice the
                         resolution, thinned to its ridge (non-maximum suppression along the
                         gradient), thresholded at EDGE_THRESHOLD of each image's strongest edge,
                         then box-filtered back down. 1 channel.
  grey:SPEC              SPEC's images in greyscale (ITU-R 601 luma). 1 channel.
  invert:SPEC            255 - x: white on black becomes black on white.
  classes:C,C,...:SPEC   only the examples of these classes, e.g. classes:5,7,8,9:fashion_mnist
                         (sandals, sneakers, bags, ankle boots); labels keep their values.
  pair:TRANSFORM:SPEC    a paired spec: input TRANSFORM(x), target x, for TRANSFORM one of
                         TRANSFORMS (edges, grey, invert), e.g. pair:edges:classes:5,7,8,9:fashion_mnist.
  lowres:F[:METHOD]:SPEC a super-resolution pair: input x downsampled F times (F = 2, 4 or 8; METHOD
                         one of DOWNSAMPLING, area by default), target x, e.g. lowres:4:fashion_mnist
                         (7x7 -> 28x28 at --image_size=28), lowres:2:bicubic:fashion_mnist.
  unpaired:SPEC_A|SPEC_B an unpaired spec: two image specs as CycleGAN's domains a and b, e.g.
                         unpaired:classes:7:fashion_mnist|classes:9:fashion_mnist.
  cyclegan:DIR           an unpaired spec from the CycleGAN datasets' layout: DIR/trainA, DIR/trainB
                         (DIR/testA, DIR/testB for split "test"), folders of images.

SPEC is any image spec, derived ones included. Every image is fetched at the requested size and
channels; edges: and grey: make 1-channel images, which a paired or unpaired spec keeps (a
colourisation pair pair:grey:emoji:google has a 1-channel input and a 3-channel target) and an
image spec converts to the requested channels like any grey source.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from tfgan_course import data_pipeline

# An edge pixel's gradient is at least this fraction of its image's strongest gradient.
EDGE_THRESHOLD = 0.2


def grey(images):
    """float pixels [B, H, W, C] -> [B, H, W, 1], the luma of RGB or the grey channel as it is."""
    return tf.image.rgb_to_grayscale(images) if images.shape[-1] == 3 else images


def invert(images):
    """float pixels [B, H, W, C] in [0, 255] -> 255 - pixels."""
    return 255.0 - images


def edges(images, threshold=EDGE_THRESHOLD):
    """Sobel edge maps: float pixels [B, H, W, C] in [0, 255] -> black outlines on white [B, H, W, 1].

    Computed at 2x (bilinear), thinned by non-maximum suppression along the gradient (four
    directions), thresholded at `threshold` of each image's largest gradient, then each 2x2
    block becomes black in proportion to its edge pixels (a line through a block, 2 of 4, is
    fully black): one-pixel outlines. A blank image gives a blank (white) map.
    """
    grey_images = grey(images)
    height, width = grey_images.shape[1], grey_images.shape[2]
    up = tf.image.resize(grey_images, [2 * height, 2 * width], method="bilinear")
    gradients = tf.image.sobel_edges(up)[..., 0, :]  # [B, 2H, 2W, 2]: d/dy, d/dx
    dy, dx = gradients[..., 0], gradients[..., 1]
    magnitude = tf.sqrt(dy * dy + dx * dx)
    # The neighbours along the gradient, in 4 quantised directions (0, 45, 90, 135 degrees).
    direction = tf.cast(tf.math.floormod(tf.round(tf.math.atan2(dy, dx) / (np.pi / 4)), 4), tf.int32)
    padded = tf.pad(magnitude, [[0, 0], [1, 1], [1, 1]])

    def shifted(row, col):
        return padded[:, 1 + row:1 + row + 2 * height, 1 + col:1 + col + 2 * width]

    pick = tf.one_hot(direction, 4)
    ahead = tf.reduce_sum(tf.stack([shifted(0, 1), shifted(1, 1), shifted(1, 0), shifted(1, -1)], -1) * pick, -1)
    behind = tf.reduce_sum(tf.stack([shifted(0, -1), shifted(-1, -1), shifted(-1, 0), shifted(-1, 1)], -1) * pick, -1)
    # Strict on one side: a ridge two pixels wide (a step edge) keeps one of them.
    ridge = (magnitude > ahead) & (magnitude >= behind)
    strongest = tf.reduce_max(magnitude, axis=[1, 2], keepdims=True)
    edge = tf.cast(ridge & (magnitude > threshold * strongest), tf.float32)[..., tf.newaxis]
    coverage = tf.nn.avg_pool2d(edge, 2, 2, "VALID")
    return 255.0 * (1.0 - tf.minimum(1.0, 2.0 * coverage))


TRANSFORMS = {"edges": edges, "grey": grey, "invert": invert}


def _named(examples, source):
    return dataclasses.replace(examples, source=source)


def _image_examples(spec, inner, request):
    """The examples of `inner`, which must be an image spec (not paired or unpaired)."""
    if not inner:
        raise ValueError(f"{spec}: missing the image spec it is built on, e.g. {spec}fashion_mnist")
    examples = request.examples(inner)
    if examples.kind != "images":
        raise ValueError(f"{spec}: {inner} is a {examples.kind} spec; this form takes an image spec")
    return examples


def _transform_loader(name):
    transform = TRANSFORMS[name]

    def load(spec, source, inner, request):
        del source
        examples = _image_examples(spec, inner, request)
        return _named(examples.map(lambda batch: {**batch, "image": transform(batch["image"])}),
                      f"{name}:{examples.source}")

    load.__doc__ = f"{name}:SPEC: {transform.__doc__.splitlines()[0]}"
    return load


def _classes_source(spec, source, arg, request):
    """classes:C,C,...:SPEC: the examples of SPEC whose label is one of C."""
    del source
    listed, _, inner = arg.partition(":")
    try:
        classes = sorted({int(c) for c in listed.split(",")})
    except ValueError:
        raise ValueError(f"{spec}: classes:C,C,...:SPEC takes class numbers, e.g. classes:5,7,8,9:fashion_mnist; "
                         f"got {listed!r}") from None
    examples = _image_examples(spec, inner, request)
    if not examples.num_classes:
        raise ValueError(f"{spec}: {inner} has no labels to filter by; classes: takes a labelled spec")
    examples = examples.only(classes)
    if not examples.count:
        raise ValueError(f"{spec}: {inner} has no examples of classes {listed} in its {request.split} split "
                         f"(its labels are 0..{examples.num_classes - 1})")
    return _named(examples, f"classes:{listed}:{examples.source}")


def _paired(examples, transform, source):
    """`examples` of an image spec as pairs: input transform(x), target x (and the label), named `source`."""
    def paired(batch):
        out = {"input": transform(batch["image"]), "target": batch["image"]}
        if data_pipeline.LABEL in batch:
            out[data_pipeline.LABEL] = batch[data_pipeline.LABEL]
        return out

    return _named(examples.map(paired), source)


def _pair_source(spec, source, arg, request):
    """pair:TRANSFORM:SPEC: input TRANSFORM(x), target x, for each image x of SPEC."""
    del source
    name, _, inner = arg.partition(":")
    if name not in TRANSFORMS:
        raise ValueError(f"{spec}: unknown transform {name!r}; pair:TRANSFORM:SPEC takes one of "
                         f"{', '.join(TRANSFORMS)}")
    examples = _image_examples(spec, inner, request)
    return _paired(examples, TRANSFORMS[name], f"pair:{name}:{examples.source}")


# How lowres: shrinks an image. Area averages each F x F block: with bicubic upsampling back, Fashion-MNIST's
# test split at 4x scores 16.0 dB / SSIM 0.454 (the SRGAN issue's bicubic figures), antialiased bicubic 15.9 dB /
# 0.439. Bicubic is antialiased (MATLAB's imresize, the SRGAN paper's): without it 4x aliases.
DOWNSAMPLING = {"area": {"method": "area"}, "bicubic": {"method": "bicubic", "antialias": True}}
LOWRES_FACTORS = (2, 4, 8)


def lowres(images, factor, method="area"):
    """Float pixels [B, H, W, C] in [0, 255] -> [B, H / factor, W / factor, C], whole values in [0, 255].

    Rounded to whole pixel values, as a low-resolution image saved in 8 bits would be: the input a
    super-resolution model is served is such a file, and the in-memory and streamed pipelines then agree.
    """
    height, width = images.shape[1], images.shape[2]
    small = tf.image.resize(images, [height // factor, width // factor], **DOWNSAMPLING[method])
    return tf.clip_by_value(tf.round(small), 0.0, 255.0)


def parse_lowres(spec: str):
    """lowres:F[:METHOD]:SPEC -> (F, METHOD, SPEC); a ValueError naming the form for anything else."""
    scheme, _, arg = spec.partition(":")
    factor, _, rest = arg.partition(":")
    method, _, inner = rest.partition(":")
    if method not in DOWNSAMPLING:
        method, inner = "area", rest
    if scheme != "lowres" or not factor.isdigit() or int(factor) not in LOWRES_FACTORS:
        raise ValueError(f"{spec}: lowres:F[:METHOD]:SPEC takes a factor F of {', '.join(map(str, LOWRES_FACTORS))} "
                         f"and a METHOD of {', '.join(DOWNSAMPLING)} (area by default), e.g. lowres:4:fashion_mnist")
    return int(factor), method, inner


def _lowres_source(spec, source, arg, request):
    """lowres:F[:METHOD]:SPEC: input x downsampled F times, target x, for each image x of SPEC."""
    del source
    factor, method, inner = parse_lowres(f"lowres:{arg}")
    if request.image_size % factor:
        raise ValueError(f"{spec}: --image_size={request.image_size} is not divisible by {factor}: the input is "
                         f"image_size / {factor} pixels wide; use --image_size={request.image_size // factor * factor}")
    examples = _image_examples(spec, inner, request)
    return _paired(examples, lambda images: lowres(images, factor, method),
                   f"lowres:{factor}:{method}:{examples.source}")


def target_spec(spec: str) -> str:
    """The image spec of a derived pair's targets: pair:TRANSFORM:SPEC and lowres:F[:METHOD]:SPEC -> SPEC.

    Raises:
      ValueError: any other spec (its targets are not another spec's images).
    """
    scheme = spec.partition(":")[0]
    if scheme == "pair":
        return spec.split(":", 2)[2] if spec.count(":") >= 2 else ""
    if scheme == "lowres":
        return parse_lowres(spec)[2]
    raise ValueError(f"{spec}: its targets are not another spec's images; only those of pair:TRANSFORM:SPEC and "
                     "lowres:F:SPEC are (SPEC's)")


def _unpaired_source(spec, source, arg, request):
    """unpaired:SPEC_A|SPEC_B: two image specs as unpaired domains a and b."""
    del source
    parts = arg.split("|")
    if len(parts) != 2:
        raise ValueError(f"{spec}: unpaired:SPEC_A|SPEC_B takes two image specs separated by one '|', "
                         f"e.g. unpaired:classes:7:fashion_mnist|classes:9:fashion_mnist")
    a, b = (_image_examples(spec, part, request) for part in parts)
    return data_pipeline.Unpaired(a, b, f"unpaired:{a.source}|{b.source}")


def _cyclegan_folders(directory, split):
    return [f"folder:{os.path.join(directory, f'{split}{domain}')}" for domain in "AB"]


def domains(spec: str, split: str) -> list:
    """The image specs of an unpaired spec's two domains in a split: [spec_a, spec_b].

    Each domain read alone (data.make_dataset(spec_a, split=split, ...)) gives every image of
    the split once, with its labels, where the unpaired batches cycle the smaller domain:
    what scoring a translator needs.

      "unpaired:A|B"    -> [A, B]
      "cyclegan:DIR"    -> ["folder:DIR/<split>A", "folder:DIR/<split>B"]

    Raises:
      ValueError: another spec (tfds:cycle_gan/NAME's domains are splits of one dataset, not specs).
    """
    scheme, _, arg = spec.partition(":")
    if scheme == "unpaired" and len(arg.split("|")) == 2:
        return arg.split("|")
    if scheme == "cyclegan" and arg:
        return _cyclegan_folders(arg, split)
    raise ValueError(f"{spec}: only the domains of unpaired:SPEC_A|SPEC_B and cyclegan:DIR specs can be read "
                     "one by one")


def _cyclegan_source(spec, source, directory, request):
    """cyclegan:DIR: folders DIR/<split>A and DIR/<split>B as unpaired domains."""
    del source
    folders = [os.path.join(directory, f"{request.split}{domain}") for domain in "AB"]
    missing = [folder for folder in folders if not os.path.isdir(folder)]
    if missing:
        raise ValueError(f"{spec}: no {' or '.join(missing)}; cyclegan:DIR reads the CycleGAN datasets' layout, "
                         "DIR/trainA, DIR/trainB, DIR/testA, DIR/testB (or pass unpaired:folder:A|folder:B)")
    return _unpaired_source(spec, None, "|".join(_cyclegan_folders(directory, request.split)), request)


SOURCES = {
    **{name: _transform_loader(name) for name in TRANSFORMS},
    "classes": _classes_source,
    "pair": _pair_source,
    "lowres": _lowres_source,
    "unpaired": _unpaired_source,
    "cyclegan": _cyclegan_source,
}
