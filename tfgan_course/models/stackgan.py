"""StackGAN-lite (Zhang et al., 2017), text to image at 28x28: a text encoder, conditioning augmentation,
a Stage-I generator at half size, a Stage-II refiner to full size, and matching-aware discriminators.

  text encoder  caption string [B] -> TextVectorization (the training captions' vocabulary; padding 0,
                unknown words the out-of-vocabulary token 1) -> in training, WORD_DROPOUT of the words
                replaced by the OOV token -> Embedding -> attention pooling over the words -> Dense +
                LeakyReLU: e float32 [B, EMBEDDING_DIM]
  CA            e -> Dense mu, Dense log sigma [B, code_dim]; c = mu + sigma * eps, eps = z[:, :code_dim]
  Stage-I       [c, z[:, code_dim:]] -> Dense 7x7x4w -> up 14x14x2w -> 3x3 conv -> tanh: [B, H/2, W/2, C]
  Stage-II      the Stage-I image -> 3x3 conv w -> down 7x7x2w -> concat c tiled over 7x7 -> 3x3 conv
                -> RESIDUAL_BLOCKS residual blocks -> up 14x14xw -> up 28x28xw/2 -> 3x3 conv -> tanh:
                [B, H, W, C]
  D             [images [B, H, W, C], stage1_images [B, H/2, W/2, C], text] -> D's own text encoder e ->
                per stage: image features phi(x) from two stride-2 4x4 convs (w, 2w) and a 3x3 conv (4w),
                BatchNorm after all but the first, LeakyReLU; logits float32 [B, 1] = the joint term
                (Dense(e) tiled beside phi(x), 1x1 conv, Dense: StackGAN's) + the projection term
                <flatten(phi(x)), P e> (Miyato & Koyama, 2018); outputs [logits, stage1_logits]

The text encoder's two departures from a plain mean of word embeddings make it read prompts it never
trained on: the mean weighs the class word by 1 / (words in the caption), so longer phrasings dilute
it, where attention pooling learns which words carry the content; and the OOV token never occurs in
the training captions, so without word dropout its embedding stays at its random start and shifts
every held-out prompt that has a new word. The projection term makes D score the match of text and
image as a product of the two (the joint term alone let D check the shade of the ink but hardly the
class).

Conditioning augmentation's noise is part of z (its first code_dim entries), so a seed names one
image for one prompt, as for every other generator of the project. G and D each own a text encoder,
trained with the network that holds it: G's by G's loss (through D's judgement of the match), D's by
the matching-aware loss. `generator` answers the final images only (the export's network);
`stages(generator)` is the same network with every output the training step needs.
Widths: w = `width` (DEFAULT_WIDTH). D's BatchNorm sees the matched, mismatched and fake batches
separately (StackGAN's D, and DCGAN's practice); the text enters after it, so a matched and a
mismatched batch of the same images normalise alike.
"""

import keras
from keras import layers

from tfgan_course.models import dcgan

DEFAULT_WIDTH = 32
KIND = "text"
MAX_WORDS = 16  # Longer prompts are cut: a caption is about ten words.
EMBEDDING_DIM = 128
WORD_DIM = 64
D_TEXT_DIM = 32  # D's text embedding, compressed before it is tiled beside the image features.
WORD_DROPOUT = 0.25  # As the deep averaging networks of Iyyer et al. (2015) drop words, here into the OOV token.
RESIDUAL_BLOCKS = 2
# The outputs `stages` exposes, by layer name.
STAGE_OUTPUTS = ("images", "stage1_images", "ca_mu", "ca_log_sigma")


def text_encoder(vocabulary, seed=None, name="text_encoder") -> keras.Model:
    """text string [B] -> float32 [B, EMBEDDING_DIM]: TextVectorization, word dropout (training only),
    Embedding, attention pooling over the words, Dense."""
    text = keras.Input((), dtype="string", name="text")
    vectorize = layers.TextVectorization(vocabulary=list(vocabulary), output_sequence_length=MAX_WORDS,
                                         name=f"{name}_words")
    words = WordDropout(WORD_DROPOUT, seed=seed, name=f"{name}_word_dropout")(vectorize(text))
    embedded = layers.Embedding(vectorize.vocabulary_size(), WORD_DIM, mask_zero=True,
                                embeddings_initializer=keras.initializers.RandomNormal(0.0, 0.1, seed=seed),
                                name=f"{name}_embedding")(words)
    pooled = AttentionPooling(seed=seed, name=f"{name}_attention")(embedded)  # Over the words, not the padding.
    h = layers.Dense(EMBEDDING_DIM, kernel_initializer=keras.initializers.GlorotUniform(seed), name=f"{name}_dense")(pooled)
    return keras.Model(text, layers.LeakyReLU(0.2, name=f"{name}_relu")(h), name=name)


