"""Latent-space math of controllable generation (lecture 003): paths, vector arithmetic, exploration grids.

`lerp` and `slerp` take TensorFlow tensors or numpy arrays and work inside a `tf.function`,
so the exported `interpolate` signature and `python -m tfgan_course.explore` share one
definition. The rest is numpy, on z vectors only: turning them into images is explore's job.
TensorFlow is imported by the functions that use it, so explore's --help and flag errors
answer without loading it.
"""

import dataclasses

import numpy as np

from tfgan_course import spec as spec_lib

INTERPOLATIONS = ("slerp", "lerp")


def lerp(start, end, t):
    """(1 - t) start + t end.

    Args:
      start, end: float32 [B, D] latent vectors.
      t: float32 [S] positions in [0, 1].

    Returns:
      float32 [B, S, D]: row b is the straight line from start[b] to end[b].
    """
    start, end, t = _as_float32(start, end, t)
    return start[:, None, :] + t[None, :, None] * (end - start)[:, None, :]


def slerp(start, end, t):
    """Spherical interpolation (Shoemake 1985), the path DCGAN's authors recommend for Gaussian z.

    A Gaussian z in many dimensions lies near a sphere of radius sqrt(D); the
    straight line between two samples cuts through the low-density middle, the
    great-circle arc does not. Norms are interpolated linearly along the arc.
    Nearly parallel endpoints (angle below 1e-4 rad) fall back to `lerp`.

    Args:
      start, end: float32 [B, D] latent vectors.
      t: float32 [S] positions in [0, 1].

    Returns:
      float32 [B, S, D].
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    start, end, t = _as_float32(start, end, t)
    start_norm = tf.norm(start, axis=-1, keepdims=True)
    end_norm = tf.norm(end, axis=-1, keepdims=True)
    cosine = tf.reduce_sum(start * end, axis=-1, keepdims=True) / tf.maximum(start_norm * end_norm, 1e-12)
    omega = tf.acos(tf.clip_by_value(cosine, -1.0, 1.0))[:, None, :]  # [B, 1, 1]
    t = t[None, :, None]  # [1, S, 1]
    sin_omega = tf.sin(omega)
    nearly_parallel = sin_omega < 1e-4
    safe_sin = tf.where(nearly_parallel, tf.ones_like(sin_omega), sin_omega)
    start_weight = tf.where(nearly_parallel, 1.0 - t, tf.sin((1.0 - t) * omega) / safe_sin)
    end_weight = tf.where(nearly_parallel, t, tf.sin(t * omega) / safe_sin)
    return start_weight * start[:, None, :] + end_weight * end[:, None, :]


def interpolate(name, start, end, t):
    """`slerp` or `lerp` by name; an unknown name is a ValueError listing the valid ones."""
    if name not in INTERPOLATIONS:
        raise ValueError(f"Unknown interpolation {name!r}; valid values: {', '.join(INTERPOLATIONS)}.")
    return (slerp if name == "slerp" else lerp)(start, end, t)


def seeded_z(seeds, latent_dim: int, distribution: str = "normal"):
    """The noise each seed names: float32 tensor [N, latent_dim], row i drawn from seeds[i] alone.

    Row i is `tf.random.stateless_<distribution>([latent_dim], seed=[seeds[i], 0])`: the
    noise of `draw_latents(..., 1, seeds[i])`, and so of an export's `sample` signature for
    that seed. Works eagerly and inside a `tf.function`.

    Args:
      seeds: int [N] (a list, numpy array or tensor).
      latent_dim: D.
      distribution: "normal" (N(0, I)) or "uniform" (U[0, 1)).
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    draw = tf.random.stateless_uniform if distribution == "uniform" else tf.random.stateless_normal
    return tf.map_fn(lambda seed: draw([latent_dim], seed=tf.stack([seed, 0])),
                     tf.cast(seeds, tf.int64), fn_output_signature=tf.float32)


