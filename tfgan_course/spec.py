"""GeneratorSpec: what a trained generator takes and gives, as data.

The one description every consumer reads (training callbacks, evaluate,
explore, export, the serving client through the export, the demo page). A GAN
variant writes it once when it is built (`variants.build`); it is saved as JSON
beside the run's checkpoints (`<workdir>/checkpoints/generator.json`) and
inside every export (`assets.extra/generator.json`). Nobody re-derives it.

A generator takes named inputs, each one of these kinds:

  latent  float32 [B, D]: noise z ~ `distribution` ("normal" N(0, I) or
          "uniform" U[0, 1)) in its first `noise_dim` entries, then InfoGAN's
          codes: `categorical` one-hot entries and `continuous` entries in
          [-1, 1]. A seed names a latent vector (`latent.seeded_latents`).
  label   int32 [B], a class in [0, num_classes).
  image   float32 [B, H, W, C] in `value_range` (an image-to-image generator).
  mask    float32 [B, H, W, 1] in [0, 1]: 1 where a pixel of the image input is missing, 0 where
          it is known (an inpainter, which takes an image and its mask).
  text    string [B], a UTF-8 prompt in words (a text-to-image generator); `num_classes` is the
          number of classes its captions name. An empty prompt is refused; words the generator
          never saw in training map to its out-of-vocabulary token.

and gives named outputs of kind "image" (float32 [B, H, W, C] in [-1, 1]) or
"points" (float32 [B, dim], a toy distribution's samples, unbounded). State a
generator carries beyond its weights (e.g. a growing generator's resolution)
goes into `state`, a JSON object the variant owns.

This module is a leaf: JSON and dataclasses, no TensorFlow.
"""

import dataclasses
import json
import os

from tfgan_course import fileio

FORMAT = 1
FILE_NAME = "generator.json"
CHECKPOINTS = "checkpoints"  # A run's checkpoints and its generator.json: <workdir>/checkpoints/.
INPUT_KINDS = ("latent", "label", "image", "mask", "text")
OUTPUT_KINDS = ("image", "points")
LATENT_DISTRIBUTIONS = ("normal", "uniform")


def _normalise(tensor):
    """An Input's or Output's shape and value range as tuples of int and float (JSON gives lists)."""
    object.__setattr__(tensor, "shape", tuple(int(d) for d in tensor.shape))
    object.__setattr__(tensor, "value_range", tuple(float(v) for v in tensor.value_range))


@dataclasses.dataclass(frozen=True)
class Input:
    """One named input of a generator (see the module docstring for the kinds).

    Attributes:
      name: the input's name in the Keras model and in the export's signatures.
      kind: "latent", "label", "image", "mask" or "text".
      shape: one example's shape: (D,) for a latent, () for a label or a text, (H, W, C) for an image, (H, W, 1)
        for a mask.
      dtype: "float32", "int32" or "string".
      distribution: latent: "normal" or "uniform".
      noise_dim: latent: the entries that are noise; the rest are InfoGAN codes.
      categorical: latent: one-hot entries of a categorical code, after the noise.
      continuous: latent: continuous code entries in [-1, 1], after the categorical ones.
      num_classes: label: the number of classes; text: the number of classes its captions name.
      value_range: image and mask: (low, high) of the pixel values.
    """

    name: str
    kind: str
    shape: tuple
    dtype: str = "float32"
    distribution: str = ""
    noise_dim: int = 0
    categorical: int = 0
    continuous: int = 0
    num_classes: int = 0
    value_range: tuple = ()

    def __post_init__(self):
        _normalise(self)
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"Unknown input kind {self.kind!r}; valid kinds: {', '.join(INPUT_KINDS)}.")
        if self.kind == "latent":
            if self.distribution not in LATENT_DISTRIBUTIONS:
                raise ValueError(f"Latent input {self.name!r}: unknown distribution {self.distribution!r}; "
                                 f"valid values: {', '.join(LATENT_DISTRIBUTIONS)}.")
            if self.shape != (self.noise_dim + self.categorical + self.continuous,):
                raise ValueError(f"Latent input {self.name!r} of shape {self.shape} is not noise_dim + codes = "
                                 f"{self.noise_dim} + {self.categorical} + {self.continuous}.")
        if self.kind == "mask" and (len(self.shape) != 3 or self.shape[-1] != 1):
            raise ValueError(f"Mask input {self.name!r} is one channel (H, W, 1), got shape {self.shape}.")
        if self.kind == "label" and self.num_classes < 2:
            raise ValueError(f"Label input {self.name!r} needs num_classes >= 2, got {self.num_classes}.")

    @property
    def size(self) -> int:
        """A latent input's width D (noise and codes)."""
        return self.shape[0] if self.shape else 1


@dataclasses.dataclass(frozen=True)
class Output:
    """One named output: kind "image" (shape (H, W, C), values in value_range) or "points" (shape (dim,))."""

    name: str
    kind: str
    shape: tuple
    dtype: str = "float32"
    value_range: tuple = ()

    def __post_init__(self):
        _normalise(self)
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"Unknown output kind {self.kind!r}; valid kinds: {', '.join(OUTPUT_KINDS)}.")


