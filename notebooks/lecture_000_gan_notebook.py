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
# # Lecture 000 — the GAN notebook, with tfgan_course
#
# This notebook follows lecture 000, *GAN* (the PyTorch notebook on Fashion-MNIST), section by
# section: define the two networks, test them with a forward pass, load the data, play one round
# of the min-max game, run the full training loop with its log line and its grids, and end with
# the deep convolutional GAN. Where the lecture writes PyTorch, this notebook calls the
# library's Keras API: `models.build`, `gan.GAN`, `GAN.compile(d_optimizer, g_optimizer, ...)`
# and `fit()` with the project's callbacks.
#
# **Install (Colab or a fresh Jupyter, once).** The next cell installs the library from a clone
# of this repository when it is not importable yet (`git clone` the repository first and set
# `TFGAN_COURSE_REPO` to the clone's path if it is not the parent of this notebook's folder).

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

    for spec in ("fashion_mnist",):  # Where no offline copy is installed, TFDS downloads them, once.
        data.prepare(spec)

# Before Keras: the package turns on TensorFlow's oneDNN CPU kernels, which TensorFlow reads once, at import
# (its default leaves them off on AVX2-only CPUs, where they train the DCGAN 2.4x faster).
import tfgan_course  # noqa: F401

# %% [markdown]
# **Budget.** `full` is the run the text below discusses (a few minutes on a 2-core laptop);
# `smoke` runs every cell in seconds on tiny settings, which is how CI checks that the notebook
# still works. `TFGAN_NOTEBOOK_DATA` replaces the dataset (CI points it at a small fixture) and
# `TFGAN_NOTEBOOK_RUNS` the directory the runs write to (`runs/` beside the notebook).

# %%
BUDGET = os.environ.get("TFGAN_NOTEBOOK_BUDGET", "full")  # "full" or "smoke"
SMOKE = BUDGET == "smoke"
DATASET = os.environ.get("TFGAN_NOTEBOOK_DATA", "fashion_mnist")
WORKDIR = os.path.join(os.environ.get("TFGAN_NOTEBOOK_RUNS", "runs"), "lecture_000")
# The lecture: 3 epochs of 938 batches of 64, a grid every 100 iterations. The full budget keeps the
# grid's cadence and trains 1,500 iterations (1.6 epochs): a laptop's few minutes.
ITERATIONS_PER_GRID = 3 if SMOKE else 100
GRIDS = 2 if SMOKE else 15
DCGAN_STEPS = 3 if SMOKE else 300
DCGAN_SIZE, DCGAN_WIDTH = (32, 4) if SMOKE else (32, 64)  # the lecture's widths at 32x32: a quarter of 64x64's cost
print(f"budget {BUDGET}: {ITERATIONS_PER_GRID * GRIDS} MLP iterations on {DATASET}")

# %%
import time
import warnings

import keras
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from tfgan_course import callbacks, data, gan, models, plots

os.makedirs(WORKDIR, exist_ok=True)
keras.utils.set_random_seed(0)
# At the smoke budget a few steps do not repay tf.function's tracing: they run eagerly (full: traced).
tf.config.run_functions_eagerly(SMOKE)
warnings.filterwarnings("ignore", message=".*run_functions_eagerly.*")  # tf.data's own functions stay traced
# fit() says its default shuffle=True is ignored for a tf.data.Dataset: data.make_dataset shuffles.
warnings.filterwarnings("ignore", message=".*shuffle=True.*")


def show(path, width=None):
    """Displays a PNG or GIF the library wrote."""
    display(Image(filename=path, width=width))


def show_imgs(images, name, nrow=8):
    """The lecture's `show_imgs`: a grid of images in [-1, 1] [N, H, W, C], saved under WORKDIR and shown."""
    path = os.path.join(WORKDIR, f"{name}.png")
    plots.save_image_grid(images, path, nrow=nrow)
    show(path)


# %% [markdown]
# ## Define the neural networks
#
# The lecture's discriminator is `Linear(784, 128) - LeakyReLU(0.2) - Linear(128, 1) - Sigmoid`
# and its generator `Linear(100, 128) - LeakyReLU(0.2) - Linear(128, 784) - Tanh`. The library
# registers that pair as `mlp`. One difference, everywhere in the library: D ends with a logit,
# not a sigmoid. The losses apply the sigmoid inside (`sigmoid_cross_entropy_with_logits`), the
# numerically stable form of `Sigmoid` + `BCELoss`.

# %%
G, D = models.build("mlp", image_shape=(28, 28, 1), latent_dim=100, seed=0)
G.summary()
D.summary()

# %% [markdown]
# The lecture prints `named_parameters()`; a Keras model's weights carry their paths:

# %%
for weight in D.weights:
    print(f"{weight.path:40s} {tuple(weight.shape)}")