def draw_latents(latent_input: spec_lib.Input, num_samples: int, seed, category=None):
    """num_samples latent vectors float32 [N, D] from one seed: noise, then InfoGAN's codes.

    The noise is `stateless_<distribution>([N, noise_dim], seed=[seed, 0])`; a categorical
    code is uniform from seed [seed, 1] (or `category` for every row), continuous codes
    U[-1, 1] from seed [seed, 2]. Works eagerly and inside a `tf.function` (seed a tensor).

    Args:
      latent_input: the spec's latent Input.
      num_samples: N.
      seed: int or int64 scalar tensor.
      category: the categorical code's value for every row (InfoGAN), or None for random.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    draw = tf.random.stateless_uniform if latent_input.distribution == "uniform" else tf.random.stateless_normal
    noise = draw([num_samples, latent_input.noise_dim], seed=[seed, 0])
    if not latent_input.categorical + latent_input.continuous:
        return noise
    categories = tf.random.stateless_uniform([num_samples], seed=[seed, 1], maxval=max(latent_input.categorical, 1),
                                             dtype=tf.int32)
    continuous = tf.random.stateless_uniform([num_samples, latent_input.continuous], seed=[seed, 2],
                                             minval=-1.0, maxval=1.0)
    if category is not None:
        if not 0 <= int(category) < latent_input.categorical:
            raise ValueError(f"label {category} is out of range: the categorical code has "
                             f"{latent_input.categorical} values.")
        categories = tf.fill([num_samples], tf.constant(int(category), tf.int32))
    return compose_latents(latent_input, noise, categories, continuous)


def compose_latents(latent_input: spec_lib.Input, noise, categories, continuous):
    """[noise, one_hot(categories), continuous]: float32 [B, D] (tensors or numpy in, a tensor out)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return tf.concat([tf.convert_to_tensor(noise, tf.float32),
                      tf.one_hot(categories, latent_input.categorical, dtype=tf.float32),
                      tf.cast(continuous, tf.float32)], axis=1)


def seeded_latents(latent_input: spec_lib.Input, seeds):
    """seeds int [N] -> float32 [N, D], row i = `draw_latents(latent_input, 1, seeds[i])`.

    What an export's `sample` signature feeds G for each seed, and what a seed names in
    explore. Works in graph mode (the export traces it).
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return tf.map_fn(lambda seed: draw_latents(latent_input, 1, seed)[0], tf.cast(seeds, tf.int64),
                     fn_output_signature=tf.float32)


def draw_labels(num_classes: int, num_samples: int, seed, label=None):
    """int32 [N] class labels: uniform from seed [seed, 1], or `label` (an int or int [N]) checked in range."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    if label is None:
        return tf.random.stateless_uniform([num_samples], seed=[seed, 1], maxval=num_classes, dtype=tf.int32)
    labels = np.broadcast_to(np.asarray(label, np.int32), [num_samples])
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"label {label} is out of range: this generator has classes 0..{num_classes - 1}.")
    return tf.constant(labels)


def draw_inputs(inputs, num_samples: int, seed: int = 0, label=None) -> dict:
    """{input name: tensor} of num_samples generator inputs drawn from one seed.

    `inputs` are a generator's `spec.Input`s (`GeneratorSpec.inputs`): latent and label
    inputs are drawn; a generator that takes an image is given its images, not seeds.

    `label` is a conditional generator's class (an int, int [N], or None for classes
    drawn from the seed) or an InfoGAN's categorical code (an int); a ValueError for a
    generator that takes neither.
    """
    latent_input = next((i for i in inputs if i.kind == "latent"), None)
    label_input = next((i for i in inputs if i.kind == "label"), None)
    if label is not None and label_input is None and not (latent_input and latent_input.categorical):
        raise ValueError("This generator is not conditional: it takes no label.")
    inputs = {}
    if latent_input is not None:
        inputs[latent_input.name] = draw_latents(latent_input, num_samples, seed,
                                                 category=None if label_input else label)
    if label_input is not None:
        inputs[label_input.name] = draw_labels(label_input.num_classes, num_samples, seed, label)
    return inputs


@dataclasses.dataclass(frozen=True)
class GridInputs:
    """Generator inputs for a figure, and how many images a row of it holds.

    Attributes:
      inputs: {input name: numpy array}, N rows each.
      nrow: images per row of the grid.
      title: the figure's title, or None.
    """

    inputs: dict
    nrow: int
    title: str | None = None


def code_sweeps(latent_input: spec_lib.Input, noise, steps: int = 10, span: float = 2.0) -> dict:
    """InfoGAN's code sweeps (the paper's figure 2): each continuous code over [-span, span] (columns),
    per categorical value (rows), around one noise vector, every other continuous code 0.

    Args:
      latent_input: an InfoGAN's latent Input (with codes).
      noise: float [noise_dim]: the noise kept fixed.
      steps: values of each continuous code.
      span: the sweep's range; training drew the codes from [-1, 1], so beyond 1 extrapolates.

    Returns:
      {"c1": GridInputs, ...} for continuous codes c1..cN, plus "categorical" (every
      categorical value for the one noise vector) when there is a categorical code.
    """
    noise = np.asarray(noise, np.float32).reshape(1, -1)
    name, categorical, num_continuous = latent_input.name, latent_input.categorical, latent_input.continuous
    rows = max(categorical, 1)
    categories = np.repeat(np.arange(rows, dtype=np.int32), steps)
    sweeps = {}
    for j in range(num_continuous):
        continuous = np.zeros([rows * steps, num_continuous], np.float32)
        continuous[:, j] = np.tile(np.linspace(-span, span, steps, dtype=np.float32), rows)
        sweeps[f"c{j + 1}"] = GridInputs(
            {name: compose_latents(latent_input, np.repeat(noise, rows * steps, 0), categories, continuous).numpy()},
            steps, f"continuous code c{j + 1} from {-span:g} to {span:g} (columns), categorical code (rows)")
    if categorical:
        continuous = np.zeros([categorical, num_continuous], np.float32)
        sweeps["categorical"] = GridInputs(
            {name: compose_latents(latent_input, np.repeat(noise, categorical, 0),
                                   np.arange(categorical, dtype=np.int32), continuous).numpy()},
            categorical, "categorical code, one value per column")
    return sweeps


