"""The progressive GAN's networks (Karras et al., 2018) and their growth schedule, as TF-GAN's `progressive_gan`.

Both networks hold every resolution block from the start, so a checkpoint always has the same
variables; which blocks run is decided at run time from the growth `progress` p, a non-trainable
weight of each network that the GAN sets before every step (`set_progress`). p counts in stages:
p = k (an integer) is the stable phase with blocks 1 .. k + 1, and k < p < k + 1 the transition
that fades block k + 2 in. Resolutions double from the smallest (7 for 28 px, 4 for 32 px).

G, for blocks b = 1 .. N at resolutions r_b with widths w_b (halving from `width`):

  z -> pixel norm -> dense to r_1 x r_1 x w_1 -> conv3 -> for b >= 2: [up x2, conv3, conv3]
  (every conv and the dense: equalised learning rate, leaky ReLU 0.2, pixel norm)
  out = tanh(sum_b alpha_b up(to_rgb_b(h_b)))    alpha_b = max(0, min(p - (b - 2), b - p))

where to_rgb_b is a 1x1 convolution and `up` repeats pixels to the full size: G's output is always
full size, a stable phase's image blocky at its native resolution. D mirrors it:

  h = from_rgb_n(down(x)) at the top running block n; for b = n .. 2: [conv3, conv3, avgpool 2],
      after the first pooling h = a from_rgb_{n-1}(down(x)) + (1 - a) h, a = clip(n - 1 - p, 0, 1)
  -> minibatch stddev (groups of 4) -> conv3 -> conv r_1 x r_1 valid -> dense 1 (a critic score)

`down` is average pooling, so D of a stable phase sees exactly its resolution. Only the blocks
up to n = min(ceil(p) + 1, N) are computed: `tf.switch_case` on n picks one of N traced graphs.
The tanh keeps G's images in [-1, 1] as every generator of the project (the paper's to-RGB is
linear; TF-GAN has the tanh as an option).

Equalised learning rate: weights are drawn N(0, 1) and multiplied at run time by the He constant
gain / sqrt(fan_in), so Adam's per-weight step sizes are equal for every layer.
"""

import contextlib
import functools
import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers

DEFAULT_WIDTH = 128  # w_1, the smallest resolution's channels; each doubling halves it (128/64/32 at 7/14/28).
KIND = "progressive"
MIN_WIDTH = 8
MIN_RESOLUTION = 4  # The paper starts at 4x4.
GROUP_SIZE = 4  # Minibatch standard deviation's group.
LEAK = 0.2
HE_GAIN = math.sqrt(2.0)


