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
# # Lecture 002 — textbook chapter 12, *Generative Adversarial Nets*, with tfgan_course
#
# The chapter's order: random variable mapping (section 12.2.2), training GANs with k
# discriminator steps (12.2.4), the losses (12.3), the DCGAN tutorial with its stats line, loss plot,
# animation, real vs fake and saved generator (12.4, on MNIST in 12.4.6), the conditional DCGAN
# (12.5), the variations (12.6) and the common challenges (12.7).
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

    for spec in ("fashion_mnist", "mnist"):  # Where no offline copy is installed, TFDS downloads them, once.
        data.prepare(spec)

# Before Keras: the package turns on TensorFlow's oneDNN CPU kernels, which TensorFlow reads once, at import
# (its default leaves them off on AVX2-only CPUs, where they train the DCGAN 2.4x faster).
import tfgan_course  # noqa: F401

# %% [markdown]
# **Budget**: `full` (the text discusses its results) or `smoke` (every cell in seconds, for CI).
# `TFGAN_NOTEBOOK_DATA` replaces both image datasets (Fashion-MNIST for the DCGAN, MNIST for the
# conditional DCGAN), `TFGAN_NOTEBOOK_RUNS` the runs' directory (`runs/` beside the notebook).

# %%
BUDGET = os.environ.get("TFGAN_NOTEBOOK_BUDGET", "full")  # "full" or "smoke"
SMOKE = BUDGET == "smoke"
FACES = os.environ.get("TFGAN_NOTEBOOK_DATA", "fashion_mnist")  # CelebA is a download: Fashion-MNIST stands in
DIGITS = os.environ.get("TFGAN_NOTEBOOK_DATA", "mnist")
WORKDIR = os.path.join(os.environ.get("TFGAN_NOTEBOOK_RUNS", "runs"), "lecture_002")
# (epochs, steps per epoch): the textbook's 5 epochs of CelebA and 20 of MNIST are GPU jobs.
MAPPING = (1, 4) if SMOKE else (5, 1000)
DCGAN = (2, 2) if SMOKE else (6, 50)
CDCGAN = (1, 3) if SMOKE else (10, 60)  # an epoch is at most one pass: 62 steps of the 8,000 offline digits
DCGAN_SIZE, DCGAN_WIDTH = (32, 4) if SMOKE else (32, 64)  # 12.4's ngf = ndf = 64, at 32x32
WIDTH = 4 if SMOKE else 32  # 12.5's ngf = ndf; the textbook's 128 is 16x slower
BATCH = 16 if SMOKE else 128
print(f"budget {BUDGET}")

# %%
import statistics
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from tfgan_course import data, experiment, losses, train, trained

os.makedirs(WORKDIR, exist_ok=True)
tf.get_logger().setLevel("ERROR")  # The exports' "Assets written to ..." lines.
# At the smoke budget a few steps do not repay tf.function's tracing: they run eagerly (full: traced).
tf.config.run_functions_eagerly(SMOKE)
warnings.filterwarnings("ignore", message=".*run_functions_eagerly.*")  # tf.data's own functions stay traced


def show(path, width=None):
    """Displays a PNG or GIF the library wrote."""
    display(Image(filename=path, width=width))


def run(config_name, name, epochs_and_steps, *flags, verbose=0):
    """Trains tfgan_course/configs/<config_name>.cfg for (epochs, steps per epoch) into WORKDIR/name.

    `flags` override the config as on the command line. Returns experiment.RunResult.
    """
    epochs, steps = epochs_and_steps
    config = train.load_config(config_name, f"--epochs={epochs}", f"--steps_per_epoch={steps}", "--resume=false",
                               *flags)
    start = time.perf_counter()
    result = experiment.run(config, os.path.join(WORKDIR, name), verbose=verbose)
    print(f"{name}: {result.steps} steps in {time.perf_counter() - start:.0f} s")
    return result


