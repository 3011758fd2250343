"""InfoGAN's MNIST networks (Chen et al., 2016, appendix C.1, table 1).

G's input z is [noise, codes]: the caller concatenates the noise with
`num_categories` one-hot categorical and `num_continuous` continuous codes
(62 + 10 + 2 = 74 on MNIST). D and the auxiliary Q network share a body; D's
head gives the real/fake logit, Q's head the codes' posterior: logits of the
categorical code and the mean of the continuous codes. With w = 64, 28x28:

  G: z -> FC 1024 -> FC 7x7x(2w) -> upconv 14x14x(w) -> upconv 28x28xC (tanh)
  D: x -> conv 14x14x(w) -> conv 7x7x(2w) -> FC 1024 -> {D: FC 1; Q: FC 128 -> FC codes}

4x4 kernels with stride 2; BatchNorm after every layer but D's first and the
outputs; ReLU in G, LeakyReLU 0.1 in D and Q. The paper builds on DCGAN and
does not give its initialisation: weights are DCGAN's N(0, 0.02) here.
"""

import keras
from keras import layers

from tfgan_course.models import dcgan

DEFAULT_WIDTH = 64
KIND = "infogan"
_FC_UNITS = 1024
_Q_UNITS = 128


def check_codes(num_categories, num_continuous):
    """(num_categories, num_continuous) as ints, or a ValueError when there is no code."""
    num_categories, num_continuous = int(num_categories), int(num_continuous)
    if num_categories < 0 or num_continuous < 0 or num_categories + num_continuous == 0:
        raise ValueError(
            f"--model=infogan needs latent codes: codes=(num_categories, num_continuous) >= 0 with at least "
            f"one > 0 (MNIST: (10, 2)), got ({num_categories}, {num_continuous}).")
    return num_categories, num_continuous


def _quarter(image_shape):
    height, width, channels = image_shape
    if height % 4 or width % 4:
        raise ValueError(f"infogan needs an image height and width divisible by 4, got {height}x{width}.")
    return height // 4, width // 4, channels


def _layer(kind, units, seed, i, name, **kwargs):
    """A Dense, Conv2D or Conv2DTranspose layer with DCGAN's N(0, 0.02) weights seeded by seed + i.

    Without a bias unless asked for: BatchNorm's beta replaces it.
    """
    kwargs.setdefault("use_bias", False)
    return kind(units, kernel_initializer=dcgan.kernel_init(seed, i), name=name, **kwargs)


def _bn_act(h, seed, i, name, alpha=None):
    """BatchNorm then ReLU (alpha None) or LeakyReLU(alpha)."""
    h = dcgan.batch_norm(seed, i, f"{name}_bn")(h)
    return layers.ReLU(name=f"{name}_relu")(h) if alpha is None else layers.LeakyReLU(alpha, name=f"{name}_lrelu")(h)


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None):
    """z float32 [B, latent_dim] ([noise, codes], the full input size) -> images float32 [B, H, W, C] in [-1, 1]."""
    rows, cols, channels = _quarter(image_shape)
    z = keras.Input((latent_dim,), name="z")
    h = _bn_act(_layer(layers.Dense, _FC_UNITS, seed, 0, "fc1")(z), seed, 0, "fc1")
    h = _bn_act(_layer(layers.Dense, rows * cols * 2 * width, seed, 1, "fc2")(h), seed, 1, "fc2")
    h = layers.Reshape((rows, cols, 2 * width), name="fc2_map")(h)
    h = _layer(layers.Conv2DTranspose, width, seed, 2, "deconv1", kernel_size=4, strides=2, padding="same")(h)
    h = _bn_act(h, seed, 2, "deconv1")
    h = _layer(layers.Conv2DTranspose, channels, seed, 3, "deconv2", kernel_size=4, strides=2, padding="same",
               use_bias=True)(h)
    images = layers.Activation("tanh", dtype="float32", name="images")(h)
    return keras.Model(z, images, name="infogan_generator")


def _head(h, units, seed, i, name):
    """Dense(units) float32 [B, units]; [B, 0] when there is no such code."""
    if units:
        return _layer(layers.Dense, units, seed, i, name, use_bias=True, dtype="float32")(h)
    # Keras has no Dense(0); an empty slice keeps the three outputs' layout.
    return layers.Identity(dtype="float32", name=name)(h[:, :0])


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None, num_categories=10, num_continuous=2):
    """images float32 [B, H, W, C] -> [logits [B, 1], code_logits [B, num_categories], code_mean [B, num_continuous]].

    All float32. `logits` is D's real/fake logit; `code_logits` are Q's logits
    of the categorical code (softmax inside the loss) and `code_mean` Q's
    estimate of the continuous codes (a fixed-variance Gaussian's mean).
    """
    num_categories, num_continuous = check_codes(num_categories, num_continuous)
    _quarter(image_shape)
    images = keras.Input(image_shape, name="images")
    h = _layer(layers.Conv2D, width, seed, 0, "conv1", kernel_size=4, strides=2, padding="same", use_bias=True)(images)
    h = layers.LeakyReLU(0.1, name="conv1_lrelu")(h)  # No BatchNorm on D's input layer, as DCGAN.
    h = _layer(layers.Conv2D, 2 * width, seed, 1, "conv2", kernel_size=4, strides=2, padding="same")(h)
    h = _bn_act(h, seed, 1, "conv2", alpha=0.1)
    h = layers.Flatten(name="flatten")(h)
    shared = _bn_act(_layer(layers.Dense, _FC_UNITS, seed, 2, "fc1")(h), seed, 2, "fc1", alpha=0.1)
    logits = _head(shared, 1, seed, 3, "logits")
    q = _bn_act(_layer(layers.Dense, _Q_UNITS, seed, 4, "q_fc")(shared), seed, 4, "q_fc", alpha=0.1)
    code_logits = _head(q, num_categories, seed, 5, "code_logits")
    code_mean = _head(q, num_continuous, seed, 6, "code_mean")
    return keras.Model(images, [logits, code_logits, code_mean], name="infogan_discriminator")
