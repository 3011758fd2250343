"""The GAN variants by name: which one a Config trains, and the compiled model it builds.

  VARIANTS["plain"]        gan.GAN                     G(z), D(x) (lectures 000-002)
  VARIANTS["conditional"]  gans.conditional            G(z, y), D(x, y) (lecture 003, textbook 12.5)
  VARIANTS["infogan"]      gans.infogan                G([z, c]), D(x) -> (logit, Q(c|x)) (lecture 003)
  VARIANTS["began"]        gans.began                  D an autoencoder of energies, k_t (lecture 004)
  VARIANTS["pix2pix"]      gans.pix2pix                G(x) ~ y on paired images, D(x, .) (textbook 12.6)
  VARIANTS["cyclegan"]     gans.cyclegan               G: A -> B, F: B -> A on unpaired domains (lecture 000)
  VARIANTS["srresnet"]     gans.super_resolution       G(x) upscales x on lowres: pairs, content loss only
  VARIANTS["srgan"]        gans.super_resolution       the same G from an SRResNet run, + 1e-3 adversarial, D(y)
  VARIANTS["progressive"]  gans.progressive            G and D grow 7 -> 14 -> 28 as they train, WGAN-GP + drift
  VARIANTS["context_encoder"] gans.context_encoder     G(x, M) completes x's masked pixels, L2 + 1e-3 adversarial, D(x^, M)
  VARIANTS["text_to_image"] gans.text_to_image         StackGAN-lite: G(z, text) in two stages, matching-aware Ds

`--variant=auto` (the default) picks the family's own variant (a conditional
family trains conditionally, infogan as InfoGAN) or BEGAN for `--loss=began`,
whose losses take an autoencoder's energies; a translator family (unet,
resnet) trains as pix2pix on paired data and as CycleGAN on unpaired data
(`DataInfo.kind`, which `validate` and `build` take once the data is known); an upscaler (srresnet)
trains as SRResNet, and as SRGAN by --variant=srgan; a growing family (pggan) as the progressive GAN; an
inpainter (context_encoder) as the context encoder, on image data it masks itself; a text family (stackgan)
as text-to-image on captioned data (captions:SPEC). The unrolled GAN is not a variant
but a lookahead every variant takes (`--unrolled_steps`, `gans/unrolled.py`).
PacGAN's packing (`--pack`) is an option of the plain variant: a label, a
latent code or an energy belongs to one sample, not to a pack.

Adding a variant: a module in gans/ with a `gan.GAN` subclass that overrides
the hooks, and one `Variant` line here.
"""

import dataclasses
import functools
from typing import Callable

from absl import logging

from tfgan_course import (
    captions,
    classifier,
    data,
    data_captions,
    data_derived,
    data_sources,
    gan,
    losses,
    models,
    optimizers,
    spec,
)
from tfgan_course import config as config_lib
from tfgan_course.gans import (
    began,
    conditional,
    context_encoder,
    cyclegan,
    infogan,
    pix2pix,
    progressive,
    super_resolution,
    text_to_image,
)
from tfgan_course.models import pggan
from tfgan_course.runtime import dtype_policy


@dataclasses.dataclass(frozen=True)
class Variant:
    """A GAN variant.

    Attributes:
      model_class: the `gan.GAN` subclass.
      family_kind: the `KIND` of the model families it trains (`models/__init__.py`).
      options: fn(config, num_classes) -> (models.build keyword arguments, model_class keyword arguments);
        with `own_networks`, fn(config, *, image_shape, num_classes, shapes) -> (model_class's networks, its
        other keyword arguments), each taking the facts of the data it needs.
      loss: the loss it always trains with (BEGAN's energies), or None for --loss.
      data_kinds: the `data.DataInfo.kind`s it trains on.
      default_loss: the loss it trains with while --loss is left at its default (CycleGAN's least squares).
      length_warning: fn(config, images) -> a warning when a run of `images` real images is too short
        for the variant to finish (the progressive GAN's growth), else None; None = any length does.
      own_networks: its `options` builds its networks (translators, upscalers, inpainters, text to image),
        rather than `models.build` from a latent.
    """

    model_class: type
    family_kind: str
    options: Callable
    loss: str | None = None
    data_kinds: tuple = ("images", "vectors")
    default_loss: str | None = None
    length_warning: Callable | None = None
    own_networks: bool = False