@keras.saving.register_keras_serializable(package="tfgan_course")
class WordDropout(layers.Layer):
    """Token ids int [B, T] -> the same ids, in training each word (not padding 0, not already OOV 1)
    replaced by the OOV id 1 with probability `rate`; unchanged in inference.

    The OOV token then stands for "some word", as it does for a prompt's unknown words at inference.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"WordDropout's rate must be in [0, 1), got {rate}.")
        self.rate, self.seed = rate, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, words, training=False):
        if not training or self.rate == 0:
            return words
        dropped = keras.random.uniform(keras.ops.shape(words), seed=self.seed_generator) < self.rate
        return keras.ops.where(keras.ops.logical_and(dropped, words > 1), keras.ops.ones_like(words), words)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="tfgan_course")
class AttentionPooling(layers.Layer):
    """Word embeddings float32 [B, T, D] with the Embedding's mask (True for words, False for padding) ->
    float32 [B, D]: the words' embeddings weighted by a softmax, over the words only, of a learned linear
    score of each embedding. With equal scores it is the masked mean."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.seed = seed
        self.score = layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed), name="score")

    def build(self, embedded_shape):
        self.score.build(embedded_shape)

    def call(self, embedded, mask=None):
        scores = self.score(embedded)[..., 0]
        if mask is not None:
            scores = keras.ops.where(mask, scores, keras.ops.full_like(scores, -1e9))
        weights = keras.ops.softmax(scores, axis=-1)
        return keras.ops.sum(embedded * weights[..., None], axis=1)

    def compute_mask(self, embedded, mask=None):
        return None  # One vector per caption: no words left to mask.

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _check_shape(image_shape):
    height, width, _ = image_shape
    if height != width or height % 4:
        raise ValueError(f"--model=stackgan makes square images whose side is a multiple of 4 (Stage-I at half the "
                         f"side, its first map at a quarter), e.g. --image_size=28; got {height}x{width}.")


def _bn_relu(h, seed, i, name):
    return layers.ReLU(name=f"{name}_relu")(dcgan.batch_norm(seed, i, f"{name}_bn")(h))


def _conv(h, filters, kernel, stride, seed, i, name, transposed=False):
    conv = layers.Conv2DTranspose if transposed else layers.Conv2D
    return conv(filters, kernel, stride, "same", use_bias=False, kernel_initializer=dcgan.kernel_init(seed, i),
                name=name)(h)