# %% [markdown]
# ## Testing the neural networks (forward pass)
#
# A batch of 3 zero vectors and a batch of 2 noise vectors through G, then through D (the
# sigmoid of D's logit is the lecture's probability that the input is real).

# %%
print("D on zeros:", tf.sigmoid(D(np.zeros((3, 28, 28, 1), np.float32))).numpy().ravel())
z = keras.random.normal((2, 100), seed=1)
fake = G(z)
print("G(z):", fake.shape, "in", float(tf.reduce_min(fake)), "..", float(tf.reduce_max(fake)))
print("D(G(z)):", tf.sigmoid(D(fake)).numpy().ravel())

# %% [markdown]
# ## Loading the data
#
# The lecture normalises with mean 0.5 and std 0.5, i.e. to [-1, 1], and batches by 64.
# `data.make_dataset` does the same for any dataset spec (`fashion_mnist` reads Debian's offline
# copy, or TFDS'); it yields `(images, labels)` with images float32 [64, 28, 28, 1] in [-1, 1].

# %%
dataset, info = data.make_dataset(DATASET, image_size=28, channels=1, batch_size=64, repeat=True)
print(info)
real_images, real_labels = next(iter(dataset))
print("one batch:", real_images.shape, "in", float(tf.reduce_min(real_images)), "..",
      float(tf.reduce_max(real_images)), "labels", real_labels.numpy()[:10])
show_imgs(real_images[:32], "real")

# %% [markdown]
# ## The min-max game: one step, in PyTorch and in the library
#
# The lecture's step 1 trains D on a real batch (label 1) and a detached fake batch (label 0),
# `lossD = BCE(D(x), 1) + BCE(D(G(z).detach()), 0)`; step 2 trains G through D with the labels
# flipped, `lossG = BCE(D(G(z)), 1) = -log D(G(z))`, the non-saturating loss. In the library both
# steps are `GAN.train_step`, which `fit()` calls once per batch. Its body is the lecture's two
# steps with `GradientTape` in place of `backward()`:
#
# | lecture (PyTorch) | library (`tfgan_course/gan.py`, `losses.py`) |
# |---|---|
# | `optimizerD.zero_grad()` ... `lossD.backward()`; `optimizerD.step()` | `GradientTape` over D's loss; `d_optimizer.apply(grads, D's variables)` |
# | `x_gen = G(z).detach()` | G's output computed outside D's tape: no gradient reaches G |
# | `criterion(D_x, lab_real) + criterion(D_G_z, lab_fake)` | `losses.non_saturating_discriminator_loss(real_logits, fake_logits)` |
# | `lossG = criterion(D(G(z)), lab_real)  # -log D(G(z))` | `losses.non_saturating_generator_loss(fake_logits)` |
# | `print(D_x.mean(), D_G_z.mean())` | the metrics `D(x)`, `D(G(z)) before` / `after` D's update |
#
# The source, for reading alongside the lecture's cells:

# %%
import inspect

print(inspect.getsource(gan.GAN.train_step))

# %% [markdown]
# ## The full training loop
#
# `GAN.compile` takes the two optimizers (the lecture's SGD at 0.03) and the loss; `fit()` runs
# the loop, and the callbacks do the lecture's logging: `StatsLine` prints D(x) and D(G(z)) every
# 100 iterations (the lecture's `e{}.i{}/{} last mb D(x)= D(G(z))=` line, with the losses),
# `SampleGrid` draws G(fixed noise) at the end of each "epoch", and `LossLog` keeps every step's
# losses and D outputs in a CSV and plots them. An "epoch" here is 100 iterations, so the grids
# come at the lecture's cadence.


# %%
def train_mlp(optimizer, name):
    """Trains the lecture's MLP GAN with `optimizer` (a factory of keras optimizers); returns (gan, its dir)."""
    keras.utils.set_random_seed(0)
    generator, discriminator = models.build("mlp", image_shape=(28, 28, 1), latent_dim=100, seed=0)
    model = gan.GAN(generator, discriminator, latent_dim=100, seed=0)
    model.compile(d_optimizer=optimizer(), g_optimizer=optimizer(), loss="non_saturating")
    run_dir = os.path.join(WORKDIR, name)
    os.makedirs(run_dir, exist_ok=True)
    fixed_noise = keras.random.normal((64, 100), seed=2).numpy()
    logs = [
        callbacks.SampleGrid(model.fixed_inputs(fixed_noise), os.path.join(run_dir, "samples")),
        callbacks.LossLog(os.path.join(run_dir, "losses.csv"), run_dir),
        callbacks.StatsLine(ITERATIONS_PER_GRID, GRIDS, ITERATIONS_PER_GRID),
    ]
    start = time.perf_counter()
    model.fit(dataset, epochs=GRIDS, steps_per_epoch=ITERATIONS_PER_GRID, callbacks=logs, verbose=0)
    print(f"{name}: {GRIDS * ITERATIONS_PER_GRID} iterations in {time.perf_counter() - start:.0f} s")
    return model, run_dir


