"""The GAN variants by name: which one a Config trains, and the compiled model it builds.

  VARIANTS["plain"]        gan.GAN                     G(z), D(x) (lectures 000-002)
  VARIANTS["conditional"]  gans.conditional            G(z, y), D(x, y) (lecture 003, textbook 12.5)
  VARIANTS["infogan"]      gans.infogan                G([z, c]), D(x) -> (logit, Q(c|x)) (lecture 003)
  VARIANTS["began"]        gans.began                  D an autoencoder of energies, k_t (lecture 004)

`--variant=auto` (the default) picks the family's own variant (a conditional
family trains conditionally, infogan as InfoGAN) or BEGAN for `--loss=began`,
whose losses take an autoencoder's energies. The unrolled GAN is not a variant
but a lookahead every variant takes (`--unrolled_steps`, `gans/unrolled.py`).
PacGAN's packing (`--pack`) is an option of the plain variant: a label, a
latent code or an energy belongs to one sample, not to a pack.

Adding a variant: a module in gans/ with a `gan.GAN` subclass that overrides
the hooks, and one `Variant` line here.
"""

import dataclasses
from typing import Callable

from tfgan_course import config as config_lib
from tfgan_course import gan, losses, models, optimizers, spec
from tfgan_course.gans import began, conditional, infogan
from tfgan_course.runtime import dtype_policy


@dataclasses.dataclass(frozen=True)
class Variant:
    """A GAN variant.

    Attributes:
      model_class: the `gan.GAN` subclass.
      family_kind: the `KIND` of the model families it trains (`models/__init__.py`).
      options: fn(config, num_classes) -> (models.build keyword arguments, model_class keyword arguments).
      loss: the loss it always trains with (BEGAN's energies), or None for --loss.
    """

    model_class: type
    family_kind: str
    options: Callable
    loss: str | None = None


def _plain_options(config, num_classes):
    del num_classes
    return {"pack": config.pack}, {"pack": config.pack}


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


VARIANTS = {
    "plain": Variant(gan.GAN, "unconditional", _plain_options),
    "conditional": Variant(conditional.ConditionalGAN, "conditional", _conditional_options),
    "infogan": Variant(infogan.InfoGAN, "infogan", _infogan_options),
    "began": Variant(began.BEGAN, "unconditional", _began_options, loss="began"),
}
_DEFAULT_LOSS = config_lib.Config.loss


def variant_name(config: config_lib.Config) -> str:
    """The variant `config` trains: --variant, or for auto the family's own (BEGAN for --loss=began)."""
    if config.variant != "auto":
        return config.variant
    if config.loss == VARIANTS["began"].loss:
        return "began"
    kind = models.MODELS[config.model].KIND
    return next(name for name, variant in VARIANTS.items() if variant.family_kind == kind and not variant.loss)


def validate(config: config_lib.Config) -> config_lib.Config:
    """`config.validate` plus every choice checked against its registry; returns `config`.

    Raises:
      ValueError: naming the bad option and its valid values, or the two options that do not go together.
    """
    config_lib.validate(config)
    config_lib.check_choices(config, {
        "model": models.MODELS, "loss": losses.LOSSES, "penalty": losses.PENALTIES,
        "optimizer": optimizers.OPTIMIZERS, "variant": ("auto", *VARIANTS),
        "d_norm": models.D_NORMS, "g_upsample": models.G_UPSAMPLES,
        "latent_distribution": spec.LATENT_DISTRIBUTIONS})
    name = variant_name(config)
    variant = VARIANTS[name]
    kind = models.MODELS[config.model].KIND
    if kind != variant.family_kind:
        raise ValueError(f"The {name} variant trains {variant.family_kind} model families; --model={config.model} "
                         f"is {kind}.")
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


def build(config: config_lib.Config, image_shape, num_classes: int = 0, total_steps: int = 1,
          steps_per_execution: int = 1) -> gan.GAN:
    """The compiled GAN of `config`, with its `spec` (a `spec.GeneratorSpec`); call inside the strategy's scope.

    Its layers compute under --mixed_precision's policy (weights, G's images and
    D's logits stay float32); `steps_per_execution` and --jit_compile go to
    Keras' `compile`. `total_steps` (the run's generator steps) is what
    --instance_noise anneals over unless --instance_noise_steps says otherwise.

    Args:
      config: the experiment (validated or not).
      image_shape: (H, W, C) of the data ((dim,) for toy vectors).
      num_classes: the data's classes (a conditional variant needs >= 2).
      total_steps, steps_per_execution: as above.
    """
    validate(config)
    variant = VARIANTS[variant_name(config)]
    network_options, model_options = variant.options(config, num_classes)
    network_options = {"latent_dim": config.latent_dim, **network_options}
    with dtype_policy(config.mixed_precision):
        generator, discriminator = models.build(
            config.model, image_shape=image_shape, g_width=config.g_width, d_width=config.d_width,
            seed=config.seed, d_norm=config.d_norm, g_upsample=config.g_upsample, g_depth=config.g_depth,
            d_depth=config.d_depth, **network_options)
        model = variant.model_class(
            generator, discriminator, latent_dim=config.latent_dim, d_steps=config.d_steps, seed=config.seed,
            ema_decay=config.g_ema_decay, latent_distribution=config.latent_distribution,
            unrolled_steps=config.unrolled_steps, **model_options)
    model.compile(d_optimizer=optimizers.make(config, "d"), g_optimizer=optimizers.make(config, "g"),
                  loss=variant.loss or config.loss, penalty=config.penalty, penalty_weight=config.penalty_weight,
                  clip_value=config.clip_value, label_smoothing=config.label_smoothing,
                  instance_noise=config.instance_noise,
                  instance_noise_steps=config.instance_noise_steps or max(total_steps, 1),
                  d_weight_decay=config.d_weight_decay, steps_per_execution=steps_per_execution,
                  jit_compile={"auto": "auto", "true": True, "false": False}[config.jit_compile])
    model.spec = model.generator_spec(family=config.model, dataset=config.dataset)
    return model
