r"""Scores a text-to-image generator on prompts of held-out phrasings, beside a class-conditional baseline.

  python -m tfgan_course.evaluate --workdir=runs/stackgan [--baseline_workdir=runs/cdcgan]

(`evaluate` picks this module for a generator whose spec takes text.)

The prompts are the captions of the captioned spec's TEST split (`captions:SPEC`): each names a test
image's class and its three attributes in the held-out phrasings the generator never trained on. One
image is generated per prompt (the noise from --seed). A class-conditional generator (the cDCGAN) is
given the prompt's class only; its attribute agreement is what ignoring the words scores. Scores:

  prompt-class accuracy   the domain classifier's (`classifier.py`, never trained against) class of each
                          image equals the prompt's class
  attribute agreement     the attribute functions of `captions.py` on each image, with the training
                          split's per-class thresholds, equal the prompt's values (each attribute, and
                          their mean); 50% is chance, the test images themselves score 100% by construction
  per-class FID           each class's generated images against that class's training images, in the
                          classifier's features (`metrics.fid_and_kid`), beside the test images' FID
  precision, recall       of all generated images against the training images (k = 3): recall is diversity

Writes eval.json and report.md to the output directory (evaluate's --output_dir, default <workdir>/eval).
"""

import json
import os
import time

import numpy as np
from absl import logging

from tfgan_course import fileio

DEFAULT_NUM_SAMPLES = 10_000
_BATCH = 500


def test_prompts(spec: str, num_samples: int, image_size: int, channels: int, data_dir=None):
    """The test split's first `num_samples` examples of a captioned spec, unshuffled:
    (images float32 [N, H, W, C] in [-1, 1], captions list of str, labels int32 [N], attributes int32 [N, 3])."""
    from tfgan_course import data  # pylint: disable=import-outside-toplevel

    dataset, info = data.make_dataset(spec, image_size=image_size, channels=channels, batch_size=_BATCH, split="test",
                                      data_dir=data_dir, shuffle=False, drop_remainder=False)
    if info.kind != "captioned":
        raise ValueError(f"--dataset={spec} is not captioned: prompts come from a captions:SPEC spec's test split, "
                         "e.g. captions:fashion_mnist.")
    batches = {"image": [], "caption": [], "label": [], "attributes": []}
    for batch in dataset:
        for key in batches:
            batches[key].append(batch[key].numpy())
        if sum(len(b) for b in batches["label"]) >= num_samples:
            break
    out = {key: np.concatenate(values)[:num_samples] for key, values in batches.items()}
    return out["image"], [c.decode() for c in out["caption"]], out["label"], out["attributes"]


def generate_for(generated, prompts, labels, seed: int) -> np.ndarray:
    """One image per prompt, float32 [N, H, W, C]: a text generator reads the prompt, a class-conditional one
    the prompt's class only; batch i's noise from seed + i."""
    batches = []
    for i, start in enumerate(range(0, len(prompts), _BATCH)):
        stop = start + _BATCH
        if generated.spec.input("text") is not None:
            batches.append(generated.prompted(prompts[start:stop], seed + i))
        elif generated.spec.conditional:
            batches.append(generated.sample(len(labels[start:stop]), seed + i, labels[start:stop]))
        else:
            raise ValueError(f"{generated.description} takes neither text nor a label: nothing to prompt.")
    return np.concatenate(batches)


def score(images, labels, attributes, classifier, thresholds, train_features, train_labels) -> dict:
    """The scores of images [N, H, W, C] made for prompts of classes `labels` and `attributes` [N, 3]."""
    from tfgan_course import captions, metrics  # pylint: disable=import-outside-toplevel

    features, logits = classifier.features_and_logits(images)
    measured = captions.attributes(images, labels, thresholds)
    agreement = (measured == attributes).mean(axis=0)
    precision, recall = metrics.precision_recall(train_features, features, k=3)
    per_class = {}
    for c in range(classifier.num_classes):
        mine, real = features[labels == c], train_features[train_labels == c]
        if len(mine) > 10 and len(real) > 10:
            per_class[int(c)] = metrics.fid_and_kid(real, mine)["fid"]
    return {
        "prompt_class_accuracy": float(np.mean(np.argmax(logits, axis=1) == labels)),
        "attribute_agreement": float(agreement.mean()),
        **{f"{name}_agreement": float(value) for name, value in zip(captions.ATTRIBUTES, agreement)},
        "per_class_fid": per_class,
        "mean_class_fid": float(np.mean(list(per_class.values()))) if per_class else float("nan"),
        "fid": metrics.fid_and_kid(train_features, features)["fid"],
        "precision": precision,
        "recall": recall,
    }


