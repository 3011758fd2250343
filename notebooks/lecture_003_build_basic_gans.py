# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lecture 003 — *Build Basic Generative Adversarial Networks (GANs)*, with tfgan_course
#
# The course notes' four parts, in order: *Intro to GANs* (a first GAN on MNIST), *Deep
# Convolutional GANs* (and section 3, *Upsampling vs. Transposed Convolutions*), *Wasserstein GANs
# with Gradient Penalty*, and *Conditional GANs and Controllable Generation* (conditional inputs,
# manipulating z, disentanglement with InfoGAN). Each experiment is a flagfile of
# `tfgan_course/configs/` trained with `experiment.run`, at a laptop's budget.
#
# **Install (Colab or a fresh Jupyter, once).** Where `tfgan_course` is not importable, the next
# cell installs it from a clone of this repository (`TFGAN_COURSE_REPO`, by default the parent of
# this notebook's folder; in Colab: `!git clone` the repository, then `%env TFGAN_COURSE_REPO=` its
# folder) and lets TFDS download the lecture's datasets. If pip changed the installed TensorFlow,
# restart the runtime and run the notebook again.

# %%
import importlib.util
import os
import subprocess
import sys

REPO = os.environ.get("TFGAN_COURSE_REPO", "..")  # a clone of this repository
if importlib.util.find_spec("tfgan_course") is None:
    if not os.path.isfile(os.path.join(REPO, "setup.cfg")):
        raise RuntimeError(f"No clone of tfgan_course at {os.path.abspath(REPO)}: git clone the repository and set "
                           "TFGAN_COURSE_REPO to its path.")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", REPO])
    importlib.invalidate_caches()
    from tfgan_course import data

    for spec in ("mnist",):  # Where no offline copy is installed, TFDS downloads them, once.
        data.prepare(spec)

# Before Keras: the package turns on TensorFlow's oneDNN CPU kernels, which TensorFlow reads once, at import
# (its default leaves them off on AVX2-only CPUs, where they train the DCGAN 2.4x faster).
import tfgan_course  # noqa: F401

# %% [markdown]
# **Budget**: `full` (the text discusses its results) or `smoke` (every cell in seconds, for CI).
# `TFGAN_NOTEBOOK_DATA` replaces the dataset (MNIST: offline, `./run.sh setup` fetches its 10,000
# digit subset, which `mnist` falls back to), `TFGAN_NOTEBOOK_RUNS` the runs' directory (`runs/`
# beside the notebook).

# %%
BUDGET = os.environ.get("TFGAN_NOTEBOOK_BUDGET", "full")  # "full" or "smoke"
SMOKE = BUDGET == "smoke"
DATASET = os.environ.get("TFGAN_NOTEBOOK_DATA", "mnist")
WORKDIR = os.path.join(os.environ.get("TFGAN_NOTEBOOK_RUNS", "runs"), "lecture_003")
# (epochs, generator steps per epoch) per experiment; the configs' 20 epochs of MNIST are hours on a
# laptop. An epoch is at most one pass over the data (62 steps of 128 of the 8,000 offline digits).
STEPS = {"dcgan": (2, 1), "wgan_gp": (1, 2), "cgan": (1, 3), "infogan": (1, 3)} if SMOKE else \
    {"dcgan": (20, 30), "wgan_gp": (10, 20), "cgan": (25, 120), "infogan": (10, 50)}
# The smoke budget shrinks the networks too: their tracing, not their steps, is its cost.
TINY = ["--g_width=4", "--d_width=4", "--batch_size=16"] if SMOKE else []
NUM_SCORED = 64 if SMOKE else 1000  # samples per checkerboard number
DC_WIDTH = 4 if SMOKE else 32  # the convolutional GANs' ngf = ndf (the lecture's 64 is 2-3x slower)
print(f"budget {BUDGET}: {STEPS}")

# %%
import time
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from tfgan_course import data, experiment, explore, metrics, models, train, trained

os.makedirs(WORKDIR, exist_ok=True)
tf.get_logger().setLevel("ERROR")  # The exports' "Assets written to ..." lines.
# At the smoke budget a few steps do not repay tf.function's tracing: they run eagerly (full: traced).
tf.config.run_functions_eagerly(SMOKE)
warnings.filterwarnings("ignore", message=".*run_functions_eagerly.*")  # tf.data's own functions stay traced


