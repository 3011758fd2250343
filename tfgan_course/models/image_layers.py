"""The layers the image-to-image networks share: instance normalisation, reflection padding, sub-pixel shuffling.

All act on one image at a time, so a translator's output for an image never
depends on the other images of its batch (a served image on other users').
"""

import keras
import tensorflow as tf
from keras import layers


def instance_norm(name):
    """Instance normalisation (Ulyanov et al., 2016): each image's channels to mean 0, variance 1 over H, W.

    Keras 3 has no InstanceNormalization; GroupNormalization with one group per
    channel is it. No affine part, as PyTorch's InstanceNorm2d(affine=False)
    that pix2pix and CycleGAN use.
    """
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False, name=name)


@keras.saving.register_keras_serializable(package="tfgan_course")
class ReflectionPadding2D(layers.Layer):
    """Pads H and W by mirroring the image ([B, H, W, C] -> [B, H + 2p, W + 2p, C]); p < H, W.

    CycleGAN pads this way before its 7x7 and residual convolutions: zeros
    would draw a dark frame that the generator learns to paint over.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        height, width = (None if side is None else side + 2 * self.padding for side in (height, width))
        return batch, height, width, channels

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="tfgan_course")
class DepthToSpace(layers.Layer):
    """Sub-pixel shuffling (Shi et al., 2016): [B, H, W, r^2 C] -> [B, r H, r W, C], `tf.nn.depth_to_space`.

    Each pixel's r^2 C channels become an r x r block of C: a convolution before it learns r^2
    sub-pixel filters, an upsampling without the uneven overlaps of a transposed convolution.
    """

    def __init__(self, block_size=2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        r = self.block_size
        height, width = (None if side is None else side * r for side in (height, width))
        return batch, height, width, channels // (r * r)

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}
