r"""Scores a generator against real data in a domain classifier's feature space.

  python -m tfgan_course.evaluate --workdir=runs/dcgan                 # a training run's last checkpoint
  python -m tfgan_course.evaluate --export_dir=runs/dcgan/export/dcgan_fashion_mnist --dataset=fashion_mnist

Writes eval.json and report.md (with nearest_neighbours.png and class_histogram.png) to
--output_dir (default <workdir>/eval, or <export_dir>/eval). Every score is printed beside
its real-vs-real baseline: the train split against the test split at the same N, so "FID 12"
means something. FID is biased at small N: compare scores at equal N only. An image-to-image
translator (pix2pix, CycleGAN: its spec takes an image) is scored on its spec's test split by
`evaluate_translation` instead: L1, PSNR and SSIM, the classifier's accuracy on its outputs,
target-class rate, labels kept, FID/KID, cycle and identity error, beside its baselines. A
text-to-image generator (its spec takes text) is scored by `evaluate_text_to_image` on prompts
of the captioned spec's test split, beside --baseline_workdir's class-conditional run if given.

The features are those of a small CNN trained on the dataset's labelled train split
(`classifier.py`), cached and reused, never Inception's: see the README's "Evaluation". A
dataset of known native size (Fashion-MNIST, MNIST: 28x28) has one for every resolution, the
images of a run at another size resized to it; eval.json and report.md name the classifier and
the size the images were scored at.
"""

import json
import os
import sys

import numpy as np
from absl import app, flags, logging

from tfgan_course import fileio

DEFAULT_NUM_SAMPLES = 10_000


def score(features_a, features_b, logits_b, num_classes, reference_distribution):
    """Every metric of set b against set a: a dict of floats (and KID's std)."""
    from tfgan_course import metrics  # pylint: disable=import-outside-toplevel  # TensorFlow: keeps --help fast.

    precision, recall = metrics.precision_recall(features_a, features_b, k=3)
    coverage = metrics.class_coverage(np.argmax(logits_b, axis=1), num_classes, reference=reference_distribution)
    return {
        **metrics.fid_and_kid(features_a, features_b),
        "precision": precision,
        "recall": recall,
        "classifier_score": metrics.classifier_score(logits_b),
        "classes_covered": int(coverage.covered),
        "class_kl": coverage.kl_to_reference,
        "class_counts": [int(c) for c in coverage.counts],
    }


