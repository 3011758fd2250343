"""Scores inpainting fills on a dataset's test split beside mean fill and diffusion fill.

    from tfgan_course import evaluate_inpainting, inpainting

    mask = inpainting.centre_mask((28, 28), 14)
    result = evaluate_inpainting.evaluate({"semantic": fill}, "fashion_mnist", "runs/x/inpaint", mask=mask,
                                          image_shape=(28, 28, 1), num_images=1000)

A fill is a function (corrupted images float32 [N, H, W, C] in [-1, 1], mask float32 [N, H, W, 1]
with 1 = missing) -> (completed images [N, H, W, C], {what it did: JSON values}). The corrupted
images it gets hold 0 in the hole: a fill cannot see what it should restore. Every fill must give
back the known pixels bit-exact, or the evaluation stops with a ValueError naming it.

Rows: "mean fill" (the hole filled with the mean image of up to 10,000 training images), "diffusion
fill" (`inpainting.poisson_fill` without a guide: the border diffused into the hole), the caller's
fills, and "original" (the test images themselves: the ceiling). Columns, each the mean over the N
test images:
  - hole PSNR: `metrics.masked_psnr` over the missing pixels only (the known pixels, equal by
    construction, would inflate it), capped at MAX_PSNR_DB;
  - PSNR and SSIM of the whole completed image against the original;
  - accuracy: the seed-0 domain classifier's (evaluate.py's, `classifier.load_or_train`) on the
    completed images, with the test labels;
  - FID and KID against the original test images in that classifier's features (0 for a perfect
    fill); the original row gives N training images against them (real vs real, same N);
  - seconds: the fill's wall time for all N images.
eval.json, report.md and samples.png (corrupted, each row, original; 8 test images) go to output_dir.
"""

import json
import os
import time
from typing import Callable

import numpy as np

from tfgan_course import classifier as classifier_lib
from tfgan_course import data, fileio, inpainting, metrics, plots

# evaluate_translation's cap: a hole restored exactly stays a number.
MAX_PSNR_DB = 100.0
NUM_MEAN_IMAGES = 10_000
_SAMPLES = 8
_HOLE_COLOUR = (1.0, -1.0, -1.0)  # Red on samples.png's corrupted row.

Fill = Callable[[np.ndarray, np.ndarray], tuple]


def evaluate(fills: dict, spec: str, output_dir: str, *, mask, image_shape, num_images: int = 1000,
             mask_name: str = "", description: str = "", data_dir: str | None = None, cache_dir: str | None = None,
             classifier_epochs: int | None = None, seed: int = 0) -> dict:
    """Scores each fill, and the two baselines, on the first `num_images` test images of `spec`.

    Args:
      fills: {row name: Fill} (module docstring), scored after the baselines, in order.
      spec: an image spec of data.make_dataset with labels (its classifier scores the completions).
      output_dir: where eval.json, report.md and samples.png go (created).
      mask: float32 [1 or N', H, W, 1], 1 = missing: one mask for all, or one per image (N' >= N).
      image_shape: (H, W, C) the images are loaded at (the generator's).
      num_images: N, test images scored (fewer if the split has fewer), >= 4 (KID's subsets).
      mask_name: what the mask is, for the report ("centre 14x14").
      description: what is being evaluated, for the report (the generator's checkpoint).
      data_dir, cache_dir, classifier_epochs, seed: as evaluate.py's; `seed` picks the test images.

    Returns:
      The dict written to eval.json: {"dataset", "source", "mask", "num_images", "classifier",
      "scores": {row: {"hole_psnr", "psnr", "ssim", "accuracy", "fid", "kid", "kid_std", "seconds"}},
      "fills": {row: what the fill reported}}.
    """
    if num_images < 4:
        raise ValueError(f"num_images must be >= 4 (KID's subsets), got {num_images}.")
    image_shape = tuple(image_shape)
    test_images, test_labels, _ = data.load_examples(spec, "test", num_images, image_shape, data_dir, seed)
    if test_labels is None:
        raise ValueError(f"{spec} has no labels: the classifier that scores the completions needs them.")
    train_images, _, _ = data.load_examples(spec, "train", max(num_images, NUM_MEAN_IMAGES), image_shape,
                                            data_dir, seed)
    n = min(len(test_images), len(train_images), num_images)
    test_images, test_labels = test_images[:n], test_labels[:n]
    mask = inpainting.check_mask(mask, image_shape)
    if len(mask) != 1 and len(mask) < n:
        raise ValueError(f"{len(mask)} masks for {n} test images: give one mask, or one per image.")
    mask = np.broadcast_to(mask[:n] if len(mask) > 1 else mask, (n, *image_shape[:2], 1))
    corrupted = inpainting.composite(test_images, mask, np.zeros_like(test_images))

    mean_image = train_images.mean(axis=0)
    all_fills = {"mean fill": lambda images, hole: (inpainting.mean_fill(images, hole, mean_image),
                                                    {"mean_of_train_images": len(train_images)}),
                 "diffusion fill": _diffusion_fill, **fills}
    completed, details, seconds = {}, {}, {}
    for name, fill in all_fills.items():
        start = time.perf_counter()
        completed[name], details[name] = fill(corrupted, mask)
        seconds[name] = time.perf_counter() - start
        completed[name] = np.asarray(completed[name], np.float32)
        if completed[name].shape != test_images.shape:
            raise ValueError(f"the fill {name!r} returned images of shape {completed[name].shape}, "
                             f"not {test_images.shape}.")
        if not np.array_equal(inpainting.composite(completed[name], mask, 0.0), corrupted):
            raise ValueError(f"the fill {name!r} changed known pixels: composite its output "
                             "(inpainting.composite) to keep them exact.")

    classifier = classifier_lib.load_or_train(spec, image_size=image_shape[0], channels=image_shape[2],
                                              cache_dir=cache_dir, data_dir=data_dir,
                                              epochs=classifier_epochs or classifier_lib.DEFAULT_EPOCHS)
    real_features, real_logits = classifier.features_and_logits(test_images)
    scores = {}
    for name, images in completed.items():
        features, logits = classifier.features_and_logits(images)
        scores[name] = {**_pixel_scores(images, test_images, mask),
                        "accuracy": metrics.label_rate(np.argmax(logits, axis=1), test_labels),
                        **metrics.fid_and_kid(real_features, features), "seconds": seconds[name]}
    scores["original"] = {"accuracy": metrics.label_rate(np.argmax(real_logits, axis=1), test_labels),
                          **metrics.fid_and_kid(real_features, classifier.features(train_images[:n]))}
    result = {"dataset": spec, "source": description, "mask": mask_name,
              "hole_pixels_per_image": float(mask.sum(axis=(1, 2, 3)).mean()), "num_images": n,
              "image_shape": list(image_shape), "classifier": classifier.record(), "scores": scores,
              "fills": details}
    os.makedirs(output_dir, exist_ok=True)
    save_samples(os.path.join(output_dir, "samples.png"), corrupted, mask, completed, test_images)
    fileio.write_atomically(os.path.join(output_dir, "eval.json"), json.dumps(result, indent=2) + "\n")
    fileio.write_atomically(os.path.join(output_dir, "report.md"), report(result))
    return result


