"""Text to image, StackGAN-lite (Zhang et al., 2017): G(z, text) in two stages, matching-aware Ds.

Both stages train jointly, as StackGAN++ (Zhang et al., 2018) trains its tree of generators, not
StackGAN's two separate phases: one G update follows one update of both stages' Ds, and G's loss
sums both stages' adversarial terms, so Stage II's gradient reaches Stage I through the image it
refines.
"""

import numpy as np
import tensorflow as tf

from tfgan_course import captions, gan, latent, losses, replicas
from tfgan_course import spec as spec_lib
from tfgan_course.models import stackgan


def half_size(images):
    """Real images [B, H, W, C] -> [B, H/2, W/2, C], 2x2 means: what Stage I's D sees of real data."""
    return tf.nn.avg_pool2d(images, 2, 2, "VALID")


def mismatched(texts):
    """Each example's text replaced by the previous example's (the batch rolled by one): wrong pairs for D.

    With captions drawn at random, a rolled caption differs from the image's own in class or in
    an attribute 7 times in 8 or more; D learns from the rest as noise.
    """
    return tf.roll(texts, 1, axis=0)


class TextToImageGAN(gan.GAN):
    """StackGAN-lite: G([z, text]) -> (Stage-I image, Stage-II image); D([images, stage1_images, text]).

    Batches are captioned dicts {"image", "caption", ...} (`data_captions.py`). Each step:

      D:  for each stage s, BCE(D_s(x, t), 1) + 1/2 BCE(D_s(G(z, t)), 0) + 1/2 BCE(D_s(x, t'), 0),
          t' another example's caption (`losses.matching_aware_discriminator_loss`), summed over stages
      G:  for each stage, -log D_s(G(z, t), t) (non-saturating), summed, + kl_weight KL(N(mu, sigma) || N(0, I))
          of the conditioning augmentation (`losses.conditioning_augmentation_kl`)

    Args:
      generator: `models.stackgan.generator`'s network, [z, text] -> images.
      discriminator: `models.stackgan.discriminator`'s, [images, stage1_images, text] -> [logits, stage1_logits].
      latent_dim: z's width (the text code's eps, then the noise).
      num_classes: the classes the captions name (the spec's text input records it).
      kl_weight: the KL term's weight (StackGAN's 2.0, on the KL per code dimension).
      prompts: the sample grid's prompts, one row each (one per class).
      (the rest as `GAN`).
    """

    variant = "text_to_image"
    metric_names = ("d_loss", "g_loss", "D(x)", "D(G(z)) before", "D(G(z)) after", "D(x) mismatched", "kl",
                    "stage1_d_loss", "stage1_g_loss")

    def __init__(self, generator, discriminator, latent_dim, num_classes, kl_weight=2.0, prompts=(), **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        if kl_weight < 0:
            raise ValueError(f"kl_weight must be >= 0, got {kl_weight}.")
        self.num_classes = int(num_classes)
        self.kl_weight = float(kl_weight)
        self.prompts = tuple(prompts)
        self.stages = stackgan.stages(generator)

    def input_specs(self):
        return (*super().input_specs(), spec_lib.text_input(self.num_classes))

    def images(self, inputs: dict):
        return self.sampler([tf.constant(inputs["z"], tf.float32), tf.constant(inputs["text"], tf.string)],
                            training=False).numpy()

    def fixed_inputs(self, z, examples=None):
        """One row per prompt (one per class), the same noise in each column."""
        del examples
        z = np.asarray(z, np.float32)
        rows = max(len(self.prompts), 1)
        columns = max(1, len(z) // rows)
        texts = np.repeat(np.array([p.encode() for p in self.prompts] or [b"a"], dtype=object), columns)
        return latent.GridInputs({"z": np.tile(z[:columns], (rows, 1)), "text": texts}, columns)

    def train_step(self, data):
        real_images, texts = data["image"], data["caption"]
        batch_size = real_images.shape[0] or tf.shape(real_images)[0]
        real_pairs = (real_images, half_size(real_images))
        wrong_texts = mismatched(texts)
        z = self.sample_z(batch_size)
        with tf.GradientTape() as g_tape:
            fake_images, fake_stage1, mu, log_sigma = self.stages([z, texts], training=True)
        fakes = (fake_images, fake_stage1)

        with tf.GradientTape() as d_tape:
            real_logits = self.discriminator([*real_pairs, texts], training=True)
            fake_logits = self.discriminator([*(tf.stop_gradient(f) for f in fakes), texts], training=True)
            wrong_logits = self.discriminator([*real_pairs, wrong_texts], training=True)
            stage_d_losses = [losses.matching_aware_discriminator_loss(r, f, w)
                              for r, f, w in zip(real_logits, fake_logits, wrong_logits)]
            d_loss = tf.add_n(stage_d_losses)
        self._apply(self.d_optimizer, d_tape.gradient(d_loss, self.d_variables), self.d_variables)

        with g_tape:
            after_logits = self.discriminator([*fakes, texts], training=True)
            stage_g_losses = [losses.non_saturating_generator_loss(logits) for logits in after_logits]
            kl = losses.conditioning_augmentation_kl(mu, log_sigma)
            g_loss = tf.add_n(stage_g_losses) + self.kl_weight * kl
        self._apply(self.g_optimizer, g_tape.gradient(g_loss, self.g_variables), self.g_variables)

        count = replicas.count()
        # D's outputs as the textbook logs them, of the final (Stage-II) images.
        return self._log_step({
            "d_loss": d_loss * count, "g_loss": g_loss * count, "kl": kl * count,
            "stage1_d_loss": stage_d_losses[1] * count, "stage1_g_loss": stage_g_losses[1] * count,
            "D(x)": tf.sigmoid(real_logits[0]), "D(G(z)) before": tf.sigmoid(fake_logits[0]),
            "D(G(z)) after": tf.sigmoid(after_logits[0]), "D(x) mismatched": tf.sigmoid(wrong_logits[0]),
        })

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "kl_weight": self.kl_weight,
                "prompts": list(self.prompts)}


def sample_prompts(names) -> list:
    """The sample grid's prompts in the first training phrasing: one per class name, class c with the
    attribute values of c's three lowest bits (dark, wide, patterned), so the rows show each word."""
    return [captions.caption(captions.TRAIN_TEMPLATES[0], name, [c >> 2 & 1, c >> 1 & 1, c & 1])
            for c, name in enumerate(names)]
