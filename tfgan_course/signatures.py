"""What an export answers: the SavedModel signatures of a trained generator, by what its spec says it takes.

Every signature uses TF Serving's Predict method and batches every input and output on a dynamic
first dimension. A generator of latent vectors (`spec.latent`; a conditional one's signatures also
take `label` int32 [-1]):

  serving_default  `z` float32 [-1, input_dim] -> `images` float32 [-1, H, W, C] in [-1, 1]
  sample           `seed` int64 [-1] -> `images_uint8` uint8 [-1, H, W, C],
                   `images_png_bytes` string [-1] (PNG; TF Serving's REST answers `_bytes`
                   outputs as base64) and `z` float32 [-1, input_dim], the generator input
                   the seed names (`seeded_inputs(seed)`, whatever its distribution), so a
                   client can start an interpolation at a seed's sample without redrawing
                   it. One image per seed, the same image for the same seed.
  interpolate      `z_start`, `z_end` float32 [-1, input_dim], `num_steps` int32 [-1] (the
                   same S >= 2 in every row) -> `images` float32 [-1, S, H, W, C] and
                   `images_png_bytes` string [-1, S]: the path between the two points, both
                   ends included (slerp for Gaussian z, lerp for uniform z).
A toy generator's points [B, dim] are answered as `images` float32 by all three (and `sample`
still answers `z`).

An image-to-image translator (`spec.translates`: pix2pix, CycleGAN), H x W its trained size:

  serving_default  `images` float32 [-1, H, W, Cin] in [-1, 1] -> `images` float32 [-1, H, W, Cout]
  translate_png    `images_png_bytes` string [-1] (PNG files of any size, grey, RGB or RGBA)
                   -> `images_png_bytes` string [-1] and `images_uint8` uint8 [-1, H, W, Cout]:
                   each file composited over white (a transparent background is paper, as the
                   emoji data is drawn), made Cin-channel (grey as ITU-R 601 luma), resized to
                   H x W (antialiased bilinear; a file of the trained size is taken as it is)
  reverse, reverse_png   the same from Cout back to Cin, for a CycleGAN (its F: B -> A)
  examples         `index` int32 [-1] -> `images_png_bytes` string [-1] and `num_examples` int32
                   [-1] (N in every row): the held-out input images stored in the export (N of
                   them, index in [0, N)), so a client that talks only REST (the demo page) has
                   something to translate; a request for [0] tells it N
  reverse_examples the same for the reverse direction's inputs (a CycleGAN's domain B)
Only when the export was given examples (`export_generator(examples=..., reverse_examples=...)`).

An upscaler (a translator whose output is s times its input's size: SRResNet, SRGAN) answers the
translator's serving_default, translate_png and examples at its trained input size h x w, and

  upscale          `images` float32 [-1, -1, -1, Cin] in [-1, 1] (any h and w) -> `images` float32
                   [-1, s h, s w, Cout]
  upscale_png      `images_png_bytes` string [-1] (PNG files, each of any size; composited over white
                   and made Cin-channel as translate_png does, but not resized) -> `images_png_bytes`
                   string [-1], each file s times its own size

through a twin of the generator built on inputs of any size, with its weights (a convolutional
network's weights do not depend on the image size).

An inpainter (`spec.inpaints`: a context encoder), H x W its trained size; 1 in a mask marks a missing
pixel (any value above 0.5 counts as 1), 0 a known one, and every known pixel comes back bit-exact:

  serving_default, inpaint
                   `images` float32 [-1, H, W, C] in [-1, 1] and `mask` float32 [-1, H, W, 1] -> `images`
                   float32 [-1, H, W, C]: the generator's prediction in the hole, the input elsewhere
  inpaint_png      `images_png_bytes` and `mask_png_bytes` string [-1] (PNG files, read as translate_png
                   reads them; a mask pixel is missing where its luma is at least half white) ->
                   `images_png_bytes` string [-1] and `images_uint8` uint8 [-1, H, W, C], whose known
                   pixels are the input file's (at the trained size)
  examples         as a translator's: the test images stored in the export

A text-to-image generator (a `text` input, StackGAN-lite):

  serving_default  `text` string [-1] (UTF-8 prompts), `z` float32 [-1, input_dim] -> `images`
                   float32 [-1, H, W, C] in [-1, 1]
  generate         `text` string [-1], `seed` int64 [-1] -> `images_uint8` uint8 [-1, H, W, C],
                   `images_png_bytes` string [-1] and `z` float32 [-1, input_dim]: one image per
                   (prompt, seed) row, the same image for the same pair
A prompt with no word (empty, blanks or punctuation only) is refused with INVALID_ARGUMENT; a word
the generator never saw maps to its out-of-vocabulary token.

No signature's output for one image depends on the other images of its batch: generators run
in inference mode (BatchNorm's moving statistics; instance normalisation is per image).

`SIGNATURES` maps each kind to its (check, archive, warmups) triple, each called with
(generator, spec, reverse, examples), examples a pair of uint8 arrays or None (forward, reverse);
`kind_of(spec)` picks one.
"""