def _diffusion_fill(images, mask):
    filled, iterations = inpainting.poisson_fill(images, mask)
    return filled, {"jacobi_iterations": iterations}


def _pixel_scores(images, originals, mask):
    hole = np.minimum(metrics.masked_psnr(images, originals, mask), MAX_PSNR_DB)
    whole = np.minimum(metrics.psnr(images, originals), MAX_PSNR_DB)
    return {"hole_psnr": float(hole.mean()), "psnr": float(whole.mean()),
            "ssim": float(metrics.ssim(images, originals).mean())}


def save_samples(path, corrupted, mask, completed: dict, originals, count: int = _SAMPLES):
    """One row each: the corrupted images (the hole in red), each fill's completions, the originals (RGB)."""
    def rgb(images):
        images = np.asarray(images[:count], np.float32)
        return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images

    shown = inpainting.composite(rgb(corrupted), mask[:count], np.array(_HOLE_COLOUR, np.float32))
    rows = [shown, *[rgb(images) for images in completed.values()], rgb(originals)]
    plots.save_image_grid(np.concatenate(rows), path, nrow=len(shown),
                          title=" | ".join(["corrupted", *completed, "original"]) + " (rows)")


_COLUMNS = (("hole PSNR (dB)", "hole_psnr", "{:.2f}"), ("PSNR (dB)", "psnr", "{:.2f}"), ("SSIM", "ssim", "{:.3f}"),
            ("accuracy", "accuracy", "{:.1%}"), ("FID", "fid", "{:.4g}"), ("KID", "kid", "{:.4f}"),
            ("seconds", "seconds", "{:.1f}"))


def report(result: dict) -> str:
    """A short Markdown report of eval.json's dict: the score table and what each fill did."""
    classifier = result["classifier"]
    lines = [f"# Inpainting: {result['source'] or 'fills'} on `{result['dataset']}`", "",
             f"{result['num_images']} test images, mask {result['mask'] or 'given'} "
             f"({result['hole_pixels_per_image']:.0f} missing pixels an image). Hole PSNR over the missing pixels "
             f"only, PSNR and SSIM over the whole image, capped at {MAX_PSNR_DB:g} dB; accuracy of the classifier "
             f"`{classifier['key'] or 'not cached'}` (test accuracy {classifier['test_accuracy']:.2%}); FID and KID "
             "in its features against the original test images (original: training images against them, same N); "
             "seconds: the fill's wall time for all images.", "",
             "| | " + " | ".join(title for title, _, _ in _COLUMNS) + " |", "|---" * (len(_COLUMNS) + 1) + "|"]
    for name, values in result["scores"].items():
        cells = [fmt.format(values[key]) if key in values else "-" for _, key, fmt in _COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for name, details in result["fills"].items():
        if details:
            lines.append(f"- {name}: " + ", ".join(f"{key} {_format(value)}" for key, value in details.items()))
    lines += ["", "![samples](samples.png)", ""]
    return "\n".join(lines)


def _format(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