def show(path, width=None):
    """Displays a PNG or GIF the library wrote."""
    display(Image(filename=path, width=width))


def run(config_name, name, epochs_and_steps, *flags, callbacks=()):
    """Trains tfgan_course/configs/<config_name>.cfg on DATASET for (epochs, steps per epoch) into WORKDIR/name.

    `flags` override the config as on the command line; `callbacks` are Keras callbacks run after the
    project's own. Returns experiment.RunResult.
    """
    epochs, steps = epochs_and_steps
    config = train.load_config(config_name, f"--dataset={DATASET}", f"--epochs={epochs}", f"--steps_per_epoch={steps}",
                               "--resume=false", f"--log_every_steps={max(epochs * steps // 4, 1)}",
                               "--num_fixed_samples=64", *TINY, *flags)
    start = time.perf_counter()
    result = experiment.run(config, os.path.join(WORKDIR, name), verbose=0, extra_callbacks=callbacks)
    print(f"{name}: {result.steps} steps in {time.perf_counter() - start:.0f} s")
    return result


# %% [markdown]
# ## Intro to GANs: building your first GAN
#
# The notes' first GAN is an MLP: G `100 - 256 - 512 - 784` (ReLU, tanh) and D `784 - 512 - 256 - 1`
# (LeakyReLU 0.2), BCE and Adam 2e-4, on MNIST in batches of 64. The library registers it as `mlp2`
# (`mlp_gan_mnist.cfg`); its training loop is lecture 000's, which that notebook walks through
# cell by cell, so here are the networks only:

# %%
mlp_g, mlp_d = models.build("mlp2", image_shape=(28, 28, 1), latent_dim=100)
mlp_g.summary()
mlp_d.summary()

# %% [markdown]
# ## Deep convolutional GANs, and upsampling vs. transposed convolutions
#
# A DCGAN generator upsamples with stride-2 transposed convolutions. Each pixel of an output 2x2
# block is computed from its own subset of the kernel's weights (and where the kernel size is not
# a multiple of the stride, from unevenly many), so unless those subsets stay balanced the output
# carries a 2-pixel checkerboard (Odena et al., 2016, *Deconvolution and Checkerboard Artifacts*).
# The notes' alternative upsamples first (nearest or bilinear) and then convolves. The library's
# `--g_upsample` flag swaps one for the other; here both DCGANs train on the same data with the
# same seed and budget.
#
# The lesson is measured, not only seen: `metrics.checkerboard_energy(images)` is each image's
# share of contrast energy at the three frequencies of a 2x2 pixel grid (1 for a pure
# checkerboard, about 0 for a smooth image). A small callback records the mean over `NUM_SCORED`
# samples before training and after every epoch.


# %%
class CheckerboardLog(keras.callbacks.Callback):
    """The mean checkerboard energy of G's samples (the same seed each time): before training, then each epoch."""

    def __init__(self):
        super().__init__()
        self.values = []

    def _record(self):
        samples = self.model.generate(NUM_SCORED, seed=0)
        self.values.append(float(metrics.checkerboard_energy(samples).mean()))

    def on_train_begin(self, logs=None):
        self._record()

    def on_epoch_end(self, epoch, logs=None):
        self._record()


dcgans, checkerboard = {}, {}
for upsample in ("transposed", "nearest"):
    checkerboard[upsample] = CheckerboardLog()
    dcgans[upsample] = run("dcgan_mnist64", f"dcgan_{upsample}", STEPS["dcgan"], "--image_size=28",
                           f"--g_width={DC_WIDTH}", f"--d_width={DC_WIDTH}", f"--g_upsample={upsample}",
                           callbacks=[checkerboard[upsample]])

# %%
for upsample in dcgans:
    print(upsample)
    show(os.path.join(WORKDIR, f"dcgan_{upsample}", "real_vs_fake.png"), width=640)

# %%
real_images, _, _ = data.load_examples(DATASET, "train", NUM_SCORED, (28, 28, 1))
real_energy = float(metrics.checkerboard_energy(real_images).mean())
steps = STEPS["dcgan"][1] * np.arange(STEPS["dcgan"][0] + 1)
fig, ax = plt.subplots(figsize=(7, 4))
for upsample, log in checkerboard.items():
    ax.plot(steps, log.values, "o-", label=f"{upsample} (G's samples)")
