r"""Scores a generator against real data in a domain classifier's feature space.

  python -m tfgan_course.evaluate --workdir=runs/dcgan                 # a training run's last checkpoint
  python -m tfgan_course.evaluate --export_dir=runs/dcgan/export/dcgan_fashion_mnist --dataset=fashion_mnist

Writes eval.json and report.md (with nearest_neighbours.png and class_histogram.png) to
--output_dir (default <workdir>/eval, or <export_dir>/eval). Every score is printed beside
its real-vs-real baseline: the train split against the test split at the same N, so "FID 12"
means something. FID is biased at small N: compare scores at equal N only.

The features are those of a small CNN trained on the dataset's labelled train split
(`classifier.py`), cached and reused, never Inception's: see the README's "Evaluation".
"""

import dataclasses
import json
import os
import sys

import numpy as np
from absl import app, flags, logging

from tfgan_course import config as config_lib

DEFAULT_NUM_SAMPLES = 10_000


@dataclasses.dataclass(frozen=True)
class Generated:
    """A generator to score.

    Attributes:
      sample: fn(num_samples, seed, labels) -> images float32 [N, H, W, C] in [-1, 1]; `labels`
        int [N] (the real data's, so a conditional generator matches their class mix) or None.
      image_shape: (H, W, C).
      description: what it is, for the report.
    """

    sample: object
    image_shape: tuple
    description: str


def run_config(workdir: str) -> config_lib.Config:
    """The Config a training run wrote to <workdir>/flags.cfg."""
    path = os.path.join(workdir, "flags.cfg")
    if not os.path.isfile(path):
        raise ValueError(f"{workdir} is not a training run: it has no flags.cfg. Pass the --workdir of "
                         "python -m tfgan_course.train, or --export_dir=... for an exported model.")
    with open(path) as f:
        return config_lib.Config.from_flagfile(f.read())


def restore_gan(workdir: str):
    """The GAN of a training run as its flags.cfg builds it, with its last checkpoint restored.

    Returns:
      (model, image_shape, checkpoint path): the `gan.GAN` (a ConditionalGAN knows its
      num_classes, read from the run's data), (H, W, C) (() for toy data), and the checkpoint.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_course import data, experiment, models  # pylint: disable=import-outside-toplevel

    config = run_config(workdir)
    latest = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    if latest is None:
        raise ValueError(f"{workdir}/checkpoints holds no checkpoint yet: train first (or wait for the first "
                         "epoch to end), or use an export with --export_dir.")
    image_shape = (config.image_size, config.image_size, config.channels)
    if config.dataset.startswith("toy:"):
        image_shape = ()  # Rejected by the callers that need images, with the reason.
    num_classes = 0
    if models.MODELS[config.model].KIND == "conditional":  # Only a conditional model needs the data's classes.
        _, info = data.make_dataset(config.dataset, image_size=config.image_size, channels=config.channels,
                                    batch_size=1, data_dir=config.data_dir or None, repeat=False)
        num_classes = info.num_classes
    model = experiment.build_gan(config, image_shape or (2,), num_classes=num_classes)
    model.checkpoint().restore(latest).expect_partial()
    return model, image_shape, latest


def generator_from_workdir(workdir: str) -> Generated:
    """The last checkpoint of a training run, as its flags.cfg built it (the EMA generator if any)."""
    model, image_shape, latest = restore_gan(workdir)
    return generator_from_model(model, image_shape, f"checkpoint {latest}")


def generator_from_model(model, image_shape, description) -> Generated:
    """A gan.GAN being trained or restored, sampled from its `sampler`; a conditional one takes the labels."""
    from tfgan_course import gan  # pylint: disable=import-outside-toplevel

    conditional = isinstance(model, gan.ConditionalGAN)

    def sample(num_samples, seed, labels):
        return model.generate(num_samples, seed=seed, label=labels if conditional else None)

    return Generated(sample, tuple(image_shape), description)


def export_version_dir(export_dir: str) -> str:
    """`export_dir` if it is a SavedModel, else the newest integer version of the model directory `export_dir`."""
    from serving import model_config  # pylint: disable=import-outside-toplevel

    if os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
        return export_dir
    versions = model_config.version_numbers(export_dir)
    if not versions:
        raise ValueError(f"{export_dir} is neither a SavedModel (no saved_model.pb) nor a model directory with "
                         "integer versions: pass <export_base>/<model_name> or one of its versions.")
    return os.path.join(export_dir, str(max(versions)))


def generator_from_export(export_dir: str) -> Generated:
    """An exported SavedModel (a version directory, or a model directory: its newest version).

    z ~ N(0, I) of the signature's size; a conditional export (with a `label` input) gets the
    real data's labels.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_course import export  # pylint: disable=import-outside-toplevel

    export_dir = export_version_dir(export_dir)
    serve = export.load_serving_fn(export_dir)
    _, inputs = serve.structured_input_signature
    latent_dim = inputs["z"].shape[-1]

    def sample(num_samples, seed, labels):
        feed = {"z": tf.random.stateless_normal([num_samples, latent_dim], seed=[seed, 0])}
        if "label" in inputs:
            if labels is None:
                raise ValueError(f"{export_dir} is conditional (it takes a label): score it against a labelled "
                                 "--dataset.")
            feed["label"] = tf.constant(labels, tf.int32)
        return serve(**feed)["images"].numpy()

    probe = sample(1, 0, np.zeros([1], np.int32))
    return Generated(sample, tuple(probe.shape[1:]), f"export {export_dir}")


