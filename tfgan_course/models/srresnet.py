"""SRResNet, the SRGAN paper's generator (Ledig et al., 2017), and SRGAN's discriminator sized for small images.

G, for a scale s = 2^n (the paper's s = 4, 16 blocks of 64 filters):

  k9n64 PReLU -> B x [k3n64 BN PReLU k3n64 BN, + input] -> k3n64 BN, + the first layer's output
    -> n x [k3n256, depth_to_space 2 (sub-pixel: 256 channels become a 2x2 block of 64), PReLU]
    -> k9 C_out, tanh

Every convolution is "same"-padded and there is no dense layer, so G takes images of any H and W
(the export's `upscale` signature relies on it). The global skip makes the blocks learn the
residual detail over the first layer's features; sub-pixel convolution (Shi et al., 2016) upsamples
without the checkerboard artefacts of transposed convolutions. BatchNorm is in inference mode when
served (`training=False`), so an image's output does not depend on its batch.

D judges the high-resolution image alone (SRGAN's D is unconditional):

  k3n(w) s1 LReLU -> k3n(w) s2 BN LReLU -> [k3n(2^i w) s1, k3n(2^i w) s2] BN LReLU for i = 1 .. n_down - 1
    -> Dense 1024 LReLU -> Dense 1 (a logit)

with n_down stride-2 layers, as many as keep the smallest map at least MIN_MAP pixels and at most
the paper's 4 (96 px -> 6x6): 28 px -> 3 (14, 7, 4), the paper's widths 64, 64, 128, 128, 256, 256.
"""

import keras
from keras import layers

from tfgan_course.models import dcgan, image_layers

DEFAULT_WIDTH = 64
KIND = "upscaler"
OPTIONS = {"resnet_blocks": "blocks"}  # flag -> generator argument (models.build_translator)
D_OPTIONS = {}  # No PatchGAN: --patch_size is not D's option here.
DEFAULT_BLOCKS = 8  # 16 in the paper (--resnet_blocks=16); 8 fits a CPU.
SCALES = (2, 4, 8)  # Powers of two: one sub-pixel x2 stage each.
MAX_DOWN = 4  # The paper's D: 96 px -> 6x6.
MIN_MAP = 4
D_DENSE = 1024


def _prelu(name):
    # PyTorch's nn.PReLU start (0.25), one slope per channel as the paper's figure has.
    return layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25), shared_axes=[1, 2], name=name)


def _conv(h, filters, kernel, seed, i, name):
    return layers.Conv2D(filters, kernel, 1, "same", kernel_initializer=keras.initializers.HeNormal(
        None if seed is None else seed + i), name=name)(h)


def generator(image_shape, output_channels, width=DEFAULT_WIDTH, seed=None, blocks=DEFAULT_BLOCKS, scale=4):
    """images float32 [B, h, w, Cin] in [-1, 1] -> images float32 [B, scale h, scale w, output_channels] in [-1, 1].

    Args:
      image_shape: (h, w, Cin) of the low-resolution input the model is built for (any h, w run).
      output_channels: Cout.
      width: filters of the residual trunk (64 in the paper); the sub-pixel layers have 4x.
      seed: int seed of the He-normal initialisers, or None.
      blocks: residual blocks, >= 1 (16 in the paper).
      scale: the upscaling factor, one of SCALES.
    """
    if blocks < 1:
        raise ValueError(f"--resnet_blocks must be >= 1 (16 in the SRGAN paper), got {blocks}.")
    if scale not in SCALES:
        raise ValueError(f"SRResNet upscales by {', '.join(map(str, SCALES))}, not {scale}: use lowres:4:SPEC or "
                         "lowres:2:SPEC data.")
    images = keras.Input(tuple(image_shape), name="images")
    h = _prelu("prelu_in")(_conv(images, width, 9, seed, 0, "conv_in"))
    trunk = h
    i = 1
    for block in range(blocks):
        r = _prelu(f"block{block}_prelu")(dcgan.batch_norm(seed, i, f"block{block}_bn0")(
            _conv(h, width, 3, seed, i, f"block{block}_conv0")))
        r = dcgan.batch_norm(seed, i + 1, f"block{block}_bn1")(_conv(r, width, 3, seed, i + 1, f"block{block}_conv1"))
        h = layers.Add(name=f"block{block}")([h, r])
        i += 2
    h = dcgan.batch_norm(seed, i, "trunk_bn")(_conv(h, width, 3, seed, i, "trunk_conv"))
    h = layers.Add(name="global_skip")([trunk, h])
    for stage in range(scale.bit_length() - 1):
        h = _conv(h, 4 * width, 3, seed, i + 1 + stage, f"upsample{stage}_conv")
        h = image_layers.DepthToSpace(2, name=f"upsample{stage}")(h)
        h = _prelu(f"upsample{stage}_prelu")(h)
    h = _conv(h, output_channels, 9, seed, i + 1 + scale.bit_length(), "conv_out")
    outputs = layers.Activation("tanh", dtype="float32", name="upscaled")(h)
    return keras.Model(images, outputs, name="srresnet_generator")


def down_layers(image_shape):
    """The stride-2 layers of D for (H, W, C) images: up to MAX_DOWN, the smallest map at least MIN_MAP."""
    side, count = min(image_shape[:2]), 0
    while count < MAX_DOWN and -(-side // 2 ** (count + 1)) >= MIN_MAP:
        count += 1
    if not count:
        raise ValueError(f"SRGAN's discriminator needs images of at least {2 * MIN_MAP}x{2 * MIN_MAP}, got "
                         f"{image_shape[0]}x{image_shape[1]}: raise --image_size.")
    return count


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """images float32 [B, H, W, C] in [-1, 1] -> logits float32 [B, 1] (module docstring).

    Args:
      image_shape: (H, W, C), the high-resolution images (G's outputs and the targets).
      width: the first layers' filters (64 in the paper).
      seed: int seed of the N(0, 0.02) initialisers, or None.
    """
    images = keras.Input(tuple(image_shape), name="images")
    plan = [(width, 2)] + [(width * 2 ** level, stride) for level in range(1, down_layers(image_shape))
                           for stride in (1, 2)]
    h = layers.LeakyReLU(0.2, name="lrelu_in")(layers.Conv2D(
        width, 3, 1, "same", kernel_initializer=dcgan.kernel_init(seed, 0), name="conv_in")(images))
    for i, (filters, stride) in enumerate(plan, start=1):
        h = layers.Conv2D(filters, 3, stride, "same", use_bias=False, kernel_initializer=dcgan.kernel_init(seed, i),
                          name=f"conv{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"lrelu{i}")(dcgan.batch_norm(seed, i, f"bn{i}")(h))
    h = layers.Flatten(name="flatten")(h)
    h = layers.LeakyReLU(0.2, name="lrelu_dense")(layers.Dense(
        D_DENSE, kernel_initializer=dcgan.kernel_init(seed, len(plan) + 1), name="dense")(h))
    logits = layers.Dense(1, dtype="float32", kernel_initializer=dcgan.kernel_init(seed, len(plan) + 2),
                          name="logits")(h)
    return keras.Model(images, logits, name="srgan_discriminator")