# %% [markdown]
# ## 12.2.2 Random variable mapping
#
# A generator maps a simple random variable to a complicated one. For one dimension the map is
# known: if Z is uniform on [0, 1] and F_X is X's cumulative distribution function, X = F_X^{-1}(Z)
# has the distribution of X. Here X ~ N(4, 1.25^2), the toy normal of lecture 004:

# %%
target = statistics.NormalDist(mu=4.0, sigma=1.25)
z = np.random.default_rng(0).uniform(size=20000)
x = np.array([target.inv_cdf(u) for u in z])
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
grid = np.linspace(0.001, 0.999, 200)
left.plot(grid, [target.inv_cdf(u) for u in grid])
left.set_xlabel("z ~ U[0, 1]")
left.set_ylabel("x = F^-1(z)")
left.set_title("the inverse CDF")
right.hist(x, bins=60, density=True, alpha=0.6, label="F^-1(Z)")
right.plot(np.linspace(-1, 9, 200), [target.pdf(v) for v in np.linspace(-1, 9, 200)], "k", label="N(4, 1.25^2)")
right.legend()
plt.show()
print(f"mean {x.mean():.3f} (4), std {x.std():.3f} (1.25)")

# %% [markdown]
# A GAN learns such a map instead of being given it. `toy_gaussian1d.cfg` trains a G with one
# uniform latent input on samples of N(4, 1.25^2); its run writes `mapping.png`, the learned
# z -> G(z) beside the inverse CDF, and the two densities.

# %%
mapping_run = run("toy_gaussian1d", "gaussian1d", MAPPING, "--log_every_steps=0")
show(os.path.join(WORKDIR, "gaussian1d", "mapping.png"), width=720)

# %% [markdown]
# A G that matches the data's distribution need not learn F^{-1} itself: any map that pushes the
# uniform onto N(4, 1.25^2) does (a decreasing one mirrors it). At the full budget compare the
# learned curve's range and slope with the inverse CDF's.
#
# ## 12.2.4 Training GANs: k discriminator steps
#
# The chapter's minibatch algorithm updates D k times, each on its own real minibatch, for each
# update of G. In the library that is `GAN(..., d_steps=k)` or `--d_steps=k`; the WGAN-GP of
# lecture 003 uses k = 5.
#
# ## 12.3 The losses
#
# The chapter's three: the minimax loss, the modified (non-saturating) G loss and the Wasserstein
# loss with a clipped critic. Each is a pair of pure functions of D's logits in `losses.py`,
# registered by name; here they are on four fixed logits of fakes (lecture 004's notebook trains
# them all side by side):

# %%
fake_logits = tf.constant([[-4.0], [-1.0], [0.0], [2.0]])
for name in ("minimax", "non_saturating", "wasserstein"):
    print(f"{name:15s} G loss {float(losses.get(name).generator(fake_logits)):+.4f}")
print("the clipped critic: compile(..., loss='wasserstein', clip_value=0.01), as loss_wasserstein_fashion_mnist.cfg")

# %% [markdown]
# ## 12.4 Tutorial: the DCGAN
#
# The tutorial trains a DCGAN on CelebA faces at 64x64 (batch 128, Adam 2e-4 with beta1 0.5).
# CelebA is a download (`dcgan_celeba64.cfg` reads it from a folder); Fashion-MNIST stands in:
# `dcgan_fashion_mnist.cfg`, the project's default experiment, which trains at 64x64. Here it runs
# at 32x32 (`--image_size=32`: one block fewer in G and D, a quarter of the cost) with the
# tutorial's widths; at 64x64 with the widths halved instead, D won within 50 steps on both seeds
# tried and G never left noise (lecture 000's notebook). The tutorial's stats line comes every
# `--log_every_steps`, with D(G(z)) before and after D's update.
#
# | the tutorial's PyTorch (12.4.5) | the library |
# |---|---|
# | `netD.zero_grad()` ... `errD = errD_real + errD_fake`; `optimizerD.step()` | `GAN.train_step`'s D update (`d_optimizer`) |
# | `label.fill_(real_label)  # fake labels are real for generator cost`; `optimizerG.step()` | its G update with the non-saturating loss (`g_optimizer`) |
# | `print('[%d/%d][%d/%d]\tLoss_D: %.4f\tLoss_G: ...')` every 50 iterations | `callbacks.StatsLine` every `--log_every_steps` |
# | `G_losses.append(errG.item())`, `D_losses.append(errD.item())` | `callbacks.LossLog`: `losses.csv` and `losses.png` |
# | `img_list.append(vutils.make_grid(netG(fixed_noise)))`, the animation | `callbacks.SampleGrid`: `samples/epoch_NNNN.png`, `progress.gif` |
# | `torch.save(netG.state_dict(), ...)` | checkpoints every epoch and the SavedModel export |