def evaluate(generated, spec: str, output_dir: str, num_samples: int = DEFAULT_NUM_SAMPLES,
             data_dir=None, cache_dir=None, classifier_epochs: int | None = None, seed: int = 0) -> dict:
    """Scores `generated` (a `trained.TrainedGenerator`) against the data `spec`, with the real-vs-real
    baseline; writes eval.json and report.md.

    Returns:
      The dict written to eval.json: {"generated": scores, "real_vs_real": scores, "num_real",
      "num_generated", "classifier": what scored it (DomainClassifier.record()), "images": the
      generated and scored image shapes and how the one became the other, ...}.
    """
    # TensorFlow: keeps --help fast.
    from tfgan_course import classifier as classifier_lib  # pylint: disable=import-outside-toplevel
    from tfgan_course import data, metrics, plots, trained

    image_shape = tuple(generated.spec.output.shape)
    if generated.spec.inpaints:
        raise ValueError(f"{generated.description} is an inpainter: score it with `python -m tfgan_course.inpaint "
                         "--workdir=RUN` (evaluate_inpainting.evaluate).")
    if generated.spec.translates:
        raise ValueError(f"{generated.description} is an image-to-image translator: score it with "
                         "evaluate_translation.evaluate (`python -m tfgan_course.evaluate` does).")
    if not generated.spec.makes_images:
        raise ValueError(f"Evaluation scores images; {generated.description} makes toy vectors (mode coverage "
                         "scores those: benchmarks/mode_collapse.py).")
    classifier = classifier_lib.load_or_train(spec, image_size=image_shape[0], channels=image_shape[2],
                                              cache_dir=cache_dir, data_dir=data_dir,
                                              epochs=classifier_epochs or classifier_lib.DEFAULT_EPOCHS, seed=seed)
    if classifier.image_shape != image_shape and not classifier.any_size:
        raise ValueError(f"The generator makes {image_shape} images but the classifier of {spec} takes "
                         f"{classifier.image_shape}.")
    # The real images come at the generator's size, as it trained on them, and reach the classifier
    # the way its samples do (a 64x64 run of 28x28 data: upsampled by the data pipeline, area-downsampled
    # by the classifier), not at their native size directly: the generator's best possible output is
    # the upsampled data, so the baseline measures the same round trip and a perfect generator scores
    # like the baseline at every resolution, not the resampling's own small FID above it.
    train_images, train_labels, _ = data.load_examples(spec, "train", num_samples, image_shape, data_dir, seed)
    test_images, _, _ = data.load_examples(spec, "test", num_samples, image_shape, data_dir, seed)
    # At equal N on both sides of each comparison: FID's bias depends on N.
    n = min(len(train_images), len(test_images), num_samples)
    train_images, train_labels, test_images = train_images[:n], train_labels[:n], test_images[:n]
    logging.info("Sampling %d images from %s", n, generated.description)
    fake_images = trained.sample_batches(generated, n, seed, train_labels)
    if tuple(fake_images.shape[1:]) != image_shape:
        raise ValueError(f"{generated.description} made images of shape {fake_images.shape[1:]}, not {image_shape}.")

    train_features, _ = classifier.features_and_logits(train_images)
    test_features, test_logits = classifier.features_and_logits(test_images)
    fake_features, fake_logits = classifier.features_and_logits(fake_images)
    reference = np.bincount(train_labels, minlength=classifier.num_classes) / len(train_labels)
    result = {
        "source": generated.description,
        "dataset": spec,
        "num_real": n,
        "num_generated": n,
        "classifier": classifier.record(),
        "images": {"generated_shape": list(image_shape), "scored_shape": list(classifier.image_shape),
                   "scored_as": classifier_lib.describe_resize(image_shape, classifier.image_shape)},
        "generated": score(train_features, fake_features, fake_logits, classifier.num_classes, reference),
        "real_vs_real": score(train_features, test_features, test_logits, classifier.num_classes, reference),
    }
    if image_shape[0] % 2 == 0 and image_shape[1] % 2 == 0:
        # Measured on the images as generated, before any resize: the artefacts live on their pixel grid.
        for key, images in (("generated", fake_images), ("real_vs_real", test_images)):
            result[key]["checkerboard_energy"] = float(np.mean(metrics.checkerboard_energy(images)))

    os.makedirs(output_dir, exist_ok=True)
    _save_nearest_neighbours(fake_images, fake_features, train_images, train_features,
                             os.path.join(output_dir, "nearest_neighbours.png"), metrics, plots)
    plots.save_class_histogram(result["generated"]["class_counts"], result["real_vs_real"]["class_counts"],
                               os.path.join(output_dir, "class_histogram.png"))
    fileio.write_atomically(os.path.join(output_dir, "eval.json"), json.dumps(result, indent=2) + "\n")
    fileio.write_atomically(os.path.join(output_dir, "report.md"), report(result))
    return result


def _save_nearest_neighbours(fake_images, fake_features, train_images, real_features, path, metrics, plots,
                             num_queries=8, k=3):
    """Lecture 001's memorisation check: each sample, then its k nearest training images in pixels, then in features."""
    queries = fake_images[:num_queries]
    pixel_index, _ = metrics.nearest_neighbours(queries.reshape(len(queries), -1),
                                                train_images.reshape(len(train_images), -1), k=k)
    feature_index, _ = metrics.nearest_neighbours(fake_features[:num_queries], real_features, k=k)
    rows = [np.concatenate([query[None], train_images[pixel_index[i]], train_images[feature_index[i]]])
            for i, query in enumerate(queries)]
    plots.save_image_grid(np.concatenate(rows), path, nrow=1 + 2 * k,
                          title=f"sample | {k} nearest training images in pixels | {k} nearest in features")