@dataclasses.dataclass(frozen=True)
class GeneratorSpec:
    """A trained generator: its inputs and outputs, and where it came from.

    Attributes:
      inputs: Input, in the Keras model's input order.
      outputs: Output (one today: "images").
      family: the model family, a key of `models.MODELS`.
      variant: the GAN variant, a key of `variants.VARIANTS`.
      dataset: the data spec it was trained on.
      state: the variant's own JSON state (e.g. a growing generator's resolution).
      credits: the attribution its training data's licence asks of every copy (Twemoji's CC-BY
        4.0 for a generator trained on Twitter's emoji), carried into every export; "" for none.
    """

    inputs: tuple
    outputs: tuple
    family: str = ""
    variant: str = ""
    dataset: str = ""
    state: dict = dataclasses.field(default_factory=dict)
    credits: str = ""

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"A generator's inputs need distinct names, got {names}.")
        if not self.outputs:
            raise ValueError("A generator spec needs at least one output.")

    def input(self, kind: str):
        """The first input of `kind`, or None."""
        return next((i for i in self.inputs if i.kind == kind), None)

    @property
    def latent(self):
        """The latent Input, or None for a generator that takes no noise."""
        return self.input("latent")

    @property
    def num_classes(self) -> int:
        """The classes a label input indexes or a text input's captions name; 0 for an unconditional generator."""
        label = self.input("label") or self.input("text")
        return label.num_classes if label else 0

    @property
    def conditional(self) -> bool:
        return self.input("label") is not None

    @property
    def output(self) -> Output:
        """The main output."""
        return self.outputs[0]

    @property
    def translates(self) -> bool:
        """True for an image-to-image generator (pix2pix, CycleGAN, an inpainter): an input of kind "image"."""
        return self.input("image") is not None

    @property
    def inpaints(self) -> bool:
        """True for an inpainter (a context encoder): an image input and the mask of its missing pixels."""
        return self.translates and self.input("mask") is not None

    @property
    def makes_images(self) -> bool:
        return self.output.kind == "image"

    @property
    def interpolation(self) -> str:
        """The latent path between two points: slerp for Gaussian z (its mass lies near a sphere), else lerp."""
        latent = self.latent
        return "lerp" if latent is not None and latent.distribution == "uniform" else "slerp"

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **dataclasses.asdict(self)}, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "GeneratorSpec":
        """The spec of `to_json`'s text; a ValueError for text that is not one."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"A generator spec is JSON: {error}.") from None
        if not is_spec(data):
            raise ValueError("Not a generator spec: it has no 'format', 'inputs' and 'outputs'.")
        if data["format"] > FORMAT:
            raise ValueError(f"This generator spec has format {data['format']}; this version of tfgan_course "
                             f"reads up to {FORMAT}: upgrade tfgan_course.")
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["inputs"] = [Input(**i) for i in data["inputs"]]
        values["outputs"] = [Output(**o) for o in data["outputs"]]
        return cls(**values)

    def write(self, directory: str) -> str:
        """Writes <directory>/generator.json atomically; returns its path."""
        path = os.path.join(directory, FILE_NAME)
        fileio.write_atomically(path, self.to_json())
        return path


def latent_input(noise_dim: int, distribution: str = "normal", categorical: int = 0, continuous: int = 0,
                 name: str = "z") -> Input:
    """The latent Input: noise_dim entries of noise ~ distribution, then InfoGAN's codes."""
    return Input(name, "latent", (noise_dim + categorical + continuous,), distribution=distribution,
                 noise_dim=noise_dim, categorical=categorical, continuous=continuous)


def label_input(num_classes: int, name: str = "label") -> Input:
    """A class-label Input: int32, one per example, in [0, num_classes)."""
    return Input(name, "label", (), dtype="int32", num_classes=num_classes)


def image_input(shape, name: str = "images") -> Input:
    """An image Input of one example's (H, W, C), float32 in [-1, 1]: a translator's input."""
    return Input(name, "image", tuple(shape), value_range=(-1.0, 1.0))


def mask_input(shape, name: str = "mask") -> Input:
    """A mask Input of one example's (H, W, 1), float32, 1 = missing and 0 = known: an inpainter's second input."""
    return Input(name, "mask", tuple(shape), value_range=(0.0, 1.0))


def text_input(num_classes: int, name: str = "text") -> Input:
    """A prompt Input: one UTF-8 string per example, captions naming one of `num_classes` classes."""
    return Input(name, "text", (), dtype="string", num_classes=num_classes)


def output_for(shape, name: str = "images") -> Output:
    """A generator's output of one example's `shape`: images in [-1, 1] when (H, W, C), else toy points."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 3:
        return Output(name, "image", shape, value_range=(-1.0, 1.0))
    return Output(name, "points", shape)


def is_spec(data) -> bool:
    """True for a decoded JSON object of `GeneratorSpec.to_json` (older exports wrote other facts there)."""
    return isinstance(data, dict) and {"format", "inputs", "outputs"} <= set(data)


def read(directory: str):
    """The spec in <directory>/generator.json, or None where there is none (a run or export older than specs)."""
    path = os.path.join(directory, FILE_NAME)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        text = f.read()
    if not is_spec(json.loads(text)):
        return None
    return GeneratorSpec.from_json(text)
