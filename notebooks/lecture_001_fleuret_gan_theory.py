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
# # Lecture 001 — Fleuret, *Deep learning 10.1: Generative Adversarial Networks* (AMMI), with tfgan_course
#
# The slides' order: the optimal discriminator D* and the value V(D*, G) = 2 JS(mu, mu_G) - log 4
# (slides 13-21), the minimal 2-D GAN for latent sizes 2, 8 and 32 (slides 22-38), the saturation
# of log(1 - D(G(z))) and its non-saturating fix (slides 39-41), Goodfellow et al.'s samples beside
# their nearest training example (slide 42), the DCGAN rules (slides 43-53) and the pathologies
# (slide 60 on). Each is checked or reproduced here with the library.
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

    for spec in ("fashion_mnist",):  # Where no offline copy is installed, TFDS downloads them, once.
        data.prepare(spec)

# Before Keras: the package turns on TensorFlow's oneDNN CPU kernels, which TensorFlow reads once, at import
# (its default leaves them off on AVX2-only CPUs, where they train the DCGAN 2.4x faster).
import tfgan_course  # noqa: F401

# %% [markdown]
# **Budget**: `full` (the text discusses its results; a few minutes on 2 cores) or `smoke` (every
# cell in seconds, for CI). `TFGAN_NOTEBOOK_DATA` replaces the image dataset, `TFGAN_NOTEBOOK_RUNS`
# the runs' directory.

# %%
BUDGET = os.environ.get("TFGAN_NOTEBOOK_BUDGET", "full")  # "full" or "smoke"
SMOKE = BUDGET == "smoke"
DATASET = os.environ.get("TFGAN_NOTEBOOK_DATA", "fashion_mnist")
WORKDIR = os.path.join(os.environ.get("TFGAN_NOTEBOOK_RUNS", "runs"), "lecture_001")
# The slides train the 2-D GAN for 10,000 steps of batch 10 (the configs' 10 epochs of 1,000 steps).
TOY_EPOCHS, TOY_STEPS = (1, 4) if SMOKE else (10, 1000)
IMAGE_STEPS = 3 if SMOKE else 1000  # the MLP GAN whose samples meet their nearest training images
NUM_REFERENCES = 300 if SMOKE else 10000  # training images searched for each sample's nearest
print(f"budget {BUDGET}")

# %%
import time
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from tfgan_course import data, experiment, gan, losses, metrics, models, plots, toy, train

os.makedirs(WORKDIR, exist_ok=True)
tf.get_logger().setLevel("ERROR")  # The exports' "Assets written to ..." lines.
# At the smoke budget a few steps do not repay tf.function's tracing: they run eagerly (full: traced).
tf.config.run_functions_eagerly(SMOKE)
warnings.filterwarnings("ignore", message=".*run_functions_eagerly.*")  # tf.data's own functions stay traced
warnings.filterwarnings("ignore", message=".*shuffle=True.*")  # make_dataset shuffles; fit() need not.


def show(path, width=None):
    """Displays a PNG or GIF the library wrote."""
    display(Image(filename=path, width=width))


# %% [markdown]
# ## The optimal discriminator and V(D*, G) = 2 JS - log 4 (slides 13-21)
#
# For a fixed G, the D that maximises V(D, G) = E_mu[log D(X)] + E_muG[log(1 - D(X))] is
# D*(x) = mu(x) / (mu(x) + mu_G(x)), and at D* the value is 2 JS(mu, mu_G) - log 4, so training G
# against the best D minimises the Jensen-Shannon divergence. `toy.optimal_discriminator`,
# `toy.gan_value` and `toy.js_divergence` compute the three on densities sampled on a grid; the
# densities here are 1-D normals: the data N(0, 1) and a generator N(m, 1) for several shifts m.

# %%
x = np.linspace(-12, 12, 24001)
dx = x[1] - x[0]


def normal(x, mean, std=1.0):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


p_data = normal(x, 0.0)
rows = []
for shift in (0.0, 0.5, 1.0, 2.0, 4.0):
    p_model = normal(x, shift)
    d_star = toy.optimal_discriminator(p_data, p_model)
    value = toy.gan_value(d_star, p_data, p_model, dx)
    js = toy.js_divergence(p_data, p_model, dx)
    # Any other D does worse: D* shifted by a small bump is one such D.
    other = toy.gan_value(np.clip(d_star + 0.05 * np.sin(x), 1e-6, 1 - 1e-6), p_data, p_model, dx)
    rows.append((shift, value, 2 * js - np.log(4), other))
