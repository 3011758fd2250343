r"""Controllable generation (lecture 003): latent-space figures of a training run or of an export.

  python -m tfgan_course.explore --workdir=runs/dcgan --mode=interpolate --seeds=3,7 --gif
  python -m tfgan_course.explore --export_dir=runs/dcgan/export/dcgan_fashion_mnist --mode=grid --seeds=0

--workdir restores a training run's last checkpoint (its EMA generator if it has one);
--export_dir loads a SavedModel (a version directory, or a model directory: its newest
version) and drives it through its signatures. A seed names a z: the one
`GAN.generate(1, seed=s)` draws, which is also what an export's `sample` signature draws for
seed s, so a figure's images are those the model serves for the same seeds.

Modes (--mode):

  interpolate  The images on the path between the z of consecutive seeds, --steps of them,
               ends included, one row per pair: slerp for Gaussian z (the path stays where
               the mass is), lerp for uniform z, unless --interpolation says otherwise.
               --gif also writes the path as an animation.
                 --mode=interpolate --seeds=3,7 --steps=10 --gif
                 --mode=interpolate --seeds=3,7,12 --interpolation=lerp
  arithmetic   DCGAN's vector arithmetic ("smiling woman - neutral woman + neutral man"):
               each concept's z is the mean of its seeds' z, then z_a - z_b + z_c, drawn
               beside its operands. Pick the seeds from a grid of samples.
                 --mode=arithmetic --concept_a=1,4,9 --concept_b=2,5,11 --concept_c=3,8,13
  grid         A --steps x --steps grid around one seed's z, moving two coordinates of z
               (--dims, default 0,1) or two random orthonormal directions
               (--random_directions), each from -span to +span.
                 --mode=grid --seeds=0 --dims=3,17 --span=2 --steps=7
                 --mode=grid --seeds=0 --random_directions --span=3
  classes      A conditional model: one row per seed, every label in the columns, the same
               z along a row. An export reads its number of classes from its
               generator.json; --num_classes gives it for an export older than that file.
                 --mode=classes --seeds=0,1,2
  codes        InfoGAN: each continuous code swept from -span to +span (columns) for every
               categorical value (rows), and the categorical code alone, around one seed's
               noise. A run or an export with a spec (exports older than specs do not record the
               code layout: use the run's --workdir).
                 --mode=codes --seeds=0 --steps=10 --span=2

A conditional model's class for interpolate, arithmetic and grid is --label. Figures go to
--out (default <workdir or export_dir>/explore/<mode>.png); --gif writes the same path with
.gif, and codes writes <out>_<code>.png per sweep. Every file is written atomically.
"""

import os
import sys

import numpy as np
from absl import app, flags

from tfgan_course import latent, plots

_BATCH = 64  # Images per generator call: a grid of a DCGAN-64 stays small in memory.
_GIF_SIZE = 128  # GIF frames are scaled up (by whole pixels) to at least this many pixels a side.


def _latent_dim(model) -> int:
    """D, the size of the latent vector a seed names (an InfoGAN's noise and codes)."""
    return model.spec.latent.size


def _draw(model, z, labels=None):
    """z float [N, D] (and labels: an int, int [N], or None) -> float32 [N, H, W, C] in [-1, 1], in batches."""
    z = np.asarray(z, np.float32)
    spec = model.spec
    if z.ndim != 2 or z.shape[1] != _latent_dim(model):
        raise ValueError(f"{model.description} takes z of shape [N, {_latent_dim(model)}], got {list(z.shape)}.")
    if spec.conditional:
        if labels is None:
            raise ValueError(f"{model.description} is conditional: pass --label, the class in "
                             f"0..{spec.num_classes - 1} to draw.")
        labels = np.broadcast_to(np.asarray(labels, np.int32), [len(z)])
        if labels.min() < 0 or labels.max() >= spec.num_classes:
            raise ValueError(f"--label {labels.max() if labels.min() >= 0 else labels.min()} is out of range: "
                             f"{model.description} has classes 0..{spec.num_classes - 1}.")
    elif labels is not None:
        raise ValueError(f"{model.description} is not conditional: it takes no --label.")
    batches = []
    for start in range(0, len(z), _BATCH):
        feed = {spec.latent.name: z[start:start + _BATCH]}
        if spec.conditional:
            feed[spec.input("label").name] = labels[start:start + _BATCH]
        batches.append(model.images(feed))
    return np.concatenate(batches)