def _plain_options(config, num_classes):
    del num_classes
    return {"pack": config.pack}, {"pack": config.pack}


def _progressive_options(config, num_classes):
    del num_classes
    return {}, {"stable_images": config.stable_images, "transition_images": config.transition_images}


def _growth_warning(config, images):
    sizes = pggan.resolutions(config.image_size)
    needed = pggan.images_to_full_size(config.stable_images, config.transition_images, len(sizes))
    if images < needed:
        return (f"This run trains on {images} real images, but growing through {' -> '.join(map(str, sizes))} takes "
                f"{needed} (--stable_images and --transition_images per stage): it ends before full size. Raise "
                "--epochs or lower those two for a full run.")
    return None


def _conditional_options(config, num_classes):
    if num_classes < 2:
        raise ValueError(f"--model={config.model} is conditional: it needs labelled data (e.g. "
                         f"--dataset=tfds:mnist, or idx:DIR with a labels file); {config.dataset} has no labels.")
    return {"num_classes": num_classes}, {"num_classes": num_classes}


def _infogan_options(config, num_classes):
    del num_classes
    codes = (config.info_categories, config.info_continuous)
    # G's input is [noise, codes], as InfoGAN's input_specs say: its width from the same spec.
    width = spec.latent_input(config.latent_dim, config.latent_distribution, *codes).size
    return ({"codes": codes, "latent_dim": width},
            {"num_categories": codes[0], "num_continuous": codes[1], "info_weight": config.info_weight})


def _began_options(config, num_classes):
    del num_classes
    return {"autoencoder": True}, {"gamma": config.began_gamma, "lambda_k": config.began_lambda_k}


def _translator_networks(config, input_shape, output_shape, conditional, seed):
    return models.build_translator(
        config.model, input_shape=input_shape, output_shape=output_shape, conditional=conditional,
        g_width=config.g_width, d_width=config.d_width, seed=seed, patch_size=config.patch_size,
        unet_depth=config.unet_depth, resnet_blocks=config.resnet_blocks)


def _pix2pix_options(config, *, shapes, **_):
    generator, discriminator = _translator_networks(config, shapes["input"], shapes["target"], True, config.seed)
    return ({"generator": generator, "discriminator": discriminator},
            {"l1_weight": config.l1_weight, "gan_weight": config.gan_weight, "ema_decay": config.g_ema_decay,
             "ema_warmup": config.g_ema_warmup})


def _cyclegan_options(config, *, shapes, **_):
    generator, discriminator = _translator_networks(config, shapes["a"], shapes["b"], False, config.seed)
    reverse_generator, reverse_discriminator = _translator_networks(config, shapes["b"], shapes["a"], False,
                                                                    config.seed + 2)
    identity_weight = config.identity_weight
    if identity_weight and shapes["a"][-1] != shapes["b"][-1]:
        logging.info("CycleGAN's identity loss is off: the domains have %d and %d channels, and G(b) cannot be "
                     "compared with b.", shapes["a"][-1], shapes["b"][-1])
        identity_weight = 0.0
    return ({"generator": generator, "discriminator": discriminator, "reverse_generator": reverse_generator,
             "reverse_discriminator": reverse_discriminator},
            {"cycle_weight": config.cycle_weight, "identity_weight": identity_weight, "pool_size": config.pool_size})