print(f"{'m':>4} {'V(D*, G)':>10} {'2 JS - log 4':>13} {'V(D, G), D != D*':>17}")
for shift, value, bound, other in rows:
    print(f"{shift:4.1f} {value:10.5f} {bound:13.5f} {other:17.5f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
p_model = normal(x, 2.0)
left.plot(x, p_data, label="mu (data), N(0, 1)")
left.plot(x, p_model, label="mu_G, N(2, 1)")
left.plot(x, toy.optimal_discriminator(p_data, p_model), "k--", label="D*(x)")
left.set_xlim(-4, 6)
left.set_title("D* = mu / (mu + mu_G)")
left.legend()
shifts = np.linspace(0, 5, 26)
values = [toy.gan_value(toy.optimal_discriminator(p_data, normal(x, m)), p_data, normal(x, m), dx) for m in shifts]
bounds = [2 * toy.js_divergence(p_data, normal(x, m), dx) - np.log(4) for m in shifts]
right.plot(shifts, values, "o", label="V(D*, G), Riemann sum")
right.plot(shifts, bounds, "-", label="2 JS(mu, mu_G) - log 4")
right.axhline(-np.log(4), color="0.6", ls=":", label="-log 4 (mu_G = mu)")
right.set_xlabel("shift m of mu_G = N(m, 1)")
right.set_title("The value at D* is 2 JS - log 4")
right.legend()
plt.show()

# %% [markdown]
# The two columns agree to the grid's precision for every shift, the value is -log 4 exactly when
# mu_G = mu, rises towards 0 (JS -> log 2) as the densities separate, and a D other than D* always
# scores lower. This check does not depend on the budget.
#
# ## The minimal 2-D GAN, for latent sizes 2, 8 and 32 (slides 22-38)
#
# The slides' G is `Linear(z, 100) - ReLU - Linear(100, 2)`, D `Linear(2, 100) - ReLU -
# Linear(100, 1) - Sigmoid`, trained with Adam 1e-3 on batches of 10 with the saturating loss. The
# library's `toy` family is that pair, and `toy_fleuret2d_z{2,8,32}.cfg` hold the rest; the slides
# do not say what their data are, so the ring of 8 Gaussians stands in. `train.load_config` reads
# a shipped flagfile by name as the command line does, and `experiment.run` trains it with every figure.
#
# The slides alternate: G on even steps, D on odd ones. The library's `train_step` does one D
# update and then one G update per step, the same alternation counted in pairs.

# %%
toy_runs = {}
for z_dim in (2, 8, 32):
    config = train.load_config(f"toy_fleuret2d_z{z_dim}", f"--epochs={TOY_EPOCHS}", f"--steps_per_epoch={TOY_STEPS}",
                               "--log_every_steps=0", "--resume=false")
    start = time.perf_counter()
    toy_runs[z_dim] = experiment.run(config, os.path.join(WORKDIR, f"toy_z{z_dim}"), verbose=0)
    print(f"z dim {z_dim}: {toy_runs[z_dim].steps} steps in {time.perf_counter() - start:.0f} s")

# %%
for z_dim in (2, 8, 32):
    show(os.path.join(WORKDIR, f"toy_z{z_dim}", "samples", f"epoch_{TOY_EPOCHS:04d}.png"), width=380)

# %% [markdown]
# How many of the ring's 8 modes each G covers, and what share of its samples lands on a mode
# (`toy.mode_metrics`: within 3 standard deviations of a centre):

# %%
ring = toy.ring8()
for z_dim, result in toy_runs.items():
    samples = result.model.generate(2000, seed=1)
    print(f"z dim {z_dim:2d}: {toy.mode_metrics(samples, ring)}")

# %% [markdown]
# With the slides' one hidden layer and saturating loss, the three runs are the slides' "Real vs
# Synth" experiment: compare the scatter plots above with slides 24-38. Every epoch's plot is in each run's
# `samples/` folder and `progress.gif`; the loss curves are `losses.png`.
#
# ## The saturation of log(1 - D(G(z))) (slides 39-41)
#
# Early in training D rejects the fakes: D(G(z)) is near 0. The minimax G loss log(1 - D(G(z)))
# is flat there, so G gets almost no gradient; the non-saturating -log D(G(z)) has its largest
# gradient there. `losses.generator_logit_gradients` differentiates the library's own two G losses
# with respect to D's logit (what backpropagates into G) at each value of D(G(z)), and
# `plots.save_generator_gradients` draws them.

# %%
d_of_fake = np.linspace(0.001, 0.999, 61)
gradients = losses.generator_logit_gradients(d_of_fake)
plots.save_generator_gradients(d_of_fake, gradients, os.path.join(WORKDIR, "generator_gradients.png"))
show(os.path.join(WORKDIR, "generator_gradients.png"), width=560)
for p in (0.001, 0.01, 0.1, 0.5, 0.9):
    i = int(np.argmin(np.abs(d_of_fake - p)))
    print(f"D(G(z)) = {d_of_fake[i]:.3f}: |minimax| = {abs(gradients['minimax'][i]):.3f}, "
          f"|non-saturating| = {abs(gradients['non_saturating'][i]):.3f}")

# %% [markdown]
# The plot is the lesson: the minimax gradient's magnitude is D(G(z)) itself, a line from 0 at
# D(G(z)) = 0 to 1 at 1, so it vanishes exactly where G is worst; the non-saturating gradient is
# 1 - D(G(z)), largest (1) where G is worst and small only once G fools D. Both losses push G the
# same way, with the same fixed point; only the step size differs. This is why the library's
# default G loss is `non_saturating`.
#
# ## Samples beside their nearest training images (slide 42)
#
# Goodfellow et al. show each sample with the nearest training example, to show the model did not
# memorise. The same check on an MLP GAN (lecture 000's, with Adam) trained briefly on
# Fashion-MNIST: `metrics.nearest_neighbours` finds, for each sample, the closest training images in
# pixel space (`python -m tfgan_course.evaluate` also does it in a classifier's feature space).

# %%
dataset, _ = data.make_dataset(DATASET, image_size=28, channels=1, batch_size=64, repeat=True)
generator, discriminator = models.build("mlp", image_shape=(28, 28, 1), latent_dim=100, seed=0)
mlp_gan = gan.GAN(generator, discriminator, latent_dim=100, seed=0)
mlp_gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.9, epsilon=1e-8),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.9, epsilon=1e-8))
mlp_gan.fit(dataset, epochs=1, steps_per_epoch=IMAGE_STEPS, verbose=0)
samples = mlp_gan.generate(8, seed=0)
train_images, _, _ = data.load_examples(DATASET, "train", NUM_REFERENCES, (28, 28, 1))
indices, distances = metrics.nearest_neighbours(samples.reshape(8, -1), train_images.reshape(len(train_images), -1),
                                                k=3)