_ROWS = (("FID", "fid", "lower is better"), ("KID", "kid", "lower is better"),
         ("precision (k=3)", "precision", "share of samples on the real manifold"),
         ("recall (k=3)", "recall", "share of real data the samples cover"),
         ("classifier score", "classifier_score", "Inception-score analogue; max = classes"),
         ("classes covered", "classes_covered", "classes predicted at least once"),
         ("class KL", "class_kl", "KL(predicted classes || real classes), nats"),
         ("checkerboard energy", "checkerboard_energy", "share of contrast energy on the 2x2 pixel grid"))


def report(result: dict) -> str:
    """A short Markdown report of eval.json's dict."""
    classifier = result["classifier"]
    lines = [f"# Evaluation of {result['source']}", "",
             f"Dataset `{result['dataset']}`; {result['num_generated']} generated and {result['num_real']} real "
             f"images (train split), baseline: {result['num_real']} test-split images against the same train "
             f"images. Features: the domain classifier's penultimate layer "
             f"({classifier['feature_dim']} dims). FID is biased at small N: compare at equal N.", "",
             f"Classifier `{classifier['key'] or 'not cached'}`: "
             f"{'x'.join(map(str, classifier['input_shape']))} input, test accuracy "
             f"{100 * classifier['test_accuracy']:.2f}%, recipe version {classifier['version']}, "
             f"{classifier['epochs']} epochs (seed {classifier['seed']}) trained in "
             f"{classifier['train_seconds'] / 60:.1f} min. Images scored at {result['images']['scored_as']}, "
             "generated and real alike: scores compare with runs scored by the same classifier only.", "",
             "| metric | generated | real vs real | |", "|---|---|---|---|"]
    for title, key, meaning in _ROWS:
        if key not in result["generated"]:  # Images of odd size have no 2x2 grid.
            continue
        generated, baseline = result["generated"][key], result["real_vs_real"][key]
        if key == "kid":
            cells = (f"{generated:.4f} +- {result['generated']['kid_std']:.4f}",
                     f"{baseline:.4f} +- {result['real_vs_real']['kid_std']:.4f}")
        else:
            cells = tuple(f"{value:.4g}" for value in (generated, baseline))
        lines.append(f"| {title} | {cells[0]} | {cells[1]} | {meaning} |")
    lines += ["", "![nearest training images](nearest_neighbours.png)", "",
              "![class histogram](class_histogram.png)", ""]
    return "\n".join(lines)


FLAGS = flags.FLAGS


def _translator_scorer():
    """(score, report) for an image-to-image translator: `evaluate_translation` on the spec's test split."""
    from tfgan_course import evaluate_translation  # pylint: disable=import-outside-toplevel

    def score(generated, spec, output_dir, num_samples, **options):
        # The data is fetched as the run fetched it: at the larger channel count of its two sides
        # (edges and grey specs make their side 1-channel themselves).
        size, channels = generated.spec.output.shape[0], max(generated.spec.input("image").shape[-1],
                                                             generated.spec.output.shape[-1])
        back = generated.reverse.translate if generated.reverse else None
        # A paired translator trained against a classifier's features (SRGAN's perceptual loss) names it in
        # its spec: the scores refuse a classifier of its seed.
        return evaluate_translation.evaluate(generated.translate, spec, output_dir, image_size=size, channels=channels,
                                             translate_back=back, description=generated.description,
                                             num_samples=num_samples, loss_network=generated.spec.state.get("loss_network"),
                                             **options)

    return score, evaluate_translation.report