import dataclasses
import functools
from typing import Callable

import keras
import tensorflow as tf

from tfgan_course import latent
from tfgan_course import spec as spec_lib

MAX_INTERPOLATION_STEPS = 256
_LABEL_RANGE = "label must be a class in [0, %d)"
_EMPTY_PROMPT = "text: every prompt needs at least one word; got an empty one"
# What Keras' TextVectorization strips by default: a prompt of these characters alone has no word.
_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_EXAMPLE_RANGE = "%s: index must be in [0, %d), the examples this export holds"
# Not a tf.constant: creating a tensor at import would start TensorFlow's runtime before a
# MultiWorkerMirroredStrategy can configure it.
_LUMA = (0.299, 0.587, 0.114)


def to_uint8(images):
    """float [B, H, W, C] in [-1, 1] -> uint8 [B, H, W, C] in [0, 255] (rounded, clipped)."""
    return tf.cast(tf.round((tf.clip_by_value(images, -1.0, 1.0) + 1.0) * 127.5), tf.uint8)


def encode_png(images):
    """uint8 [N, H, W, C] -> string [N] of PNG files."""
    return tf.map_fn(tf.io.encode_png, images, fn_output_signature=tf.string)


def example_pixels(images):
    """Examples to store in an export, uint8 or float in [-1, 1] [N, H, W, C] -> uint8 numpy; None stays None."""
    if images is None:
        return None
    images = tf.convert_to_tensor(images)
    return (images if images.dtype == tf.uint8 else to_uint8(tf.cast(images, tf.float32))).numpy()


# ----------------------------------------------------------------------------- Generators of latent vectors.


def _check_generator(generator, spec, reverse, examples):
    """A ValueError unless `spec` names the generator's inputs and its latent has z's width."""
    if reverse is not None:
        raise ValueError("Only a translator has a reverse direction; this generator takes a latent vector.")
    if any(e is not None for e in examples):
        raise ValueError("Only a translator exports examples (its test inputs); this generator takes a latent vector.")
    names = [tensor.name for tensor in generator.inputs]
    if [i.name for i in spec.inputs] != names:
        raise ValueError(f"The spec's inputs {[i.name for i in spec.inputs]} are not the generator's {names}.")
    if "z" not in names or spec.latent is None or spec.latent.name != "z":
        raise ValueError(f"The generator's inputs are named {names}; name its latent input 'z' "
                         "(keras.Input(..., name='z')): the signatures take inputs by name.")
    width = int(generator.inputs[names.index("z")].shape[-1])
    if spec.latent.size != width:
        raise ValueError(f"The spec's latent has {spec.latent.size} entries; the generator's z has {width}.")