rows = np.concatenate([np.concatenate([sample[None], train_images[row]]) for sample, row in zip(samples, indices)])
plots.save_image_grid(rows, os.path.join(WORKDIR, "nearest.png"), nrow=4,
                      title="sample | its 3 nearest training images (pixels)")
show(os.path.join(WORKDIR, "nearest.png"), width=300)
print("pixel distances to the nearest:", np.round(distances[:, 0], 1))
pairs = train_images[:200].reshape(200, -1)
print("a training image's distance to its nearest other training image (median):",
      round(float(np.median(metrics.nearest_neighbours(pairs[:100], pairs[100:], k=1)[1])), 1))

# %% [markdown]
# A copy of a training image would sit at distance near 0; each sample's nearest training image
# should be no closer to it than training images are to their own nearest neighbours (the last
# line), which is what "not memorised" means here.
#
# ## The DCGAN rules (slides 43-53)
#
# Radford et al.'s rules: strided convolutions instead of pooling, BatchNorm in both networks, no
# fully connected hidden layers, ReLU in G (tanh at its output), LeakyReLU in D, and the weights
# drawn from N(0, 0.02), BatchNorm's scale from N(1, 0.02). The library's `dcgan` follows them; its
# initial weights show it:

# %%
dc_g, dc_d = models.build("dcgan", image_shape=(64, 64, 3), latent_dim=100, seed=0)
for weight in dc_g.weights:
    if weight.path.endswith(("kernel", "gamma")):
        values = weight.numpy()
        print(f"{weight.path:28s} {str(tuple(values.shape)):22s} mean {values.mean():+.4f} std {values.std():.4f}")
print("layers of G:", sorted({type(layer).__name__ for layer in dc_g.layers}))
print("layers of D:", sorted({type(layer).__name__ for layer in dc_d.layers}))

# %% [markdown]
# The slides' LSUN bedrooms after 1 to 20 epochs are a GPU job; the library trains them from a
# folder of images with `--dataset=folder:DIR --model=dcgan --image_size=64 --channels=3`. Lecture
# 002's notebook trains this DCGAN on Fashion-MNIST.
#
# ## Pathologies (slide 60 on)
#
# "Training a standard GAN often results in two pathological behaviors": oscillation without
# convergence and mode collapse. The first shows in any run's D outputs, one point per step (here
# the 2-D GAN with z dim 8); lecture 004's notebook measures mode collapse on the ring and the grid
# of Gaussians, with the remedies. The last pathology, evaluation as "a beauty contest", is why the
# library scores runs with numbers (`python -m tfgan_course.evaluate`: FID, KID, precision and
# recall in a classifier's feature space).

# %%
show(os.path.join(WORKDIR, "toy_z8", "d_outputs.png"), width=560)