sgd_gan, sgd_dir = train_mlp(lambda: keras.optimizers.SGD(0.03), "mlp_sgd")

# %% [markdown]
# The lecture ends by showing the list of grids, one per epoch; `SampleGrid` saved them as
# `samples/epoch_NNNN.png` and, at the end, `progress.gif`. The first and the last:

# %%
frames = sorted(os.listdir(os.path.join(sgd_dir, "samples")))
print(frames)
show(os.path.join(sgd_dir, "samples", "epoch_0001.png"), width=320)
show(os.path.join(sgd_dir, "samples", f"epoch_{GRIDS:04d}.png"), width=320)

# %% [markdown]
# What to look for, as in the lecture's own grids: the first grid is noise, and silhouettes of
# clothes emerge grid by grid. With SGD at 0.03 they emerge slowly, which is why the lecture names
# Adam as the better option; the next section trains it on the same budget.
#
# The losses and D's outputs, one point per iteration (`LossLog`'s two plots):

# %%
show(os.path.join(sgd_dir, "losses.png"), width=560)
show(os.path.join(sgd_dir, "d_outputs.png"), width=560)

# %% [markdown]
# ### Adam, the lecture's better option
#
# The lecture's commented-out lines swap SGD for `Adam(lr=0.0002)`: one argument of `compile`
# here. PyTorch's Adam uses beta1 = 0.9 and epsilon 1e-8, which Keras spells out.

# %%
adam_gan, adam_dir = train_mlp(lambda: keras.optimizers.Adam(2e-4, beta_1=0.9, epsilon=1e-8), "mlp_adam")
show(os.path.join(adam_dir, "samples", f"epoch_{GRIDS:04d}.png"), width=320)
show(os.path.join(adam_dir, "d_outputs.png"), width=560)

# %% [markdown]
# `generate` samples the trained G (float32 [N, 28, 28, 1] in [-1, 1]); a seed makes it repeatable.

# %%
show_imgs(adam_gan.generate(32, seed=0), "adam_samples")

# %% [markdown]
# ## Deep convolutional GAN
#
# The lecture's DCGAN (Radford et al.) upsamples z with transposed convolutions, BatchNorm and
# ReLU in G, and strided convolutions with LeakyReLU in D, at 64x64; the library's `dcgan`
# family is that pair (`ngf = ndf = 64` by default, `g_width` and `d_width`), at any size a power
# of two times 4 (or 7). Data of any size is resized to the network's. To fit a laptop's budget it
# trains here at 32x32, one block fewer, with the lecture's widths and batch 128.
#
# Why not 64x64 with the widths halved instead, at the same cost? Tried on seeds 0 and 1: D won
# within 50 steps (at step 150 D(x) = 0.999 and D(G(z)) = 0.001) and G's samples stayed noise.
# A GAN trains only while neither network wins outright, and that balance is easy to lose.

# %%
dc_dataset, _ = data.make_dataset(DATASET, image_size=DCGAN_SIZE, channels=1, batch_size=128, repeat=True)
dc_g, dc_d = models.build("dcgan", image_shape=(DCGAN_SIZE, DCGAN_SIZE, 1), latent_dim=100,
                          g_width=DCGAN_WIDTH, d_width=DCGAN_WIDTH, seed=0)
dc_g.summary()
dcgan = gan.GAN(dc_g, dc_d, latent_dim=100, seed=0)
dcgan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
dc_dir = os.path.join(WORKDIR, "dcgan")
os.makedirs(dc_dir, exist_ok=True)
start = time.perf_counter()
dcgan.fit(dc_dataset, epochs=1, steps_per_epoch=DCGAN_STEPS, verbose=0,
          callbacks=[callbacks.LossLog(os.path.join(dc_dir, "losses.csv"), dc_dir),
                     callbacks.StatsLine(max(DCGAN_STEPS // 5, 1), 1, DCGAN_STEPS)])
print(f"DCGAN: {DCGAN_STEPS} steps in {time.perf_counter() - start:.0f} s")
show_imgs(dcgan.generate(32, seed=0), "dcgan_samples")

# %% [markdown]
# The command line trains the lecture-sized DCGAN for longer, with checkpoints, an export for
# TensorFlow Serving and every figure: `python -m tfgan_course.train
# --flagfile=tfgan_course/configs/dcgan_fashion_mnist.cfg --workdir=runs/dcgan` (lecture 002's
# notebook walks through it).
#
# ## The opening demos
#
# The lecture opens with CycleGAN's translations (Monet <-> photo, zebra <-> horse, summer <->
# winter). Their datasets are downloads; the library trains CycleGAN on data that is here
# (`cyclegan_sneaker_boot.cfg`: sneakers <-> ankle boots, `cyclegan_digits_font.cfg`: handwritten
# <-> printed digits), or on the paper's folders with `--dataset=cyclegan:DIR`.
