"""Generator/discriminator pairs by name: `build("dcgan", ...)` -> (generator, discriminator).

Every family module has `DEFAULT_WIDTH`, `KIND` and `generator(...)`,
`discriminator(...)` returning plain functional `keras.Model`s. By `KIND`:

- "unconditional" (mlp, mlp2, dcgan, selu, toy): G maps z float32
  [B, latent_dim] to images [B, H, W, C] in [-1, 1] (tanh; toy and selu: vectors
  [B, dim], unbounded), D maps images to logits float32 [B, 1] (no sigmoid:
  the losses apply it stably).
- "conditional" (cmlp, cdcgan): G maps [z, label], D maps [images, label],
  label int32 [B] in [0, num_classes); otherwise as above.
- "infogan": G maps z = [noise, codes] float32 [B, latent_dim] (the caller's
  latent_dim counts the codes: `gans.infogan.InfoGAN.input_specs`); D maps
  images to [logits [B, 1], code_logits [B, num_categories], code_mean
  [B, num_continuous]].
- "translator" (unet, resnet): image-to-image, built by `build_translator`: G maps
  images float32 [B, H, W, Cin] in [-1, 1] to images [B, H, W, Cout] in [-1, 1]
  (tanh), D is a PatchGAN: images [B, H, W, C] -> logits float32 [B, h, w, 1],
  one per patch (pix2pix's conditional D takes C = Cin + Cout).
- "upscaler" (srresnet): a translator whose output is SCALE times its input's size, built by
  `build_translator` too: G maps images float32 [B, h, w, Cin] in [-1, 1] to [B, s h, s w, Cout]
  in [-1, 1] (s one of the family's SCALES, found from the data's shapes), D maps the large images
  [B, s h, s w, Cout] to logits float32 [B, 1] (SRGAN's D judges an image alone).
- "inpainter" (context_encoder): built by `build_inpainter`: G maps [images float32 [B, H, W, C] in
  [-1, 1], mask float32 [B, H, W, 1] (1 = missing)] to its prediction of the whole image [B, H, W, C]
  in [-1, 1]; D maps the completed images with the mask as an extra channel, [B, H, W, C + 1], to
  logits float32 [B, 1].
- "text" (stackgan): text to image, built by `build_text`: G maps [z float32 [B, latent_dim], text
  string [B]] to images [B, H, W, C] in [-1, 1], D maps [images, half-size images, text] to
  [logits, stage1_logits] float32 [B, 1] each (`stackgan.py`).
- "progressive" (pggan): G maps z to images, D images to critic scores, as "unconditional", but both
  hold every block of a growing resolution and run those a `progress` weight says (`pggan.set_progress`).

A translating family has `OPTIONS` and `D_OPTIONS` (flag -> its generator's and its discriminator's
argument) and `SCALES` (the size ratios of output to input it makes; (1,) keeps the size).

With `autoencoder=True` the discriminator is BEGAN's instead (`began`): images
-> energies float32 [B, 1], the per-example L1 reconstruction error. With
`pack=m` (PacGAN) an unconditional family's D takes m samples concatenated
along the last axis: [B / m, H, W, m * C] (vectors [B / m, m * dim]) -> [B / m, 1].
A family with `DEFAULT_DEPTH` (toy) also takes a number of hidden layers.
"""

from tfgan_course.models import (
    began,
    cdcgan,
    cmlp,
    context_encoder,
    dcgan,
    infogan,
    mlp,
    mlp2,
    patchgan,
    pggan,
    resnet,
    selu,
    srresnet,
    stackgan,
    toy,
    unet,
)

MODELS = {
    "mlp": mlp,
    "mlp2": mlp2,
    "cmlp": cmlp,
    "dcgan": dcgan,
    "cdcgan": cdcgan,
    "infogan": infogan,
    "selu": selu,
    "toy": toy,
    "unet": unet,
    "resnet": resnet,
    "srresnet": srresnet,
    "pggan": pggan,
    "context_encoder": context_encoder,
    "stackgan": stackgan,
}
KINDS = ("unconditional", "conditional", "infogan", "translator", "upscaler", "inpainter", "progressive", "text")
# The kinds `build_translator` builds: G takes images.
TRANSLATING_KINDS = ("translator", "upscaler")
# Valid values of build_translator's discriminator option.
PATCH_SIZES = tuple(patchgan.RECEPTIVE_FIELDS)
# Valid values of build's dcgan-only options.
D_NORMS = dcgan.NORMS
G_UPSAMPLES = dcgan.UPSAMPLINGS
# The families whose number of hidden layers is an option (g_depth, d_depth).
DEPTHS = tuple(name for name, family in MODELS.items() if hasattr(family, "DEFAULT_DEPTH"))
# BEGAN's autoencoder for the families whose samples are real images.
AUTOENCODERS = {
    "dcgan": began.discriminator,
    "mlp": began.dense_discriminator,
    "mlp2": began.dense_discriminator,
}