def load(workdir=None, export_dir=None, num_classes: int = 0):
    """`trained.load`, checked to draw images from a latent vector: what explore explores."""
    from tfgan_course import trained  # pylint: disable=import-outside-toplevel  # TensorFlow: keeps --help fast.

    model = trained.load(workdir, export_dir, num_classes)
    if not model.spec.makes_images or model.spec.latent is None:
        raise ValueError(f"{model.description} does not draw images from a latent vector: explore draws images.")
    return model


def _seed_list(seeds, flag, mode, at_least=1, at_most=None):
    """`seeds` as a list of ints, or a ValueError naming the flag and what the mode needs."""
    seeds = [] if seeds is None else [int(seed) for seed in seeds]
    if len(seeds) < at_least or (at_most is not None and len(seeds) > at_most):
        count = f"exactly {at_least}" if at_least == at_most else f"at least {at_least}"
        raise ValueError(f"--mode={mode} needs {count} seed(s) in --{flag} (e.g. --{flag}="
                         f"{','.join(str(s) for s in range(3, 3 + at_least))}), got {len(seeds)}.")
    return seeds


def _joined(values):
    return ",".join(str(v) for v in values)


def _gif_frame(image):
    """float [H, W, C] in [-1, 1] -> uint8 [kH, kW, 3], scaled up by whole pixels to at least _GIF_SIZE a side."""
    frame = plots.image_grid(image[None], padding=0)
    scale = max(1, -(-_GIF_SIZE // max(frame.shape[:2])))
    return np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)


def interpolate(model, out: str, seeds=None, steps: int = 8, interpolation: str | None = None,
                label=None, gif: bool = False) -> dict:
    """The images along the path between consecutive seeds' z: a strip, one row per pair (and a GIF).

    Args:
      model: the generator.
      out: the strip's path (.png); with `gif`, the GIF goes to the same path with .gif.
      seeds: two or more ints; row p runs from seeds[p] to seeds[p + 1].
      steps: images per row, both ends included, >= 2.
      interpolation: "slerp" or "lerp"; None = the model's (slerp for Gaussian z).
      label: a conditional model's class.
      gif: also write the whole chain of paths as an animation, one frame per image.

    Returns:
      {path: images drawn in it}: the strip float32 [P, steps, H, W, C] for P = len(seeds) - 1
      pairs; the GIF's frames [P * (steps - 1) + 1, H, W, C] (each joint once).
    """
    seeds = _seed_list(seeds, "seeds", "interpolate", at_least=2)
    if steps < 2:
        raise ValueError(f"--steps={steps}: a path needs at least its two ends.")
    interpolation = interpolation or model.spec.interpolation
    z = model.latents_for_seeds(seeds)
    path = latent.interpolate(interpolation, z[:-1], z[1:], np.linspace(0.0, 1.0, steps, dtype=np.float32))
    images = _draw(model, np.reshape(path, [-1, _latent_dim(model)]), label)
    strip = images.reshape(len(seeds) - 1, steps, *images.shape[1:])
    plots.save_image_grid(images, out, nrow=steps,
                          title=f"{interpolation} between seeds {' -> '.join(map(str, seeds))} "
                                f"({steps} images a row, ends included)")
    written = {out: strip}
    if gif:
        frames = np.concatenate([strip[0], *[row[1:] for row in strip[1:]]])
        gif_path = os.path.splitext(out)[0] + ".gif"
        plots.save_gif([_gif_frame(frame) for frame in frames], gif_path, duration_ms=120)
        written[gif_path] = frames
    return written


def arithmetic(model, out: str, concept_a=None, concept_b=None, concept_c=None, label=None) -> dict:
    """DCGAN's vector arithmetic: G(mean z_a - mean z_b + mean z_c), drawn beside its operands.

    Args:
      model: the generator.
      out: the figure's path (.png).
      concept_a, concept_b, concept_c: seeds whose samples show each concept (one or more each).
      label: a conditional model's class, for every image.

    Returns:
      {out: float32 [4, H, W, C]}: the images of the three concept vectors, then the result's.
    """
    concepts = [_seed_list(seeds, f"concept_{name}", "arithmetic")
                for name, seeds in zip("abc", (concept_a, concept_b, concept_c))]
    z = [model.latents_for_seeds(seeds) for seeds in concepts]
    vectors = np.stack([latent.concept_vector(zs) for zs in z] + [latent.arithmetic(*z)])
    drawn = _draw(model, vectors, label)
    samples = [_draw(model, zs, label) for zs in z]
    plots.save_vector_arithmetic(samples, drawn[:3], drawn[3], out,
                                 captions=[f"{name}: seed{'s' * (len(seeds) > 1)} {_joined(seeds)}"
                                           for name, seeds in zip("abc", concepts)])
    return {out: drawn}


def grid(model, out: str, seeds=(0,), dims=None, random_directions: bool = False,
         direction_seed: int | None = None, span: float = 2.0, steps: int = 7, label=None) -> dict:
    """A steps x steps grid of images around one seed's z, moving along two directions of z.

    Args:
      model: the generator.
      out: the figure's path (.png).
      seeds: the one seed whose z is the grid's center.
      dims: two coordinates of z to vary (rows, columns); default 0, 1.
      random_directions: vary two random orthonormal directions instead (not with `dims`).
      direction_seed: the seed of the random directions (default 0).
      span: each direction runs from -span to +span around the center.
      steps: images per row and per column; odd puts the seed's own image in the middle.
      label: a conditional model's class.

    Returns:
      {out: float32 [steps, steps, H, W, C]}.
    """
    (seed,) = _seed_list(seeds, "seeds", "grid", at_least=1, at_most=1)
    if random_directions and dims is not None:
        raise ValueError("Pass --dims or --random_directions, not both: the grid moves along two directions.")
    if direction_seed is not None and not random_directions:
        raise ValueError("--direction_seed seeds --random_directions: pass it with --random_directions only.")
    if random_directions:
        direction_seed = direction_seed or 0
        directions = latent.random_directions(_latent_dim(model), direction_seed)
        along = f"two random orthonormal directions (seed {direction_seed})"
    else:
        dims = (0, 1) if dims is None else tuple(dims)
        directions = latent.axis_directions(dims, _latent_dim(model))
        along = f"z[{dims[0]}] (rows) and z[{dims[1]}] (columns)"
    center = model.latents_for_seeds([seed])[0]
    zs = latent.exploration_grid(center, directions, span=span, steps=steps)
    images = _draw(model, zs.reshape(-1, _latent_dim(model)), label)
    plots.save_image_grid(images, out, nrow=steps, title=f"seed {seed}'s z moved along {along}, "
                                                          f"-{span:g} to +{span:g}")
    return {out: images.reshape(steps, steps, *images.shape[1:])}


def classes(model, out: str, seeds=(0, 1, 2, 3)) -> dict:
    """A conditional model's class sweep: one row per seed's z, one column per label.

    Returns:
      {out: float32 [len(seeds), num_classes, H, W, C]}.
    """
    seeds = _seed_list(seeds, "seeds", "classes")
    if not model.spec.conditional:
        raise ValueError(f"--mode=classes sweeps a conditional model's labels; {model.description} takes none "
                         "(an InfoGAN's categorical code: --mode=codes).")
    z = np.repeat(model.latents_for_seeds(seeds), model.spec.num_classes, axis=0)
    labels = np.tile(np.arange(model.spec.num_classes, dtype=np.int32), len(seeds))
    images = _draw(model, z, labels)
    plots.save_image_grid(images, out, nrow=model.spec.num_classes,
                          title=f"one z per row (seeds {_joined(seeds)}), labels 0..{model.spec.num_classes - 1} "
                                "in the columns")
    return {out: images.reshape(len(seeds), model.spec.num_classes, *images.shape[1:])}


def codes(model, out: str, seeds=(0,), steps: int = 10, span: float = 2.0) -> dict:
    """InfoGAN's code sweeps (the paper's figure 2) around one seed's noise: one figure per code.

    Args:
      model: an InfoGAN checkpoint's generator.
      out: the figures' path stem: <stem>_c1.png, ..., <stem>_categorical.png.
      seeds: the one seed whose noise stays fixed.
      steps: values of each continuous code, from -span to +span.
      span: the sweep's range; training drew the codes from [-1, 1], so beyond 1 extrapolates.

    Returns:
      {path: float32 [rows, columns, H, W, C]}, one entry per code.
    """
    (seed,) = _seed_list(seeds, "seeds", "codes", at_least=1, at_most=1)
    latent_input = model.spec.latent
    if not latent_input.categorical + latent_input.continuous:
        raise ValueError(f"--mode=codes sweeps an InfoGAN's latent codes; {model.description} has none in its "
                         "spec (an export older than specs does not record the code layout: pass the training "
                         "run's --workdir).")
    if steps < 2:
        raise ValueError(f"--steps={steps}: a sweep needs at least 2 values.")
    stem = os.path.splitext(out)[0]
    written = {}
    noise = model.latents_for_seeds([seed])[0][:latent_input.noise_dim]
    for name, sweep in latent.code_sweeps(latent_input, noise, steps, span).items():
        images = model.images(sweep.inputs)
        path = f"{stem}_{name}.png"
        plots.save_image_grid(images, path, nrow=sweep.nrow, title=f"{sweep.title} (seed {seed})")
        written[path] = images.reshape(-1, sweep.nrow, *images.shape[1:])
    return written


MODES = {"interpolate": interpolate, "arithmetic": arithmetic, "grid": grid, "classes": classes, "codes": codes}
# The flags each mode takes (beyond --workdir/--export_dir, --mode, --out and --num_classes), and those it needs.
MODE_FLAGS = {
    "interpolate": ("seeds", "steps", "interpolation", "label", "gif"),
    "arithmetic": ("concept_a", "concept_b", "concept_c", "label"),
    "grid": ("seeds", "dims", "random_directions", "direction_seed", "span", "steps", "label"),
    "classes": ("seeds",),
    "codes": ("seeds", "steps", "span"),
}
REQUIRED_FLAGS = {"interpolate": ("seeds",), "arithmetic": ("concept_a", "concept_b", "concept_c")}
_LIST_FLAGS = ("seeds", "concept_a", "concept_b", "concept_c", "dims")


def explore(model, mode: str, out: str, **options) -> dict:
    """`MODES[mode](model, out, **options)`; an unknown mode is a ValueError listing the valid ones."""
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; valid modes: {', '.join(MODES)}.")
    return MODES[mode](model, out, **options)


FLAGS = flags.FLAGS


def define_flags():
    """The command line's flags; defined only when run as a program (train.py owns --workdir otherwise)."""
    flags.DEFINE_string("workdir", None, "A training run's directory: its last checkpoint is explored.")
    flags.DEFINE_string("export_dir", None, "An exported model (a version directory, or a model directory: its "
                        "newest version).")
    flags.DEFINE_enum("mode", None, list(MODES), "What to draw; see the modes above.")
    flags.DEFINE_list("seeds", None, "Seeds naming z, comma-separated. interpolate: two or more (3,7); grid and "
                      "codes: one, the center (default 0); classes: one row each (default 0,1,2,3).")
    flags.DEFINE_list("concept_a", None, "arithmetic: seeds whose samples show concept a (1,4,9); their z are "
                      "averaged.")
    flags.DEFINE_list("concept_b", None, "arithmetic: seeds of concept b, subtracted.")
    flags.DEFINE_list("concept_c", None, "arithmetic: seeds of concept c, added.")
    flags.DEFINE_integer("steps", None, "interpolate: images per path, ends included (default 8); grid: images "
                         "per side (default 7); codes: values per continuous code (default 10).")
    flags.DEFINE_enum("interpolation", None, list(latent.INTERPOLATIONS), "interpolate: the path; default the "
                      "model's (slerp for Gaussian z, lerp for uniform z).")
    flags.DEFINE_list("dims", None, "grid: the two coordinates of z to vary, e.g. 0,1 (the default).")
    flags.DEFINE_boolean("random_directions", None, "grid: vary two random orthonormal directions instead of "
                         "--dims.")
    flags.DEFINE_integer("direction_seed", None, "grid: the seed of --random_directions (default 0).")
    flags.DEFINE_float("span", None, "grid and codes: move from -span to +span (default 2).")
    flags.DEFINE_integer("label", None, "interpolate, arithmetic, grid: the class a conditional model draws.")
    flags.DEFINE_integer("num_classes", None, "classes with --export_dir: the number of classes, for an export "
                         "without generator.json (newer exports record it).")
    flags.DEFINE_boolean("gif", None, "interpolate: also write the path as an animated GIF (<out>.gif).")
    flags.DEFINE_string("out", None, "The figure's path; default <workdir or export_dir>/explore/<mode>.png.")


def options_from_flags(mode: str) -> dict:
    """The mode function's keyword arguments from the flags given; a ValueError for a flag it does not take."""
    for name in sorted(set().union(*MODE_FLAGS.values()) - set(MODE_FLAGS[mode])):
        if FLAGS[name].present:
            users = [m for m, names in MODE_FLAGS.items() if name in names]
            raise ValueError(f"--{name} is for --mode={' or --mode='.join(users)}, not --mode={mode}.")
    for name in REQUIRED_FLAGS.get(mode, ()):
        if not FLAGS[name].present:
            raise ValueError(f"--mode={mode} needs --{name}: {FLAGS[name].help}")
    options = {}
    for name in MODE_FLAGS[mode]:
        if FLAGS[name].present:
            value = FLAGS[name].value
            if name in _LIST_FLAGS:
                try:
                    value = [int(item) for item in value]
                except ValueError:
                    raise ValueError(f"--{name} takes integers separated by commas, got {','.join(value)!r}.") from None
            options[name] = value
    return options


def _check_usage(argv) -> dict:
    """The mode's options from the flags, or a ValueError for a command line that cannot work as given."""
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments {' '.join(argv[1:])} (flags need a leading --).")
    if bool(FLAGS.workdir) == bool(FLAGS.export_dir):
        raise ValueError("pass exactly one of --workdir (a training run) and --export_dir (an exported model).")
    if FLAGS.mode is None:
        raise ValueError(f"--mode is required: one of {', '.join(MODES)}.")
    if FLAGS.workdir and FLAGS.num_classes is not None:
        raise ValueError("--num_classes is for --export_dir; a training run knows its classes.")
    return options_from_flags(FLAGS.mode)


def main(argv):
    try:
        options = _check_usage(argv)
    except ValueError as error:
        # One line, not absl's UsageError, which prints every flag's help above the line that matters.
        print(f"error: {error}\n(`python -m tfgan_course.explore --help` explains every mode.)", file=sys.stderr)
        return 2
    out = FLAGS.out or os.path.join(FLAGS.workdir or FLAGS.export_dir, "explore", f"{FLAGS.mode}.png")
    try:
        model = load(FLAGS.workdir, FLAGS.export_dir, num_classes=FLAGS.num_classes or 0)
        written = explore(model, FLAGS.mode, out, **options)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
