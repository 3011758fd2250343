"""Scores an image-to-image translator on a paired or unpaired spec's test split, every figure beside its baselines.

    from tfgan_course import evaluate_translation

    result = evaluate_translation.evaluate(
        translate, "pair:edges:classes:5,7,8,9:fashion_mnist", "runs/pix2pix/eval", image_size=28, channels=1,
        baselines={"L1-only U-Net": unet_translate})
    result = evaluate_translation.evaluate(
        g_ab, "unpaired:classes:7:fashion_mnist|classes:9:fashion_mnist", "runs/cyclegan/eval", image_size=28,
        channels=1, translate_back=g_ba)

A translator is a function: float32 images [B, h, w, Cin] in [-1, 1] -> [B, H, W, Cout] in [-1, 1]
(numpy or tf.Tensor), the targets' size (H, W = h, w but for a super-resolution model on lowres: pairs). It sees the test split as data.make_dataset gives it (augment=False), at
`image_size` and `channels` as the translator trained on them. eval.json and report.md go to
output_dir, naming the classifiers that scored it, with samples.png (paired: input | translator |
baselines | target) or samples_a_to_b.png and samples_b_to_a.png (input | translator | back).

Paired specs ({"input", "target"}), rows: the translator, the caller's `baselines`, the input itself
("input": tiled to RGB or reduced to its luma when the target has other channels; "bicubic" when
the input is smaller than the target, a lowres: pair: the input upsampled bicubically, the classic
super-resolution baseline) and the real targets; columns:
  - L1, PSNR, SSIM of each output against its target (metrics.py: per image, then the mean;
    PSNR capped at MAX_PSNR_DB so that a perfect output stays a number).
  - accuracy: the FCN-score of pix2pix: the classifier of the targets' labelled source
    (classifier.classifier_source: pair:edges:classes:5,7,8,9:fashion_mnist's targets are
    Fashion-MNIST garments, scored by the fashion_mnist classifier with their own labels).
  - FID and KID against the real targets in that classifier's features; the real row is the
    train split's targets against them (real vs real, at the same N).
  Targets without labels (emoji:A-B, pix2pix:DIR) have no classifier: only L1, PSNR and SSIM.
  A translator trained on a classifier's features (SRGAN's perceptual loss: its spec's
  state["loss_network"], passed as `loss_network`) is never scored by a classifier of the same
  seed: its accuracy and FID would then measure the loss it minimised (classifier.LOSS_SEED).

Unpaired specs ({"a", "b"}), for a -> b (and b -> a with `translate_back`), rows: the translator,
the input itself and the real target domain; columns:
  - target rate: the share of outputs that the classifier of the spec's two domains
    (classifier.load_or_train on the unpaired spec: trained to tell a from b on their train
    splits) calls the target domain. Sound for any pair, labelled or not, where the target
    domain's own classifier may not exist (emoji styles) or may see a single class.
  - labels kept: when both domains are labelled with the same label set (handwritten and
    printed digits), the share of outputs that the target domain's label classifier gives
    their source image's label. Domains of different classes (sneakers and boots) have no
    label to keep, and get none.
  - FID and KID against the target domain's test images, in the features of the target
    domain's label classifier when it is labelled (richer than two classes' features), else of
    the two-domain classifier; eval.json names the one used.
  - cycle L1 (of F(G(a)) against a, with translate_back) and identity L1 (of G(b) against b,
    when the domains have the same channels), CycleGAN's two reconstruction errors.
"""

import dataclasses
import json
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from tfgan_course import classifier as classifier_lib
from tfgan_course import data, data_derived, fileio, metrics, plots
from tfgan_course.gans import translation

DEFAULT_NUM_SAMPLES = 10_000
# PSNR of an identical image is infinite; 100 dB is an error of 1e-5 of the range, far below
# the uint8 quantisation's 59 dB, so no real translator is flattered by the cap.
MAX_PSNR_DB = 100.0
_BATCH = 100

Translate = Callable[[np.ndarray], np.ndarray]