def _check_value(option, value, valid):
    if value not in valid:
        raise ValueError(f"Unknown {option} {value!r}; valid values: {', '.join(valid)}.")


def _dcgan_options(name, d_norm, g_upsample, autoencoder):
    """(generator kwargs, discriminator kwargs) of dcgan's options; ValueErrors for other families."""
    _check_value("d_norm", d_norm, D_NORMS)
    _check_value("g_upsample", g_upsample, G_UPSAMPLES)
    g_kwargs, d_kwargs = {}, {}
    for option, value, default, kwargs, key in (("d_norm", d_norm, "batch", d_kwargs, "norm"),
                                                ("g_upsample", g_upsample, "transposed", g_kwargs, "upsample")):
        if value == default:
            continue
        if name != "dcgan":
            raise ValueError(f"--{option}={value} is only for --model=dcgan, not --model={name}.")
        kwargs[key] = value
    if autoencoder and d_kwargs:
        raise ValueError(f"--d_norm={d_norm} has no effect with --loss=began, whose discriminator is an autoencoder.")
    return g_kwargs, d_kwargs


def _depth_options(name, g_depth, d_depth):
    """(generator kwargs, discriminator kwargs) of the depths (0 = the family's); ValueErrors for other families."""
    g_kwargs, d_kwargs = {}, {}
    for option, value, kwargs in (("g_depth", g_depth, g_kwargs), ("d_depth", d_depth, d_kwargs)):
        if value < 0:
            raise ValueError(f"--{option} must be >= 0, got {value}.")
        if not value:
            continue
        if name not in DEPTHS:
            raise ValueError(f"--{option}={value} is only for --model={' or '.join(DEPTHS)}, not --model={name}.")
        kwargs["depth"] = value
    return g_kwargs, d_kwargs