def _text_scorer(baseline_workdir):
    """(score, report) for a text-to-image generator: `evaluate_text_to_image` on the test split's prompts, beside
    the class-conditional run in `baseline_workdir` (None: alone)."""
    from tfgan_course import evaluate_text_to_image, trained  # pylint: disable=import-outside-toplevel

    def score(generated, spec, output_dir, num_samples, classifier_epochs=None, **options):
        del classifier_epochs  # Fashion-MNIST's classifier is cached at its own recipe.
        generators = {"text-to-image": generated}
        if baseline_workdir:
            generators["class-conditional baseline"] = trained.load(baseline_workdir)
        return evaluate_text_to_image.evaluate(generators, spec, output_dir, num_samples, **options)

    return score, evaluate_text_to_image.report


def define_flags():
    """The command line's flags; defined only when run as a program (train.py owns --workdir otherwise)."""
    flags.DEFINE_string("workdir", None, "A training run's directory: its last checkpoint is scored.")
    flags.DEFINE_string("export_dir", None, "An exported model (a version directory, or a model directory: its newest).")
    flags.DEFINE_string("dataset", None, "The real data spec; default: the run's --dataset (fashion_mnist for exports).")
    flags.DEFINE_string("data_dir", None, "TFDS data directory (tfds: specs only).")
    flags.DEFINE_boolean("download", False, "Let TFDS download the dataset when its data directory has no copy.")
    flags.DEFINE_integer("num_samples", DEFAULT_NUM_SAMPLES, "Generated images scored, and real ones per split.")
    flags.DEFINE_string("output_dir", None, "Where eval.json and report.md go; default <workdir>/eval or <export_dir>/eval.")
    flags.DEFINE_string("cache_dir", None, "Where domain classifiers are kept; default $TFGAN_COURSE_CACHE/classifiers.")
    flags.DEFINE_integer("classifier_epochs", None, "Epochs of a domain classifier trained on first use; default "
                         "classifier.DEFAULT_EPOCHS.")
    flags.DEFINE_integer("seed", 0, "Seed of the samples and of the real images drawn.")
    flags.DEFINE_integer("num_classes", None, "With --export_dir: the number of classes of a conditional export "
                         "older than generator.json (newer exports record it).")
    flags.DEFINE_string("baseline_workdir", None, "A text-to-image generator's class-conditional baseline run (e.g. "
                        "cdcgan at the same steps and batch), scored on the same prompts.")


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments {' '.join(argv[1:])} (flags need a leading --).", file=sys.stderr)
        return 2
    if bool(FLAGS.workdir) == bool(FLAGS.export_dir):
        print("error: pass exactly one of --workdir (a training run) and --export_dir (an exported model).",
              file=sys.stderr)
        return 2
    if FLAGS.num_samples < 10:
        print(f"error: --num_samples={FLAGS.num_samples} is too few to estimate covariances; use >= 10 "
              "(and the same N whenever scores are compared).", file=sys.stderr)
        return 2
    from tfgan_course import trained  # pylint: disable=import-outside-toplevel  # TensorFlow: keeps --help fast.

    try:
        generated = trained.load(FLAGS.workdir, FLAGS.export_dir, num_classes=FLAGS.num_classes or 0)
        spec = FLAGS.dataset or generated.spec.dataset or "fashion_mnist"
        output_dir = FLAGS.output_dir or os.path.join(FLAGS.workdir or FLAGS.export_dir, "eval")
        if FLAGS.download:
            from tfgan_course import data  # pylint: disable=import-outside-toplevel

            data.prepare(spec, FLAGS.data_dir)
        if generated.spec.inpaints:
            raise ValueError(f"{generated.description} is an inpainter: score it with python -m tfgan_course.inpaint "
                             "(its --workdir, a training run), beside mean fill and diffusion fill.")
        score, write_report = _translator_scorer() if generated.spec.translates else (evaluate, report)
        if generated.spec.input("text") is not None:
            score, write_report = _text_scorer(FLAGS.baseline_workdir)
        result = score(generated, spec, output_dir, FLAGS.num_samples, data_dir=FLAGS.data_dir,
                       cache_dir=FLAGS.cache_dir, classifier_epochs=FLAGS.classifier_epochs, seed=FLAGS.seed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(write_report(result))
    print(f"Wrote {os.path.join(output_dir, 'eval.json')} and report.md")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