def _srresnet_options(config, *, shapes, **_):
    generator, discriminator = models.build_translator(
        config.model, input_shape=shapes["input"], output_shape=shapes["target"], conditional=False,
        g_width=config.g_width, d_width=config.d_width, seed=config.seed, resnet_blocks=config.resnet_blocks)
    options = {"content_loss": config.content_loss, "ema_decay": config.g_ema_decay, "ema_warmup": config.g_ema_warmup}
    if config.content_loss == "features":
        try:
            source = classifier.classifier_source(data_derived.target_spec(config.dataset))
        except ValueError as error:
            raise ValueError(f"--content_loss=features compares the features of a classifier of the targets' "
                             f"labelled data: {error}") from None
        # Loaded by the model's before_training, so loading or sampling a run never trains a classifier.
        options["content_network"] = functools.partial(
            classifier.loss_network, source, image_size=config.image_size, channels=shapes["target"][2],
            data_dir=config.data_dir or None)
        options["content_network_record"] = {"dataset": source, "seed": classifier.LOSS_SEED,
                                             "layer": classifier.LOSS_LAYER}
    return {"generator": generator, "discriminator": discriminator}, options


def _srgan_options(config, *, shapes, **_):
    networks, options = _srresnet_options(config, shapes=shapes)
    return networks, {**options, "adversarial_weight": config.adversarial_weight, "init_from": config.init_from}


# Training images whose mean fills a context encoder's holes (evaluate_inpainting's mean fill uses as many).
MEAN_IMAGES = 10_000


def _context_encoder_options(config, *, image_shape, **_):
    generator, discriminator = models.build_inpainter(config.model, image_shape=image_shape, g_width=config.g_width,
                                                      d_width=config.d_width, seed=config.seed)

    def mean_image():
        # Loaded by the model's before_training on a fresh run: a restored run has it in its checkpoint.
        images, _, _ = data.load_examples(config.dataset, "train", MEAN_IMAGES, image_shape, config.data_dir or None,
                                          config.seed)
        return images.mean(axis=0)

    return ({"generator": generator, "discriminator": discriminator},
            {"hole_size": config.hole_size or min(image_shape[:2]) // 2, "overlap": config.overlap,
             "overlap_weight": config.overlap_weight, "adversarial_weight": config.adversarial_weight,
             "mean_image": mean_image, "ema_decay": config.g_ema_decay, "ema_warmup": config.g_ema_warmup})


def _text_options(config, *, num_classes, image_shape, **_):
    """StackGAN-lite's networks (the vocabulary of the captions' training phrasings) and options."""
    names = data_captions.class_names(config.dataset, num_classes)
    generator, discriminator = models.build_text(
        config.model, image_shape=image_shape, latent_dim=config.latent_dim, vocabulary=captions.vocabulary(names),
        code_dim=config.text_code_dim, g_width=config.g_width, d_width=config.d_width, seed=config.seed)
    return ({"generator": generator, "discriminator": discriminator},
            {"latent_dim": config.latent_dim, "num_classes": num_classes, "kl_weight": config.kl_weight,
             "prompts": text_to_image.sample_prompts(names), "latent_distribution": config.latent_distribution})