def _generator_archive(generator, spec, reverse, examples) -> keras.export.ExportArchive:
    """The three signatures of `generator` (inputs named as `_check_generator` checked), drawn as `spec` says."""
    del reverse, examples
    input_names = [tensor.name for tensor in generator.inputs]
    seeded_inputs = functools.partial(latent.seeded_latents, spec.latent)
    interpolation, num_classes = spec.interpolation, spec.num_classes
    z_spec = next(tf.TensorSpec([None, *t.shape[1:]], t.dtype, name="z") for t in generator.inputs if t.name == "z")
    extra_specs = [tf.TensorSpec([None, *t.shape[1:]], t.dtype, name=t.name) for t in generator.inputs
                   if t.name != "z"]

    def generate(z, extras):
        # Inputs in the generator's own order; outputs float32 (a mixed-precision G computes in half).
        by_name = dict(zip([spec.name for spec in extra_specs], extras), z=z)
        if "label" in by_name:
            # A one-hot of an out-of-range label is all zeros: an image of no class, not an error.
            label = by_name["label"]
            with tf.control_dependencies([tf.debugging.assert_non_negative(label, message=_LABEL_RANGE % num_classes),
                                          tf.debugging.assert_less(label, num_classes,
                                                                   message=_LABEL_RANGE % num_classes)]):
                by_name["label"] = tf.identity(label)
        inputs = [by_name[name] for name in input_names]
        images = generator(inputs[0] if len(inputs) == 1 else inputs, training=False)
        return tf.cast(images, tf.float32)

    def serving_default(z, *extras):
        return {"images": generate(z, extras)}

    # A toy generator makes points [B, dim], not pictures: its signatures answer them as floats.
    is_image = spec.makes_images

    def sample(seed, *extras):
        # The z the seed names is an output too: a client interpolating from a seed's sample
        # takes it from here instead of redrawing it (and knowing the latent distribution).
        z = tf.ensure_shape(tf.cast(seeded_inputs(seed), tf.float32), z_spec.shape)
        images = generate(z, extras)
        if not is_image:
            return {"images": images, "z": z}
        images = to_uint8(images)
        return {"images_uint8": images, "images_png_bytes": encode_png(images), "z": z}

    def interpolate(z_start, z_end, num_steps, *extras):
        steps = num_steps[0]
        checks = [
            tf.debugging.assert_equal(num_steps, steps, message="interpolate: num_steps must be the same in every "
                                      "row of a request; send one request per step count"),
            tf.debugging.assert_greater_equal(steps, 2, message="interpolate: num_steps must be at least 2"),
            tf.debugging.assert_less_equal(steps, MAX_INTERPOLATION_STEPS,
                                           message=f"interpolate: num_steps must be at most {MAX_INTERPOLATION_STEPS}"),
        ]
        with tf.control_dependencies(checks):
            t = tf.linspace(0.0, 1.0, steps)
        path = latent.interpolate(interpolation, z_start, z_end, t)  # [B, S, D]
        rows = tf.shape(path)[0]
        flat_extras = [tf.repeat(extra, steps, axis=0) for extra in extras]  # row b's label for its S images
        images = generate(tf.reshape(path, [rows * steps, -1]), flat_extras)
        outputs = {"images": tf.reshape(images, tf.concat([[rows, steps], tf.shape(images)[1:]], 0))}
        if is_image:
            outputs["images_png_bytes"] = tf.reshape(encode_png(to_uint8(images)), [rows, steps])
        return outputs

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(name="serving_default", fn=serving_default, input_signature=[z_spec, *extra_specs])
    archive.add_endpoint(name="sample", fn=sample,
                         input_signature=[tf.TensorSpec([None], tf.int64, name="seed"), *extra_specs])
    archive.add_endpoint(name="interpolate", fn=interpolate, input_signature=[
        tf.TensorSpec(z_spec.shape, tf.float32, name="z_start"), tf.TensorSpec(z_spec.shape, tf.float32, name="z_end"),
        tf.TensorSpec([None], tf.int32, name="num_steps"), *extra_specs])
    return archive


def _generator_warmups(generator, spec, reverse, examples):
    """[(signature, {input: value}, output_filter)], batch 1, for the warmup records.

    One request per signature with every output, plus the output filters `serving.client`
    sends (`sample`'s `z` of two seeds to start an interpolation, the PNG files): TF Serving
    runs a filtered request as its own subgraph, whose first run would otherwise be slow.
    """
    del spec, reverse, examples
    extras = {t.name: tf.zeros([1, *t.shape[1:]], t.dtype) for t in generator.inputs if t.name != "z"}
    z_shape = next([1, *t.shape[1:]] for t in generator.inputs if t.name == "z")
    is_image = len(generator.outputs[0].shape) == 4
    sample = {"seed": tf.constant([0], tf.int64), **extras}
    interpolate = {"z_start": tf.zeros(z_shape), "z_end": tf.ones(z_shape), "num_steps": tf.constant([2], tf.int32),
                   **extras}
    requests = [("serving_default", {"z": tf.zeros(z_shape), **extras}, []), ("sample", sample, []),
                ("sample", sample, ["z"]), ("interpolate", interpolate, [])]
    if is_image:
        requests += [("sample", sample, ["images_png_bytes"]), ("interpolate", interpolate, ["images_png_bytes"])]
    return requests