ax.axhline(real_energy, color="k", ls="--", label="real images")
ax.set_yscale("log")
ax.set_xlabel("generator step")
ax.set_ylabel("checkerboard energy (mean)")
ax.set_title(f"Energy on the 2x2 grid, {NUM_SCORED} images each")
ax.legend()
plt.show()
print(f"{'':12s} {'untrained':>10s} {'after 1 epoch':>14s} {'at the end':>11s}")
for upsample, log in checkerboard.items():
    print(f"{upsample:12s} {log.values[0]:10.4f} {log.values[1]:14.4f} {log.values[-1]:11.4f}")
print(f"{'real images':12s} {real_energy:10.4f}")

# %% [markdown]
# What the numbers say, at the full budget (measured once on 2 shared CPU cores: 600 steps of 128
# of the 8,000 offline MNIST digits, ngf = ndf = 32, 1,000 samples per point): the untrained
# transposed-convolution generator puts 17% of its samples' contrast energy on the 2x2 grid
# (0.172), the untrained resize-convolution one 0.07% (0.0007), the real digits 0.02% (0.0002).
# Training removes the transposed generator's artefact, but not at once: 0.050 after 30 steps,
# still 0.008 to 0.015 (40 to 70 times the real digits) at 60 to 120 steps, then 0.0001 to 0.0015
# from 150 steps on, and 0.0004 at the end against the resize-convolution's 0.0002 (it never left
# 0.00003 to 0.0012). An earlier run of 1,500 steps ended at 0.0002 for both. So on MNIST at this
# scale the checkerboard is an artefact of initialisation and early training, which the
# transposed-convolution DCGAN unlearns; the resize-convolution one never has it. The price: the
# resize-convolution step took 1.4 to 1.8 times as long here (600 steps in 177 s against 125 s, and
# in a later run 146 s against 83 s), its 3x3 convolutions running at the upsampled size.
# `python -m tfgan_course.evaluate` reports the same number beside the real-vs-real baseline for any
# run.
#
# ## Wasserstein GANs with gradient penalty
#
# The notes' WGAN-GP: the critic's loss L_D = -E[D(x)] + E[D(G(z))] + L_GP, with the penalty
# L_GP = lambda (||grad D(x_hat)|| - 1)^2 at points x_hat drawn uniformly between real and fake
# samples, lambda 10, 5 critic steps per generator step, and G's loss L_G = -E[D(G(z))].
# `wgan_gp_mnist.cfg` holds it, with a critic without BatchNorm (the penalty is per sample) and
# Gulrajani et al.'s Adam (1e-4, betas 0 and 0.9) where the notes' code uses RMSprop at 5e-5
# (`--optimizer=rmsprop --g_learning_rate=5e-5 --d_learning_rate=5e-5` is theirs):
#
# | the notes' PyTorch | the library |
# |---|---|
# | `epsilon = torch.rand(batch_size, 1, 1, 1)`; `interpolated_images = epsilon * real_images + (1 - epsilon) * fake_images` | `losses.gradient_penalty(discriminator, real, fake)`, alpha uniform per sample |
# | `torch.autograd.grad(d_interpolated, interpolated_images, create_graph=True)` | a nested `GradientTape` inside D's |
# | `((gradient_norm - 1) ** 2).mean() * lambda_gp` | the same, weighted by `compile(..., penalty_weight=10)` |
# | `for _ in range(5):  # Train D more frequently than G` | `GAN(..., d_steps=5)`: 5 critic updates, each on its own real batch |
# | L_D and L_G above | `losses.wasserstein_discriminator_loss` (plus the penalty) and `losses.wasserstein_generator_loss` |

# %%
wgan = run("wgan_gp_mnist", "wgan_gp", STEPS["wgan_gp"], f"--g_width={DC_WIDTH}", f"--d_width={DC_WIDTH}")
show(os.path.join(WORKDIR, "wgan_gp", "losses.png"), width=560)
show(os.path.join(WORKDIR, "wgan_gp", "samples", f"epoch_{STEPS['wgan_gp'][0]:04d}.png"), width=320)

