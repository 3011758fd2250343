"""Toy 1-D and 2-D distributions of lectures 001, 002 and 004, and their mode-coverage metrics.

Distributions (`sample(name, n, seed)` -> float32 [n, dim]):

  gaussian1d  N(mean, std^2) in 1-D (lecture 004, example 1)
  line2d      points on the segment y = 2x + 1, x ~ U[-1, 1] (lecture 004, example 2)
  ring8       8 Gaussians on a circle of radius 1, std 0.01 (mode-collapse benchmark)
  grid25      25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05 (mode-collapse benchmark)

For the mixtures, `mode_metrics` counts the modes a sample covers (a mode
counts when a sample lies within 3 std of its centre), the share of
high-quality samples (within 3 std of some centre), and the reverse KL
divergence of the sample's mode histogram from the uniform one.
"""

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians: centres [K, dim], one std."""

    centres: np.ndarray
    std: float


def ring8(radius=1.0, std=0.01) -> Mixture:
    angles = 2 * np.pi * np.arange(8) / 8
    return Mixture(np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1), std)


def grid25(spacing=2.0, std=0.05) -> Mixture:
    ticks = spacing * np.arange(-2, 3)
    return Mixture(np.array([(x, y) for x in ticks for y in ticks], dtype=np.float64), std)


MIXTURES = {"ring8": ring8, "grid25": grid25}
DISTRIBUTIONS = ("gaussian1d", "line2d", *MIXTURES)


def sample(name: str, n: int, seed: int = 0, mean: float = 4.0, std: float = 1.25) -> np.ndarray:
    """n samples of the distribution `name`: float32 [n, 1] for gaussian1d, else [n, 2].

    `mean` and `std` are gaussian1d's (the lecture's example values by default).
    """
    rng = np.random.default_rng(seed)
    if name == "gaussian1d":
        return rng.normal(mean, std, size=(n, 1)).astype(np.float32)
    if name == "line2d":
        x = rng.uniform(-1.0, 1.0, size=n)
        return np.stack([x, 2.0 * x + 1.0], axis=1).astype(np.float32)
    if name in MIXTURES:
        mixture = MIXTURES[name]()
        modes = rng.integers(len(mixture.centres), size=n)
        noise = rng.normal(0.0, mixture.std, size=(n, mixture.centres.shape[1]))
        return (mixture.centres[modes] + noise).astype(np.float32)
    raise ValueError(f"Unknown toy distribution {name!r}; valid: {', '.join(DISTRIBUTIONS)}.")


@dataclasses.dataclass(frozen=True)
class ModeMetrics:
    """How well samples cover a mixture's modes.

    Attributes:
      modes_captured: modes with at least one sample within 3 std of their centre.
      num_modes: modes of the mixture.
      high_quality: fraction of samples within 3 std of some centre, in [0, 1].
      reverse_kl: KL(q || uniform) of the high-quality samples' mode histogram q,
        in [0, log K]; 0 when every mode holds the same share.
    """

    modes_captured: int
    num_modes: int
    high_quality: float
    reverse_kl: float


def mode_metrics(samples, mixture: Mixture) -> ModeMetrics:
    """Mode coverage of samples float [N, dim] against `mixture` (e.g. `ring8()`)."""
    samples = np.asarray(samples, np.float64)
    if samples.ndim != 2 or samples.shape[1] != mixture.centres.shape[1] or not len(samples):
        raise ValueError(f"samples must be [N, {mixture.centres.shape[1]}] with N > 0, got {samples.shape}.")
    distances = np.linalg.norm(samples[:, None, :] - mixture.centres[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= 3 * mixture.std
    counts = np.bincount(nearest[good], minlength=len(mixture.centres))
    num_modes = len(mixture.centres)
    if counts.sum():
        q = counts / counts.sum()
        reverse_kl = float(sum(p * math.log(p * num_modes) for p in q if p > 0))
    else:
        reverse_kl = math.log(num_modes)  # No sample near any mode: as far as one mode's worth.
    return ModeMetrics(int((counts > 0).sum()), num_modes, float(good.mean()), reverse_kl)


# Lecture 001's theory, checked numerically on 1-D densities sampled on a grid.


def optimal_discriminator(p_data, p_model):
    """D*(x) = p(x) / (p(x) + p_G(x)), the best D for a fixed G (Goodfellow et al., 2014, prop. 1).

    Args:
      p_data, p_model: float [N], densities on the same grid (0 where neither has mass gives 1/2).

    Returns:
      float [N] in [0, 1].
    """
    p_data, p_model = np.asarray(p_data, np.float64), np.asarray(p_model, np.float64)
    total = p_data + p_model
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def gan_value(discriminator, p_data, p_model, dx):
    """V(D, G) = E_p[log D(x)] + E_pG[log(1 - D(x))], a Riemann sum with grid step dx."""
    d = np.clip(np.asarray(discriminator, np.float64), 1e-300, 1 - 1e-16)
    return float(np.sum(p_data * np.log(d) + p_model * np.log1p(-d)) * dx)


def js_divergence(p_data, p_model, dx):
    """Jensen-Shannon divergence of two densities on a grid, in nats: in [0, log 2]."""
    p, q = np.asarray(p_data, np.float64), np.asarray(p_model, np.float64)
    m = 0.5 * (p + q)

    def kl(a, b):
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / b[mask])) * dx)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)
