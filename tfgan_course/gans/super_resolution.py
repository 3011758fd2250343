"""SRResNet and SRGAN (Ledig et al., 2017): upscaling a low-resolution image, by a content loss and then adversarially."""

import dataclasses
import functools

import tensorflow as tf
from absl import logging

from tfgan_course import classifier as classifier_lib
from tfgan_course import gan, losses, replicas
from tfgan_course.gans import pix2pix, warm_start


class SRGAN(pix2pix.Pix2Pix):
    """SRGAN: G(x) should be the high-resolution y, and D(G(x)) should not tell it from D(y).

    On paired batches {"input": x [B, h, w, Cin], "target": y [B, s h, s w, Cout]} in [-1, 1]
    (`lowres:` data), one `train_step`:

      L_D = d(D(y), D(G(x)))                                   --loss's pair (non-saturating: the paper's BCE)
      L_G = l_content(G(x), y) + w_adv gan(D(G(x)))            w_adv = 1e-3, through the updated D

    with D judging the high-resolution image alone (`models/srresnet.py`) and l_content one of
    `losses.CONTENT_LOSSES`: "mse" (pixels) or "features" (the feature maps of a classifier of the
    targets' data trained with `classifier.LOSS_SEED`, the paper's VGG loss without VGG). The
    paper starts G from an SRResNet trained on MSE (`init_from`, loaded by `before_training` on a
    fresh run; a resumed run has its own weights). D's regularisers and `ema_decay` work as for `GAN`.

    It is pix2pix's paired step (`pix2pix.Pix2Pix`) with an unconditional D, the content loss for
    the L1 term (its weight 1, the adversarial term's w_adv) and D's loss not halved.

    Args:
      generator: keras.Model, images [B, h, w, Cin] -> [B, s h, s w, Cout] in [-1, 1].
      discriminator: keras.Model, [B, s h, s w, Cout] -> logits [B, 1].
      content_loss: a key of `losses.CONTENT_LOSSES`.
      adversarial_weight: w_adv, >= 0 (1e-3 in the paper).
      content_network: "features" only: a function of no arguments giving the classifier whose
        `classifier.LOSS_LAYER` is compared (`classifier.loss_network`); called by `before_training`, so
        a model built only to load or sample a run never needs it.
      content_network_record: what `content_network` will be (its dataset and seed), for the spec.
      init_from: a run, checkpoints directory or checkpoint whose generator a fresh run starts from; "" = none.
      seed, ema_decay: as `GAN`'s.
    """

    variant = "srgan"
    metric_names = ("d_loss", "g_loss", "adversarial_loss", "content_loss", "D(x)", "D(G(z)) before", "D(G(z)) after")
    term_names = ("adversarial_loss", "content_loss")

    def __init__(self, generator, discriminator, content_loss="mse", adversarial_weight=1e-3, content_network=None,
                 content_network_record=None, init_from="", seed=0, ema_decay=0.0, **kwargs):
        if content_loss not in losses.CONTENT_LOSSES:
            raise ValueError(f"Unknown content loss {content_loss!r}; valid values: {', '.join(losses.CONTENT_LOSSES)}.")
        if adversarial_weight < 0:
            raise ValueError(f"SRGAN's adversarial_weight must be >= 0, got {adversarial_weight}.")
        if (content_loss == "features") != (content_network is not None):
            raise ValueError("The features content loss needs a content_network, and only it takes one.")
        super().__init__(generator, discriminator, l1_weight=1.0, gan_weight=adversarial_weight, seed=seed,
                         ema_decay=ema_decay, **kwargs)
        self.content_loss = content_loss
        self.adversarial_weight = float(adversarial_weight)
        self.init_from = init_from
        self._content_network = content_network
        self._content_network_record = dict(content_network_record or {})
        self._extract = None

    @property
    def scale(self) -> int:
        return int(self.generator.outputs[0].shape[1]) // int(self.generator.inputs[0].shape[1])

    def generator_spec(self, family="", dataset=""):
        """The translator's spec, its state the scale and what the content loss compared (the scores must not)."""
        spec = super().generator_spec(family, dataset)
        state = {"scale": self.scale, "content_loss": self.content_loss}
        if self._content_network_record:
            state["loss_network"] = dict(self._content_network_record)  # Keras tracks the attribute's dict.
        return dataclasses.replace(spec, state=state)

    def before_training(self, resumed):
        """Loads the content loss's network and, on a fresh run with `init_from`, G's starting weights."""
        if self._content_network is not None:
            network = self._content_network()
            self._extract = classifier_lib.feature_maps(network)
            logging.info("Content loss: the %s features of %s (seed %d, test accuracy %.2f%%)",
                         classifier_lib.LOSS_LAYER, network.key or network.dataset, network.seed,
                         100 * network.test_accuracy)
        if self.init_from and not resumed:
            # variants.build's spec names the family; a model built by hand is checked by its shapes.
            spec = getattr(self, "spec", None) or self.generator_spec()
            checkpoint = warm_start.restore_generator(self.generator, self.init_from, spec)
            if self.ema_generator is not None:
                self.ema_generator.set_weights(self.generator.get_weights())
            logging.info("Started the generator from %s", checkpoint)

    def content(self, images, targets):
        """The content loss of G's images [B, H, W, C] against the targets: a replica's share of the global mean."""
        if self.content_loss == "features" and self._extract is None:
            raise ValueError("The features content loss's network is not loaded: call before_training first.")
        return functools.partial(losses.CONTENT_LOSSES[self.content_loss], extract=self._extract)(images, targets)

    def pair_condition(self, inputs):
        """None: SRGAN's D judges the high-resolution image alone."""
        del inputs

    def discriminate(self, images, condition, weights=None):
        """D on the images alone: logits [B, 1]."""
        del condition
        return self._call_discriminator(images, weights)

    def discriminator_loss(self, real_outputs, fake_outputs, condition):
        # The paper's D loss, not pix2pix's halved one.
        return gan.GAN.discriminator_loss(self, real_outputs, fake_outputs, condition)

    def reconstruction_loss(self, fakes, targets):
        return self.content(fakes, targets)

    def get_config(self):
        """The constructor's arguments but the networks' loaders (`content_network`: a function, rebuilt by variants)."""
        config = super().get_config()
        for key in ("l1_weight", "gan_weight"):
            config.pop(key)
        return {**config, "content_loss": self.content_loss, "adversarial_weight": self.adversarial_weight,
                "init_from": self.init_from, "content_network_record": dict(self._content_network_record)}