def resolutions(size: int) -> tuple:
    """The growth's resolutions up to `size`: halving while a half stays a whole number >= 4 (28 -> (7, 14, 28))."""
    sizes = [int(size)]
    while sizes[0] % 2 == 0 and sizes[0] // 2 >= MIN_RESOLUTION:
        sizes.insert(0, sizes[0] // 2)
    return tuple(sizes)


def widths(width: int, num_blocks: int) -> tuple:
    """Each block's channels: `width` at the smallest resolution, halved per doubling, at least MIN_WIDTH (or `width`)."""
    return tuple(max(width // 2 ** b, min(width, MIN_WIDTH)) for b in range(num_blocks))


# The schedule: TF-GAN's progressive_gan formulas, on the number of real images seen.

def progress(images_seen, stable_images: int, transition_images: int, num_blocks: int):
    """p float32 in [0, N - 1] after `images_seen` images (TF-GAN's `compute_progress` with all N blocks).

    Each stage is `stable_images` at a fixed resolution and then `transition_images` fading the next
    block in; p stays at N - 1 once the last block is in. With no stable or transition images
    (both 0) the networks train flat at full size from the start: p = N - 1.
    """
    if stable_images + transition_images == 0:
        return tf.constant(float(num_blocks - 1))
    seen = tf.cast(images_seen, tf.int64)
    last = num_blocks * stable_images + (num_blocks - 1) * transition_images - 1
    seen = tf.minimum(seen, last)
    stage = stable_images + transition_images
    fraction = tf.cast(seen % stage - stable_images, tf.float32) / float(max(transition_images, 1))
    return tf.cast(seen // stage, tf.float32) + tf.maximum(0.0, fraction)


def generator_alpha(block: int, p):
    """G's weight of block `block`'s (1-based) to-RGB output at progress p: the two newest blocks share 1."""
    return tf.maximum(0.0, tf.minimum(p - (block - 2), block - p))


def discriminator_alpha(block: int, p):
    """D's weight of block `block`'s (1-based) from-RGB input against the larger block's path."""
    return tf.clip_by_value(block - p, 0.0, 1.0)


def running_blocks(p, num_blocks: int):
    """n int32: the blocks a step at progress p computes, min(ceil(p) + 1, N)."""
    return tf.minimum(tf.cast(tf.math.ceil(p), tf.int32) + 1, num_blocks)


def images_to_full_size(stable_images: int, transition_images: int, num_blocks: int) -> int:
    """Real images until the last block is fully in: N - 1 stable phases and N - 1 fade-ins."""
    return (num_blocks - 1) * (stable_images + transition_images)


def phase(p):
    """The TF-GAN stage id of progress p, float32: 2k for stable stage k, 2k + 1 fading block k + 2 in."""
    whole = tf.floor(p)
    return 2.0 * whole + tf.cast(p > whole, tf.float32)


def fade_in(p):
    """How far the newest running block has faded in, float32 in (0, 1] (1 in a stable phase)."""
    whole = tf.floor(p)
    return tf.where(p > whole, p - whole, 1.0)


def downscale(images, factor: int):
    """Average pooling by `factor` (1: unchanged): [B, H, W, C] -> [B, H / f, W / f, C]."""
    return images if factor == 1 else tf.nn.avg_pool2d(images, factor, factor, "VALID")


def upscale(images, factor: int):
    """Nearest-neighbour upscaling by `factor` (each pixel repeated): [B, h, w, C] -> [B, f h, f w, C]."""
    return images if factor == 1 else tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)


def blend_real(images, p, sizes: tuple):
    """Real images [B, H, W, C] as G's output at progress p: each resolution's version weighted by G's alphas."""
    full = sizes[-1]
    return tf.add_n([generator_alpha(b + 1, p) * upscale(downscale(images, full // size), full // size)
                     for b, size in enumerate(sizes)])


# The layers.

def pixel_norm(x):
    """Each pixel's feature vector to unit root mean square (the paper's 4.2): [..., C] -> [..., C]."""
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + 1e-8)


def minibatch_stddev(x, group_size=GROUP_SIZE):
    """x [B, H, W, C] with one more channel: the mean stddev over each group of images (paper's 3).

    Groups are strided (image i is in group i mod B / g), g the largest divisor of B up to
    `group_size` when B is known while tracing (min(group_size, B), which must divide B, if not).
    """
    batch = x.shape[0]
    if batch is not None:
        group = max(g for g in range(1, group_size + 1) if batch % g == 0)
    else:
        group = tf.minimum(group_size, tf.shape(x)[0])
    shape = tf.shape(x)
    grouped = tf.reshape(x, [group, -1, shape[1], shape[2], shape[3]])
    stddev = tf.sqrt(tf.reduce_mean(tf.square(grouped - tf.reduce_mean(grouped, 0)), 0) + 1e-8)
    stddev = tf.reduce_mean(stddev, axis=[1, 2, 3], keepdims=True)  # [B / g, 1, 1, 1]
    return tf.concat([x, tf.tile(stddev, [group, shape[1], shape[2], 1])], axis=-1)


@keras.saving.register_keras_serializable(package="tfgan_course")
class EqualizedConv2D(layers.Layer):
    """A convolution with equalised learning rate: kernel ~ N(0, 1), scaled by gain / sqrt(k k C_in) when run."""

    def __init__(self, filters, kernel_size, gain=HE_GAIN, padding="SAME", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.gain = int(filters), int(kernel_size), float(gain)
        self.padding, self.seed = padding, seed

    def build(self, input_shape):
        fan_in = self.kernel_size * self.kernel_size * int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed),
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, x):
        return tf.nn.bias_add(tf.nn.conv2d(x, self.kernel * self.scale, 1, self.padding), self.bias)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "gain": self.gain,
                "padding": self.padding, "seed": self.seed}


@keras.saving.register_keras_serializable(package="tfgan_course")
class EqualizedDense(layers.Layer):
    """A dense layer with equalised learning rate: kernel ~ N(0, 1), scaled by gain / sqrt(fan_in) when run."""

    def __init__(self, units, gain=HE_GAIN, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.gain, self.seed = int(units), float(gain), seed

    def build(self, input_shape):
        self.scale = self.gain / math.sqrt(int(input_shape[-1]))
        self.kernel = self.add_weight(shape=(int(input_shape[-1]), self.units),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed),
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        return tf.matmul(x, self.kernel * self.scale) + self.bias

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain, "seed": self.seed}


def _seeds(seed):
    """Distinct initialiser seeds, one per layer (None stays None)."""
    count = 0
    while True:
        yield None if seed is None else seed * 1000 + count
        count += 1


class _Growing(layers.Layer):
    """What both networks share: the progress weight, the sizes, and running only the blocks in use."""

    def __init__(self, sizes, width, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.sizes, self.width, self.seed = tuple(int(s) for s in sizes), int(width), seed
        self.channels = widths(self.width, len(self.sizes))
        self.fixed_blocks = 0  # > 0 inside `running`: the blocks to run, known while tracing.

    def _add(self, layer, input_shape):
        """Builds a sublayer and makes it an attribute named as it is.

        One attribute per sublayer, not lists: TensorFlow's checkpoints follow attributes and do not
        see the layers of a Keras-tracked list (their weights would be missing from every checkpoint).
        """
        layer.build(input_shape)
        setattr(self, layer.name, layer)
        return layer

    def _add_progress(self):
        # Set, never trained; one value on every replica.
        self.progress = self.add_weight(shape=(), initializer="zeros", trainable=False, name="progress",
                                        aggregation="only_first_replica")

    def call(self, x):
        p = tf.cast(self.progress, tf.float32)
        if self.fixed_blocks:
            return self._run(x, self.fixed_blocks, p)
        branches = [functools.partial(self._run, x, blocks, p) for blocks in range(1, len(self.sizes) + 1)]
        return tf.switch_case(running_blocks(p, len(self.sizes)) - 1, branches)

    def get_config(self):
        return {**super().get_config(), "sizes": list(self.sizes), "width": self.width, "seed": self.seed}


def _lrelu(x):
    # max(x, 0.2 x) is leaky ReLU; written so, TensorFlow's graph optimiser does not fuse it into the
    # convolution, a rewrite that fails (and logs an error) on the gradient graphs of a switch's branches.
    return tf.maximum(x, LEAK * x)


@keras.saving.register_keras_serializable(package="tfgan_course")
class GrowingGenerator(_Growing):
    """z [B, latent] -> images [B, H, W, C] in [-1, 1] through the blocks in use at `progress` (module docstring)."""

    def __init__(self, sizes, width, channels_out, seed=None, **kwargs):
        super().__init__(sizes, width, seed, **kwargs)
        self.channels_out = int(channels_out)

    def build(self, input_shape):
        self._add_progress()
        seeds, first = _seeds(self.seed), self.sizes[0]
        # The official code's gain: a 4x4 "convolution" of a 1x1 input.
        self._add(EqualizedDense(first * first * self.channels[0], gain=HE_GAIN / 4, seed=next(seeds), name="dense"),
                  input_shape)
        for b, channels in enumerate(self.channels):
            previous = self.channels[max(b - 1, 0)]
            for i in range(self._convs_in(b)):
                self._add(EqualizedConv2D(channels, 3, seed=next(seeds), name=f"block{b + 1}_conv{i}"),
                          (None, None, None, previous))
                previous = channels
            self._add(EqualizedConv2D(self.channels_out, 1, gain=1.0, seed=next(seeds), name=f"block{b + 1}_to_rgb"),
                      (None, None, None, channels))

    @staticmethod
    def _convs_in(block):
        return 1 if block == 0 else 2  # The first block's dense layer stands for the paper's 4x4 convolution.

    def _run(self, z, blocks, p):
        first = self.sizes[0]
        h = _lrelu(self.dense(pixel_norm(z)))
        h = pixel_norm(tf.reshape(h, [-1, first, first, self.channels[0]]))
        features = []
        for b in range(blocks):
            if b:
                h = upscale(h, 2)
            for i in range(self._convs_in(b)):
                h = pixel_norm(_lrelu(getattr(self, f"block{b + 1}_conv{i}")(h)))
            features.append(h)
        full = self.sizes[-1]
        # Only the two newest running blocks can have a non-zero alpha.
        outputs = [generator_alpha(b + 1, p) * upscale(getattr(self, f"block{b + 1}_to_rgb")(features[b]),
                                                       full // self.sizes[b])
                   for b in range(max(blocks - 2, 0), blocks)]
        return tf.tanh(tf.add_n(outputs))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.sizes[-1], self.sizes[-1], self.channels_out)

    def get_config(self):
        return {**super().get_config(), "channels_out": self.channels_out}


@keras.saving.register_keras_serializable(package="tfgan_course")
class GrowingDiscriminator(_Growing):
    """images [B, H, W, C] -> critic scores float32 [B, 1] through the blocks in use at `progress`."""

    def build(self, input_shape):
        self._add_progress()
        seeds, channels_in = _seeds(self.seed), int(input_shape[-1])
        for b, channels in enumerate(self.channels):
            self._add(EqualizedConv2D(channels, 1, seed=next(seeds), name=f"block{b + 1}_from_rgb"),
                      (None, None, None, channels_in))
            if b == 0:  # After the stddev channel: a 3x3, then an r_1 x r_1 "valid" convolution to 1x1.
                convs = ((channels + 1, 3, channels, "SAME"), (channels, self.sizes[0], channels, "VALID"))
            else:
                convs = ((channels, 3, channels, "SAME"), (channels, 3, self.channels[b - 1], "SAME"))
            for i, (width_in, kernel, width_out, padding) in enumerate(convs):
                self._add(EqualizedConv2D(width_out, kernel, padding=padding, seed=next(seeds),
                                          name=f"block{b + 1}_conv{i}"), (None, None, None, width_in))
        self._add(EqualizedDense(1, gain=1.0, seed=next(seeds), name="score"), (None, self.channels[0]))

    def _run(self, images, blocks, p):
        top = blocks - 1
        h = _lrelu(self._from_rgb(top, images))
        for b in range(top, 0, -1):
            for i in range(2):
                h = _lrelu(getattr(self, f"block{b + 1}_conv{i}")(h))
            h = downscale(h, 2)
            if b == top:
                alpha = discriminator_alpha(b, p)
                lower = _lrelu(self._from_rgb(b - 1, images))
                h = alpha * lower + (1.0 - alpha) * h
        h = minibatch_stddev(h)
        for i in range(2):
            h = _lrelu(getattr(self, f"block1_conv{i}")(h))
        return self.score(tf.reshape(h, [-1, self.channels[0]]))

    def _from_rgb(self, block, images):
        """Block `block`'s (0-based) from-RGB convolution of the full-size images pooled to its resolution."""
        return getattr(self, f"block{block + 1}_from_rgb")(downscale(images, self.sizes[-1] // self.sizes[block]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None):
    """G: z float32 [B, latent_dim] -> images [B, H, W, C] in [-1, 1]; H = W, grown from `resolutions(H)`."""
    height, width_px, channels = image_shape
    if height != width_px:
        raise ValueError(f"--model=pggan grows square images; got {height}x{width_px}.")
    z = keras.Input((latent_dim,), name="z")
    images = GrowingGenerator(resolutions(height), width, channels, seed=seed, name="growing_generator")(z)
    return keras.Model(z, images, name="pggan_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """D: images float32 [B, H, W, C] -> critic scores float32 [B, 1] (no sigmoid: WGAN-GP's critic)."""
    height, width_px, _ = image_shape
    if height != width_px:
        raise ValueError(f"--model=pggan grows square images; got {height}x{width_px}.")
    images = keras.Input(tuple(image_shape), name="images")
    scores = GrowingDiscriminator(resolutions(height), width, seed=seed, name="growing_discriminator")(images)
    return keras.Model(images, scores, name="pggan_discriminator")


def growing_layer(network):
    """The `_Growing` layer of a network built here (its `progress`, `sizes`)."""
    return next(layer for layer in network.layers if isinstance(layer, _Growing))


@contextlib.contextmanager
def running(networks, blocks: int):
    """Within it, the networks run exactly `blocks` blocks rather than choosing at run time.

    A training step is traced once per block count this way and `tf.switch_case` picks the
    traced step: no gradient then crosses a switch, whose gradient graphs TensorFlow's graph
    optimiser cannot rewrite.
    """
    growing = [growing_layer(network) for network in networks]
    for layer in growing:
        layer.fixed_blocks = int(blocks)
    try:
        yield
    finally:
        for layer in growing:
            layer.fixed_blocks = 0


def set_progress(networks, p) -> None:
    """Sets the progress weight of each network built here to p."""
    for network in networks:
        growing_layer(network).progress.assign(tf.cast(p, tf.float32))


def native_size(p, sizes: tuple) -> int:
    """The resolution of the newest running block at progress p (a Python float)."""
    return sizes[min(math.ceil(p), len(sizes) - 1)]


def at_native_size(images: np.ndarray, size: int) -> np.ndarray:
    """Full-size images [N, H, W, C] averaged down to `size` (exact for G's outputs, whose pixels repeat)."""
    return downscale(tf.convert_to_tensor(images), images.shape[1] // size).numpy()