VARIANTS = {
    "plain": Variant(gan.GAN, "unconditional", _plain_options),
    "conditional": Variant(conditional.ConditionalGAN, "conditional", _conditional_options),
    "infogan": Variant(infogan.InfoGAN, "infogan", _infogan_options),
    "began": Variant(began.BEGAN, "unconditional", _began_options, loss="began"),
    "pix2pix": Variant(pix2pix.Pix2Pix, "translator", _pix2pix_options, data_kinds=("paired",), own_networks=True),
    "cyclegan": Variant(cyclegan.CycleGAN, "translator", _cyclegan_options, data_kinds=("unpaired",),
                        default_loss="least_squares", own_networks=True),
    "srresnet": Variant(super_resolution.SRResNet, "upscaler", _srresnet_options, data_kinds=("paired",),
                        own_networks=True),
    "srgan": Variant(super_resolution.SRGAN, "upscaler", _srgan_options, data_kinds=("paired",), own_networks=True),
    "progressive": Variant(progressive.ProgressiveGAN, "progressive", _progressive_options, loss="wasserstein",
                           data_kinds=("images",), length_warning=_growth_warning),
    "context_encoder": Variant(context_encoder.ContextEncoder, "inpainter", _context_encoder_options,
                               data_kinds=("images",), own_networks=True),
    "text_to_image": Variant(text_to_image.TextToImageGAN, "text", _text_options, loss="non_saturating",
                             data_kinds=("captioned",), own_networks=True),
}
_DEFAULT_LOSS = config_lib.Config.loss
_DEFAULTS = config_lib.Config()
_TRANSLATORS = ("pix2pix", "cyclegan")
_UPSCALERS = ("srresnet", "srgan")
# Options only some variants take: option -> those variants.
_ONLY_FOR = {
    **{option: ("pix2pix",) for option in ("l1_weight", "gan_weight")},
    **{option: ("cyclegan",) for option in ("cycle_weight", "identity_weight", "pool_size")},
    **{option: _TRANSLATORS for option in ("patch_size", "unet_depth")},
    "resnet_blocks": _TRANSLATORS + _UPSCALERS,
    "content_loss": _UPSCALERS,
    "adversarial_weight": ("srgan", "context_encoder"),
    "init_from": ("srgan",),
    **{option: ("context_encoder",) for option in ("hole_size", "overlap", "overlap_weight")},
    **{option: ("progressive",) for option in ("stable_images", "transition_images")},
    **{option: ("text_to_image",) for option in ("text_code_dim", "kl_weight")},
}
# Options some variants do not take: option -> those variants. A translator has no latent, nor the
# networks' options of the latent families; CycleGAN's own step has none of D's regularisers, nor an
# EMA of its two generators, and its history pools are one per device.
_NOT_FOR_GROUPS = (
    (_TRANSLATORS + _UPSCALERS + ("context_encoder",), ("d_steps", "unrolled_steps", "latent_dim", "latent_distribution", "d_norm",
                                 "g_upsample", "g_depth", "d_depth")),
    # SRResNet trains no D: none of D's options means anything to it.
    (("cyclegan", "srresnet"), ("penalty", "clip_value", "label_smoothing", "instance_noise", "d_weight_decay")),
    (("cyclegan",), ("g_ema_decay", "g_ema_warmup", "distribute")),
    # The progressive GAN's D update is WGAN-GP's with the drift term, one per G update, in float32 (its
    # layers compute in the weights' dtype).
    (("progressive",), ("penalty", "clip_value", "label_smoothing", "instance_noise", "d_weight_decay", "d_steps",
                        "unrolled_steps", "mixed_precision")),
    # StackGAN-lite's own step: the matching-aware BCE losses, one D update of both stages per G update, in
    # float32 on one device; its networks have none of dcgan's options.
    (("text_to_image",), ("penalty", "clip_value", "label_smoothing", "instance_noise", "d_weight_decay", "d_steps",
                          "unrolled_steps", "mixed_precision", "g_ema_decay", "g_ema_warmup", "distribute", "d_norm",
                          "g_upsample", "g_depth", "d_depth", "pack", "eval_every_epochs", "keep_best")),
)


def _by_option(groups) -> dict:
    """{option: the variants of every group that names it} of (variants, options) groups."""
    refusing = {}
    for names, options in groups:
        for option in options:
            refusing[option] = refusing.get(option, ()) + names
    return refusing


_NOT_FOR = _by_option(_NOT_FOR_GROUPS)