def evaluate(translate: Translate, spec: str, output_dir: str, *, image_size: int, channels: int,
             translate_back: Translate | None = None, baselines: dict | None = None,
             description: str = "translator", num_samples: int = DEFAULT_NUM_SAMPLES, data_dir: str | None = None,
             cache_dir: str | None = None, classifier_epochs: int | None = None, seed: int = 0,
             loss_network: dict | None = None) -> dict:
    """Scores `translate` on the test split of a paired or unpaired spec; writes eval.json and report.md.

    Args:
      translate: images float32 [B, h, w, Cin] in [-1, 1] -> [B, H, W, Cout] in [-1, 1], the targets'
        size; for an unpaired spec, domain a -> domain b.
      spec: a paired or unpaired spec of data.make_dataset.
      output_dir: where eval.json and report.md go (created).
      image_size, channels: the translator's data, as data.make_dataset takes them.
      translate_back: unpaired specs only: domain b -> domain a; adds the b -> a scores and the
        cycle errors.
      baselines: paired specs only: {name: translate function} scored beside it (an L1-only U-Net).
      description: what `translate` is, for the report.
      num_samples: test examples scored at most (per domain for unpaired specs), >= 4.
      data_dir: TFDS data directory.
      cache_dir: where classifiers are kept (classifier.load_or_train).
      classifier_epochs: epochs of a classifier trained on first use; None for the default.
      seed: which examples are drawn when the split has more than num_samples.
      loss_network: paired specs: the classifier a perceptual loss trained `translate` against ({"dataset",
        "seed", ...}, a spec's state["loss_network"]); scoring refuses a classifier of the same seed.

    Returns:
      The dict written to eval.json (module docstring): {"kind", "dataset", "source",
      "num_examples", the classifiers' records, per-row scores}.

    Raises:
      ValueError: an image spec, the wrong options for the spec's kind, a translator that
        returns the wrong shape, a labelled spec whose classifier cannot be had, a scoring classifier
        of the loss network's seed.
    """
    if num_samples < 4:
        raise ValueError(f"num_samples must be >= 4 (KID's subsets), got {num_samples}")
    _, info = data.make_dataset(spec, image_size=image_size, channels=channels, batch_size=1, split="test",
                                data_dir=data_dir, shuffle=False, augment=False)
    os.makedirs(output_dir, exist_ok=True)
    context = _Context(spec, output_dir, image_size, channels, num_samples, data_dir, cache_dir,
                       classifier_epochs or classifier_lib.DEFAULT_EPOCHS, seed)
    if info.kind == "paired" and translate_back is None:
        result = _evaluate_paired(translate, dict(baselines or {}), info, context, loss_network)
    elif info.kind == "unpaired" and not baselines:
        result = _evaluate_unpaired(translate, translate_back, info, context)
    else:
        raise ValueError(f"{spec} is a {info.kind} spec: translators are scored on paired specs (with `baselines`) "
                         "or unpaired ones (with `translate_back`)")
    result = {"kind": info.kind, "dataset": spec, "source": description, **result}
    fileio.write_atomically(os.path.join(output_dir, "eval.json"), json.dumps(result, indent=2) + "\n")
    fileio.write_atomically(os.path.join(output_dir, "report.md"), report(result))
    return result


@dataclasses.dataclass(frozen=True)
class _Context:
    """evaluate's arguments that every step passes on."""

    spec: str
    output_dir: str
    image_size: int
    channels: int
    num_samples: int
    data_dir: str | None
    cache_dir: str | None
    classifier_epochs: int
    seed: int

    def examples(self, spec, split, channels=None):
        """Up to num_samples examples of a split, shuffled by seed: {key: numpy [N, ...]}, an image spec's as
        {"image", "label" when labelled}."""
        dataset, _ = data.make_dataset(spec, image_size=self.image_size, channels=channels or self.channels,
                                       batch_size=_BATCH, split=split, data_dir=self.data_dir, shuffle=True,
                                       seed=self.seed, drop_remainder=False, augment=False)
        batches, total = [], 0
        for element in dataset:
            batches.append({key: value.numpy() for key, value in _as_dict(element).items()})
            total += len(batches[-1][next(iter(batches[-1]))])
            if total >= self.num_samples:
                break
        return {key: np.concatenate([batch[key] for batch in batches])[:self.num_samples] for key in batches[0]}

    def classifier(self, spec, channels):
        """classifier.load_or_train's classifier of `spec` at the translator's image size."""
        return classifier_lib.load_or_train(spec, image_size=self.image_size, channels=channels,
                                            cache_dir=self.cache_dir, data_dir=self.data_dir,
                                            epochs=self.classifier_epochs, seed=self.seed)