# %% [markdown]
# A critic's loss is not a probability: its negative is the critic's estimate of the Wasserstein
# distance between real and fake, which should fall as G improves (the loss curve above). At the
# full budget it rose from about -19 to -15 over the 200 steps, and the samples were blurry
# digit-like shapes: WGAN-GP is slow per step (5 critic steps, each with a second-order gradient)
# and needs far more steps than this.
#
# ## Conditional GANs and controllable generation
#
# ### 1. Controlling outputs with conditional inputs
#
# The notes' cGAN concatenates z with the one-hot label for G, and the image with the one-hot label
# for D (`cmlp`, `cgan_mnist.cfg`). Its sample grid has one row per class: every row asks for one
# digit.

# %%
cgan = run("cgan_mnist", "cgan", STEPS["cgan"], "--num_fixed_samples=100")
show(os.path.join(WORKDIR, "cgan", "samples", f"epoch_{STEPS['cgan'][0]:04d}.png"), width=320)
print("generate(8, label=3):", cgan.model.generate(8, label=3).shape)

# %% [markdown]
# At the full budget (3,000 steps, measured once) this run is a lesson of the notes' previous part:
# it collapsed. D won (D(x) 0.99 and D(G(z)) 0.006 to 0.05 at the end) and G drew the same noisy blobs
# in every row, ignoring the label: mode collapse. The config's settings are the notes' (Adam 2e-4, batch
# 64) over 20 epochs; at 3,000 steps they did not get there. Lecture 004's notebook measures
# collapse and its remedies; lecture 002's notebook trains the conditional DCGAN, which conditions
# both networks more strongly.

# %% [markdown]
# ### 2. Controlling outputs by manipulating z
#
# Interpolation walks from one z to another, (1 - alpha) z_a + alpha z_b (slerp, its spherical form,
# for Gaussian z); vector arithmetic takes mean z_a - mean z_b + mean z_c, the DCGAN paper's "man
# with glasses - man + woman". `explore` draws both for any trained generator (the command line is
# `python -m tfgan_course.explore`); `trained.from_model` wraps the model in training, and
# `trained.load(workdir=...)` a saved run.

# %%
generator = trained.from_model(dcgans["nearest"].model)
explore.interpolate(generator, os.path.join(WORKDIR, "interpolation.png"), seeds=[1, 2, 3], steps=8)
show(os.path.join(WORKDIR, "interpolation.png"), width=480)
explore.arithmetic(generator, os.path.join(WORKDIR, "arithmetic.png"), concept_a=[1, 4, 9], concept_b=[2, 5, 11],
                   concept_c=[3, 8, 13])
show(os.path.join(WORKDIR, "arithmetic.png"), width=560)

# %% [markdown]
# Along an interpolation the digits morph smoothly when the generator has learned a smooth map;
# the arithmetic's concepts here are just seeds (MNIST has no "glasses"): pick seeds whose samples
# share a feature to make it a concept.
#
# ### 3. Disentanglement: InfoGAN
#
# InfoGAN (`infogan_mnist.cfg`) gives G a categorical code of 10 values and 2 continuous codes
# besides the noise, and D a head Q that must recover them: maximising that mutual information makes
# the codes mean something (often the digit, its slant and its width), without labels. A sweep
# changes one code with the rest fixed.

# %%
info = run("infogan_mnist", "infogan", STEPS["infogan"], f"--g_width={DC_WIDTH}", f"--d_width={DC_WIDTH}")
paths = explore.codes(trained.from_model(info.model), os.path.join(WORKDIR, "codes.png"), seeds=[0])
for path in paths:
    show(path, width=400)

# %% [markdown]
# In the categorical sweep each row is one value of the 10-valued code, and each column one value
# of a continuous code; the continuous sweeps move one code from -2 to 2 (training drew them from
# [-1, 1]). At the full budget (500 steps at ngf = ndf = 32, measured once) the samples were still
# faint, the rows of the categorical sweep alike (that code had no meaning yet), and the first
# continuous code turned a "1"-like stroke into a "2"-like one across the columns: InfoGAN needs the
# config's longer training (20 epochs) for its codes to separate digits and styles. VAEs, which the
# notes mention as a contrast, are not part of this library.