def sample_batches(sample, num_samples, seed, labels, batch_size=500):
    """Generated.sample(k, seed + i, labels[...]) over batches, concatenated: float32 [num_samples, ...]."""
    batches = [sample(min(batch_size, num_samples - start), seed + i,
                      None if labels is None else labels[start:start + batch_size])
               for i, start in enumerate(range(0, num_samples, batch_size))]
    return np.concatenate(batches)[:num_samples]


def score(features_a, features_b, logits_b, num_classes, reference_distribution):
    """Every metric of set b against set a: a dict of floats (and KID's std)."""
    from tfgan_course import metrics  # pylint: disable=import-outside-toplevel

    kid_mean, kid_std = metrics.kernel_inception_distance(features_a, features_b)
    precision, recall = metrics.precision_recall(features_a, features_b, k=3)
    coverage = metrics.class_coverage(np.argmax(logits_b, axis=1), num_classes, reference=reference_distribution)
    return {
        "fid": metrics.frechet_distance(features_a, features_b),
        "kid": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "classifier_score": metrics.classifier_score(logits_b),
        "classes_covered": int(coverage.covered),
        "class_kl": coverage.kl_to_reference,
        "class_counts": [int(c) for c in coverage.counts],
    }


def evaluate(generated: Generated, spec: str, output_dir: str, num_samples: int = DEFAULT_NUM_SAMPLES,
             data_dir=None, cache_dir=None, classifier_epochs: int = 3, seed: int = 0) -> dict:
    """Scores `generated` against `spec`, with the real-vs-real baseline; writes eval.json and report.md.

    Returns:
      The dict written to eval.json: {"generated": scores, "real_vs_real": scores, "num_real",
      "num_generated", "classifier": {...}, ...}.
    """
    from tfgan_course import classifier as classifier_lib, data, metrics, plots  # pylint: disable=import-outside-toplevel

    image_shape = tuple(generated.image_shape)
    if len(image_shape) != 3:
        raise ValueError(f"Evaluation scores images; {generated.description} makes toy vectors (mode coverage "
                         "scores those: benchmarks/mode_collapse.py).")
    classifier = classifier_lib.load_or_train(spec, image_size=image_shape[0], channels=image_shape[2],
                                              cache_dir=cache_dir, data_dir=data_dir, epochs=classifier_epochs,
                                              seed=seed)
    if classifier.image_shape != image_shape:
        raise ValueError(f"The generator makes {image_shape} images but the classifier of {spec} takes "
                         f"{classifier.image_shape}.")
    train_images, train_labels, _ = data.load_examples(spec, "train", num_samples, image_shape, data_dir, seed)
    test_images, _, _ = data.load_examples(spec, "test", num_samples, image_shape, data_dir, seed)
    # At equal N on both sides of each comparison: FID's bias depends on N.
    n = min(len(train_images), len(test_images), num_samples)
    train_images, train_labels, test_images = train_images[:n], train_labels[:n], test_images[:n]
    logging.info("Sampling %d images from %s", n, generated.description)
    fake_images = sample_batches(generated.sample, n, seed, train_labels)
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
        "classifier": {"test_accuracy": classifier.test_accuracy, "num_classes": classifier.num_classes,
                       "feature_dim": int(train_features.shape[1])},
        "generated": score(train_features, fake_features, fake_logits, classifier.num_classes, reference),
        "real_vs_real": score(train_features, test_features, test_logits, classifier.num_classes, reference),
    }

    os.makedirs(output_dir, exist_ok=True)
    _save_nearest_neighbours(fake_images, fake_features, train_images, train_features,
                             os.path.join(output_dir, "nearest_neighbours.png"), metrics, plots)
    plots.save_class_histogram(result["generated"]["class_counts"], result["real_vs_real"]["class_counts"],
                               os.path.join(output_dir, "class_histogram.png"))
    _write_atomically(os.path.join(output_dir, "eval.json"), json.dumps(result, indent=2) + "\n")
    _write_atomically(os.path.join(output_dir, "report.md"), report(result))
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
         ("class KL", "class_kl", "KL(predicted classes || real classes), nats"))