def _as_dict(element):
    """A make_dataset element as a dict: an image spec's (images, labels) or images -> {"image", "label"}."""
    if isinstance(element, dict):
        return element
    return dict(zip(("image", "label"), element if isinstance(element, tuple) else (element,)))


def _translated(translate, images, shape, what):
    """translate(images) batch by batch: float32 [N, *shape], checked ((H, W, C), the targets')."""
    outputs = np.concatenate([np.asarray(translate(images[start:start + _BATCH]), np.float32)
                              for start in range(0, len(images), _BATCH)])
    expected = images.shape[:1] + tuple(shape)
    if outputs.shape != expected:
        raise ValueError(f"{what} turned images {images.shape} into {outputs.shape}; expected {expected}")
    return outputs


def _ground_truth_scores(outputs, targets):
    """Mean L1 ([-1, 1] units), PSNR (dB, capped) and SSIM of outputs against their targets [N, H, W, C]."""
    return {"l1": float(metrics.l1_distance(outputs, targets).mean()),
            "psnr": float(np.minimum(metrics.psnr(outputs, targets), MAX_PSNR_DB).mean()),
            "ssim": float(metrics.ssim(outputs, targets).mean())}


def _save_samples(path, columns, count=8):
    """A grid of the first `count` examples, one row each, one column per entry of columns ({title: [N, H, W, C]});
    a smaller column (a low-resolution input) is shown with its pixels enlarged."""
    rows = translation.panels([np.asarray(images[:count]) for images in columns.values()])
    plots.save_image_grid(rows, path, nrow=len(columns), title=" | ".join(columns))


def bicubic_upscale(images, shape):
    """Images float32 [N, h, w, C] in [-1, 1] -> [N, *shape] ((H, W, C')): bicubic to H x W, clipped, channels matched.

    The super-resolution baseline (what SRGAN's paper compares with); the input itself, its channels
    matched, when the sizes are equal.
    """
    images = classifier_lib.match_channels(images, shape[2])
    if tuple(images.shape[1:3]) != tuple(shape[:2]):
        images = tf.clip_by_value(tf.image.resize(images, shape[:2], method="bicubic"), -1.0, 1.0)
    return images.numpy()


def _predicted(logits):
    return np.argmax(logits, axis=1)


# Paired specs.


def _check_loss_network(classifier, loss_network):
    """A ValueError when the scoring classifier has the seed of the network a loss trained the translator against."""
    if loss_network and classifier.seed == loss_network.get("seed"):
        raise ValueError(f"the classifier scoring this translator ({classifier.key or classifier.dataset}) was trained "
                         f"with seed {classifier.seed}, the seed of the classifier its content loss compared features "
                         f"in: its accuracy and FID would measure the loss it minimised; score with the seed-0 "
                         f"classifier (delete {classifier.key} from the cache to retrain it)")


def _evaluate_paired(translate, baselines, info, context, loss_network=None):
    """The paired scores: the translator, its baselines, the input and the real targets (module docstring)."""
    test = context.examples(context.spec, "test")
    target_shape = info.shapes["target"]
    outputs = {"translator": _translated(translate, test["input"], target_shape, "the translator")}
    outputs.update({name: _translated(fn, test["input"], target_shape, f"baseline {name!r}")
                    for name, fn in baselines.items()})
    # The input as it is, or bicubically enlarged to the targets' size (lowres: pairs).
    input_row = "input" if info.shapes["input"][:2] == target_shape[:2] else "bicubic"
    outputs[input_row] = bicubic_upscale(test["input"], target_shape)
    rows = {name: _ground_truth_scores(images, test["target"]) for name, images in outputs.items()}
    translated = {name: images for name, images in outputs.items() if name != "input"}
    _save_samples(os.path.join(context.output_dir, "samples.png"),
                  {"input": test["input"], **translated, "target": test["target"]})
    result = {"num_examples": len(test["target"]), "shapes": {key: list(shape) for key, shape in info.shapes.items()}}
    if not info.num_classes:
        return {**result, "classifier": None, "scores": rows,
                "classifier_note": "the targets are unlabelled: no classifier, so no accuracy, FID or KID"}
    try:
        source = classifier_lib.classifier_source(data_derived.target_spec(context.spec))
    except ValueError as error:
        raise ValueError(f"no classifier is known for the labelled targets of {error}") from None
    classifier = context.classifier(source, target_shape[2])
    _check_loss_network(classifier, loss_network)
    real_features, real_logits = classifier.features_and_logits(test["target"])
    for name, images in outputs.items():
        features, logits = classifier.features_and_logits(images)
        rows[name].update(accuracy=metrics.label_rate(_predicted(logits), test["label"]),
                          **metrics.fid_and_kid(real_features, features))
    # Real vs real at the same N: the train split's targets against the test targets.
    train_targets = context.examples(context.spec, "train")["target"][:len(test["target"])]
    n = len(train_targets)
    rows["real"] = {"accuracy": metrics.label_rate(_predicted(real_logits), test["label"]),
                    **metrics.fid_and_kid(real_features[:n], classifier.features(train_targets))}
    return {**result, "classifier": classifier.record(), "loss_network": loss_network, "scores": rows}


