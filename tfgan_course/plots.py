"""Figures: image grids, loss curves, progression GIFs and real-vs-fake panels."""

import csv
import math
import os

import numpy as np

# Figure objects are drawn without pyplot: no backend is selected (a notebook's
# inline plots keep working) and no global figure registry can leak figures.
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

LOSS_KEYS = ("d_loss", "g_loss")
DISCRIMINATOR_KEYS = ("D(x)", "D(G(z)) before", "D(G(z)) after")


def image_grid(images, nrow: int = 8, padding: int = 2, pad_value: float = 0.3) -> np.ndarray:
    """Tiles a batch of generator-range images into one RGB picture.

    Works like ``torchvision.utils.make_grid(normalize=True)`` except that the
    value range is fixed at [-1, 1] instead of the batch min/max, so grids from
    different epochs are directly comparable. Like make_grid, a batch smaller
    than ``nrow`` gets only ``N`` columns.

    Args:
      images: float [N, H, W, C] with C = 1 or 3, values in [-1, 1] (tanh
        outputs); numpy array or tf tensor. Values outside are clipped.
      nrow: images per row.
      padding: pixels of border around and between images.
      pad_value: border brightness in [0, 1]; also fills the empty cells of a
        last row when N is not a multiple of ``nrow``.

    Returns:
      uint8 [rows * (H + padding) + padding, cols * (W + padding) + padding, 3]
      with rows = ceil(N / cols), cols = min(nrow, N); -1 maps to 0, 1 to 255.

    Raises:
      ValueError: if images is not [N, H, W, C] with N >= 1 and C in (1, 3), or
        nrow < 1, or padding < 0.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "image_grid expects images of shape [N, H, W, C] with N >= 1 and "
            f"C in (1, 3), got shape {list(images.shape)}")
    if nrow < 1 or padding < 0:
        raise ValueError(f"need nrow >= 1 and padding >= 0, got {nrow=} {padding=}")
    n, h, w, c = images.shape
    # A diverged generator can emit NaN; show it as mid-gray rather than
    # letting the uint8 cast produce arbitrary bytes.
    images = np.nan_to_num(np.clip(images, -1.0, 1.0), nan=0.0)
    pixels = np.rint((images + 1.0) * 127.5).astype(np.uint8)
    if c == 1:
        pixels = np.repeat(pixels, 3, axis=-1)

    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    fill = np.uint8(min(max(round(pad_value * 255), 0), 255))
    # Each cell is the image with `padding` above and to its left; one more
    # strip at the bottom/right closes the grid, exactly as make_grid lays out.
    cells = np.full((rows, cols, h + padding, w + padding, 3), fill, np.uint8)
    cells.reshape(rows * cols, h + padding, w + padding, 3)[:n, padding:, padding:] = pixels
    grid = cells.transpose(0, 2, 1, 3, 4).reshape(rows * (h + padding), cols * (w + padding), 3)
    return np.pad(grid, ((0, padding), (0, padding), (0, 0)), constant_values=fill)


def save_image_grid(images, path, nrow: int = 8, title: str | None = None) -> None:
    """Saves ``image_grid(images, nrow)`` as a picture.

    Args:
      images: float [N, H, W, C] in [-1, 1], C = 1 or 3.
      path: output file, normally ``.png``. Parent dirs are created.
      nrow: images per row.
      title: if given, the grid is drawn in a matplotlib figure under this
        title; otherwise the exact grid pixels are written with Pillow.
    """
    grid = image_grid(images, nrow=nrow)
    if title is None:
        _atomic_write(path, lambda f: Image.fromarray(grid).save(f, format=_pillow_format(path)))
        return
    height, width = grid.shape[:2]
    fig = Figure(figsize=(8, 8 * height / width + 0.6))
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(title)
    ax.imshow(grid, interpolation="nearest")
    _save_figure(fig, path)


def save_gif(grids: list[np.ndarray], path, duration_ms: int = 500) -> None:
    """Writes frames (e.g. one image grid per epoch) as a looping GIF.

    Pillow merges consecutive identical frames into one longer frame.

    Args:
      grids: non-empty list of uint8 [H, W, 3] frames, all the same shape.
      path: output ``.gif`` file. Parent dirs are created.
      duration_ms: display time per frame in milliseconds.

    Raises:
      ValueError: if grids is empty, or frames differ in shape or are not uint8.
    """
    frames = [np.asarray(grid) for grid in grids]
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    if any(f.dtype != np.uint8 or f.shape != frames[0].shape for f in frames):
        raise ValueError("save_gif expects uint8 [H, W, 3] frames that all share one shape, got "
                         f"{sorted({(str(f.dtype), f.shape) for f in frames})}")
    images = [Image.fromarray(frame) for frame in frames]
    _atomic_write(path, lambda f: images[0].save(
        f, format="GIF", save_all=True, append_images=images[1:],
        duration=duration_ms, loop=0))  # loop=0: repeat forever


def save_real_vs_fake(real_images, fake_images, path, nrow: int = 8) -> None:
    """Saves the lectures' DCGAN side-by-side "Real Images" / "Fake Images" figure.

    Args:
      real_images: float [N, H, W, C] in [-1, 1] (the normalized data).
      fake_images: float [M, H, W, C] in [-1, 1] (generator outputs).
      path: output file, normally ``.png``. Parent dirs are created.
      nrow: images per row in each grid.
    """
    grids = image_grid(real_images, nrow=nrow), image_grid(fake_images, nrow=nrow)
    fig = Figure(figsize=(15, 8))
    axes = fig.subplots(1, 2)
    for ax, grid, name in zip(axes, grids, ("Real Images", "Fake Images")):
        ax.set_axis_off()
        ax.set_title(name)
        ax.imshow(grid, interpolation="nearest")
    _save_figure(fig, path)


def save_vector_arithmetic(samples, averaged, result, path, captions=("a", "b", "c")) -> None:
    """Lecture 003's vector arithmetic as a figure: mean(a) - mean(b) + mean(c) = result.

    The top row shows each concept's samples (what was averaged); the bottom row the
    image of each averaged z, the operators, and the image of the combination, as the
    DCGAN paper's figure 7 lays it out.

    Args:
      samples: three float [N_k, H, W, C] in [-1, 1]: the samples of concepts a, b and c.
      averaged: three float [H, W, C] in [-1, 1]: G(concept vector) of a, b and c.
      result: float [H, W, C] in [-1, 1]: G(z_a - z_b + z_c).
      path: output file, normally ``.png``. Parent dirs are created.
      captions: the three concepts' captions above their samples (e.g. their seeds).
    """
    if len(samples) != 3 or len(averaged) != 3 or len(captions) != 3:
        raise ValueError("save_vector_arithmetic takes three operands: samples, averaged images and captions of a, "
                         "b and c.")
    fig = Figure(figsize=(11, 5.5))
    axes = fig.subplots(2, 7, gridspec_kw={"width_ratios": [1, 0.3, 1, 0.3, 1, 0.3, 1]})
    for ax in axes.flat:
        ax.set_axis_off()
    for k, (batch, image, caption) in enumerate(zip(samples, averaged, captions)):
        batch = np.asarray(batch, np.float32)
        # Up to three samples in a row; more in a square.
        nrow = len(batch) if len(batch) <= 3 else math.ceil(math.sqrt(len(batch)))
        axes[0, 2 * k].imshow(image_grid(batch, nrow=nrow), interpolation="nearest")
        axes[0, 2 * k].set_title(caption, fontsize=9)
        axes[1, 2 * k].imshow(image_grid(np.asarray(image)[None]), interpolation="nearest")
        axes[1, 2 * k].set_title(f"mean z of {'abc'[k]}", fontsize=9)
    for column, operator in ((1, "\u2212"), (3, "+"), (5, "=")):
        axes[1, column].text(0.5, 0.5, operator, fontsize=28, ha="center", va="center",
                             transform=axes[1, column].transAxes)
    axes[1, 6].imshow(image_grid(np.asarray(result)[None]), interpolation="nearest")
    axes[1, 6].set_title("result", fontsize=9)
    fig.suptitle("vector arithmetic: mean z of a \u2212 mean z of b + mean z of c")
    _save_figure(fig, path)


def save_real_vs_synth(real, fake, path, title: str = "Real vs Synth", limits=None) -> None:
    """Lecture 001's "Real vs Synth" figure of toy samples.

    Args:
      real, fake: float [N, 1] (overlaid histograms) or [M, 2] (a scatter plot).
      path: output file, normally ``.png``. Parent dirs are created.
      title: the figure's title (e.g. with the epoch).
      limits: (low, high) of every axis; None = from the real samples, so the
        frames of a run share their axes.
    """
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    if real.ndim != 2 or real.shape[1] not in (1, 2) or fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"real and fake must be [N, 1] or [N, 2] alike, got {real.shape} and {fake.shape}.")
    if limits is None:
        low, high = float(real.min()), float(real.max())
        margin = 0.25 * (high - low) if high > low else 1.0
        limits = (low - margin, high + margin)
    fig = Figure(figsize=(6, 6))
    ax = fig.subplots()
    if real.shape[1] == 1:
        bins = np.linspace(limits[0], limits[1], 61)
        ax.hist(real[:, 0], bins=bins, alpha=0.5, density=True, label="Real")
        # Off-range fakes pile up at the edges, in float64: a float32 clip can land just outside the bins.
        ax.hist(np.clip(fake[:, 0].astype(np.float64), bins[0], bins[-1]), bins=bins, alpha=0.5, density=True,
                label="Synth")
        ax.set_xlim(limits)
    else:
        ax.scatter(real[:, 0], real[:, 1], s=4, alpha=0.5, label="Real")
        ax.scatter(fake[:, 0], fake[:, 1], s=4, alpha=0.5, label="Synth")
        ax.set_xlim(limits)
        ax.set_ylim(limits)
        ax.set_aspect("equal")
    ax.legend(loc="upper right")
    ax.set_title(title)
    _save_figure(fig, path)


def save_loss_curves(history: dict[str, list[float]], path, keys=LOSS_KEYS,
                     title: str = "Generator and Discriminator Loss During Training",
                     xlabel: str = "epoch") -> None:
    """Plots one line per metric in ``keys`` against epochs (or steps).

    Args:
      history: metric name -> values, one per epoch/step. If it also holds a
        column named ``xlabel`` (e.g. "epoch" from ``read_losses_csv``) of the
        same length, that is the x axis; otherwise x counts 1, 2, ...
      path: output file (any matplotlib format by extension; default png).
      keys: metrics to draw; keys missing from history are silently skipped.
        If none is present the figure is still written, with a note.
      title: figure title.
      xlabel: x axis label and name of the optional x column.
    """
    _save_curves(history, path, keys, title, xlabel, ylabel="loss")


def save_discriminator_outputs(history: dict[str, list[float]], path, xlabel: str = "step",
                               keys=DISCRIMINATOR_KEYS) -> None:
    """Plots mean D(x), and D(G(z)) before and after the D update, on [0, 1].

    Args:
      history: metric name -> values per step (or epoch), using the keys
        "D(x)", "D(G(z)) before", "D(G(z)) after" (missing ones are skipped).
      path: output file, normally ``.png``. Parent dirs are created.
      xlabel: x axis label and name of the optional x column ("step" or "epoch").
      keys: the curves; other than D's probabilities (BEGAN's energies, k_t and
        M_global) they are drawn on a free y axis.
    """
    probabilities = all(key in DISCRIMINATOR_KEYS for key in keys)
    _save_curves(history, path, keys, "Discriminator outputs", xlabel,
                 ylabel="mean D output" if probabilities else "value", ylim=(0.0, 1.0) if probabilities else None)


def save_growth(history: dict[str, list[float]], path, xlabel: str = "step") -> None:
    """A progressive GAN's schedule per step: its phase (0, 1, 2, ...: stable, fading in, stable, ...) and the
    newest block's fade-in alpha in [0, 1], from losses.csv's "phase" and "alpha" columns."""
    _save_curves(history, path, ("phase", "alpha"), "Growth: phase and fade-in alpha", xlabel, ylabel="")


def save_learned_mapping(u, mapping, real, path, title: str = "Learned mapping vs inverse CDF") -> None:
    """Textbook 12.2.2: a 1-D generator's mapping z -> G(z) against X = F_X^{-1}(z) for uniform z.

    F_X is the real data's CDF, estimated from `real` (its empirical
    quantiles). A generator can equally learn the decreasing map
    F_X^{-1}(1 - z), which gives the same distribution, so both are drawn.

    Args:
      u: float [N] in (0, 1), increasing, the latent values.
      mapping: float [N], G(u).
      real: float [M], real samples.
      path: output file, normally ``.png``.
      title: the left panel's title.
    """
    u, mapping, real = (np.asarray(a, np.float64).ravel() for a in (u, mapping, real))
    inverse_cdf = np.quantile(real, u)
    fig = Figure(figsize=(11, 5))
    left, right = fig.subplots(1, 2)
    left.plot(u, inverse_cdf, "k--", label="F$^{-1}$(z), data")
    left.plot(u, inverse_cdf[::-1], "k:", label="F$^{-1}$(1 - z), data")
    left.plot(u, mapping, label="G(z), learned")
    left.set_xlabel("z ~ U[0, 1)")
    left.set_ylabel("x")
    left.set_title(title)
    left.legend()
    bins = np.linspace(min(real.min(), mapping.min()), max(real.max(), mapping.max()), 61)
    right.hist(real, bins=bins, alpha=0.5, density=True, label="Real")
    right.hist(mapping, bins=bins, alpha=0.5, density=True, label="G(z), z on a uniform grid")
    right.set_title("Densities")
    right.legend()
    _save_figure(fig, path)


def save_generator_gradients(d_of_fake, gradients: dict, path,
                             title: str = "Generator gradient against D(G(z))") -> None:
    """Lecture 001's saturation plot: each G loss's gradient magnitude against D(G(z)).

    Args:
      d_of_fake: float [N] in (0, 1), increasing, D's probability that a fake is real.
      gradients: {loss name: float [N]} d loss / d logit at each point
        (`losses.generator_logit_gradients`).
      path: output file, normally ``.png``.
      title: the figure's title.
    """
    d_of_fake = np.asarray(d_of_fake, np.float64)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, gradient in gradients.items():
        ax.plot(d_of_fake, np.abs(np.asarray(gradient, np.float64)), label=name)
    ax.axvspan(0, 0.1, color="0.9", zorder=0)
    ax.text(0.01, 0.5, "early training:\nD rejects the fakes", transform=ax.transAxes, fontsize=9)
    ax.set_xlabel("D(G(z))")
    ax.set_ylabel("|d loss / d logit|, what reaches G")
    ax.set_xlim(0, 1)
    ax.set_title(title)
    ax.legend()
    _save_figure(fig, path)


def save_class_histogram(generated_counts, real_counts, path, title: str = "Predicted classes") -> None:
    """Bars of the classifier's predicted classes: generated images beside real (test) ones.

    Args:
      generated_counts, real_counts: int [K] per-class counts (normalised to shares here).
      path: output file, normally ``.png``.
      title: the figure's title.
    """
    generated = np.asarray(generated_counts, np.float64)
    real = np.asarray(real_counts, np.float64)
    classes = np.arange(len(generated))
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    ax.bar(classes - 0.2, real / max(real.sum(), 1), width=0.4, label="real (test split)")
    ax.bar(classes + 0.2, generated / max(generated.sum(), 1), width=0.4, label="generated")
    ax.set_xticks(classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("share of images")
    ax.set_title(title)
    ax.legend()
    _save_figure(fig, path)


def read_losses_csv(path) -> dict[str, list[float]]:
    """Reads a metrics CSV back into a history dict.

    Args:
      path: CSV with a header row (first column "epoch" or "step"), then one
        row of numbers per epoch/step.

    Returns:
      column name -> float values in row order, including the first column.
      Empty, missing or non-numeric cells become nan so columns stay aligned.

    Raises:
      ValueError: if the file has no header row.
    """
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows:
        raise ValueError(f"{path}: empty CSV, expected a header row")
    names = [name.strip() for name in rows[0]]
    history = {name: [] for name in names}
    for row in rows[1:]:
        for i, name in enumerate(names):
            history[name].append(_to_float(row[i] if i < len(row) else ""))
    return history


def _to_float(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return math.nan


def _save_curves(history, path, keys, title, xlabel, ylabel, ylim=None) -> None:
    fig = Figure(figsize=(10, 5))
    ax = fig.subplots()
    present = [key for key in keys if len(history.get(key, ()))]
    for key in present:
        values = history[key]
        x = history.get(xlabel)
        if x is None or len(x) != len(values):
            x = range(1, len(values) + 1)
        ax.plot(x, values, label=key)
    if present:
        ax.legend()
    else:
        ax.text(0.5, 0.5, f"no data for {', '.join(keys)}", transform=ax.transAxes,
                ha="center", va="center", color="gray")
    if ylim is not None:
        ax.set_ylim(*ylim)
        # At the GAN equilibrium D outputs 1/2 everywhere; the line makes drift visible.
        ax.axhline(0.5, color="gray", linestyle=":", linewidth=1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs/steps are whole numbers
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _save_figure(fig, path)


def _save_figure(fig, path) -> None:
    """Writes ``fig``; a bare Figure is freed by garbage collection, nothing to close."""
    fmt = os.path.splitext(os.fspath(path))[1][1:].lower() or "png"
    _atomic_write(path, lambda f: fig.savefig(f, format=fmt, bbox_inches="tight"))


def _pillow_format(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    return Image.registered_extensions().get(ext, "PNG")


def _atomic_write(path, write) -> None:
    """Calls ``write(tmp_path)`` then renames onto ``path``.

    The temporary file sits in the same directory so ``os.replace`` is an
    atomic rename: a reader (a notebook, a web viewer) sees the old file or the
    complete new one, never half a file.
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