def report(result: dict) -> str:
    """A short Markdown report of eval.json's dict."""
    lines = [f"# Evaluation of {result['source']}", "",
             f"Dataset `{result['dataset']}`; {result['num_generated']} generated and {result['num_real']} real "
             f"images (train split), baseline: {result['num_real']} test-split images against the same train "
             f"images. Features: the domain classifier's penultimate layer "
             f"({result['classifier']['feature_dim']} dims; test accuracy "
             f"{100 * result['classifier']['test_accuracy']:.2f}%). FID is biased at small N: compare at equal N.", "",
             "| metric | generated | real vs real | |", "|---|---|---|---|"]
    for title, key, meaning in _ROWS:
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


def _write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


FLAGS = flags.FLAGS


def define_flags():
    """The command line's flags; defined only when run as a program (train.py owns --workdir otherwise)."""
    flags.DEFINE_string("workdir", None, "A training run's directory: its last checkpoint is scored.")
    flags.DEFINE_string("export_dir", None, "An exported model (a version directory, or a model directory: its newest).")
    flags.DEFINE_string("dataset", None, "The real data spec; default: the run's --dataset (fashion_mnist for exports).")
    flags.DEFINE_string("data_dir", None, "TFDS data directory (tfds: specs only).")
    flags.DEFINE_integer("num_samples", DEFAULT_NUM_SAMPLES, "Generated images scored, and real ones per split.")
    flags.DEFINE_string("output_dir", None, "Where eval.json and report.md go; default <workdir>/eval or <export_dir>/eval.")
    flags.DEFINE_string("cache_dir", None, "Where domain classifiers are kept; default $TFGAN_COURSE_CACHE/classifiers.")
    flags.DEFINE_integer("classifier_epochs", 3, "Epochs of a domain classifier trained on first use.")
    flags.DEFINE_integer("seed", 0, "Seed of the samples and of the real images drawn.")


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
    try:
        if FLAGS.workdir:
            spec = FLAGS.dataset or run_config(FLAGS.workdir).dataset
            generated = generator_from_workdir(FLAGS.workdir)
        else:
            spec = FLAGS.dataset or "fashion_mnist"
            generated = generator_from_export(FLAGS.export_dir)
        output_dir = FLAGS.output_dir or os.path.join(FLAGS.workdir or FLAGS.export_dir, "eval")
        result = evaluate(generated, spec, output_dir, FLAGS.num_samples, data_dir=FLAGS.data_dir,
                          cache_dir=FLAGS.cache_dir, classifier_epochs=FLAGS.classifier_epochs, seed=FLAGS.seed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report(result))
    print(f"Wrote {os.path.join(output_dir, 'eval.json')} and report.md")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