# Unpaired specs.


@dataclasses.dataclass(frozen=True)
class _Domain:
    """One domain of an unpaired spec, as its scores need it.

    Attributes:
      index: its class in the classifier of the two domains: a 0, b 1.
      images: float32 [N, S, S, C] test images in [-1, 1].
      labels: int32 [N] test labels; None for an unlabelled domain.
      train_images: float32 [N, S, S, C] of its train split, the real-vs-real reference.
      classifier: its labelled source's classifier (classifier_source); None for an unlabelled domain.
    """

    index: int
    images: np.ndarray
    labels: np.ndarray | None
    train_images: np.ndarray
    classifier: classifier_lib.DomainClassifier | None


def _evaluate_unpaired(translate, translate_back, info, context):
    """The unpaired scores of each direction (module docstring)."""
    test_specs, train_specs = (data_derived.domains(context.spec, split) for split in ("test", "train"))
    tests = [context.examples(spec, "test", shape[2]) for spec, shape in zip(test_specs, info.shapes.values())]
    # Equal N on both sides of every FID: its bias depends on N.
    n = min(len(test["image"]) for test in tests)
    domains = {key: _domain(context, index, test, test_specs[index], train_specs[index], n)
               for index, (key, test) in enumerate(zip("ab", tests))}
    two_domains = context.classifier(context.spec, classifier_lib.unpaired_shape(info)[2])
    label_sets = [set(domain.labels) if domain.labels is not None else set() for domain in domains.values()]
    keeps_labels = label_sets[0] == label_sets[1] and len(label_sets[0]) > 1
    result = {"num_examples": n, "shapes": {key: list(shape) for key, shape in info.shapes.items()},
              "classifiers": {"domains": two_domains.record(),
                              **{key: d.classifier.record() if d.classifier else None for key, d in domains.items()}},
              "labels_kept_scored": keeps_labels}
    directions = [("a_to_b", domains["a"], domains["b"], translate, translate_back)]
    if translate_back is not None:
        directions.append(("b_to_a", domains["b"], domains["a"], translate_back, translate))
    for name, source, target, forward, backward in directions:
        result[name] = _direction(forward, backward, source, target, two_domains, keeps_labels,
                                  os.path.join(context.output_dir, f"samples_{name}.png"))
    return result


def _domain(context, index, test, spec, train_spec, n):
    """A _Domain: the first n of its `test` examples, n of its train images and its labelled source's classifier."""
    channels = test["image"].shape[-1]
    labelled = "label" in test
    return _Domain(index, test["image"][:n], test["label"][:n] if labelled else None,
                   context.examples(train_spec, "train", channels)["image"][:n],
                   # classes:7:fashion_mnist is labelled by the fashion_mnist classifier, in its labels.
                   context.classifier(classifier_lib.classifier_source(spec), channels) if labelled else None)