# %%
dcgan = run("dcgan_fashion_mnist", "dcgan", DCGAN, f"--dataset={FACES}", f"--image_size={DCGAN_SIZE}",
            f"--g_width={DCGAN_WIDTH}", f"--d_width={DCGAN_WIDTH}", f"--batch_size={BATCH}",
            f"--log_every_steps={max(DCGAN[1] // 2, 1)}")

# %% [markdown]
# The tutorial's loss plot (`losses.png`, "Generator and Discriminator Loss During Training") and
# the D outputs:

# %%
show(os.path.join(WORKDIR, "dcgan", "losses.png"), width=560)
show(os.path.join(WORKDIR, "dcgan", "d_outputs.png"), width=560)

# %% [markdown]
# The animation of G's progression on fixed noise, one frame per epoch (`samples/progress.gif`):

# %%
show(os.path.join(WORKDIR, "dcgan", "samples", "progress.gif"), width=400)

# %% [markdown]
# Real images beside fake ones, the tutorial's last figure:

# %%
show(os.path.join(WORKDIR, "dcgan", "real_vs_fake.png"), width=720)

# %% [markdown]
# The tutorial saves G's weights and loads them back. A run checkpoints G, D and both optimizers
# every epoch and exports G as a SavedModel; `trained.load` reads either, and the same seed gives
# the same images:

# %%
from_checkpoint = trained.load(workdir=os.path.join(WORKDIR, "dcgan"))
from_export = trained.load(export_dir=dcgan.export_dir)
a, b = from_checkpoint.sample(4, seed=7), from_export.sample(4, seed=7)
print(from_checkpoint.description, "|", from_export.description)
print("same images from both:", np.allclose(a, b, atol=1e-5), a.shape)

# %% [markdown]
# ### 12.4.6 Handwritten digits
#
# The same DCGAN on MNIST, 64x64 with doubled channels and one input channel, is
# `dcgan_mnist64.cfg`: `python -m tfgan_course.train --flagfile=tfgan_course/configs/dcgan_mnist64.cfg
# --workdir=runs/dcgan_mnist64`.
#
# ## 12.5 The conditional DCGAN
#
# G gets the one-hot label as a 10x1x1 map into its own branch, D gets 10 label maps of 32x32
# beside the image (`cdcgan`, `cdcgan_mnist32.cfg`). The grid holds one row per digit: row c asks
# G for digit c.

# %%
cdcgan = run("cdcgan_mnist32", "cdcgan", CDCGAN, f"--dataset={DIGITS}", f"--g_width={WIDTH}", f"--d_width={WIDTH}",
             f"--batch_size={BATCH}", "--num_fixed_samples=100", "--log_every_steps=0")
show(os.path.join(WORKDIR, "cdcgan", "samples", f"epoch_{CDCGAN[0]:04d}.png"), width=400)

# %% [markdown]
# How different are a row's images? The pixel standard deviation across z within each digit,
# averaged over the digits, measures it; the same number for real digits says how much variety
# there is to capture:

# %%
def within_class_spread(images, labels):
    """Mean over classes of the per-pixel std across that class's images [N, H, W, C] in [-1, 1]."""
    return float(np.mean([images[labels == c].std(axis=0).mean() for c in np.unique(labels)]))