# ----------------------------------------------------------------------------- Image-to-image translators.


def _check_translator(generator, spec, reverse, examples):
    """A ValueError unless `generator` takes one image of the spec's input shape (and `reverse` maps back),
    and each direction's examples are a few of its input images."""
    image = spec.input("image")
    if len(generator.inputs) != 1 or tuple(generator.inputs[0].shape[1:]) != image.shape:
        raise ValueError(f"A translator takes one image input of shape {image.shape}; the generator takes "
                         f"{[tuple(t.shape[1:]) for t in generator.inputs]}.")
    wants_reverse = "reverse" in spec.state
    if wants_reverse != (reverse is not None):
        raise ValueError("The spec records a reverse direction (a CycleGAN): pass its reverse generator."
                         if wants_reverse else "The spec records no reverse direction; pass reverse=None.")
    if reverse is not None:
        forward_out = tuple(generator.outputs[0].shape[1:])
        if tuple(reverse.inputs[0].shape[1:]) != forward_out or tuple(reverse.outputs[0].shape[1:]) != image.shape:
            raise ValueError(f"The reverse generator must map {forward_out} back to {image.shape}.")
    for name, network, pixels in zip(("examples", "reverse_examples"), (generator, reverse), examples):
        if pixels is None:
            continue
        if network is None:
            raise ValueError("reverse_examples need a reverse direction (a CycleGAN's reverse generator).")
        shape = tuple(network.inputs[0].shape[1:])
        if pixels.ndim != 4 or tuple(pixels.shape[1:]) != shape or not len(pixels):
            raise ValueError(f"The {name} must be images [N >= 1, {', '.join(map(str, shape))}], the inputs of "
                             f"that direction; got shape {tuple(pixels.shape)}.")


def _decode_png(png, channels):
    """One PNG file (grey, grey+alpha, RGB or RGBA, 8 or 16 bit) -> float32 [h, w, channels] in [0, 1] at its size.

    Composited over white; C = 1 is ITU-R 601 luma, 0.299 R + 0.587 G + 0.114 B.
    """
    rgba = tf.io.decode_png(png, channels=4, dtype=tf.uint16)
    rgba = tf.cast(rgba, tf.float32) / 65535.0
    rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])  # Over white.
    # ITU-R 601 luma, weights summing to exactly 1 so a grey file keeps its values (TF's
    # rgb_to_grayscale sums to 0.9999).
    return tf.tensordot(rgb, _LUMA, axes=[[2], [0]])[..., None] if channels == 1 else rgb


def decode_png_images(png_bytes, shape):
    """string [N] of PNG files -> float32 [N, H, W, C] in [-1, 1], as `translate_png` reads them.

    Each file is decoded as `_decode_png` does and resized to `shape`'s H x W (antialiased
    bilinear; the same size is left as it is).
    """
    height, width, channels = (int(d) for d in shape)

    def one(png):
        pixels = _decode_png(png, channels)
        same_size = tf.reduce_all(tf.equal(tf.shape(pixels)[:2], [height, width]))
        pixels = tf.cond(same_size, lambda: pixels,
                         lambda: tf.image.resize(pixels, (height, width), antialias=True))
        return tf.ensure_shape(pixels, (height, width, channels)) * 2.0 - 1.0

    return tf.map_fn(one, png_bytes, fn_output_signature=tf.TensorSpec((height, width, channels), tf.float32))


def _translator_archive(generator, spec, reverse, examples) -> keras.export.ExportArchive:
    """serving_default, translate_png and examples of `generator`; reverse, reverse_png and reverse_examples of
    `reverse` if given (an examples signature only with its examples)."""
    del spec
    archive = keras.export.ExportArchive()
    for prefix, network, pixels in zip(("", "reverse"), (generator, reverse), examples):
        if network is not None:
            archive.track(network)
            _add_translator_endpoints(archive, network, prefix or "serving_default", f"{prefix or 'translate'}_png")
        if pixels is not None:
            _add_examples_endpoint(archive, "_".join(filter(None, (prefix, "examples"))), pixels)
    return archive


