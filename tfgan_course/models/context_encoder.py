"""The context encoder (Pathak et al., 2016), sized for small images, and its discriminator.

G takes an image with missing pixels and its mask, and predicts the whole image:

  [images, mask] -> MeanFill: the hole filled with the training split's mean image, the mask appended
      as a channel ([B, H, W, C + 1]; on Fashion-MNIST a -1 fill would look like the black background)
    -> n_down x [k4 s2 conv (w, 2w, 4w, ...), BN (not the first), LeakyReLU 0.2]      encoder
    -> channel-wise fully connected (each channel's h x w map to a new h x w map), then a 1x1
       convolution (the paper's stride-1 convolution that mixes the channels), BN, ReLU   bottleneck
    -> n_down x [k4 s2 transposed conv, BN, ReLU], the last to C channels and tanh       decoder

n_down is DCGAN's for the side (`dcgan.layout`): 28 px -> 2 (14, 7), 32 -> 3, 64 -> 4. No skip
connections: as in the paper, what fills the hole has to pass through the bottleneck, where the
channel-wise layer connects every position of a feature map to every other at a fraction of a dense
layer's weights (C h^2 w^2 instead of C^2 h^2 w^2). The mean image is a weight of G (non-trainable,
set once from the training data before the first step), so checkpoints and exports carry it.

D (`discriminator`) is DCGAN's on the completed image with the mask as an extra channel,
[B, H, W, C + 1] -> logits [B, 1]: it judges the filled hole in its context and knows where it is.
"""

import keras
import tensorflow as tf
from keras import layers

from tfgan_course.models import dcgan

DEFAULT_WIDTH = 64
KIND = "inpainter"


@keras.saving.register_keras_serializable(package="tfgan_course")
class MeanFill(layers.Layer):
    """[images [B, H, W, C], mask [B, H, W, 1] (1 = missing)] -> [B, H, W, C + 1]: the missing pixels replaced
    by `mean_image` (a non-trainable weight [H, W, C], zeros until set), the mask appended as a channel."""

    def __init__(self, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.mean_image = self.add_weight(name="mean_image", shape=self.image_shape, initializer="zeros",
                                          trainable=False)

    def call(self, inputs):
        images, mask = inputs
        mask = tf.cast(mask, images.dtype)
        mean = tf.cast(self.mean_image, images.dtype)
        return tf.concat([images * (1.0 - mask) + mean * mask, mask], axis=-1)

    def compute_output_shape(self, input_shape):
        images_shape, _ = input_shape
        return (*images_shape[:-1], images_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "image_shape": self.image_shape}


@keras.saving.register_keras_serializable(package="tfgan_course")
class ChannelwiseDense(layers.Layer):
    """The paper's channel-wise fully connected layer: [B, h, w, C] -> [B, h, w, C], each channel's h w values
    mapped to h w new ones by that channel's own dense weights [h w, h w] (no mixing across channels)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def build(self, input_shape):
        _, height, width, channels = input_shape
        size = height * width
        self.kernel = self.add_weight(name="kernel", shape=(channels, size, size),
                                      initializer=keras.initializers.GlorotUniform(self.seed))
        self.bias = self.add_weight(name="bias", shape=(channels, size), initializer="zeros")

    def call(self, inputs):
        _, height, width, channels = inputs.shape
        flat = tf.reshape(inputs, [-1, height * width, channels])
        mapped = tf.einsum("bnc,cnm->bmc", flat, tf.cast(self.kernel, inputs.dtype))
        mapped += tf.transpose(tf.cast(self.bias, inputs.dtype))
        return tf.reshape(mapped, [-1, height, width, channels])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def generator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """[images float32 [B, H, W, C] in [-1, 1], mask float32 [B, H, W, 1]] -> images float32 [B, H, W, C] in [-1, 1].

    The output is G's prediction of the whole image; the inpainting keeps only its hole
    (`inpainting.composite`), training weighs the hole and a band of context around it.

    Args:
      image_shape: (H, W, C), square, side 4 * 2^k or 7 * 2^k (DCGAN's sizes: 28, 32, 64, ...).
      width: the first convolution's filters (64 as the paper's first layers); doubling per stride-2 layer.
      seed: int seed of the initialisers, or None.
    """
    _, channels, _, num_down = dcgan.layout(tuple(image_shape), "context_encoder")
    images = keras.Input(tuple(image_shape), name="images")
    mask = keras.Input((*image_shape[:2], 1), name="mask")
    h = MeanFill(image_shape, name="mean_fill")([images, mask])
    for i in range(num_down):
        h = layers.Conv2D(width * 2 ** i, 4, 2, "same", use_bias=i == 0, kernel_initializer=dcgan.kernel_init(seed, i),
                          name=f"conv{i}")(h)
        if i:
            h = dcgan.batch_norm(seed, i, f"bn{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"lrelu{i}")(h)
    h = ChannelwiseDense(seed=None if seed is None else seed + num_down, name="channelwise")(h)
    h = layers.Conv2D(width * 2 ** (num_down - 1), 1, 1, use_bias=False,
                      kernel_initializer=dcgan.kernel_init(seed, num_down), name="mix")(h)
    h = layers.ReLU(name="relu_mix")(dcgan.batch_norm(seed, num_down, "bn_mix")(h))
    for i in range(num_down):
        last = i == num_down - 1
        index = num_down + 1 + i
        h = layers.Conv2DTranspose(channels if last else width * 2 ** (num_down - 2 - i), 4, 2, "same",
                                   use_bias=last, kernel_initializer=dcgan.kernel_init(seed, index),
                                   name=f"deconv{i}")(h)
        if not last:
            h = layers.ReLU(name=f"relu{i}")(dcgan.batch_norm(seed, index, f"bn_up{i}")(h))
    outputs = layers.Activation("tanh", dtype="float32", name="inpainted")(h)
    return keras.Model([images, mask], outputs, name="context_encoder_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """[B, H, W, C + 1] (the completed images and their mask) -> logits float32 [B, 1]: DCGAN's D.

    Args:
      image_shape: (H, W, C + 1): the images' shape with the mask's channel.
      width: ndf; seed: as DCGAN's.
    """
    return dcgan.discriminator(tuple(image_shape), width, seed=seed)