def concept_vector(z):
    """The mean of several z that show one concept: DCGAN's averaging (Radford et al., 2016, section 6.3).

    One sample's z carries its concept and much else; averaging a few samples that share
    the concept keeps what they share. For Gaussian z the mean has a smaller norm than a
    sample (1/sqrt(N) of it for independent z); like the paper, it is not rescaled.

    Args:
      z: float [N, D], N >= 1.

    Returns:
      float32 [D].
    """
    z = np.asarray(z, np.float32)
    if z.ndim != 2 or not len(z):
        raise ValueError(f"A concept needs z of shape [N, D] with N >= 1, got shape {list(z.shape)}.")
    return z.mean(axis=0)


def arithmetic(z_a, z_b, z_c):
    """Lecture 003's vector arithmetic z_a - z_b + z_c on concept vectors ("smiling woman - woman + man").

    Args:
      z_a, z_b, z_c: float [N_a, D], [N_b, D], [N_c, D]: each concept's samples, averaged first.

    Returns:
      float32 [D]: concept_vector(z_a) - concept_vector(z_b) + concept_vector(z_c).
    """
    a, b, c = (concept_vector(z) for z in (z_a, z_b, z_c))
    if not a.shape == b.shape == c.shape:
        raise ValueError(f"The concepts' z differ in size: {a.shape[0]}, {b.shape[0]} and {c.shape[0]}.")
    return a - b + c


def axis_directions(dims, latent_dim: int):
    """Unit vectors along two chosen coordinates of z.

    Args:
      dims: two distinct ints in [0, latent_dim).
      latent_dim: D.

    Returns:
      float32 [2, D], row k the one-hot vector of dims[k].
    """
    dims = [int(d) for d in dims]
    if len(dims) != 2 or dims[0] == dims[1]:
        raise ValueError(f"Exploration varies two distinct dimensions of z; got dims {dims}.")
    if not all(0 <= d < latent_dim for d in dims):
        raise ValueError(f"dims {dims} are out of range: z has {latent_dim} dimensions, 0..{latent_dim - 1}.")
    return np.eye(latent_dim, dtype=np.float32)[dims]


def random_directions(latent_dim: int, seed: int = 0):
    """Two random orthonormal directions in z's space, for a grid that mixes every coordinate.

    Args:
      latent_dim: D >= 2.
      seed: int; the same seed gives the same directions.

    Returns:
      float32 [2, D] with orthonormal rows.
    """
    if latent_dim < 2:
        raise ValueError(f"Two orthogonal directions need z of 2 or more dimensions, not {latent_dim}.")
    # Q of a Gaussian matrix's QR is uniform over orthonormal frames; float64 keeps it orthonormal in float32.
    q, _ = np.linalg.qr(np.random.RandomState(seed).normal(size=(latent_dim, 2)))
    return q.T.astype(np.float32)


def exploration_grid(center, directions, span: float = 2.0, steps: int = 7):
    """z on a steps x steps grid around `center` in the plane of two directions.

    Args:
      center: float [D], the point explored (e.g. one seed's z).
      directions: float [2, D]: `axis_directions` or `random_directions`.
      span: the grid runs from -span to +span along each direction (in z's units: a
        standard normal coordinate spends 95% of its mass within +-2).
      steps: points per direction, >= 2; odd puts `center` itself in the middle.

    Returns:
      float32 [steps, steps, D]: z[i, j] = center + o_i directions[0] + o_j directions[1],
      o = linspace(-span, span, steps); rows move along the first direction, columns along the second.
    """
    center = np.asarray(center, np.float32)
    directions = np.asarray(directions, np.float32)
    if center.ndim != 1 or directions.shape != (2, center.shape[0]):
        raise ValueError(f"exploration_grid needs center [D] and directions [2, D], got {list(center.shape)} "
                         f"and {list(directions.shape)}.")
    if steps < 2 or span <= 0:
        raise ValueError(f"exploration_grid needs steps >= 2 and span > 0, got steps={steps} span={span}.")
    offsets = np.linspace(-span, span, steps, dtype=np.float32)
    return (center + offsets[:, None, None] * directions[0] + offsets[None, :, None] * directions[1]).astype(
        np.float32)


def _as_float32(*tensors):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return [tf.convert_to_tensor(x, tf.float32) for x in tensors]