class SRResNet(SRGAN):
    """SRResNet: the SRGAN paper's generator trained on the content loss alone (its MSE pre-training).

    One `train_step` is one G update on l_content(G(x), y); no adversarial term, so D is built (an
    SRResNet run's checkpoint has an SRGAN's networks) but never trained or run.
    """

    variant = "srresnet"
    metric_names = ("g_loss", "content_loss")

    def __init__(self, generator, discriminator, content_loss="mse", content_network=None,
                 content_network_record=None, seed=0, ema_decay=0.0, **kwargs):
        super().__init__(generator, discriminator, content_loss=content_loss, adversarial_weight=0.0,
                         content_network=content_network, content_network_record=content_network_record, seed=seed,
                         ema_decay=ema_decay, **kwargs)

    def train_step(self, data):
        inputs, targets = data["input"], data["target"]
        with tf.GradientTape() as g_tape:
            content_loss = self.content(self.generator(inputs, training=True), targets)
            scaled = self.g_optimizer.scale_loss(content_loss)
        self._apply(self.g_optimizer, g_tape.gradient(scaled, self.g_variables), self.g_variables)
        self._update_ema()
        loss = content_loss * replicas.count()
        return self._log_step({"g_loss": loss, "content_loss": loss})

    def get_config(self):
        config = super().get_config()
        for key in ("adversarial_weight", "init_from"):
            config.pop(key)
        return config

