"""pix2pix (Isola et al., 2017; textbook 12.6): a conditional GAN whose generator translates paired images."""

import tensorflow as tf

from tfgan_course import gan, losses, replicas
from tfgan_course.gans import translation


class Pix2Pix(gan.GAN):
    """pix2pix: G(x) should be the target y, and D(x, G(x)) should not tell it from D(x, y).

    On paired batches {"input": x [B, H, W, Cin], "target": y [B, H, W, Cout]} in [-1, 1],
    one `train_step` is the reference's: G's output for x, then

      L_D = 1/2 [ BCE(D(x, y), 1) + BCE(D(x, G(x)), 0) ]   (halved: D learns slower than G)
      L_G = w_GAN BCE(D(x, G(x)), 1) + lambda_L1 ||G(x) - y||_1  (through the updated D)

    with D a PatchGAN on concat(x, image) [B, H, W, Cin + Cout] -> logits [B, h, w, 1]
    (`models/unet.py`) and --loss's pair (non-saturating by default, as above). No noise z:
    G's dropout is its only randomness (the paper's finding), off at inference. The logged
    "D(x)" and "D(G(z))" are D's mean outputs on (x, y) and (x, G(x)), before and after
    D's update, as the textbook prints them. D's regularisers (--penalty, --instance_noise,
    --d_weight_decay, --label_smoothing, --clip_value) and --g_ema_decay work as for `GAN`.

    Args:
      generator: keras.Model, images [B, H, W, Cin] -> [B, H, W, Cout] in [-1, 1].
      discriminator: keras.Model, [B, H, W, Cin + Cout] -> logits [B, h, w, 1].
      l1_weight: lambda_L1 (100 in the paper); 0 = the paper's "cGAN" row of Table 1.
      gan_weight: w_GAN (1 in the paper); 0 = its "L1" row, an L1-only U-Net: D still trains (its
        losses stay logged) but its term no longer moves G.
      seed, ema_decay: as `GAN`'s.
    """

    variant = "pix2pix"
    metric_names = ("d_loss", "g_loss", "gan_loss", "l1_loss", "D(x)", "D(G(z)) before", "D(G(z)) after")

    def __init__(self, generator, discriminator, l1_weight=100.0, gan_weight=1.0, seed=0, ema_decay=0.0, **kwargs):
        for name, value in (("l1_weight", l1_weight), ("gan_weight", gan_weight)):
            if value < 0:
                raise ValueError(f"pix2pix's {name} must be >= 0, got {value}.")
        super().__init__(generator, discriminator, latent_dim=0, seed=seed, ema_decay=ema_decay, **kwargs)
        self.l1_weight = float(l1_weight)
        self.gan_weight = float(gan_weight)

    def input_specs(self):
        return translation.input_specs(self.generator)

    def fixed_inputs(self, z, examples=None):
        """The first GRID_EXAMPLES of the fixed paired `examples`; each grid row is input | output | target."""
        del z
        return translation.paired_grid_inputs(examples)

    def grid_images(self, inputs):
        return translation.paired_grid(self, inputs)

    def discriminate(self, images, condition, weights=None):
        """D on concat(input images `condition`, `images`): the conditional PatchGAN's logits [B, h, w, 1]."""
        return self._call_discriminator(tf.concat([tf.cast(condition, images.dtype), images], axis=-1), weights)

    def discriminator_loss(self, real_outputs, fake_outputs, condition):
        return 0.5 * super().discriminator_loss(real_outputs, fake_outputs, condition)

    # The hooks of the paired step that SRGAN (gans/super_resolution.py) overrides.
    term_names = ("gan_loss", "l1_loss")  # The logged names of the adversarial and the reconstruction term.

    def pair_condition(self, inputs):
        """What D sees beside an image of the pair: the input images (pix2pix's conditional D)."""
        return inputs

    def reconstruction_loss(self, fakes, targets):
        """G's images against the targets: the L1 distance (a replica's share of the global mean)."""
        return losses.l1_distance(fakes, targets)

    def train_step(self, data):
        inputs, targets = data["input"], data["target"]
        condition = self.pair_condition(inputs)
        with tf.GradientTape() as g_tape:
            fakes = self.generator(inputs, training=True)
        real_outputs, fake_outputs, d_loss = self._update_discriminator(targets, condition, fakes, condition)
        with g_tape:
            fake_outputs_after = self.discriminate(self._with_instance_noise(fakes), condition)
            gan_loss = self.generator_loss(fake_outputs_after, condition)
            reconstruction_loss = self.reconstruction_loss(fakes, targets)
            g_loss = self.gan_weight * gan_loss + self.l1_weight * reconstruction_loss
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss)
        self._apply(self.g_optimizer, g_tape.gradient(scaled_g_loss, self.g_variables), self.g_variables)
        self._update_ema()
        # A replica's share of the global mean, back to the replica's mean (see GAN.train_step).
        shares = {"d_loss": d_loss, "g_loss": g_loss, **dict(zip(self.term_names, (gan_loss, reconstruction_loss)))}
        return self._log_step({**{name: value * replicas.count() for name, value in shares.items()},
                               **self.finish_step(real_outputs, fake_outputs, fake_outputs_after, condition)})

    def get_config(self):
        config = super().get_config()
        for key in ("latent_dim", "d_steps", "latent_distribution", "unrolled_steps", "pack"):
            config.pop(key)
        return {**config, "l1_weight": self.l1_weight, "gan_weight": self.gan_weight}