def _add_translator_endpoints(archive, network, name, png_name, in_shape=None):
    """`name`: images -> images, and `png_name`: PNG files -> PNG files and uint8 images, of `network`.

    `in_shape`: the (H, W, C) the endpoints take; None = `network`'s input shape.
    """
    in_shape = tuple(int(d) for d in in_shape or network.inputs[0].shape[1:])

    def translate(images):
        return {"images": tf.cast(network(images, training=False), tf.float32)}

    def translate_png(png_bytes):
        images = to_uint8(translate(decode_png_images(png_bytes, in_shape))["images"])
        return {"images_png_bytes": encode_png(images), "images_uint8": images}

    archive.add_endpoint(name=name, fn=translate,
                         input_signature=[tf.TensorSpec([None, *in_shape], tf.float32, name="images")])
    archive.add_endpoint(name=png_name, fn=translate_png,
                         input_signature=[tf.TensorSpec([None], tf.string, name="images_png_bytes")])


def _add_examples_endpoint(archive, name, pixels):
    """`name`: index -> the PNG files of the stored uint8 images `pixels` [N, H, W, C], and N."""
    count = len(pixels)
    message = _EXAMPLE_RANGE % (name, count)

    def examples(index):
        # A graph constant: the examples are part of the export, as its weights are.
        stored = tf.constant(pixels)
        with tf.control_dependencies([tf.debugging.assert_non_negative(index, message=message),
                                      tf.debugging.assert_less(index, count, message=message)]):
            images = tf.gather(stored, index)
        return {"images_png_bytes": encode_png(images), "num_examples": tf.fill(tf.shape(index), count)}

    archive.add_endpoint(name=name, fn=examples, input_signature=[tf.TensorSpec([None], tf.int32, name="index")])


def _translator_warmups(generator, spec, reverse, examples):
    """One batch-1 request per signature, every output, plus `translate_png`'s PNG-only filter."""
    del spec
    requests = []
    for prefix, network, pixels in zip(("", "reverse"), (generator, reverse), examples):
        if network is None:
            continue
        shape = [1, *network.inputs[0].shape[1:]]
        png = encode_png(tf.fill(shape, tf.constant(255, tf.uint8)))  # A white page.
        png_signature = f"{prefix or 'translate'}_png"
        requests += [(prefix or "serving_default", {"images": tf.zeros(shape)}, []),
                     (png_signature, {"images_png_bytes": png}, []),
                     (png_signature, {"images_png_bytes": png}, ["images_png_bytes"])]
        if pixels is not None:
            requests.append(("_".join(filter(None, (prefix, "examples"))), {"index": tf.constant([0])}, []))
    return requests


# ----------------------------------------------------------------------------- Upscalers.


def any_size_twin(generator) -> keras.Model:
    """`generator` rebuilt on images [B, None, None, C] (its layers cloned), with its weights: it runs at any H, W."""
    images = keras.Input((None, None, generator.inputs[0].shape[-1]), name=generator.inputs[0].name)
    twin = keras.models.clone_model(generator, input_tensors=images)
    twin.set_weights(generator.get_weights())
    return twin


def _upscaler_archive(generator, spec, reverse, examples) -> keras.export.ExportArchive:
    """The translator's signatures at the trained size, plus upscale and upscale_png at any size."""
    del reverse
    twin = any_size_twin(generator)
    channels = spec.input("image").shape[-1]
    archive = keras.export.ExportArchive()
    archive.track(twin)
    _add_translator_endpoints(archive, twin, "serving_default", "translate_png", spec.input("image").shape)
    if examples[0] is not None:
        _add_examples_endpoint(archive, "examples", examples[0])

    def upscale(images):
        return {"images": tf.cast(twin(images, training=False), tf.float32)}

    def upscale_png(png_bytes):
        def one(png):
            pixels = _decode_png(png, channels) * 2.0 - 1.0
            return tf.io.encode_png(to_uint8(upscale(pixels[tf.newaxis])["images"])[0])

        return {"images_png_bytes": tf.map_fn(one, png_bytes, fn_output_signature=tf.string)}

    archive.add_endpoint(name="upscale", fn=upscale,
                         input_signature=[tf.TensorSpec([None, None, None, channels], tf.float32, name="images")])
    archive.add_endpoint(name="upscale_png", fn=upscale_png,
                         input_signature=[tf.TensorSpec([None], tf.string, name="images_png_bytes")])
    return archive


def _upscaler_warmups(generator, spec, reverse, examples):
    """The translator's warmups, plus upscale and upscale_png at the trained size."""
    shape = [1, *spec.input("image").shape]
    png = encode_png(tf.fill(shape, tf.constant(255, tf.uint8)))
    return [*_translator_warmups(generator, spec, reverse, examples), ("upscale", {"images": tf.zeros(shape)}, []),
            ("upscale_png", {"images_png_bytes": png}, [])]