def _candidates(config: config_lib.Config, data_kind: str | None) -> list:
    """The variants `config` may train, the one it trains first: several only while a translator's data is unknown."""
    if config.variant != "auto":
        return [config.variant]
    if config.loss == VARIANTS["began"].loss:
        return ["began"]
    kind = models.MODELS[config.model].KIND
    names = [name for name, variant in VARIANTS.items() if variant.family_kind == kind]
    # A variant with a loss of its own (BEGAN) is not the auto choice of a kind that has others.
    names = [name for name in names if not VARIANTS[name].loss] or names
    if data_kind is None:
        return names  # The data decides, once loaded.
    return [name for name in names if data_kind in VARIANTS[name].data_kinds][:1] or names[:1]


def variant_name(config: config_lib.Config, data_kind: str | None = None) -> str:
    """The variant `config` trains: --variant, or for auto the family's own (BEGAN for --loss=began).

    A family with several variants (a translator's pix2pix and CycleGAN) picks the one for
    `data_kind` (a `data.DataInfo.kind`), the first one while the data is not known.
    """
    return _candidates(config, data_kind)[0]


def loss_name(config: config_lib.Config, data_kind: str | None = None) -> str:
    """The loss the variant trains with: its own, its default while --loss is the default, or --loss."""
    variant = VARIANTS[variant_name(config, data_kind)]
    if variant.loss:
        return variant.loss
    return variant.default_loss if variant.default_loss and config.loss == _DEFAULT_LOSS else config.loss


def _check_data_kind(config, name, data_kind):
    """A ValueError naming the fix when variant `name` does not train on `data_kind` data."""
    variant = VARIANTS[name]
    if data_kind is None or data_kind in variant.data_kinds:
        return
    texts = " or ".join(f"--model={m}" for m, family in models.MODELS.items() if family.KIND == "text")
    if variant.family_kind == "text":
        raise ValueError(f"--model={config.model} makes images from text: it needs a captioned --dataset, e.g. "
                         f"captions:fashion_mnist; --dataset={config.dataset} gives {data_kind} data.")
    if data_kind == "captioned":
        raise ValueError(f"--dataset={config.dataset} gives captioned images, for text-to-image: use {texts}, or "
                         f"drop captions: from the spec.")
    translators = " or ".join(f"--model={m}" for m, family in models.MODELS.items() if family.KIND == "translator")
    if variant.family_kind == "inpainter":
        raise ValueError(f"--model={config.model} inpaints images: it trains on an image --dataset (e.g. fashion_mnist), "
                         f"whose images it masks itself; --dataset={config.dataset} gives {data_kind} data.")
    if variant.family_kind not in models.TRANSLATING_KINDS:
        raise ValueError(f"--dataset={config.dataset} gives {data_kind} images for an image-to-image translator: use "
                         f"{translators} (pix2pix on paired data, CycleGAN on unpaired data).")
    if variant.family_kind == "upscaler":
        raise ValueError(f"--model={config.model} upscales images: it needs low- and high-resolution pairs, e.g. "
                         f"--dataset=lowres:4:fashion_mnist; --dataset={config.dataset} gives {data_kind} data.")
    if data_kind in ("images", "vectors"):
        raise ValueError(f"--model={config.model} translates images: it needs a paired --dataset (pix2pix, e.g. "
                         f"pair:edges:fashion_mnist) or an unpaired one (CycleGAN, e.g. unpaired:SPEC_A|SPEC_B); "
                         f"--dataset={config.dataset} gives {data_kind}.")
    other = next(n for n, v in VARIANTS.items() if v.family_kind == "translator" and data_kind in v.data_kinds)
    raise ValueError(f"The {name} variant trains on {' or '.join(variant.data_kinds)} data; --dataset="
                     f"{config.dataset} is {data_kind}: use --variant={other} (or auto).")


def _refusing(option, names) -> list:
    """The variants of `names` that do not take `option` (a key of _ONLY_FOR or _NOT_FOR)."""
    takers = _ONLY_FOR.get(option, names)
    return [name for name in names if name not in takers or name in _NOT_FOR.get(option, ())]