def _tiled(vector, size, name):
    """[B, D] -> [B, size, size, D], the vector at every position."""
    return layers.UpSampling2D(size, name=f"{name}_tiled")(layers.Reshape((1, 1, vector.shape[-1]), name=name)(vector))


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None, vocabulary=(), code_dim=128):
    """[z float32 [B, latent_dim], text string [B]] -> images float32 [B, H, W, C] in [-1, 1].

    z's first `code_dim` entries are the conditioning augmentation's eps ~ N(0, I), the rest G's noise.
    """
    _check_shape(image_shape)
    if latent_dim <= code_dim:
        raise ValueError(f"--latent_dim={latent_dim} must exceed --text_code_dim={code_dim}: z's first "
                         f"{code_dim} entries are the text code's noise, the rest G's; e.g. --latent_dim="
                         f"{code_dim + 100}.")
    size, channels = image_shape[0], image_shape[-1]
    z = keras.Input((latent_dim,), name="z")
    text = keras.Input((), dtype="string", name="text")
    embedding = text_encoder(vocabulary, seed, name="g_text_encoder")(text)
    initializer = keras.initializers.GlorotUniform(seed)
    mu = layers.Dense(code_dim, kernel_initializer=initializer, name="ca_mu")(embedding)
    log_sigma = layers.Dense(code_dim, kernel_initializer=initializer, name="ca_log_sigma")(embedding)
    eps, noise = z[:, :code_dim], z[:, code_dim:]
    code = layers.Add(name="ca_code")([mu, layers.Multiply(name="ca_scaled_eps")([keras.ops.exp(log_sigma), eps])])

    # Stage I: the rough shape at half size, from the code and the noise.
    quarter = size // 4
    h = layers.Concatenate(name="stage1_input")([code, noise])
    h = layers.Dense(quarter * quarter * 4 * width, use_bias=False, kernel_initializer=dcgan.kernel_init(seed, 0),
                     name="stage1_dense")(h)
    h = _bn_relu(layers.Reshape((quarter, quarter, 4 * width), name="stage1_map")(h), seed, 0, "stage1_dense")
    h = _bn_relu(_conv(h, 2 * width, 4, 2, seed, 1, "stage1_up", transposed=True), seed, 1, "stage1_up")
    h = _conv(h, channels, 3, 1, seed, 2, "stage1_out")
    stage1 = layers.Activation("tanh", dtype="float32", name="stage1_images")(h)

    # Stage II: refines the Stage-I image, reading the text code again.
    h = layers.LeakyReLU(0.2, name="stage2_in_relu")(_conv(stage1, width, 3, 1, seed, 3, "stage2_in"))
    h = _bn_relu(_conv(h, 2 * width, 4, 2, seed, 4, "stage2_down"), seed, 4, "stage2_down")
    h = layers.Concatenate(name="stage2_joint")([h, _tiled(code, quarter, "stage2_code")])
    h = _bn_relu(_conv(h, 2 * width, 3, 1, seed, 5, "stage2_joint_conv"), seed, 5, "stage2_joint_conv")
    for block in range(RESIDUAL_BLOCKS):
        name, i = f"stage2_res{block}", 6 + 2 * block
        r = _bn_relu(_conv(h, 2 * width, 3, 1, seed, i, f"{name}_a"), seed, i, f"{name}_a")
        r = dcgan.batch_norm(seed, i + 1, f"{name}_b_bn")(_conv(r, 2 * width, 3, 1, seed, i + 1, f"{name}_b"))
        h = layers.ReLU(name=f"{name}_relu")(layers.Add(name=f"{name}_add")([h, r]))
    h = _bn_relu(_conv(h, width, 4, 2, seed, 20, "stage2_up1", transposed=True), seed, 20, "stage2_up1")
    h = _bn_relu(_conv(h, max(width // 2, 1), 4, 2, seed, 21, "stage2_up2", transposed=True), seed, 21, "stage2_up2")
    h = _conv(h, channels, 3, 1, seed, 22, "stage2_out")
    images = layers.Activation("tanh", dtype="float32", name="images")(h)
    return keras.Model([z, text], images, name="stackgan_generator")


def stages(generator_model) -> keras.Model:
    """The generator with every output training needs: [images, stage1_images, ca_mu, ca_log_sigma].

    The same layers and weights as `generator_model` (a view, not a copy).
    """
    outputs = [generator_model.get_layer(name).output for name in STAGE_OUTPUTS]
    return keras.Model(generator_model.inputs, outputs, name="stackgan_stages")


def _stage_discriminator(images, embedding, width, seed, offset, name):
    """One stage's matching-aware D: (images, text embedding) -> logits float32 [B, 1], the joint term plus
    the projection term."""
    h = images
    for i, (filters, kernel, stride) in enumerate(((width, 4, 2), (2 * width, 4, 2), (4 * width, 3, 1))):
        normalized = i > 0  # DCGAN's rule: no BatchNorm on D's input layer.
        h = layers.Conv2D(filters, kernel, stride, "same", use_bias=not normalized,
                          kernel_initializer=dcgan.kernel_init(seed, offset + i), name=f"{name}_conv{i}")(h)
        if normalized:
            h = dcgan.batch_norm(seed, offset + i, f"{name}_conv{i}_bn")(h)
        h = layers.LeakyReLU(0.2, name=f"{name}_conv{i}_relu")(h)
    features = h
    text = layers.Dense(D_TEXT_DIM, kernel_initializer=keras.initializers.GlorotUniform(seed),
                        name=f"{name}_text")(embedding)
    h = layers.Concatenate(name=f"{name}_joint")([features, _tiled(text, features.shape[1], f"{name}_text_map")])
    h = layers.Conv2D(2 * width, 1, kernel_initializer=dcgan.kernel_init(seed, offset + 3), name=f"{name}_joint_conv")(h)
    h = layers.Flatten(name=f"{name}_flat")(layers.LeakyReLU(0.2, name=f"{name}_joint_relu")(h))
    joint = layers.Dense(1, dtype="float32", kernel_initializer=dcgan.kernel_init(seed, offset + 4),
                         name=f"{name}_joint_logits")(h)
    flat = layers.Flatten(name=f"{name}_features")(features)
    projected = layers.Dense(flat.shape[-1], use_bias=False, kernel_initializer=keras.initializers.GlorotUniform(seed),
                             name=f"{name}_projection")(embedding)
    projection = layers.Dot(axes=1, dtype="float32", name=f"{name}_projection_logits")([flat, projected])
    return layers.Add(dtype="float32", name=f"{name}_logits")([joint, projection])


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None, vocabulary=()):
    """[images [B, H, W, C], stage1_images [B, H/2, W/2, C], text string [B]] -> [logits, stage1_logits],
    float32 [B, 1] each (Stage II's D on the full images, Stage I's on the half-size ones)."""
    _check_shape(image_shape)
    size, channels = image_shape[0], image_shape[-1]
    images = keras.Input(image_shape, name="images")
    stage1_images = keras.Input((size // 2, size // 2, channels), name="stage1_images")
    text = keras.Input((), dtype="string", name="text")
    embedding = text_encoder(vocabulary, seed, name="d_text_encoder")(text)
    logits = _stage_discriminator(images, embedding, width, seed, 0, "stage2_d")
    stage1_logits = _stage_discriminator(stage1_images, embedding, width, seed, 10, "stage1_d")
    return keras.Model([images, stage1_images, text], [logits, stage1_logits], name="stackgan_discriminator")