# ----------------------------------------------------------------------------- Inpainters.


def _check_inpainter(generator, spec, reverse, examples):
    """A ValueError unless `generator` takes the spec's image and mask (in that order), and the examples are images."""
    if reverse is not None:
        raise ValueError("Only a CycleGAN has a reverse direction; this generator inpaints.")
    image, mask = spec.input("image"), spec.input("mask")
    shapes = [(t.name, tuple(t.shape[1:])) for t in generator.inputs]
    if shapes != [(image.name, image.shape), (mask.name, mask.shape)]:
        raise ValueError(f"An inpainter takes [{image.name} {image.shape}, {mask.name} {mask.shape}]; the generator "
                         f"takes {shapes}.")
    pixels = examples[0]
    if examples[1] is not None:
        raise ValueError("reverse_examples need a reverse direction (a CycleGAN's reverse generator).")
    if pixels is not None and (pixels.ndim != 4 or tuple(pixels.shape[1:]) != image.shape or not len(pixels)):
        raise ValueError(f"The examples must be images [N >= 1, {', '.join(map(str, image.shape))}], the inpainter's "
                         f"inputs; got shape {tuple(pixels.shape)}.")


def _inpainter_archive(generator, spec, reverse, examples) -> keras.export.ExportArchive:
    """serving_default and inpaint (images and mask -> the completed images), inpaint_png, and examples if given."""
    del reverse
    image_shape = spec.input("image").shape
    mask_shape = spec.input("mask").shape

    def inpaint(images, mask):
        missing = mask > 0.5
        predicted = tf.cast(generator([images, tf.cast(missing, tf.float32)], training=False), tf.float32)
        # The known pixels are the caller's own, bit-exact; only the hole is the generator's.
        return {"images": tf.where(missing, predicted, images)}

    def inpaint_png(images_png_bytes, mask_png_bytes):
        images = decode_png_images(images_png_bytes, image_shape)
        mask = tf.cast(decode_png_images(mask_png_bytes, mask_shape) >= 0.0, tf.float32)
        completed = to_uint8(inpaint(images, mask)["images"])
        return {"images_png_bytes": encode_png(completed), "images_uint8": completed}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    tensor_specs = [tf.TensorSpec([None, *image_shape], tf.float32, name="images"),
                    tf.TensorSpec([None, *mask_shape], tf.float32, name="mask")]
    for name in ("serving_default", "inpaint"):
        archive.add_endpoint(name=name, fn=inpaint, input_signature=tensor_specs)
    archive.add_endpoint(name="inpaint_png", fn=inpaint_png,
                         input_signature=[tf.TensorSpec([None], tf.string, name="images_png_bytes"),
                                          tf.TensorSpec([None], tf.string, name="mask_png_bytes")])
    if examples[0] is not None:
        _add_examples_endpoint(archive, "examples", examples[0])
    return archive


