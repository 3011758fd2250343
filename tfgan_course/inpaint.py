r"""Inpainting with a trained run, scored beside mean fill and diffusion fill: semantic inpainting (Yeh et al.,
2017) with an unconditional GAN, or a context encoder's completions (Pathak et al., 2016).

  python -m tfgan_course.inpaint --workdir=runs/dcgan                          # centre 14x14 hole at 28 px
  python -m tfgan_course.inpaint --workdir=runs/dcgan --mask=random --squares=2 --hole_size=8
  python -m tfgan_course.inpaint --workdir=runs/dcgan --mask=my_mask.png --iterations=300 --num_images=100
  python -m tfgan_course.inpaint --workdir=runs/context_encoder_fashion_mnist  # a context encoder's run

Takes a training run of an unconditional image GAN (DCGAN, WGAN-GP, PGGAN, ...: its last
checkpoint, with the EMA generator if it has one, and its discriminator, which an export does not
carry) and, for each of --num_images test images with the --mask's pixels missing, searches z with
Adam for --iterations steps on the contextual loss plus --prior_weight times the prior loss
(`inpainting.py`), then fills the hole with G(z) ("semantic") and, with --blend, Poisson-blends it
into the border too ("semantic + Poisson blend"). A context encoder's run (--model=context_encoder)
needs no search: its generator's prediction fills the hole ("context encoder"; --iterations,
--prior_weight, --learning_rate, --project and --blend are the search's and do not apply). Each is
scored beside mean fill and diffusion fill (`evaluate_inpainting.py`: hole PSNR, PSNR, SSIM, the classifier's accuracy, FID, KID, wall
time) into eval.json, report.md and samples.png in --output_dir (default <workdir>/inpaint).

Masks (--mask): centre (a --hole_size square in the middle; default half the image side, 14 at
28 px), random (--squares squares of --hole_size per image, at seeded positions), or the path of
a PNG of the images' size (white = missing, black = known; the same mask for every image).
"""

import os
import sys
import time

import numpy as np
from absl import app, flags

MASKS = ("centre", "random")


def semantic_inpainter(model, prior_weight: float, learning_rate: float, project: bool = True):
    """An `inpainting.SemanticInpainter` on a restored GAN's generator (its EMA one if any) and discriminator.

    Raises:
      ValueError: for a GAN that is not an unconditional image GAN with a logit or critic D.
    """
    from tfgan_course import inpainting  # pylint: disable=import-outside-toplevel  # TensorFlow: keeps --help fast.

    spec = model.spec
    if not spec.makes_images:
        raise ValueError("this run's generator makes toy vectors, not images: inpainting needs an image GAN.")
    if spec.translates:
        raise ValueError("this run is an image-to-image translator: its G takes images, not z. Semantic inpainting "
                         "searches the z of an unconditional GAN (e.g. a run of dcgan_fashion_mnist.cfg).")
    if spec.conditional:
        raise ValueError("this run is a conditional GAN (its G takes a label): semantic inpainting searches the z of "
                         "an unconditional GAN (e.g. a run of dcgan_fashion_mnist.cfg).")
    if spec.latent is None or spec.latent.categorical or spec.latent.continuous:
        raise ValueError("this run's latent has InfoGAN codes (or no z): semantic inpainting searches plain noise "
                         "z of an unconditional GAN.")
    if model.loss_pair.d_outputs != "logits":
        raise ValueError(f"this run's D gives {model.loss_pair.d_outputs} (BEGAN's autoencoder), not a realness "
                         "score: the prior loss needs D's logits or a critic's scores.")
    return inpainting.SemanticInpainter(model.sampler, model.discriminator, spec.latent,
                                        d_probabilities=model.loss_pair.d_probabilities, prior_weight=prior_weight,
                                        learning_rate=learning_rate, project=project)


