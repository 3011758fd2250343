"""CycleGAN's ResNet generator (Zhu et al., 2017, after Johnson et al., 2016) and a PatchGAN discriminator.

  c7s1-w - d2w - d4w - R4w x blocks - u2w - uw - c7s1-Cout, tanh

c7s1-k: reflection padding 3, a 7x7 convolution of k filters, instance norm,
ReLU; dk: a 3x3 convolution of stride 2 (padding 1), instance norm, ReLU; Rk:
a residual block of two reflection-padded 3x3 convolutions with instance norm
(ReLU between them), added to its input; uk: a 3x3 transposed convolution of
stride 2, instance norm, ReLU. The paper uses 6 blocks at 128x128 and 9 at
256x256 (`--resnet_blocks`). Two downsamplings: H and W divisible by 4, and
at least 8, so the smallest map can be reflection-padded.

D is the 70x70 PatchGAN (`patchgan.py`) on single images of one domain.
"""

import keras
from keras import layers

from tfgan_course.models import dcgan, image_layers, patchgan

DEFAULT_WIDTH = 64
KIND = "translator"
OPTIONS = {"resnet_blocks": "blocks"}  # flag -> generator argument (models.build_translator)
D_OPTIONS = {"patch_size": "receptive_field"}  # flag -> the PatchGAN's argument
SCALES = (1,)  # Keeps the image size.
DEFAULT_BLOCKS = 6
_DOWNSAMPLINGS = 2


def check_size(image_shape):
    """Raises ValueError unless (H, W, C) images fit: H and W divisible by 4 and >= 8."""
    height, width = image_shape[:2]
    factor = 2 ** _DOWNSAMPLINGS
    if height % factor or width % factor or min(height, width) < 2 * factor:
        raise ValueError(f"The ResNet generator downsamples twice: it needs H and W divisible by {factor} and at "
                         f"least {2 * factor}, got {height}x{width}: use --image_size="
                         f"{max(2 * factor, -(-max(height, width) // factor) * factor)}.")


def _conv_block(h, filters, kernel, stride, seed, i, transposed=False, relu=True):
    """Convolution (reflection-padded when stride 1), instance norm, ReLU."""
    if transposed:
        h = layers.Conv2DTranspose(filters, kernel, stride, "same", kernel_initializer=dcgan.kernel_init(seed, i),
                                   name=f"conv{i}")(h)
    else:
        padding = "same"
        if stride == 1:
            h = image_layers.ReflectionPadding2D(kernel // 2, name=f"pad{i}")(h)
            padding = "valid"
        h = layers.Conv2D(filters, kernel, stride, padding, kernel_initializer=dcgan.kernel_init(seed, i),
                          name=f"conv{i}")(h)
    h = image_layers.instance_norm(f"norm{i}")(h)
    return layers.ReLU(name=f"relu{i}")(h) if relu else h


def generator(image_shape, output_channels, width=DEFAULT_WIDTH, seed=None, blocks=DEFAULT_BLOCKS):
    """images float32 [B, H, W, Cin] in [-1, 1] -> images float32 [B, H, W, output_channels] in [-1, 1].

    Args:
      image_shape: (H, W, Cin); H and W divisible by 4, at least 8.
      output_channels: Cout.
      width: the first layer's filters (ngf, 64 in the paper).
      seed: int seed of the N(0, 0.02) initialisers, or None.
      blocks: residual blocks, >= 1 (6 or 9 in the paper).
    """
    check_size(image_shape)
    if blocks < 1:
        raise ValueError(f"--resnet_blocks must be >= 1 (6 or 9 in the paper), got {blocks}.")
    images = keras.Input(tuple(image_shape), name="images")
    h = _conv_block(images, width, 7, 1, seed, 0)
    for i in range(1, _DOWNSAMPLINGS + 1):
        h = _conv_block(h, width * 2 ** i, 3, 2, seed, i)
    filters, i = width * 2 ** _DOWNSAMPLINGS, _DOWNSAMPLINGS + 1
    for block in range(blocks):
        residual = _conv_block(h, filters, 3, 1, seed, i)
        residual = _conv_block(residual, filters, 3, 1, seed, i + 1, relu=False)
        h = layers.Add(name=f"residual{block}")([h, residual])
        i += 2
    for up in range(_DOWNSAMPLINGS):
        h = _conv_block(h, width * 2 ** (_DOWNSAMPLINGS - 1 - up), 3, 2, seed, i + up, transposed=True)
    h = image_layers.ReflectionPadding2D(3, name="pad_out")(h)
    h = layers.Conv2D(output_channels, 7, 1, "valid", kernel_initializer=dcgan.kernel_init(seed, i + _DOWNSAMPLINGS),
                      name="conv_out")(h)
    outputs = layers.Activation("tanh", dtype="float32", name="translated")(h)
    return keras.Model(images, outputs, name="resnet_generator")


# A PatchGAN: [B, H, W, C] -> logits [B, h, w, 1] (pix2pix's C = Cin + Cout, the caller concatenates).
discriminator = patchgan.discriminator
