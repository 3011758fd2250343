"""Semantic inpainting with a trained GAN (Yeh et al., 2017), and the fills it is measured against.

    mask = inpainting.centre_mask((28, 28), 14)                         # float32 [1, 28, 28, 1], 1 = missing
    inpainter = inpainting.SemanticInpainter(g, d, latent_input, d_probabilities=True)
    result = inpainter.search(images, mask, iterations=300)             # z, G(z), the losses before and after
    completed = inpainting.composite(images, mask, result.images)       # known pixels exact
    blended, _ = inpainting.poisson_fill(images, mask, guide=result.images)  # Yeh et al.'s blend
    diffused, _ = inpainting.poisson_fill(images, mask)                 # the diffusion-fill baseline

Shapes and ranges: images float32 [N, H, W, C] in [-1, 1]; a mask float32 [N, H, W, 1] (or
[1, H, W, 1], the same mask for every image) with 1 where a pixel is missing and 0 where it is
known. Every fill keeps the known pixels bit-exact (`composite`).

The search (Yeh et al., section 3): for a corrupted image y with mask M, find

    z^ = argmin_z  L_c(z) + lambda L_p(z)
    L_c(z) = || W * (G(z) - y) ||_1        contextual loss: W = `importance_weights(M)`, the share of
                                            missing pixels in each known pixel's 7x7 window (0 on
                                            missing pixels): the known pixels next to the hole count most
    L_p(z) = log(1 - D(G(z)))              prior loss: G(z) should look real to D, lambda ~ 0.003

with Adam on z, batched over images (each image's loss depends only on its own z, but for a
discriminator with a minibatch-stddev layer, PGGAN's, which mixes the statistics of the images
in a group), z kept in the latent distribution after every step: clipped to [0, 1] for uniform
z; for normal z projected onto the sphere of radius sqrt(D), where nearly all of N(0, I)'s
mass lies (|z| = sqrt(D) +- 0.7 for any D), since G never saw a z far from it and no box bounds
a Gaussian. D's outputs are logits (the project's convention): the prior is log(1 - sigmoid(l))
= -softplus(l), stable for every l. A critic's scores (WGAN, WGAN-GP, hinge, least squares:
`losses.Loss.d_probabilities` False) are no log-odds, so the prior is then -D(G(z)), the critic
generator's own loss: lower where the critic rates G(z) more real, at the critic's scale.

The hole is then filled with G(z^) (`composite`) or blended (`poisson_fill` with G(z^) as the
guide: Poisson image editing, Perez et al., 2003, which Yeh et al. use): the hole's pixels keep
G(z^)'s gradients and meet the known pixels without a seam. With no guide the same solver is the
diffusion fill: the hole becomes the harmonic interpolation of its border (Laplace's equation,
the known pixels fixed). `mean_fill` pastes a fixed image (the training split's mean) into the hole.
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf
from PIL import Image

WINDOW = 7  # Yeh et al.'s neighbourhood of a pixel for its importance weight.
PRIOR_WEIGHT = 0.003  # Yeh et al.'s lambda.
ADAM_BETAS, ADAM_EPSILON = (0.9, 0.999), 1e-8
_SEARCH_BATCH = 256
# The diffusion fill's Jacobi iterations stop when no hole pixel moves more than this (in [-1, 1] units,
# under a 256th of a uint8 step) between two checks, or after this many iterations.
_POISSON_TOLERANCE, _POISSON_MAX_ITERATIONS, _POISSON_CHECK_EVERY = 1e-5, 5000, 50


# Masks.


def centre_mask(size, hole_size: int) -> np.ndarray:
    """The centred square hole: float32 [1, H, W, 1], 1 on the hole_size x hole_size square in the middle.

    Args:
      size: (H, W) of the images.
      hole_size: the square's side, 1 <= hole_size < min(H, W); at 28 px the evaluation's 14.
    """
    height, width = _check_hole(size, hole_size)
    mask = np.zeros([1, height, width, 1], np.float32)
    top, left = (height - hole_size) // 2, (width - hole_size) // 2
    mask[:, top:top + hole_size, left:left + hole_size] = 1.0
    return mask


def random_square_masks(num_images: int, size, hole_size: int, count: int = 1, seed: int = 0) -> np.ndarray:
    """`count` squares of side hole_size per image at uniform positions inside it (they may overlap):
    float32 [N, H, W, 1], the same masks for the same seed."""
    height, width = _check_hole(size, hole_size)
    if count < 1:
        raise ValueError(f"count must be >= 1 squares per image, got {count}.")
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, height - hole_size + 1, (num_images, count))
    lefts = rng.integers(0, width - hole_size + 1, (num_images, count))
    mask = np.zeros([num_images, height, width, 1], np.float32)
    for i in range(num_images):
        for top, left in zip(tops[i], lefts[i]):
            mask[i, top:top + hole_size, left:left + hole_size] = 1.0
    return mask


def mask_from_png(path: str, size) -> np.ndarray:
    """A mask drawn as a PNG of the images' size: float32 [1, H, W, 1], 1 where the picture is light.

    The file is read as greyscale (an alpha channel is ignored): pixels of value >= 128 (white)
    are missing, darker ones (black) known.
    """
    try:
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the mask {path}: {error}") from None
    if grey.shape != tuple(size):
        raise ValueError(f"the mask {path} is {grey.shape[1]}x{grey.shape[0]} pixels but the images are "
                         f"{size[1]}x{size[0]}: draw it at {size[1]}x{size[0]} (white = missing, black = known).")
    return check_mask((grey >= 128).astype(np.float32)[None, :, :, None], (*size, 1))


def check_mask(mask, image_shape) -> np.ndarray:
    """`mask` as float32 [N or 1, H, W, 1] of 0 and 1, each with a missing and a known pixel; else a ValueError.

    Args:
      mask: the mask to check.
      image_shape: (H, W, C) of the images it corrupts.
    """
    mask = np.asarray(mask, np.float32)
    expected = (*image_shape[:2], 1)
    if mask.ndim != 4 or mask.shape[1:] != expected:
        raise ValueError(f"a mask is [N, H, W, 1] = [N, {', '.join(map(str, expected))}] for images of shape "
                         f"{tuple(image_shape)}, got shape {mask.shape}.")
    if not np.isin(mask, (0.0, 1.0)).all():
        raise ValueError("a mask holds 0 (known) and 1 (missing) only.")
    missing = mask.reshape(len(mask), -1).sum(axis=1)
    if (missing == 0).any() or (missing == math.prod(expected)).any():
        raise ValueError("every mask needs a missing pixel (1) and a known one (0): nothing to fill, or nothing "
                         "to fill it from.")
    return mask


def square_masks(tops, lefts, size, hole_size: int):
    """Squares of side hole_size at (tops, lefts), one per image, in the graph: float32 tensor [N, H, W, 1].

    Args:
      tops, lefts: int [N], each square's first row and column (0 <= top <= H - hole_size).
      size: (H, W) of the images.
      hole_size: the squares' side.
    """
    height, width = (int(s) for s in size)
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    tops = tf.cast(tops, tf.int32)[:, None, None]
    lefts = tf.cast(lefts, tf.int32)[:, None, None]
    inside = (rows >= tops) & (rows < tops + hole_size) & (cols >= lefts) & (cols < lefts + hole_size)
    return tf.cast(inside, tf.float32)[..., None]


def overlap_band(mask, width: int):
    """The known pixels within `width` pixels (in rows and columns) of a missing one: float32 tensor [N, H, W, 1].

    The context encoder's overlap (Pathak et al., section 3.2: its G predicts the hole and this band,
    whose reconstruction counts 10 times as much, so the fill meets the context); 0 for width 0.
    """
    mask = tf.cast(mask, tf.float32)
    if width <= 0:
        return tf.zeros_like(mask)
    grown = tf.nn.max_pool2d(mask, 2 * width + 1, 1, "SAME")
    return grown - mask


def reconstruction_weights(mask, overlap: int, overlap_weight: float):
    """The context encoder's per-pixel weights of its L2 loss: 1 on the hole, overlap_weight on the
    `overlap_band`, 0 elsewhere: float32 tensor [N, H, W, 1]."""
    mask = tf.cast(mask, tf.float32)
    return mask + overlap_weight * overlap_band(mask, overlap)


def _check_hole(size, hole_size):
    height, width = (int(s) for s in size)
    if not 1 <= hole_size < min(height, width):
        raise ValueError(f"hole_size={hole_size} must be at least 1 and smaller than the {height}x{width} images.")
    return height, width


# The losses.


def importance_weights(mask):
    """Yeh et al.'s W: for a known pixel, the share of missing pixels among the WINDOW x WINDOW around it; 0 on
    missing pixels.

    Args:
      mask: float [N, H, W, 1], 1 = missing.

    Returns:
      float32 tensor [N, H, W, 1] in [0, 1): beyond the image the window counts known pixels
      (so a corner's weight is still out of 49).
    """
    mask = tf.cast(mask, tf.float32)
    window = tf.ones([WINDOW, WINDOW, 1, 1]) / WINDOW ** 2
    return (1.0 - mask) * tf.nn.conv2d(mask, window, strides=1, padding="SAME")


def contextual_loss(fake_images, images, weights):
    """L_c per image: sum over pixels and channels of weights * |fake - images|: float32 [N] >= 0.

    Args:
      fake_images, images: float [N, H, W, C] in [-1, 1].
      weights: float [N or 1, H, W, 1], `importance_weights` (or any weights, 0 on the missing pixels).
    """
    return tf.reduce_sum(weights * tf.abs(tf.cast(fake_images, tf.float32) - images), axis=[1, 2, 3])


def prior_loss(d_outputs, d_probabilities: bool = True):
    """L_p per image: log(1 - D(G(z))) from D's logits, stably -softplus(logits); a critic's -scores.

    Args:
      d_outputs: float [N, 1], D's outputs on G(z).
      d_probabilities: True for a D of log-odds (minimax, non-saturating losses); False for a
        critic (Wasserstein, hinge, least squares), whose prior is -D(G(z)).

    Returns:
      float32 [N]: <= 0 for logits (0 where D is sure G(z) is fake).
    """
    d_outputs = tf.reshape(tf.cast(d_outputs, tf.float32), [-1])
    return -tf.nn.softplus(d_outputs) if d_probabilities else -d_outputs


# The search.


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """What `SemanticInpainter.search` found, per image.

    Attributes:
      z: float32 [N, D], the latent vectors found.
      images: float32 [N, H, W, C] in [-1, 1], G(z).
      contextual_loss, prior_loss: float32 [N] at the found z.
      initial_contextual_loss, initial_prior_loss: float32 [N] at the starting z.
      history: float32 [iterations + 1, 2], the mean contextual and prior losses before each step and after the last.
    """

    z: np.ndarray
    images: np.ndarray
    contextual_loss: np.ndarray
    prior_loss: np.ndarray
    initial_contextual_loss: np.ndarray
    initial_prior_loss: np.ndarray
    history: np.ndarray


class SemanticInpainter:
    """Yeh et al.'s latent search on a trained unconditional G and its D (module docstring).

    Args:
      generator: Keras model z float32 [B, D] -> images [B, H, W, C] in [-1, 1] (the EMA generator if any).
      discriminator: Keras model images -> [B, 1] logits (or a critic's scores).
      latent_input: the generator spec's latent `spec.Input` (its size and distribution; no InfoGAN codes).
      d_probabilities: D gives log-odds (`losses.Loss.d_probabilities`); False for a critic.
      prior_weight: lambda.
      learning_rate: Adam's step size on z.
      project: keep z in its distribution after each step (clip or sphere); False leaves z free.
    """

    def __init__(self, generator, discriminator, latent_input, d_probabilities: bool = True,
                 prior_weight: float = PRIOR_WEIGHT, learning_rate: float = 0.05, project: bool = True):
        if latent_input.categorical or latent_input.continuous:
            raise ValueError("semantic inpainting searches plain noise z; this generator's latent has InfoGAN codes.")
        if learning_rate <= 0 or prior_weight < 0:
            raise ValueError(f"need learning_rate > 0 and prior_weight >= 0, got {learning_rate} and {prior_weight}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_input = latent_input
        self.d_probabilities = bool(d_probabilities)
        self.prior_weight = float(prior_weight)
        self.learning_rate = float(learning_rate)
        self.project = bool(project)
        self._search_fn = tf.function(self._search, reduce_retracing=True)

    def describe(self) -> dict:
        """The search's settings, for reports."""
        return {"prior": "log(1 - D(G(z)))" if self.d_probabilities else "-D(G(z)) (a critic's score)",
                "prior_weight": self.prior_weight, "learning_rate": self.learning_rate,
                "optimizer": f"Adam (beta1 {ADAM_BETAS[0]}, beta2 {ADAM_BETAS[1]}, epsilon {ADAM_EPSILON:g})",
                "latent": self.latent_input.distribution,
                "constraint": self._constraint() if self.project else "none", "weights": f"{WINDOW}x{WINDOW} importance"}

    def _constraint(self):
        return "clip to [0, 1]" if self.latent_input.distribution == "uniform" else "sphere of radius sqrt(D)"

    def initial_latents(self, num_images: int, seed: int = 0) -> np.ndarray:
        """The starting z, float32 [N, D]: drawn from the latent distribution with the seed (and projected)."""
        shape, seed = [num_images, self.latent_input.size], [seed, 0]
        if self.latent_input.distribution == "uniform":
            z = tf.random.stateless_uniform(shape, seed)
        else:
            z = tf.random.stateless_normal(shape, seed)
        return self._projected(z).numpy() if self.project else z.numpy()

    def _projected(self, z):
        if self.latent_input.distribution == "uniform":
            return tf.clip_by_value(z, 0.0, 1.0)
        radius = math.sqrt(self.latent_input.size)
        return z * (radius / tf.maximum(tf.norm(z, axis=1, keepdims=True), 1e-12))

    def _losses(self, z, images, weights):
        fake_images = self.generator(z, training=False)
        prior = prior_loss(self.discriminator(fake_images, training=False), self.d_probabilities)
        return fake_images, contextual_loss(fake_images, images, weights), prior

    def _search(self, images, mask, z, iterations):
        weights = importance_weights(mask)
        beta1, beta2 = ADAM_BETAS
        initial = self._losses(z, images, weights)[1:]
        history = tf.TensorArray(tf.float32, size=iterations + 1)

        def step(t, z, m, v, history):
            with tf.GradientTape() as tape:
                tape.watch(z)
                _, context, prior = self._losses(z, images, weights)
                total = tf.reduce_sum(context + self.prior_weight * prior)
            history = history.write(t, tf.stack([tf.reduce_mean(context), tf.reduce_mean(prior)]))
            gradient = tape.gradient(total, z)
            m = beta1 * m + (1.0 - beta1) * gradient
            v = beta2 * v + (1.0 - beta2) * tf.square(gradient)
            count = tf.cast(t + 1, tf.float32)
            m_hat, v_hat = m / (1.0 - beta1 ** count), v / (1.0 - beta2 ** count)
            z = z - self.learning_rate * m_hat / (tf.sqrt(v_hat) + ADAM_EPSILON)
            if self.project:
                z = self._projected(z)
            return t + 1, z, m, v, history

        _, z, _, _, history = tf.while_loop(lambda t, *_: t < iterations, step,
                                            (tf.constant(0), z, tf.zeros_like(z), tf.zeros_like(z), history))
        fake_images, context, prior = self._losses(z, images, weights)
        history = history.write(iterations, tf.stack([tf.reduce_mean(context), tf.reduce_mean(prior)]))
        return z, fake_images, context, prior, initial[0], initial[1], history.stack()

    def search(self, images, mask, iterations: int = 300, seed: int = 0, z=None,
               batch_size: int = _SEARCH_BATCH) -> SearchResult:
        """The z of each image that best explains its known pixels, batch by batch.

        Args:
          images: float32 [N, H, W, C] in [-1, 1], the corrupted images (missing pixels' values unused).
          mask: float32 [N or 1, H, W, 1], 1 = missing (`check_mask`).
          iterations: Adam steps.
          seed: the starting z's seed (`initial_latents`), unless `z` is given.
          z: float32 [N, D], the starting z.
          batch_size: images searched together.

        Returns:
          A SearchResult; its history is the mean over all images of each batch's step (batches weighted by size).
        """
        images = np.asarray(images, np.float32)
        mask = np.broadcast_to(check_mask(mask, images.shape[1:]), images.shape[:3] + (1,))
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}.")
        z = self.initial_latents(len(images), seed) if z is None else np.asarray(z, np.float32)
        parts = []
        for start in range(0, len(images), batch_size):
            rows = slice(start, start + batch_size)
            outputs = self._search_fn(tf.constant(images[rows]), tf.constant(mask[rows]), tf.constant(z[rows]),
                                      tf.constant(iterations))
            parts.append([output.numpy() for output in outputs])
        fields = [np.concatenate([part[i] for part in parts]) for i in range(6)]
        sizes = np.array([len(part[0]) for part in parts], np.float32)
        history = np.tensordot(sizes / sizes.sum(), np.stack([part[6] for part in parts]), axes=1)
        return SearchResult(*fields, history=history.astype(np.float32))


# The fills: every one keeps the known pixels bit-exact.


def composite(images, mask, fill) -> np.ndarray:
    """`fill`'s pixels in the hole, `images`' elsewhere, bit-exact: float32 [N, H, W, C].

    Args:
      images: float [N, H, W, C], the corrupted images.
      mask: float [N or 1, H, W, 1], 1 = missing.
      fill: float [N or 1, H, W, C], what goes into the hole.
    """
    return np.where(np.asarray(mask) > 0.5, np.asarray(fill, np.float32), np.asarray(images, np.float32))


def mean_fill(images, mask, mean_image) -> np.ndarray:
    """The hole filled with a fixed image (the training split's mean image [H, W, C]): float32 [N, H, W, C]."""
    return composite(images, mask, np.asarray(mean_image, np.float32)[None])


def poisson_fill(images, mask, guide=None, tolerance: float = _POISSON_TOLERANCE,
                 max_iterations: int = _POISSON_MAX_ITERATIONS) -> tuple:
    """The hole solved for the guide's gradients with the known pixels as its boundary (Jacobi iterations).

    Each hole pixel becomes the mean of its 4 neighbours inside the image plus the guide's discrete
    Laplacian there (Perez et al.'s guided interpolation); with no guide (a flat one), the harmonic
    fill: the diffusion of the border's values into the hole. The image's edges are mirrors (a
    pixel there averages only its neighbours inside).

    Args:
      images: float [N, H, W, C] in [-1, 1], the corrupted images.
      mask: float [N or 1, H, W, 1], 1 = missing.
      guide: float [N, H, W, C] whose gradients the hole takes (G(z)); None = the diffusion fill.
      tolerance: stop when no hole pixel moves more than this between two checks (every 50 iterations).
      max_iterations: stop after this many iterations at the latest.

    Returns:
      (completed float32 [N, H, W, C], clipped to [-1, 1] in the hole; the iterations run).
    """
    images = np.asarray(images, np.float32)
    hole = np.broadcast_to(np.asarray(mask) > 0.5, images.shape[:3] + (1,))
    counts = _neighbour_sum(np.ones((1, *images.shape[1:3], 1), np.float32))
    if guide is None:
        known_mean = (np.where(hole, 0.0, images).sum(axis=(1, 2), keepdims=True)
                      / np.maximum((~hole).sum(axis=(1, 2), keepdims=True), 1))
        x, source = np.where(hole, known_mean, images), 0.0
    else:
        guide = np.asarray(guide, np.float32)
        x, source = np.where(hole, guide, images), guide - _neighbour_sum(guide) / counts
    iterations = 0
    while iterations < max_iterations:
        previous = x
        for _ in range(_POISSON_CHECK_EVERY):
            x = np.where(hole, _neighbour_sum(x) / counts + source, images)
        iterations += _POISSON_CHECK_EVERY
        if np.abs(x - previous).max() < tolerance:
            break
    return composite(images, hole, np.clip(x, -1.0, 1.0)), iterations


def _neighbour_sum(x):
    """Sum of the 4 neighbours inside the image of each pixel of x [N, H, W, C] (none beyond the edges)."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]