def evaluate(generators: dict, spec: str, output_dir: str, num_samples: int = DEFAULT_NUM_SAMPLES, data_dir=None,
             cache_dir=None, seed: int = 0) -> dict:
    """Scores each of `generators` ({name: trained.TrainedGenerator}) on the test split's prompts of `spec`,
    beside the test images themselves; writes eval.json and report.md.

    Returns:
      {"dataset", "num_prompts", "classifier", "results": {name: scores, ..., "test images": scores},
       "seconds": {name: generation seconds}}.
    """
    # TensorFlow: keeps --help fast.
    from tfgan_course import classifier as classifier_lib  # pylint: disable=import-outside-toplevel
    from tfgan_course import data, data_captions  # pylint: disable=import-outside-toplevel

    shape = tuple(next(iter(generators.values())).spec.output.shape)
    source = data_captions.base_spec(spec)
    classifier = classifier_lib.load_or_train(source, image_size=shape[0], channels=shape[2], cache_dir=cache_dir,
                                              data_dir=data_dir, seed=seed)
    images, prompts, labels, attributes = test_prompts(spec, num_samples, shape[0], shape[2], data_dir)
    train_images, train_labels, _ = data.load_examples(source, "train", len(labels), shape, data_dir, seed)
    train_features, _ = classifier.features_and_logits(train_images)
    thresholds = data.caption_thresholds(spec, data_dir)
    results, seconds = {}, {}
    for name, generated in generators.items():
        logging.info("Generating %d images for the prompts with %s", len(prompts), generated.description)
        start = time.perf_counter()
        fakes = generate_for(generated, prompts, labels, seed)
        seconds[name] = time.perf_counter() - start
        results[name] = score(fakes, labels, attributes, classifier, thresholds, train_features, train_labels)
    results["test images"] = score(images, labels, attributes, classifier, thresholds, train_features, train_labels)
    result = {"dataset": spec, "num_prompts": len(prompts), "examples": prompts[:5], "classifier": classifier.record(),
              "sources": {name: g.description for name, g in generators.items()}, "results": results,
              "seconds": seconds}
    os.makedirs(output_dir, exist_ok=True)
    fileio.write_atomically(os.path.join(output_dir, "eval.json"), json.dumps(result, indent=2) + "\n")
    fileio.write_atomically(os.path.join(output_dir, "report.md"), report(result))
    return result


_ROWS = (("prompt-class accuracy", "prompt_class_accuracy", "%"), ("attribute agreement", "attribute_agreement", "%"),
         ("  shade", "shade_agreement", "%"), ("  fit", "fit_agreement", "%"), ("  texture", "texture_agreement", "%"),
         ("mean per-class FID", "mean_class_fid", ""), ("FID", "fid", ""), ("precision (k=3)", "precision", ""),
         ("recall (k=3)", "recall", ""))


def report(result: dict) -> str:
    """A Markdown table of eval.json's dict: one column per generator, and the test images."""
    names = list(result["results"])
    lines = [f"# Text-to-image evaluation on `{result['dataset']}`", "",
             f"{result['num_prompts']} prompts: the test split's captions in held-out phrasings, e.g. "
             f"\"{result['examples'][0]}\". Classifier `{result['classifier']['key']}` "
             f"({100 * result['classifier']['test_accuracy']:.2f}% test accuracy).", "",
             "| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for title, key, unit in _ROWS:
        cells = [result["results"][name][key] for name in names]
        lines.append(f"| {title} | " + " | ".join(f"{100 * v:.1f}%" if unit else f"{v:.3g}" for v in cells) + " |")
    classes = sorted(result["results"][names[0]]["per_class_fid"])
    lines += ["", "Per-class FID (each class's generated images against its training images):", "",
              "| class | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for c in classes:
        lines.append(f"| {c} | " + " | ".join(f"{result['results'][n]['per_class_fid'].get(c, float('nan')):.3g}"
                                              for n in names) + " |")
    return "\n".join(lines) + "\n"