def without_foreign_options(config: config_lib.Config, data_kind: str | None = None) -> config_lib.Config:
    """`config` with each option its variant does not take at today's default.

    A run's flags.cfg records every option, so a run written before such an option's default
    changed (another variant's weight, say) would otherwise fail validation when it is loaded or
    resumed, for a value it never used.
    """
    names = _candidates(config, data_kind)
    foreign = [option for option in dict.fromkeys([*_ONLY_FOR, *_NOT_FOR])
               if len(_refusing(option, names)) == len(names)]
    return config.replace(**{option: getattr(_DEFAULTS, option) for option in foreign})


def _check_variant_options(config, names):
    """A ValueError for an option none of the variants `names` takes set to anything but its default."""
    for option in dict.fromkeys([*_ONLY_FOR, *_NOT_FOR]):
        value = getattr(config, option)
        if value == getattr(_DEFAULTS, option):
            continue
        refusing = _refusing(option, names)
        if len(refusing) < len(names):
            continue
        takers = _ONLY_FOR.get(option, names)
        if option in _ONLY_FOR:
            raise ValueError(f"--{option}={value} is for the {' or '.join(takers)} variant"
                             f"{'s' if len(takers) > 1 else ''}, not the {refusing[0]} variant (--model={config.model}).")
        raise ValueError(f"--{option}={value} does not apply to the {refusing[0]} variant: drop it.")


def validate(config: config_lib.Config, data_kind: str | None = None) -> config_lib.Config:
    """`config.validate` plus every choice checked against its registry; returns `config`.

    With `data_kind` (the data's `DataInfo.kind`, once loaded) it also checks that the
    variant trains on such data.

    Raises:
      ValueError: naming the bad option and its valid values, or the two options that do not go together.
    """
    config_lib.validate(config)
    config_lib.check_choices(config, {
        "model": models.MODELS, "loss": losses.LOSSES, "penalty": losses.PENALTIES,
        "optimizer": optimizers.OPTIMIZERS, "variant": ("auto", *VARIANTS),
        "d_norm": models.D_NORMS, "g_upsample": models.G_UPSAMPLES,
        "latent_distribution": spec.LATENT_DISTRIBUTIONS, "patch_size": models.PATCH_SIZES,
        "content_loss": losses.CONTENT_LOSSES})
    name = variant_name(config, data_kind)
    variant = VARIANTS[name]
    kind = models.MODELS[config.model].KIND
    if kind != variant.family_kind:
        raise ValueError(f"The {name} variant trains {variant.family_kind} model families; --model={config.model} "
                         f"is {kind}.")
    _check_data_kind(config, name, data_kind)
    _check_variant_options(config, _candidates(config, data_kind))
    if variant.loss and config.loss not in (variant.loss, _DEFAULT_LOSS):
        raise ValueError(f"The {name} variant trains with --loss={variant.loss}, not --loss={config.loss}.")
    if not variant.loss and losses.get(config.loss).d_outputs != "logits":
        raise ValueError(f"--loss={config.loss} needs the {config.loss} variant's discriminator, not the {name} "
                         f"variant's: drop --variant={config.variant}.")
    if config.pack > 1 and name != "plain":
        raise ValueError(f"--pack={config.pack} needs the plain variant (an unconditional --model, not --loss=began), "
                         f"not the {name} variant, whose D judges one sample at a time.")
    # Smoothing changes the BCE target, so only losses whose D is the BCE one take it.
    if config.label_smoothing and losses.get(config.loss).discriminator is not losses.minimax_discriminator_loss:
        raise ValueError(f"--label_smoothing needs --loss=minimax or non_saturating, not {config.loss}.")
    return config


