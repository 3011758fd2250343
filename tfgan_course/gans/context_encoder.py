"""The context encoder (Pathak et al., 2016): inpainting learned from corrupted images, L2 plus an adversarial term."""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_course import gan, inpainting, latent, losses, replicas
from tfgan_course import spec as spec_lib
from tfgan_course.gans import translation

OVERLAP, OVERLAP_WEIGHT = 1, 10.0  # The paper's 4 of 128 pixels is about 1 of 28; its band weighs 10x.
ADVERSARIAL_WEIGHT = 1e-3  # The paper's lambda_adv = 0.001 (and lambda_rec = 0.999).


class ContextEncoder(gan.GAN):
    """A context encoder: G completes images whose masked pixels are missing, D tells completions from originals.

    On batches of images x [B, H, W, C] in [-1, 1] (any image spec: the training masks are drawn
    here, from the model's seed generator), one `train_step`:

      M      the masks [B, H, W, 1] (1 = missing): every even row of the batch the centred square
             of side `hole_size`, every odd row that square at a uniform position (`training_masks`)
      G(x, M) the prediction of the whole image from x with its hole filled by the training mean
             image and M as a channel (`models/context_encoder.py`)
      x^ = (1 - M) x + M G(x, M), the completion: G's pixels in the hole only
      L_D = d(D(x, M), D(x^, M))                          --loss's pair (non-saturating: the paper's BCE)
      L_G = (1 - w_adv) L_rec + w_adv g(D(x^, M))         w_adv = 0.001, through the updated D
      L_rec = sum(W (G(x, M) - x)^2) / sum(W) per image   W = 1 on the hole, `overlap_weight` (10) on
                                                          the known pixels within `overlap` pixels of it

    D sees the whole completed image with the mask as an extra channel (the paper's D sees the
    predicted patch alone; with holes anywhere, the completed image with its mask tells D where the
    hole is and judges it in its context). The band makes G's prediction continue the context across
    the hole's border, as the paper's overlapping prediction does. D's regularisers and `ema_decay`
    work as for `GAN`.

    Args:
      generator: keras.Model, [images [B, H, W, C], mask [B, H, W, 1]] -> images [B, H, W, C] in [-1, 1],
        with a `mean_fill` layer (`models.context_encoder.MeanFill`) whose weight is the mean image.
      discriminator: keras.Model, [B, H, W, C + 1] -> logits [B, 1].
      hole_size: the side of the training masks' squares, 1 <= hole_size < min(H, W).
      overlap: the band's width in pixels, >= 0 (0 = the hole alone).
      overlap_weight: the band's weight in L_rec, >= 0.
      adversarial_weight: w_adv in [0, 1].
      mean_image: a function of no arguments giving the training split's mean image float [H, W, C] in
        [-1, 1], set into G by `before_training` on a fresh run (a resumed run has it in its checkpoint);
        None leaves G's as it is.
      seed, ema_decay: as `GAN`'s.
    """

    variant = "context_encoder"
    metric_names = ("d_loss", "g_loss", "adversarial_loss", "reconstruction_loss", "D(x)", "D(G(z)) before",
                    "D(G(z)) after")

    def __init__(self, generator, discriminator, hole_size, overlap=OVERLAP, overlap_weight=OVERLAP_WEIGHT,
                 adversarial_weight=ADVERSARIAL_WEIGHT, mean_image=None, seed=0, ema_decay=0.0, **kwargs):
        super().__init__(generator, discriminator, latent_dim=0, seed=seed, ema_decay=ema_decay, **kwargs)
        self.image_shape = tuple(int(d) for d in generator.inputs[0].shape[1:])
        height, width = self.image_shape[:2]
        if not 1 <= hole_size < min(height, width):
            raise ValueError(f"hole_size={hole_size} must be at least 1 and smaller than the {height}x{width} "
                             f"images (--hole_size; 0 = half the side).")
        if overlap < 0 or overlap_weight < 0 or not 0 <= adversarial_weight <= 1:
            raise ValueError(f"need overlap >= 0, overlap_weight >= 0 and adversarial_weight in [0, 1], got "
                             f"{overlap}, {overlap_weight} and {adversarial_weight}.")
        self.hole_size = int(hole_size)
        self.overlap = int(overlap)
        self.overlap_weight = float(overlap_weight)
        self.adversarial_weight = float(adversarial_weight)
        self._mean_image = mean_image

    def input_specs(self):
        return (spec_lib.image_input(self.image_shape, name=self.generator.inputs[0].name),
                spec_lib.mask_input((*self.image_shape[:2], 1), name=self.generator.inputs[1].name))

    def generator_spec(self, family="", dataset=""):
        """The inpainter's spec; its state the training masks and loss weights (what the scores should know)."""
        spec = super().generator_spec(family, dataset)
        return dataclasses.replace(spec, state={
            "hole_size": self.hole_size, "masks": "centre and uniformly placed squares, half of each batch",
            "overlap": self.overlap, "overlap_weight": self.overlap_weight,
            "adversarial_weight": self.adversarial_weight})

    def before_training(self, resumed):
        """Sets G's mean image from the training data on a fresh run."""
        if self._mean_image is None or resumed:
            return
        mean = np.asarray(self._mean_image(), np.float32)
        for network in filter(None, (self.generator, self.ema_generator)):
            network.get_layer("mean_fill").mean_image.assign(mean)
        logging.info("The context encoder fills holes with the training images' mean (pixel mean %.3f).",
                     float(mean.mean()))

    def training_masks(self, batch_size):
        """This replica's masks float32 [batch_size, H, W, 1]: even rows of the global batch the centred
        square, odd rows the square at a uniform position (drawn for the global batch, then sliced)."""
        height, width = self.image_shape[:2]
        total = batch_size * replicas.count()
        tops = keras.random.randint((total,), 0, height - self.hole_size + 1, seed=self.seed_generator)
        lefts = keras.random.randint((total,), 0, width - self.hole_size + 1, seed=self.seed_generator)
        centred = tf.equal(tf.range(total) % 2, 0)
        tops = tf.where(centred, (height - self.hole_size) // 2, tops)
        lefts = tf.where(centred, (width - self.hole_size) // 2, lefts)
        masks = inpainting.square_masks(tops, lefts, (height, width), self.hole_size)
        return replicas.global_slice(masks, batch_size)

    def discriminate(self, images, condition, weights=None):
        """D on concat(images, their mask `condition`): logits [B, 1]."""
        return self._call_discriminator(tf.concat([images, tf.cast(condition, images.dtype)], axis=-1), weights)

    def train_step(self, data):
        images, _ = gan.split_batch(data)
        mask = self.training_masks(images.shape[0] or tf.shape(images)[0])
        with tf.GradientTape() as g_tape:
            predicted = self.generator([images, mask], training=True)
            completed = images * (1.0 - mask) + tf.cast(predicted, images.dtype) * mask
        real_outputs, fake_outputs, d_loss = self._update_discriminator(images, mask, completed, mask)
        with g_tape:
            fake_outputs_after = self.discriminate(self._with_instance_noise(completed), mask)
            adversarial_loss = self.generator_loss(fake_outputs_after, mask)
            weights = inpainting.reconstruction_weights(mask, self.overlap, self.overlap_weight)
            reconstruction_loss = losses.weighted_l2_distance(predicted, images, weights)
            g_loss = ((1.0 - self.adversarial_weight) * reconstruction_loss
                      + self.adversarial_weight * adversarial_loss)
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss)
        self._apply(self.g_optimizer, g_tape.gradient(scaled_g_loss, self.g_variables), self.g_variables)
        self._update_ema()
        # A replica's share of the global mean, back to the replica's mean (see GAN.train_step).
        shares = {"d_loss": d_loss, "g_loss": g_loss, "adversarial_loss": adversarial_loss,
                  "reconstruction_loss": reconstruction_loss}
        return self._log_step({**{name: value * replicas.count() for name, value in shares.items()},
                               **self.finish_step(real_outputs, fake_outputs, fake_outputs_after, mask)})

    def fixed_inputs(self, z, examples=None):
        """The first GRID_EXAMPLES of the fixed `examples` ({"image": numpy [N, H, W, C]}) with the centred hole;
        each grid row is G's input (the hole mean-filled) | G's prediction | the completion | the original."""
        del z
        images = np.asarray(examples["image"][:translation.GRID_EXAMPLES], np.float32)
        mask = np.broadcast_to(inpainting.centre_mask(self.image_shape[:2], self.hole_size),
                               (len(images), *self.image_shape[:2], 1))
        return latent.GridInputs({"images": images, "mask": np.array(mask)}, 4)

    def grid_images(self, inputs):
        images, mask = inputs["images"], inputs["mask"]
        predicted = self.images({"images": images, "mask": mask})
        mean = self.sampler.get_layer("mean_fill").mean_image.numpy()
        return translation.panels([inpainting.mean_fill(images, mask, mean), predicted,
                                   inpainting.composite(images, mask, predicted), images])

    def get_config(self):
        config = super().get_config()
        for key in ("latent_dim", "d_steps", "latent_distribution", "unrolled_steps", "pack"):
            config.pop(key)
        return {**config, "hole_size": self.hole_size, "overlap": self.overlap, "overlap_weight": self.overlap_weight,
                "adversarial_weight": self.adversarial_weight}
