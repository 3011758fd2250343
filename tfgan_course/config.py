"""Every hyperparameter of an experiment, typed and documented, in one frozen dataclass.

`train.py` turns each field into a command-line flag (its help is the field's
`help`), so this file is the one list of options. Everything else takes a
`Config`, so tests build experiments without touching FLAGS.

A leaf module: `validate` checks what the options say on their own (ranges,
this file's choices); the registries' names (models, losses, variants, ...)
are checked against the registries by `variants.validate`, through
`check_choices`.

`RESUMABLE` classifies the fields for a resumed run: those may differ from the
run's flags.cfg (how long it trains, how it logs, evaluates, checkpoints,
exports and how fast it runs); every other field is the experiment, and
`experiment_changes` lists those a resume would change (`run_flags.py` refuses
them without --allow_flag_changes).
"""

import dataclasses
import hashlib

DISTRIBUTE = ("none", "mirrored", "multi_worker")
MIXED_PRECISION = ("none", "mixed_bfloat16", "mixed_float16")


def _field(default, help):  # pylint: disable=redefined-builtin
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class Config:
    """One experiment. Defaults are the textbook's DCGAN tutorial (lecture 002) on Fashion-MNIST."""

    # Data.
    dataset: str = _field("fashion_mnist", "Data spec: tfds:NAME, idx:DIR, folder:DIR, toy:NAME, fashion_mnist "
                          "or mnist.")
    data_dir: str = _field("", "TFDS data directory (tfds: specs only); empty = TFDS' default.")
    download: bool = _field(False, "Let TFDS download and prepare the dataset when its data directory has no "
                            "copy (tfds: specs; mnist or fashion_mnist without local IDX files). Off: such a "
                            "run fails at once, naming where it looked.")
    image_size: int = _field(64, "Images are resized (and center-cropped) to image_size x image_size.")
    channels: int = _field(1, "Image channels the models see: 1 (grey) or 3 (RGB); sources are converted.")

    # Models and loss.
    model: str = _field("dcgan", "Model family: a name in models.MODELS (mlp, mlp2, dcgan, cmlp, cdcgan, "
                        "infogan, toy, selu, unet, resnet, srresnet, pggan, context_encoder); cmlp and cdcgan are "
                        "conditional and need labelled data; unet (pix2pix) and resnet (CycleGAN) translate "
                        "images: a paired or unpaired --dataset; srresnet upscales them: a lowres:F:SPEC --dataset; "
                        "context_encoder inpaints an image --dataset.")
    loss: str = _field("non_saturating", "GAN loss: a name in losses.LOSSES (minimax, non_saturating, "
                       "least_squares, wasserstein, hinge, began); began makes D an autoencoder.")
    penalty: str = _field("none", "Discriminator penalty: none, gradient (WGAN-GP), dragan or r1.")
    penalty_weight: float = _field(10.0, "Weight of --penalty (WGAN-GP's lambda; gamma / 2 for r1).")
    clip_value: float = _field(0.0, "Clip D's weights to [-c, c] after each update (the original WGAN); 0 = off.")
    d_norm: str = _field("batch", "dcgan D's normalisation: batch, layer (for gradient penalties) or none.")
    g_upsample: str = _field("transposed", "dcgan G's upsampling: transposed (convolutions), nearest or bilinear "
                             "(resize, then convolve: no checkerboard artefacts).")
    variant: str = _field("auto", "GAN variant: a name in variants.VARIANTS (plain, conditional, infogan, began, "
                          "pix2pix, cyclegan, srresnet, srgan, progressive, context_encoder); auto = the model family's own (began for --loss=began; "
                          "for a translator, pix2pix on paired data and cyclegan on unpaired data; srresnet for "
                          "--model=srresnet, whose adversarial training is --variant=srgan).")
    began_gamma: float = _field(0.5, "BEGAN's diversity ratio gamma = E[L(G(z))] / E[L(x)], in (0, 1].")
    began_lambda_k: float = _field(0.001, "BEGAN's gain lambda_k of the k_t control.")
    info_categories: int = _field(10, "InfoGAN: values of the categorical latent code; 0 = none.")
    info_continuous: int = _field(2, "InfoGAN: number of continuous latent codes, U[-1, 1]; 0 = none.")
    info_weight: float = _field(1.0, "InfoGAN: weight lambda of the mutual-information loss.")

    # Remedies for the pathologies (lecture 004, textbook 12.7).
    label_smoothing: float = _field(0.0, "One-sided label smoothing: D's real target is 1 - s (BCE losses); 0 = off.")
    instance_noise: float = _field(0.0, "Stddev of Gaussian noise on D's inputs, annealed linearly to 0; 0 = off.")
    instance_noise_steps: int = _field(0, "Steps to anneal --instance_noise over; 0 = the whole run.")
    d_weight_decay: float = _field(0.0, "Weight of the L2 penalty 1/2 sum(w^2) on D's weights; 0 = off.")
    g_ema_decay: float = _field(0.0, "Sample and export an exponential moving average of G's weights "
                                     "with this decay (e.g. 0.999); 0 = off.")
    g_ema_warmup: bool = _field(False, "Ramp --g_ema_decay up as TensorFlow's ExponentialMovingAverage with "
                                "num_updates does, min(decay, (1 + t) / (10 + t)) at step t, so that a short run's "
                                "average does not keep its initial weights (0.999^1000 = 37% of them).")
    unrolled_steps: int = _field(0, "Unrolled GAN: G's loss looks through D advanced this many steps ahead; 0 = off.")
    pack: int = _field(1, "PacGAN: D judges packs of this many samples (real or fake), concatenated along the last "
                          "axis (vectors' features, images' channels); 1 = off. --batch_size must be a multiple. "
                          "Unconditional model families, plain variant.")

    # Image-to-image translation (--model=unet or resnet on a paired or unpaired --dataset).
    l1_weight: float = _field(100.0, "pix2pix: weight lambda of the L1 distance ||G(x) - y||_1 in G's loss.")
    gan_weight: float = _field(1.0, "pix2pix: weight of the adversarial term in G's loss; 0 = an L1-only U-Net "
                               "(pix2pix's Table 1 row L1: D still trains but no longer moves G).")
    cycle_weight: float = _field(10.0, "CycleGAN: weight lambda of the cycle-consistency losses.")
    identity_weight: float = _field(0.5, "CycleGAN: weight of the identity losses ||G(b) - b||_1, as a fraction of "
                                    "--cycle_weight; 0 = off (off anyway when the domains' channels differ).")
    pool_size: int = _field(50, "CycleGAN: fakes held in each discriminator's history pool; 0 = no pool.")
    patch_size: int = _field(70, "Translators: the PatchGAN discriminator's receptive field in pixels: 1 (PixelGAN), "
                             "16, 34, 70 (the papers'), 142 or 286.")
    unet_depth: int = _field(0, "--model=unet: stride-2 layers of the U-Net (H and W divisible by 2^depth); "
                             "0 = as many as the image size allows, up to 8 (256 -> 1x1).")
    resnet_blocks: int = _field(0, "--model=resnet or srresnet: residual blocks; 0 = the family's: resnet 6 (the paper's "
                                "at 128 px; 9 at 256 px), srresnet 8 (the SRGAN paper's 16 by --resnet_blocks=16).")
    content_loss: str = _field("mse", "--model=srresnet: the content loss, mse (pixels) or features (the feature maps "
                               "of a classifier of the targets' data trained with a seed of its own, "
                               "classifier.LOSS_SEED: SRGAN's perceptual loss without VGG; never the seed that scores).")
    adversarial_weight: float = _field(1e-3, "SRGAN: weight of the adversarial term beside the content loss (the "
                                       "paper's 1e-3); the context encoder: lambda_adv beside 1 - lambda_adv of the "
                                       "reconstruction loss (the paper's 0.001).")
    # Inpainting (--model=context_encoder on an image --dataset).
    hole_size: int = _field(0, "--model=context_encoder: the side of the training masks' squares (half of each batch "
                            "centred, half at uniform positions); 0 = half the image side (14 at 28 px).")
    overlap: int = _field(1, "--model=context_encoder: the width in pixels of the band of known pixels around the hole "
                          "that the reconstruction loss also weighs (the paper's 4 of 128 pixels); 0 = the hole only.")
    overlap_weight: float = _field(10.0, "--model=context_encoder: the band's weight in the reconstruction loss, the "
                                   "hole's being 1 (the paper's 10).")
    # Progressive growing (--model=pggan).
    stable_images: int = _field(30_000, "--model=pggan: real images per stable phase at each resolution (the last "
                                "resolution trains on for the rest of the run); 0 with --transition_images=0 = the "
                                "same networks trained flat at full size.")
    transition_images: int = _field(30_000, "--model=pggan: real images over which each new resolution block fades in.")
    init_from: str = _field("", "SRGAN: start G from this SRResNet run's last checkpoint (its --workdir, a checkpoints "
                            "directory or a checkpoint) on a fresh run; empty = from scratch.")
    # Text-to-image (--model=stackgan).
    text_code_dim: int = _field(128, "--model=stackgan: size of the conditioning augmentation's text code c; the "
                                "first text_code_dim entries of z are its noise, so --latent_dim must exceed it.")
    kl_weight: float = _field(2.0, "--model=stackgan: weight of the conditioning augmentation's KL term (per code "
                              "dimension) in G's loss: StackGAN's 2.0.")
    lr_decay_epochs: int = _field(0, "Decay both learning rates linearly to 0 over the last N of --epochs, constant "
                                  "before (CycleGAN: 100 + 100 epochs); 0 = constant.")

    # Latent space and widths.
    latent_dim: int = _field(100, "Size of the latent vector z (the lectures' nz; InfoGAN's noise, codes apart).")
    latent_distribution: str = _field("normal", "Distribution of z: normal (N(0, I)) or uniform (U[0, 1), "
                                      "lecture 004's torch.rand).")
    g_width: int = _field(0, "Generator width: ngf for dcgan, hidden units for mlp; 0 = the lecture's value.")
    d_width: int = _field(0, "Discriminator width: ndf for dcgan, hidden units for mlp; 0 = the lecture's value.")
    g_depth: int = _field(0, "Generator hidden layers (--model=toy); 0 = the lecture's (1).")
    d_depth: int = _field(0, "Discriminator hidden layers (--model=toy); 0 = the lecture's (1).")

    # Optimisation.
    epochs: int = _field(5, "Number of epochs.")
    steps_per_epoch: int = _field(0, "Cap on generator steps per epoch, for quick runs; 0 = one pass over the data.")
    batch_size: int = _field(128, "Global batch size (split across replicas under --distribute).")
    d_steps: int = _field(1, "Discriminator updates per generator update (the lectures' k).")
    optimizer: str = _field("adam", "Optimizer of both networks: adam, sgd or rmsprop.")
    g_learning_rate: float = _field(2e-4, "Generator learning rate.")
    d_learning_rate: float = _field(2e-4, "Discriminator learning rate.")
    g_beta1: float = _field(0.5, "Generator Adam beta1.")
    d_beta1: float = _field(0.5, "Discriminator Adam beta1.")
    g_beta2: float = _field(0.999, "Generator Adam beta2.")
    d_beta2: float = _field(0.999, "Discriminator Adam beta2.")
    adam_epsilon: float = _field(1e-7, "Adam's epsilon (both networks), added to sqrt(v) as Keras does; PyTorch adds "
                                 "its own to the bias-corrected sqrt(v_hat), so Keras' e is PyTorch's "
                                 "e / sqrt(1 - beta2^t): 1e-7 here is 3.2e-6 there at step 1, 1.1e-7 at step 2000.")
    momentum: float = _field(0.0, "SGD and RMSprop momentum of both networks.")
    seed: int = _field(0, "Seed of the weights, the latent noise and the data order.")

    # Running: speed and scale (benchmarks/README.md has the measurements behind the defaults).
    distribute: str = _field("none", "none (one device), mirrored (all local GPUs, else the CPU devices) or "
                             "multi_worker (MultiWorkerMirroredStrategy over the machines in TF_CONFIG).")
    devices: str = _field("", "Devices of --distribute=mirrored, comma-separated (e.g. /gpu:0,/gpu:2); empty = all "
                          "GPUs, else all CPU devices.")
    mixed_precision: str = _field("none", "Compute dtype policy: none (float32), mixed_bfloat16 (CPUs with "
                                  "AVX512-BF16 or AMX, TPUs, recent GPUs) or mixed_float16 (GPUs; both optimizers "
                                  "then scale their loss dynamically). Weights stay float32.")
    steps_per_execution: int = _field(0, "Training steps per call into TensorFlow (Keras' steps_per_execution); "
                                      "0 = auto: up to 10 for dense models, whose steps are short, else 1. Must "
                                      "divide the steps per epoch. losses.csv still gets every step.")
    jit_compile: str = _field("auto", "XLA-compile the training step: auto (Keras' rule: on for a single GPU, "
                              "off on CPU, where it measured slower), true or false.")
    inter_op_threads: int = _field(0, "TensorFlow's inter-op thread pool (ops run side by side); 0 = "
                                   "TensorFlow's default, one thread per core. Set before TensorFlow starts.")
    resume: bool = _field(True, "Continue from the last checkpoint in --workdir; false starts over. A resume may "
                          "change how long the run trains and how it logs, checkpoints, evaluates, exports and runs "
                          "(config.RESUMABLE); other flags that differ from the run's flags.cfg are refused.")
    allow_flag_changes: bool = _field(False, "Resume even though flags that change the experiment differ from the "
                                      "run's flags.cfg; both settings are kept in <workdir>/flags_history/. "
                                      "Not recorded in flags.cfg: it allows one change.")
    checkpoint_every_steps: int = _field(0, "Also checkpoint every N steps; 0 = at the end of each epoch only.")
    num_fixed_samples: int = _field(64, "Number of fixed-noise samples in each epoch's grid.")
    log_every_steps: int = _field(50, "Print the textbook's stats line every N steps; 0 = never.")
    divergence_max_loss: float = _field(1e6, "Stop as diverged when a loss's magnitude exceeds this (finite "
                                        "divergence, e.g. Adam at a huge learning rate); 0 = off.")
    divergence_pinned_steps: int = _field(500, "Stop as diverged when D(x) and D(G(z)) were within 1e-6 of 0 or 1 in "
                                          "80% of the last N steps (minimax and non-saturating losses, whose D "
                                          "outputs are probabilities); 0 = off.")

    # Evaluation during training (tfgan_course/evaluate.py scores a finished run).
    eval_every_epochs: int = _field(0, "Score FID and KID in the domain classifier's feature space every N epochs "
                                       "(eval.csv, TensorBoard); 0 = never.")
    eval_num_samples: int = _field(2000, "Generated and real images per score (compare FIDs at equal N only).")
    keep_best: bool = _field(False, "With --eval_every_epochs: keep the checkpoint of the best FID "
                                    "(checkpoints_best/) and export it instead of the last weights.")

    # Export.
    export_base: str = _field("", "Export base directory; empty = <workdir>/export.")
    model_name: str = _field("", "TF Serving model name; empty = <model>_<dataset>.")

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)

    def to_flagfile(self) -> str:
        """`--name=value` lines that reproduce this config with `--flagfile`."""
        lines = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool):
                value = str(value).lower()
            lines.append(f"--{field.name}={value}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_flagfile(cls, text: str) -> "Config":
        """The Config of `to_flagfile`'s text (a run's flags.cfg); unknown flags are an error."""
        fields = {field.name: field for field in dataclasses.fields(cls)}
        values = {}
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, value = line.lstrip("-").partition("=")
            if name not in fields:
                raise ValueError(f"Unknown flag --{name} in a flagfile; valid flags are the fields of config.Config.")
            kind = fields[name].type
            values[name] = value.lower() == "true" if kind is bool else kind(value)
        return cls(**values)

    @property
    def serving_name(self) -> str:
        """The TF Serving model name: `model_name`, else `<model>_<dataset>` (`<model>_<variant>_<dataset>`
        for a --variant other than auto, so SRGAN and SRResNet, one family, do not share a name), filesystem-safe."""
        if self.model_name:
            return self.model_name
        dataset = self.dataset.split(":")[-1].rstrip("/").split("/")[-1]
        variant = "" if self.variant in ("auto", self.model) else f"{self.variant}_"
        name = f"{self.model}_{variant}{dataset}"
        return "".join(c if c.isalnum() or c in "_-" else "_" for c in name)


# The fields a resumed run may change; the others are the experiment (see `experiment_changes`).
RESUMABLE = frozenset({
    # How long it trains: training longer is why one resumes (an annealing over "the whole run"
    # stretches with it).
    "epochs", "steps_per_epoch",
    # Whether and how it resumes, and where the (same) data is found.
    "resume", "allow_flag_changes", "download", "data_dir",
    # Speed: the same steps, run faster (distribute and devices are not: replicas split a batch's
    # batch-norm statistics; mixed_precision changes the arithmetic).
    "steps_per_execution", "jit_compile", "inter_op_threads",
    # Logging, checkpointing, evaluation frequency, export naming.
    "log_every_steps", "checkpoint_every_steps", "eval_every_epochs", "export_base", "model_name",
})


def experiment_changes(before: Config, after: Config) -> list[tuple[str, object, object]]:
    """(field, value before, value after) of each field outside RESUMABLE that differs, in field order."""
    return [(field.name, getattr(before, field.name), getattr(after, field.name))
            for field in dataclasses.fields(Config)
            if field.name not in RESUMABLE and getattr(before, field.name) != getattr(after, field.name)]


def experiment_digest(config: Config) -> str:
    """8 hex digits naming config's experiment.

    The digest covers experiment_changes from the defaults, so a new Config field with a default, or a
    RESUMABLE one (how long or how fast it runs), leaves it as it was, while any change to what is trained
    makes a new one: benchmarks key their kept results by it, and never reuse a stale one.
    """
    return hashlib.sha256(repr(experiment_changes(Config(), config)).encode()).hexdigest()[:8]


def check_choices(config: Config, choices) -> None:
    """Raises ValueError naming the option and its valid values unless every {option: valid values} holds."""
    for option, valid in choices.items():
        value = getattr(config, option)
        if value not in valid:
            raise ValueError(f"Unknown --{option}={value!r}; valid values: {', '.join(str(v) for v in sorted(valid))}.")


def validate(config: Config) -> Config:
    """Returns `config`, or raises ValueError naming the bad option and its valid values.

    Checks ranges and this module's own choices; `variants.validate` adds the registries' names.
    """
    check_choices(config, {"distribute": DISTRIBUTE, "mixed_precision": MIXED_PRECISION,
                           "jit_compile": ("auto", "true", "false"), "channels": (1, 3)})
    for option in ("image_size", "latent_dim", "epochs", "batch_size", "d_steps", "num_fixed_samples", "pack",
                   "text_code_dim"):
        if getattr(config, option) < 1:
            raise ValueError(f"--{option} must be >= 1, got {getattr(config, option)}.")
    if config.batch_size % config.pack:
        raise ValueError(f"--batch_size={config.batch_size} must be a multiple of --pack={config.pack}: D judges "
                         f"packs of {config.pack} samples.")
    for option in ("steps_per_epoch", "checkpoint_every_steps", "log_every_steps", "g_width", "d_width", "g_depth",
                   "d_depth", "penalty_weight", "clip_value", "instance_noise", "instance_noise_steps", "d_weight_decay",
                   "unrolled_steps", "began_lambda_k", "adversarial_weight", "info_categories", "info_continuous", "info_weight",
                   "eval_every_epochs", "steps_per_execution", "inter_op_threads", "l1_weight", "gan_weight",
                   "cycle_weight", "identity_weight", "pool_size", "unet_depth", "resnet_blocks", "lr_decay_epochs",
                   "stable_images", "transition_images", "hole_size", "overlap", "overlap_weight", "kl_weight"):
        if getattr(config, option) < 0:
            raise ValueError(f"--{option} must be >= 0, got {getattr(config, option)}.")
    for option in ("divergence_max_loss", "divergence_pinned_steps"):
        if getattr(config, option) < 0:
            raise ValueError(f"--{option} must be >= 0 (0 = off), got {getattr(config, option)}.")
    if not 0 <= config.g_ema_decay < 1:
        raise ValueError(f"--g_ema_decay must be in [0, 1), got {config.g_ema_decay}.")
    if config.g_ema_warmup and not config.g_ema_decay:
        raise ValueError("--g_ema_warmup ramps up the EMA's decay: it needs --g_ema_decay (e.g. 0.999).")
    if config.eval_every_epochs and config.eval_num_samples < 10:
        raise ValueError(f"--eval_num_samples must be >= 10 to estimate covariances, got {config.eval_num_samples}.")
    if config.keep_best and not config.eval_every_epochs:
        raise ValueError("--keep_best needs --eval_every_epochs=N: the best checkpoint is chosen by FID.")
    if not 0 < config.began_gamma <= 1:
        raise ValueError(f"--began_gamma must be in (0, 1], got {config.began_gamma}.")
    if config.model == "infogan" and not config.info_categories + config.info_continuous:
        raise ValueError("--model=infogan needs a latent code: --info_categories >= 1 or --info_continuous >= 1.")
    if config.lr_decay_epochs > config.epochs:
        raise ValueError(f"--lr_decay_epochs={config.lr_decay_epochs} must be at most --epochs={config.epochs}: the "
                         "learning rates decay over the last epochs of the run.")
    if not 0 <= config.label_smoothing < 1:
        raise ValueError(f"--label_smoothing must be in [0, 1), got {config.label_smoothing}.")
    for option in ("g_learning_rate", "d_learning_rate", "adam_epsilon"):
        if not getattr(config, option) > 0:
            raise ValueError(f"--{option} must be > 0, got {getattr(config, option)}.")
    return config