def build(name: str, *, image_shape, latent_dim: int, g_width: int = 0, d_width: int = 0, seed=None,
          num_classes: int = 0, codes=(0, 0), d_norm: str = "batch", g_upsample: str = "transposed",
          autoencoder: bool = False, g_depth: int = 0, d_depth: int = 0, pack: int = 1):
    """Builds the generator and discriminator registered as `name`.

    Args:
      name: a key of `MODELS`.
      image_shape: (H, W, C) of the images ((dim,) for toy and selu).
      latent_dim: size of G's input z (for infogan, noise and codes).
      g_width, d_width: the family's width (ngf/ndf, hidden units); 0 = the lecture's value.
      seed: int seed for the weight initialisers (None = random).
      num_classes: number of classes, >= 2, for the conditional families; ignored by the others.
      codes: (num_categories, num_continuous) InfoGAN latent codes, at least
        one > 0, for infogan; ignored by the others.
      d_norm: dcgan's discriminator normalisation: "batch", "layer" or "none".
      g_upsample: dcgan's generator upsampling: "transposed", "nearest" or "bilinear".
      autoencoder: the discriminator is BEGAN's autoencoder (dcgan, mlp and
        mlp2 only), of width d_width (0 = the family's).
      g_depth, d_depth: hidden layers of G and D for the families in `DEPTHS`; 0 = the lecture's.
      pack: D judges packs of this many samples, concatenated along the last
        axis (PacGAN, Lin et al., 2018); unconditional families only.

    Returns:
      (generator, discriminator) keras.Models; see the module docstring for
      their inputs and outputs.

    Raises:
      ValueError: for an unknown name or option value, or an option the family does not take.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}.")
    family = MODELS[name]
    if family.KIND == "translator":
        raise ValueError(f"--model={name} is an image-to-image translator: build_translator builds it.")
    if family.KIND == "inpainter":
        raise ValueError(f"--model={name} is an inpainter: build_inpainter builds it.")
    if family.KIND == "text":
        raise ValueError(f"--model={name} makes images from text: build_text builds it.")
    g_kwargs, d_kwargs = _dcgan_options(name, d_norm, g_upsample, autoencoder)
    g_depth_kwargs, d_depth_kwargs = _depth_options(name, g_depth, d_depth)
    g_kwargs.update(g_depth_kwargs)
    d_kwargs.update(d_depth_kwargs)
    if pack < 1:
        raise ValueError(f"--pack must be >= 1, got {pack}.")
    if pack > 1 and family.KIND != "unconditional":
        raise ValueError(f"--pack={pack} needs an unconditional model family; --model={name} is {family.KIND}.")
    if pack > 1 and autoencoder:
        raise ValueError(f"--pack={pack} does not go with --loss=began, whose D is an autoencoder of single samples.")
    if autoencoder and name not in AUTOENCODERS:
        *others, last = sorted(AUTOENCODERS)
        raise ValueError(f"--loss=began needs --model={', '.join(others)} or {last}, not --model={name}.")
    if family.KIND == "conditional":
        if num_classes < 2:
            raise ValueError(f"--model={name} is conditional: it needs labelled data with >= 2 classes, "
                             f"got {num_classes}.")
        g_kwargs["num_classes"] = d_kwargs["num_classes"] = num_classes
    elif family.KIND == "infogan":
        num_categories, num_continuous = infogan.check_codes(*codes)
        d_kwargs.update(num_categories=num_categories, num_continuous=num_continuous)
    image_shape = tuple(int(d) for d in image_shape)
    g_width = g_width or family.DEFAULT_WIDTH
    d_width = d_width or family.DEFAULT_WIDTH
    d_seed = None if seed is None else seed + 1
    generator = family.generator(image_shape, latent_dim, g_width, seed=seed, **g_kwargs)
    if autoencoder:
        discriminator = AUTOENCODERS[name](image_shape, d_width, seed=d_seed)
    else:
        d_shape = image_shape[:-1] + (image_shape[-1] * pack,)
        discriminator = family.discriminator(d_shape, d_width, seed=d_seed, **d_kwargs)
    return generator, discriminator


def build_text(name: str, *, image_shape, latent_dim: int, vocabulary, code_dim: int, g_width: int = 0,
               d_width: int = 0, seed=None):
    """Builds the text-to-image generator registered as `name` and its discriminator.

    Args:
      name: a key of `MODELS` of KIND "text" (stackgan).
      image_shape: (H, W, C) of the images.
      latent_dim: z's width: the text code's `code_dim` entries of noise, then G's own.
      vocabulary: the words of the training captions, most frequent first (`captions.vocabulary`).
      code_dim: the conditioning augmentation's code size.
      g_width, d_width: the family's widths; 0 = its DEFAULT_WIDTH.
      seed: int seed of the initialisers (D's is seed + 1), or None.

    Returns:
      (generator, discriminator) keras.Models; see the module docstring.
    """
    if name not in MODELS or MODELS[name].KIND != "text":
        texts = " or ".join(f"--model={n}" for n, f in MODELS.items() if f.KIND == "text")
        raise ValueError(f"--model={name} does not make images from text: use {texts}.")
    family = MODELS[name]
    image_shape = tuple(int(d) for d in image_shape)
    generator = family.generator(image_shape, latent_dim, g_width or family.DEFAULT_WIDTH, seed=seed,
                                 vocabulary=vocabulary, code_dim=code_dim)
    discriminator = family.discriminator(image_shape, d_width or family.DEFAULT_WIDTH,
                                         seed=None if seed is None else seed + 1, vocabulary=vocabulary)
    return generator, discriminator


def build_translator(name: str, *, input_shape, output_shape, conditional: bool, g_width: int = 0,
                     d_width: int = 0, seed=None, **options):
    """Builds the image-to-image generator registered as `name` and its discriminator.

    Args:
      name: a key of `MODELS` of a KIND in TRANSLATING_KINDS (unet, resnet, srresnet).
      input_shape, output_shape: (h, w, Cin) and (H, W, Cout): G's input and output images; H / h = W / w
        is a scale of the family's SCALES (1 for unet and resnet).
      conditional: D judges concat(input, output) (pix2pix) rather than an output alone (CycleGAN, SRGAN);
        the input and output must then have one size.
      g_width, d_width: ngf and ndf; 0 = the family's (64).
      seed: int seed of the initialisers (D's is seed + 1), or None.
      **options: the families' own options by flag name (unet_depth, resnet_blocks for G, patch_size for a
        PatchGAN D: a family's `OPTIONS` and `D_OPTIONS` map them to its networks' arguments); 0 = the
        family's default, any other value for another family is an error.

    Returns:
      (generator, discriminator) keras.Models; see the module docstring.

    Raises:
      ValueError: an unknown or non-translating family, an option it does not take, sizes it cannot take.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}.")
    family = MODELS[name]
    if family.KIND not in TRANSLATING_KINDS:
        translators = " or ".join(f"--model={n}" for n, f in MODELS.items() if f.KIND in TRANSLATING_KINDS)
        raise ValueError(f"--model={name} is {family.KIND}, not an image-to-image translator: use {translators}.")
    g_kwargs, d_kwargs = {}, {}
    for option, value in options.items():
        if not value:
            continue
        if option not in {**family.OPTIONS, **family.D_OPTIONS}:
            owners = [n for n, f in MODELS.items()
                      if option in {**getattr(f, "OPTIONS", {}), **getattr(f, "D_OPTIONS", {})}]
            raise ValueError(f"--{option}={value} is only for --model={' or '.join(owners)}, not --model={name}.")
        if option in family.OPTIONS:
            g_kwargs[family.OPTIONS[option]] = value
        else:
            d_kwargs[family.D_OPTIONS[option]] = value
    input_shape, output_shape = (tuple(int(d) for d in shape) for shape in (input_shape, output_shape))
    scale = _scale(name, family, input_shape, output_shape, conditional)
    if family.SCALES != (1,):
        g_kwargs["scale"] = scale
    d_shape = output_shape[:2] + (output_shape[2] + (input_shape[2] if conditional else 0),)
    generator = family.generator(input_shape, output_shape[2], g_width or family.DEFAULT_WIDTH, seed=seed,
                                 **g_kwargs)
    if tuple(generator.output_shape[1:]) != output_shape:
        raise ValueError(f"--model={name} made outputs {generator.output_shape[1:]} of inputs {input_shape}; the "
                         f"data's targets are {output_shape}.")
    discriminator = family.discriminator(d_shape, d_width or family.DEFAULT_WIDTH,
                                         seed=None if seed is None else seed + 1, **d_kwargs)
    return generator, discriminator