def semantic_fills(inpainter, iterations: int, blend: bool, seed: int = 0, batch_size: int = 256) -> dict:
    """{"semantic": Fill} (and "semantic + Poisson blend" with `blend`) for `evaluate_inpainting.evaluate`.

    The blend reuses the semantic row's search: its seconds are the blend's alone.
    """
    from tfgan_course import inpainting  # pylint: disable=import-outside-toplevel

    found = {}

    def semantic(images, mask):
        start = time.perf_counter()
        result = inpainter.search(images, mask, iterations=iterations, seed=seed, batch_size=batch_size)
        found["result"] = result
        return inpainting.composite(images, mask, result.images), {
            "iterations": iterations, **inpainter.describe(), "search_seconds": time.perf_counter() - start,
            "contextual_loss_before": float(result.initial_contextual_loss.mean()),
            "contextual_loss_after": float(result.contextual_loss.mean()),
            "prior_loss_before": float(result.initial_prior_loss.mean()),
            "prior_loss_after": float(result.prior_loss.mean())}

    def blended(images, mask):
        filled, jacobi_iterations = inpainting.poisson_fill(images, mask, guide=found["result"].images)
        return filled, {"guide": "the semantic row's G(z) (its search time not counted here)",
                        "jacobi_iterations": jacobi_iterations}

    return {"semantic": semantic, **({"semantic + Poisson blend": blended} if blend else {})}


def context_encoder_fills(model, batch_size: int = 256) -> dict:
    """{"context encoder": Fill} of a restored context encoder's run: its generator's prediction in the hole."""
    from tfgan_course import trained  # pylint: disable=import-outside-toplevel

    generator = trained.from_model(model, "the context encoder")

    def fill(images, mask):
        completed = [generator.inpaint(images[start:start + batch_size], mask[start:start + batch_size])
                     for start in range(0, len(images), batch_size)]
        return np.concatenate(completed), {"generator": "the context encoder's G (one forward pass)",
                                           **{key: model.spec.state[key] for key in ("hole_size", "masks")}}

    return {"context encoder": fill}


def make_mask(kind: str, num_images: int, image_shape, hole_size: int | None = None, squares: int = 1,
              seed: int = 0):
    """(mask float32 [1 or N, H, W, 1], its name): `kind` is centre, random or a PNG file's path."""
    from tfgan_course import inpainting  # pylint: disable=import-outside-toplevel

    size = tuple(image_shape[:2])
    hole_size = hole_size or min(size) // 2
    if kind == "centre":
        return inpainting.centre_mask(size, hole_size), f"centre {hole_size}x{hole_size}"
    if kind == "random":
        return (inpainting.random_square_masks(num_images, size, hole_size, squares, seed),
                f"random: {squares} square(s) of {hole_size}x{hole_size} per image (seed {seed})")
    if not kind.lower().endswith(".png") or not os.path.isfile(kind):
        raise ValueError(f"--mask={kind!r}: use {' or '.join(MASKS)}, or the path of an existing PNG file of the "
                         f"images' size, {size[1]}x{size[0]} (white = missing).")
    return inpainting.mask_from_png(kind, size), f"PNG {os.path.basename(kind)}"


def run(workdir: str, output_dir: str | None = None, *, dataset: str | None = None, mask: str = "centre",
        hole_size: int | None = None, squares: int = 1, iterations: int = 300, prior_weight: float = 0.003,
        learning_rate: float = 0.05, project: bool = True, blend: bool = True, num_images: int = 1000,
        batch_size: int = 256, seed: int = 0, data_dir: str | None = None, cache_dir: str | None = None,
        classifier_epochs: int | None = None) -> dict:
    """The command line's work: restores the run, builds the mask and scores the fills (module docstring).

    Returns:
      `evaluate_inpainting.evaluate`'s dict, as written to <output_dir>/eval.json.
    """
    from tfgan_course import evaluate_inpainting, trained  # pylint: disable=import-outside-toplevel

    if iterations < 0 or num_images < 4 or squares < 1:
        raise ValueError(f"need --iterations >= 0, --num_images >= 4 and --squares >= 1, got {iterations}, "
                         f"{num_images} and {squares}.")
    model, checkpoint = trained.restore_gan(workdir)
    if model.spec.inpaints:
        fills = context_encoder_fills(model, batch_size)
    else:
        inpainter = semantic_inpainter(model, prior_weight, learning_rate, project)
        fills = semantic_fills(inpainter, iterations, blend, seed, batch_size)
    image_shape = model.spec.output.shape
    mask_array, mask_name = make_mask(mask, num_images, image_shape, hole_size, squares, seed)
    return evaluate_inpainting.evaluate(
        fills, dataset or model.spec.dataset, output_dir or os.path.join(workdir, "inpaint"), mask=mask_array,
        image_shape=image_shape, num_images=num_images, mask_name=mask_name, description=f"checkpoint {checkpoint}",
        data_dir=data_dir, cache_dir=cache_dir, classifier_epochs=classifier_epochs, seed=seed)


