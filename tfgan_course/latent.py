"""Latent-space math of controllable generation (lecture 003): paths, vector arithmetic, exploration grids.

`lerp` and `slerp` take TensorFlow tensors or numpy arrays and work inside a `tf.function`,
so the exported `interpolate` signature and `python -m tfgan_course.explore` share one
definition. The rest is numpy, on z vectors only: turning them into images is explore's job.
TensorFlow is imported by the functions that use it, so explore's --help and flag errors
answer without loading it.
"""

import numpy as np

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
    """The z each seed names: float32 tensor [N, latent_dim], row i drawn from seeds[i] alone.

    Row i is `tf.random.stateless_<distribution>([latent_dim], seed=[seeds[i], 0])`, the
    noise `gan.GAN.generate(1, seed=seeds[i])` draws and so the one an export's `sample`
    signature draws for that seed. Works eagerly and inside a `tf.function`.

    Args:
      seeds: int [N] (a list, numpy array or tensor).
      latent_dim: D.
      distribution: "normal" (N(0, I)) or "uniform" (U[0, 1)).
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    draw = tf.random.stateless_uniform if distribution == "uniform" else tf.random.stateless_normal
    return tf.map_fn(lambda seed: draw([latent_dim], seed=tf.stack([seed, 0])),
                     tf.cast(seeds, tf.int64), fn_output_signature=tf.float32)


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