def warn_if_short(config: config_lib.Config, steps_per_epoch: int, data_kind: str | None = None) -> str | None:
    """Logs and returns a warning when --epochs of `steps_per_epoch` steps end before the variant's schedule does."""
    variant = VARIANTS[variant_name(config, data_kind)]
    if variant.length_warning is None:
        return None
    warning = variant.length_warning(config, config.epochs * steps_per_epoch * config.batch_size)
    if warning:
        logging.warning("%s", warning)
    return warning


def build(config: config_lib.Config, image_shape, num_classes: int = 0, total_steps: int = 1,
          steps_per_execution: int = 1, *, data_kind: str | None = None, shapes: dict | None = None,
          steps_per_epoch: int = 0) -> gan.GAN:
    """The compiled GAN of `config`, with its `spec` (a `spec.GeneratorSpec`); call inside the strategy's scope.

    Its layers compute under --mixed_precision's policy (weights, G's images and
    D's logits stay float32); `steps_per_execution` and --jit_compile go to
    Keras' `compile`. `total_steps` (the run's generator steps) is what
    --instance_noise anneals over unless --instance_noise_steps says otherwise;
    `steps_per_epoch` is what --lr_decay_epochs counts in (0: no decay).

    Args:
      config: the experiment (validated or not).
      image_shape: (H, W, C) of the data ((dim,) for toy vectors).
      num_classes: the data's classes (a conditional variant needs >= 2).
      total_steps, steps_per_execution, steps_per_epoch: as above.
      data_kind: the data's `DataInfo.kind` ("images", "vectors", "paired", "unpaired", "captioned"); None = images
        or vectors, or a translator's first variant (pix2pix).
      shapes: a translator's image shapes by key, the data's `DataInfo.shapes`: {"input": (H, W, Cin),
        "target": (H, W, Cout)} for pix2pix, {"a": ..., "b": ...} for CycleGAN.
    """
    validate(config, data_kind)
    variant = VARIANTS[variant_name(config, data_kind)]
    with dtype_policy(config.mixed_precision):
        if variant.own_networks:
            networks, model_options = variant.options(config, image_shape=image_shape, num_classes=num_classes,
                                                      shapes=shapes)
            model = variant.model_class(**networks, seed=config.seed, **model_options)
        else:
            model = _gan(config, variant, image_shape, num_classes)
    model.compile(d_optimizer=optimizers.make(config, "d", steps_per_epoch),
                  g_optimizer=optimizers.make(config, "g", steps_per_epoch),
                  loss=loss_name(config, data_kind), penalty=config.penalty, penalty_weight=config.penalty_weight,
                  clip_value=config.clip_value, label_smoothing=config.label_smoothing,
                  instance_noise=config.instance_noise,
                  instance_noise_steps=config.instance_noise_steps or max(total_steps, 1),
                  d_weight_decay=config.d_weight_decay, steps_per_execution=steps_per_execution,
                  jit_compile={"auto": "auto", "true": True, "false": False}[config.jit_compile])
    model.spec = dataclasses.replace(model.generator_spec(family=config.model, dataset=config.dataset),
                                     credits=data_sources.credits(config.dataset))
    return model


def _gan(config, variant, image_shape, num_classes):
    """The (uncompiled) model of a GAN variant whose G maps latents: its networks by `models.build`."""
    network_options, model_options = variant.options(config, num_classes)
    network_options = {"latent_dim": config.latent_dim, **network_options}
    generator, discriminator = models.build(
        config.model, image_shape=image_shape, g_width=config.g_width, d_width=config.d_width,
        seed=config.seed, d_norm=config.d_norm, g_upsample=config.g_upsample, g_depth=config.g_depth,
        d_depth=config.d_depth, **network_options)
    return variant.model_class(
        generator, discriminator, latent_dim=config.latent_dim, d_steps=config.d_steps, seed=config.seed,
        ema_decay=config.g_ema_decay, ema_warmup=config.g_ema_warmup, latent_distribution=config.latent_distribution,
        unrolled_steps=config.unrolled_steps, **model_options)