def _direction(forward, backward, source, target, two_domains, keeps_labels, samples_path):
    """One direction's rows (translator, input, real) and its cycle and identity errors; saves its samples."""
    channels = target.images.shape[-1]
    what = f"the translator {'ab'[source.index]} -> {'ab'[target.index]}"
    outputs = {"translator": _translated(forward, source.images, source.images.shape[1:3] + (channels,), what),
               "input": classifier_lib.match_channels(source.images, channels).numpy()}
    feature_space = target.classifier or two_domains
    real_features = feature_space.features(target.images)
    rows = {}
    for name, images in {**outputs, "real": target.images}.items():
        domain_logits = two_domains.logits(classifier_lib.match_channels(images, two_domains.image_shape[2]))
        rows[name] = {"target_rate": metrics.label_rate(_predicted(domain_logits), target.index)}
        if keeps_labels:
            expected = target.labels if name == "real" else source.labels
            rows[name]["labels_kept"] = metrics.label_rate(_predicted(target.classifier.logits(images)), expected)
        # The real row: the target's train split against its test split.
        features = feature_space.features(target.train_images if name == "real" else images)
        rows[name].update(metrics.fid_and_kid(real_features[:len(features)], features))
    result = {"feature_space": feature_space.key, "scores": rows}
    samples = {"input": source.images, "translator": outputs["translator"]}
    if backward is not None:
        samples["back"] = _translated(backward, outputs["translator"], source.images.shape[1:],
                                      f"the translator {'ab'[target.index]} -> {'ab'[source.index]}")
        result["cycle_l1"] = float(metrics.l1_distance(samples["back"], source.images).mean())
    if source.images.shape[-1] == channels:
        same = _translated(forward, target.images, target.images.shape[1:], what)
        result["identity_l1"] = float(metrics.l1_distance(same, target.images).mean())
    _save_samples(samples_path, samples)
    return result


# The report.

_PAIRED_COLUMNS = (("L1", "l1", "{:.4f}"), ("PSNR (dB)", "psnr", "{:.2f}"), ("SSIM", "ssim", "{:.4f}"),
                   ("accuracy", "accuracy", "{:.1%}"), ("FID", "fid", "{:.4g}"), ("KID", "kid", "{:.4f}"))
_UNPAIRED_COLUMNS = (("target rate", "target_rate", "{:.1%}"), ("labels kept", "labels_kept", "{:.1%}"),
                     ("FID", "fid", "{:.4g}"), ("KID", "kid", "{:.4f}"))


def _table(rows, columns):
    """Markdown table lines: one row per entry of `rows` ({name: {key: value}}), "-" where a value is missing."""
    lines = ["| | " + " | ".join(title for title, _, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, values in rows.items():
        cells = [fmt.format(values[key]) if key in values else "-" for _, key, fmt in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _classifier_line(name, record):
    return (f"- {name}: `{record['key'] or 'not cached'}` ({record['dataset']}, "
            f"{'x'.join(map(str, record['input_shape']))} input, test accuracy {record['test_accuracy']:.2%})")


def report(result: dict) -> str:
    """A short Markdown report of eval.json's dict: the score tables and the classifiers used."""
    lines = [f"# Evaluation of {result['source']} on `{result['dataset']}`", "",
             f"{result['num_examples']} test examples{' per domain' * (result['kind'] == 'unpaired')}. "
             f"L1 in [-1, 1] units; PSNR capped at {MAX_PSNR_DB:g} dB; FID and KID in a classifier's features, "
             "against the real test targets (the real row: train-split images against them, same N).", ""]
    if result["kind"] == "paired":
        lines += _table(result["scores"], _PAIRED_COLUMNS) + [""]
        lines.append(_classifier_line("classifier", result["classifier"]) if result["classifier"]
                     else f"- classifier: none, {result['classifier_note']}")
        lines += ["", "![samples](samples.png)"]
    else:
        for direction in ("a_to_b", "b_to_a"):
            if direction not in result:
                continue
            scores = result[direction]
            lines += [f"## {direction.replace('_', ' ')}", ""] + _table(scores["scores"], _UNPAIRED_COLUMNS) + [""]
            lines += [f"- {title}: {scores[key]:.4f}" for title, key in
                      (("cycle L1", "cycle_l1"), ("identity L1", "identity_l1")) if key in scores]
            lines += [f"- FID features: `{scores['feature_space']}`", "", f"![samples](samples_{direction}.png)", ""]
        lines += ["The real row is the target domain's test images: target rate and labels kept are the "
                  "classifiers' accuracy on them.", ""]
        lines += [_classifier_line(name, record) for name, record in result["classifiers"].items() if record]
    return "\n".join(lines) + "\n"
