"""Paths through the latent space (lecture 003): linear and spherical interpolation.

Both take TensorFlow tensors or numpy arrays and work inside a `tf.function`, so the
exported `interpolate` signature and the command-line tools share one definition.
"""

import tensorflow as tf

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


def _as_float32(*tensors):
    return [tf.convert_to_tensor(x, tf.float32) for x in tensors]