FLAGS = flags.FLAGS


def define_flags():
    """The command line's flags; defined only when run as a program (train.py owns --workdir otherwise)."""
    flags.DEFINE_string("workdir", None, "A training run of an unconditional image GAN (its last checkpoint's G and D) "
                        "or of a context encoder.")
    flags.DEFINE_string("dataset", None, "The data spec whose test split is corrupted; default: the run's.")
    flags.DEFINE_string("data_dir", None, "TFDS data directory (tfds: specs only).")
    flags.DEFINE_string("mask", "centre", "centre, random, or the path of a PNG of the images' size (white = missing).")
    flags.DEFINE_integer("hole_size", None, "The side of the centre or random squares; default half the image side.")
    flags.DEFINE_integer("squares", 1, "--mask=random: squares per image (they may overlap).")
    flags.DEFINE_integer("iterations", 300, "Adam steps of the latent search.")
    flags.DEFINE_float("prior_weight", 0.003, "lambda, the prior loss's weight (Yeh et al.'s 0.003).")
    flags.DEFINE_float("learning_rate", 0.05, "Adam's step size on z.")
    flags.DEFINE_boolean("project", True, "Keep z in the latent distribution after each step (uniform: clip to "
                         "[0, 1]; normal: onto the sphere of radius sqrt(D)).")
    flags.DEFINE_boolean("blend", True, "Also score G(z) Poisson-blended into the hole's border.")
    flags.DEFINE_integer("num_images", 1000, "Test images corrupted and filled (>= 4; compare FIDs at equal N).")
    flags.DEFINE_integer("batch_size", 256, "Images searched together.")
    flags.DEFINE_integer("seed", 0, "Seed of the test images drawn, the random masks and the starting z.")
    flags.DEFINE_string("output_dir", None, "Where eval.json, report.md and samples.png go; default <workdir>/inpaint.")
    flags.DEFINE_string("cache_dir", None, "Where domain classifiers are kept; default $TFGAN_COURSE_CACHE/classifiers.")
    flags.DEFINE_integer("classifier_epochs", None, "Epochs of a domain classifier trained on first use.")


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments {' '.join(argv[1:])} (flags need a leading --).", file=sys.stderr)
        return 2
    if not FLAGS.workdir:
        print("error: pass --workdir, a training run of an unconditional image GAN or a context encoder "
              "(python -m tfgan_course.train).", file=sys.stderr)
        return 2
    from tfgan_course import evaluate_inpainting  # pylint: disable=import-outside-toplevel

    options = {name: FLAGS[name].value for name in (
        "dataset", "mask", "hole_size", "squares", "iterations", "prior_weight", "learning_rate", "project", "blend",
        "num_images", "batch_size", "seed", "data_dir", "cache_dir", "classifier_epochs")}
    try:
        result = run(FLAGS.workdir, FLAGS.output_dir, **options)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(evaluate_inpainting.report(result))
    print(f"Wrote eval.json, report.md and samples.png to {FLAGS.output_dir or os.path.join(FLAGS.workdir, 'inpaint')}")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
