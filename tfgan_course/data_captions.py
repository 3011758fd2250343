"""captions:SPEC, a captioned spec: SPEC's labelled images with a caption and attributes each.

  captions:SPEC   every image of SPEC (an in-memory labelled source: fashion_mnist, idx:DIR, mnist10k,
                  classes:C,...:SPEC of one) with "caption" (a UTF-8 string naming its class and
                  attributes, `captions.py`) and "attributes" (int32 [3]: shade, fit, texture), e.g.
                  captions:fashion_mnist. The train split's captions use the training phrasings,
                  the test split's the held-out ones.

The attributes are measured on the source's own pixels (before any resize) and thresholded at the
per-class medians of the TRAIN split, whichever split is read: a test image is dark by the same
rule a training image is. Batches are dicts {"image", "label", "caption", "attributes"}
(`data.DataInfo.kind` "captioned"), which only the text-to-image variant trains on.
"""

import dataclasses
import functools

import numpy as np

from tfgan_course import captions, data_pipeline

# Image i's caption template is a hash of (CAPTION_SEED, i) (`captions.template_indices`).
CAPTION_SEED = 0


def base_spec(spec: str) -> str:
    """The source under derived specs that keep labels: captions:classes:0,1:fashion_mnist -> fashion_mnist."""
    while True:
        scheme, _, arg = spec.partition(":")
        if scheme == "captions":
            spec = arg
        elif scheme == "classes":
            spec = arg.partition(":")[2]
        else:
            return spec


def class_names(spec: str, num_classes: int) -> tuple:
    """The class names a captioned spec's captions use (`captions.class_names` of its source)."""
    return captions.class_names(base_spec(spec), num_classes)


@functools.lru_cache(maxsize=4)
def _thresholds(inner, data_dir, num_classes, load):
    """The per-class attribute thresholds of `inner`'s train split (measured once per process)."""
    request = data_pipeline.Request(1, 1, 1, "train", data_dir, False, 0, False, False, load=load)
    examples = load(inner, request)
    return captions.fit_thresholds(examples.arrays["image"], examples.arrays[data_pipeline.LABEL], num_classes)


def thresholds(spec: str, data_dir, load) -> np.ndarray:
    """float32 [num_classes, 3]: the attribute thresholds the captioned `spec`'s captions use (its source's
    train split's per-class medians), to measure other images (a generator's) by the same rule; `load` is
    data.py's loader of a spec's examples (`data.caption_thresholds` passes it)."""
    inner = spec.partition(":")[2] if spec.startswith("captions:") else spec
    request = data_pipeline.Request(1, 1, 1, "train", data_dir, False, 0, False, False, load=load)
    return _thresholds(inner, data_dir, request.examples(inner).num_classes, load)


def _captions_source(spec, source, inner, request):
    """captions:SPEC: SPEC's labelled in-memory images with their captions and attributes."""
    del source
    if not inner:
        raise ValueError(f"{spec}: missing the labelled image spec it captions, e.g. captions:fashion_mnist")
    examples = request.examples(inner)
    arrays = getattr(examples, "arrays", None)
    if examples.kind != "images" or arrays is None or data_pipeline.LABEL not in arrays:
        raise ValueError(f"{spec}: captions:SPEC takes a labelled image spec held in memory (fashion_mnist, "
                         f"idx:DIR with labels, mnist10k, classes:C,...:SPEC of one); {inner} is not one")
    num_classes = examples.num_classes
    thresholds = _thresholds(inner, request.data_dir, num_classes, request.load)
    labels = arrays[data_pipeline.LABEL]
    values = captions.attributes(arrays["image"], labels, thresholds)
    texts = captions.captions(labels, values, class_names(inner, num_classes), request.split, CAPTION_SEED)
    arrays = {**arrays, data_pipeline.CAPTION: texts.astype(bytes), data_pipeline.ATTRIBUTES: values}
    return dataclasses.replace(examples, arrays=arrays, source=f"captions:{examples.source}")


SOURCES = {"captions": _captions_source}