def _inpainter_warmups(generator, spec, reverse, examples):
    """One batch-1 request per signature (the centre quarter missing), plus `inpaint_png`'s PNG-only filter."""
    del generator, reverse
    height, width, channels = spec.input("image").shape
    mask = tf.pad(tf.ones([1, height // 2, width // 2, 1]), [[0, 0], [height // 4, height - height // 2 - height // 4],
                                                             [width // 4, width - width // 2 - width // 4], [0, 0]])
    tensors = {"images": tf.zeros([1, height, width, channels]), "mask": mask}
    pngs = {"images_png_bytes": encode_png(to_uint8(tensors["images"])), "mask_png_bytes": encode_png(to_uint8(
        mask * 2.0 - 1.0))}
    requests = [("serving_default", tensors, []), ("inpaint", tensors, []), ("inpaint_png", pngs, []),
                ("inpaint_png", pngs, ["images_png_bytes"])]
    if examples[0] is not None:
        requests.append(("examples", {"index": tf.constant([0])}, []))
    return requests
# ----------------------------------------------------------------------------- Text-to-image generators.


def _check_text(generator, spec, reverse, examples):
    """A ValueError unless `generator` takes the spec's z and text, and nothing of a translator is given."""
    if reverse is not None or any(e is not None for e in examples):
        raise ValueError("A text-to-image generator has no reverse direction and exports no examples.")
    names = [tensor.name for tensor in generator.inputs]
    if [i.name for i in spec.inputs] != names or sorted(names) != ["text", "z"]:
        raise ValueError(f"A text-to-image generator takes inputs z and text, as its spec says; the generator takes "
                         f"{names}, the spec {[i.name for i in spec.inputs]}.")
    width = int(generator.inputs[names.index("z")].shape[-1])
    if spec.latent.size != width:
        raise ValueError(f"The spec's latent has {spec.latent.size} entries; the generator's z has {width}.")


def checked_prompts(text):
    """string [B] -> the same prompts, or INVALID_ARGUMENT when one has no word (as TextVectorization splits)."""
    words = tf.strings.strip(tf.strings.regex_replace(tf.strings.lower(text), _PUNCTUATION, ""))
    has_words = tf.reduce_all(tf.strings.length(words) > 0)
    with tf.control_dependencies([tf.debugging.assert_equal(has_words, True, message=_EMPTY_PROMPT)]):
        return tf.identity(text)


def _text_archive(generator, spec, reverse, examples) -> keras.export.ExportArchive:
    """serving_default (text, z) and generate (text, seed) of a text-to-image generator."""
    del reverse, examples
    order = [tensor.name for tensor in generator.inputs]
    width = spec.latent.size

    def generate_images(text, z):
        by_name = {"text": checked_prompts(text), "z": z}
        return tf.cast(generator([by_name[name] for name in order], training=False), tf.float32)

    def serving_default(text, z):
        return {"images": generate_images(text, z)}

    def generate(text, seed):
        with tf.control_dependencies([tf.debugging.assert_equal(
                tf.shape(text)[0], tf.shape(seed)[0], message="generate: send one seed per prompt")]):
            z = tf.ensure_shape(tf.cast(latent.seeded_latents(spec.latent, seed), tf.float32), [None, width])
        images = to_uint8(generate_images(text, z))
        return {"images_uint8": images, "images_png_bytes": encode_png(images), "z": z}

    text_spec = tf.TensorSpec([None], tf.string, name="text")
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(name="serving_default", fn=serving_default,
                         input_signature=[text_spec, tf.TensorSpec([None, width], tf.float32, name="z")])
    archive.add_endpoint(name="generate", fn=generate,
                         input_signature=[text_spec, tf.TensorSpec([None], tf.int64, name="seed")])
    return archive


def _text_warmups(generator, spec, reverse, examples):
    """One batch-1 request per signature, every output, plus `generate`'s PNG-only filter."""
    del generator, reverse, examples
    text, generate = tf.constant(["a"]), {"text": tf.constant(["a"]), "seed": tf.constant([0], tf.int64)}
    return [("serving_default", {"text": text, "z": tf.zeros([1, spec.latent.size])}, []), ("generate", generate, []),
            ("generate", generate, ["images_png_bytes"])]


@dataclasses.dataclass(frozen=True)
class Signatures:
    """How to export one kind of generator.

    Attributes:
      check: fn(generator, spec, reverse) -> None, a ValueError when they do not fit together.
      archive: fn(generator, spec, reverse) -> keras.export.ExportArchive of every signature.
      warmups: fn(generator, spec, reverse) -> [(signature, {input: tensor}, output_filter)].
    """

    check: Callable
    archive: Callable
    warmups: Callable


SIGNATURES = {
    "generator": Signatures(_check_generator, _generator_archive, _generator_warmups),
    "translator": Signatures(_check_translator, _translator_archive, _translator_warmups),
    "upscaler": Signatures(_check_translator, _upscaler_archive, _upscaler_warmups),
    "inpainter": Signatures(_check_inpainter, _inpainter_archive, _inpainter_warmups),
    "text": Signatures(_check_text, _text_archive, _text_warmups),
}


def kind_of(spec: spec_lib.GeneratorSpec) -> str:
    """The SIGNATURES key of a spec: "text" for a text input, "generator" for a latent input; "inpainter" for an
    image and its mask; for an image alone "upscaler" when the output is larger than the input, else "translator"."""
    if spec.input("text") is not None:
        return "text"
    if not spec.translates:
        return "generator"
    if spec.inpaints:
        return "inpainter"
    return "upscaler" if spec.output.shape[:2] != spec.input("image").shape[:2] else "translator"