real_digits, real_labels = data.take(data.make_dataset(DIGITS, image_size=32, channels=1, batch_size=BATCH,
                                                       shuffle=False)[0], 2000)
labels = np.repeat(np.unique(real_labels), 50).astype("int32")  # 50 images of each digit
z = np.random.default_rng(0).standard_normal((len(labels), 100)).astype("float32")
fake_digits = np.asarray(cdcgan.model.generator([z, labels], training=False))
print(f"within-class spread: generated {within_class_spread(fake_digits, labels):.3f}, "
      f"real {within_class_spread(real_digits, real_labels):.3f}")

# %% [markdown]
# At this budget the rows hardly vary: the generated spread is a small fraction of the real one.
# G ignores z and draws one image per label, and several rows only roughly resemble their digit:
# mode collapse inside every class, the pathology lecture 004's notebook counts on the toy mixtures. (Starting BatchNorm's
# gamma at DCGAN's N(1, 0.02) instead of the textbook's N(0, 0.02) raised the spread about tenfold
# in a trial at this budget, still far below the real digits'.) The textbook trains 20 epochs of
# 60,000 digits with ngf = ndf = 128, about 15 times these steps on 4 times the widths:
# `python -m tfgan_course.train --flagfile=tfgan_course/configs/cdcgan_mnist32.cfg` with MNIST's
# full training set (`--dataset=idx:DIR`).

# %% [markdown]
# ## 12.6 GAN variations
#
# - 12.6.2 Conditional GANs: above, and lecture 003's MLP cGAN.
# - 12.6.3 Image-to-image translation (pix2pix): `--model=unet` on paired data,
#   `pix2pix_edges_fashion_mnist.cfg` (edges -> garment), `pix2pix_emoji_twitter_google.cfg`.
# - 12.6.4 CycleGAN: `--model=resnet` on unpaired data, `cyclegan_sneaker_boot.cfg`,
#   `cyclegan_digits_font.cfg`.
# - 12.6.5 Super-resolution (SRGAN): `--model=srresnet` on `lowres:F:SPEC` pairs (the image
#   downsampled F times beside it), `srresnet_fashion_mnist_4x.cfg` (the MSE pre-training, 7x7 ->
#   28x28) and `srgan_fashion_mnist_4x.cfg` (adversarial, started from it); `evaluate` scores them
#   beside bicubic upsampling with PSNR, SSIM, classifier accuracy and FID.
# - 12.6.1 Progressive GANs: `--model=pggan`, `pggan_fashion_mnist.cfg` (7x7 -> 14x14 -> 28x28,
#   new blocks faded in, a grid per phase in `samples/`).
# - 12.6.6 Inpainting: `python -m tfgan_course.inpaint --workdir=RUN` fills a hole in test images
#   with any trained image GAN (Yeh et al.'s semantic inpainting: a search for the z whose G(z)
#   matches the known pixels and looks real to D), scored beside mean and diffusion fills; the
#   context encoder (`context_encoder_fashion_mnist.cfg`, Pathak et al.) learns to fill the hole.
# - 12.6.7 Text-to-image: StackGAN-lite, `stackgan_fashion_mnist.cfg` on `captions:fashion_mnist`
#   (captions measured on each image), scored by the prompted class and attributes.
#   Text-to-speech (12.6.8) is not an image GAN and is not planned.
#
# ## 12.7 Common challenges
#
# - 12.7.1 Vanishing gradients: lecture 001's notebook plots both G losses' gradients against
#   D(G(z)).
# - 12.7.2 Mode collapse: lecture 004's notebook counts the modes captured on ring-8 and grid-25,
#   with the Wasserstein loss, the unrolled GAN and other remedies.
# - 12.7.3 Evaluation: `python -m tfgan_course.evaluate --workdir=RUN` scores a run with FID, KID,
#   precision and recall in a classifier's feature space (lecture 004's notebook uses it).
