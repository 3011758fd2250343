"""The textbook's conditional DCGAN on MNIST (chapter 12, section 12.5.2), as its PyTorch code.

z and the one-hot label y each go through their own first layer; the two maps
are concatenated and continue as in DCGAN. D sees y as a one-hot *map*
[B, H, W, classes] (the textbook's `fill`: channel y all ones). For 32x32
(nz=100, ngf=ndf=128, 10 classes):

  G: z -> 4x4x(2ngf) | y -> 4x4x(2ngf) -> concat 4x4x(4ngf) -> 8x8x(2ngf) -> 16x16x(ngf) -> 32x32xC
  D: x -> 16x16x(ndf/2) | y map -> 16x16x(ndf/2) -> concat 16x16x(ndf) -> 8x8x(2ndf) -> 4x4x(4ndf) -> 1

Unlike `dcgan`, every convolution has a bias (PyTorch's default, which the
textbook keeps). Weights N(0, 0.02) and BatchNorm gamma N(0, 0.02) as the
textbook's `weights_init` draws them (its comment notes that the original
DCGAN uses N(1, 0.02)), so G's first outputs are tiny. Biases start at 0: the
printed `weights_init` zeroes `bias`, though its lost indentation may mean
BatchNorm's only, which would leave PyTorch's uniform default on the convolutions. Other sizes follow `dcgan`'s rule
(smallest map 4x4 or 7x7, k stride-2 layers): each branch has ngf*2^(k-2)
channels, halving per block down to ngf, and D mirrors G.
"""

import keras
from keras import layers

from tfgan_course.models import cmlp, dcgan

DEFAULT_WIDTH = 128
KIND = "conditional"
# The textbook's weights_init: BatchNorm gamma ~ N(0, 0.02), not DCGAN's N(1, 0.02).
_GAMMA_MEAN = 0.0


def _conv(transposed, filters, kernel, stride, padding, seed, i, name):
    """Conv2D or Conv2DTranspose with a zero-initialised bias, kernel N(0, 0.02) seeded by seed + i."""
    conv = layers.Conv2DTranspose if transposed else layers.Conv2D
    return conv(filters, kernel, stride, padding, use_bias=True, bias_initializer="zeros",
                kernel_initializer=dcgan.kernel_init(seed, i), name=name)


def _batch_norm(seed, i, name):
    return dcgan.batch_norm(seed, i, name, gamma_mean=_GAMMA_MEAN)


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None, num_classes=10):
    """[z float32 [B, latent_dim], label int32 [B] in [0, num_classes)] -> images float32 [B, H, W, C] in [-1, 1]."""
    _, channels, start, num_up = dcgan.layout(image_shape, "cdcgan")
    z = keras.Input((latent_dim,), name="z")
    label = cmlp.label_input()
    filters = width * 2 ** num_up // 4  # per branch: 2ngf for 32x32
    branches = []
    for i, (x, depth) in enumerate(((z, latent_dim), (keras.ops.one_hot(label, num_classes), num_classes))):
        name = f"deconv1_{i + 1}"
        h = layers.Reshape((1, 1, depth), name=f"{name}_input")(x)
        h = _conv(True, filters, start, 1, "valid", seed, i, name)(h)
        h = _batch_norm(seed, i, f"{name}_bn")(h)
        branches.append(layers.ReLU(name=f"{name}_relu")(h))
    h = layers.Concatenate(name="concat")(branches)
    filters *= 2  # both branches
    for i in range(2, num_up + 2):
        last = i == num_up + 1
        filters = channels if last else filters // 2
        h = _conv(True, filters, 4, 2, "same", seed, i, f"deconv{i}")(h)
        if not last:
            h = _batch_norm(seed, i, f"deconv{i}_bn")(h)
            h = layers.ReLU(name=f"deconv{i}_relu")(h)
    images = layers.Activation("tanh", dtype="float32", name="images")(h)
    return keras.Model([z, label], images, name="cdcgan_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None, num_classes=10):
    """[images float32 [B, H, W, C], label int32 [B] in [0, num_classes)] -> logits float32 [B, 1]."""
    size, _, start, num_down = dcgan.layout(image_shape, "cdcgan")
    images = keras.Input(image_shape, name="images")
    label = cmlp.label_input()
    # The one-hot label broadcast over H and W (the textbook's `fill`): a
    # 1x1 map upsampled by nearest neighbours is that constant map.
    label_map = layers.Reshape((1, 1, num_classes), name="label_vector")(keras.ops.one_hot(label, num_classes))
    label_map = layers.UpSampling2D(size, name="label_map")(label_map)
    branches = []
    for i, x in enumerate((images, label_map)):
        name = f"conv1_{i + 1}"
        h = _conv(False, width // 2, 4, 2, "same", seed, i, name)(x)
        branches.append(layers.LeakyReLU(0.2, name=f"{name}_lrelu")(h))
    h = layers.Concatenate(name="concat")(branches)
    filters = width
    for i in range(2, num_down + 1):
        filters *= 2
        h = _conv(False, filters, 4, 2, "same", seed, i, f"conv{i}")(h)
        h = _batch_norm(seed, i, f"conv{i}_bn")(h)
        h = layers.LeakyReLU(0.2, name=f"conv{i}_lrelu")(h)
    h = _conv(False, 1, start, 1, "valid", seed, num_down + 1, f"conv{num_down + 1}")(h)
    logits = layers.Flatten(dtype="float32", name="logits")(h)
    return keras.Model([images, label], logits, name="cdcgan_discriminator")