def build_inpainter(name: str, *, image_shape, g_width: int = 0, d_width: int = 0, seed=None):
    """Builds the inpainter registered as `name` (KIND "inpainter") and its discriminator.

    Args:
      name: a key of `MODELS` of KIND "inpainter" (context_encoder).
      image_shape: (H, W, C) of the images it completes.
      g_width, d_width: the family's widths; 0 = its default.
      seed: int seed of the initialisers (D's is seed + 1), or None.

    Returns:
      (generator, discriminator) keras.Models; see the module docstring.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}.")
    family = MODELS[name]
    if family.KIND != "inpainter":
        inpainters = " or ".join(f"--model={n}" for n, f in MODELS.items() if f.KIND == "inpainter")
        raise ValueError(f"--model={name} is {family.KIND}, not an inpainter: use {inpainters}.")
    image_shape = tuple(int(d) for d in image_shape)
    generator = family.generator(image_shape, g_width or family.DEFAULT_WIDTH, seed=seed)
    discriminator = family.discriminator((*image_shape[:2], image_shape[2] + 1), d_width or family.DEFAULT_WIDTH,
                                         seed=None if seed is None else seed + 1)
    return generator, discriminator


def _scale(name, family, input_shape, output_shape, conditional):
    """H / h of a translator's output and input, checked against the family's SCALES and D's needs."""
    (height, width), (out_height, out_width) = input_shape[:2], output_shape[:2]
    scale = out_height // height
    if (out_height, out_width) != (scale * height, scale * width):
        raise ValueError(f"A translator's output is its input enlarged by one whole factor: input {input_shape} and "
                         f"output {output_shape} are not.")
    if scale not in family.SCALES:
        fits = " or ".join(f"--model={n}" for n, f in MODELS.items() if scale in getattr(f, "SCALES", ()))
        what = "keeps the image size" if family.SCALES == (1,) else f"upscales by {' or '.join(map(str, family.SCALES))}"
        raise ValueError(f"--model={name} {what}, but the data's input is {height}x{width} and its target "
                         f"{out_height}x{out_width}: use {fits or 'other data'}.")
    if conditional and scale != 1:
        raise ValueError(f"A conditional D judges concat(input, output), which needs one size; the input is "
                         f"{height}x{width} and the output {out_height}x{out_width}.")
    return scale
