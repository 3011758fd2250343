"""GAN losses: pure functions on discriminator logits, and a registry of them.

Discriminators output logits, never probabilities: every loss applies the
sigmoid inside through `tf.nn.sigmoid_cross_entropy_with_logits`, the
numerically stable form of the lectures' `Sigmoid` + `BCELoss`. (With
probabilities, log(1 - D(G(z))) is log(0) = -inf as soon as D saturates.)

Every loss returns a scalar: the mean over the GLOBAL batch. Under a
`tf.distribute` strategy each replica returns its share
(`tf.nn.compute_average_loss`), so the replicas' gradients sum to the gradient
of the global mean; outside a strategy it is the plain batch mean.

Adding a loss is one pair of functions plus one line in `LOSSES`; a
discriminator penalty is one function plus one line in `PENALTIES`.
"""

import dataclasses
from typing import Callable

import keras
import numpy as np
import tensorflow as tf


def _global_mean(per_example):
    """Mean of a [B, ...] tensor over the global batch: [B, ...] -> scalar float32."""
    per_example = tf.cast(per_example, tf.float32)
    per_example = tf.reshape(per_example, [tf.shape(per_example)[0], -1])
    return tf.nn.compute_average_loss(tf.reduce_mean(per_example, axis=1))


def _bce(logits, label):
    """Binary cross-entropy of sigmoid(logits) against a constant label, per element."""
    logits = tf.cast(logits, tf.float32)
    return tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), tf.cast(label, tf.float32)), logits=logits)


def minimax_discriminator_loss(real_logits, fake_logits, real_label=1.0):
    """The original GAN discriminator loss (Goodfellow et al., 2014).

    L_D = -E[log D(x)] - E[log(1 - D(G(z)))], the BCE of real data against
    label 1 plus fake data against label 0 (the textbook tutorial's
    errD_real + errD_fake). Its minimum, 2 log 2 at D = 1/2, is reached when
    the generator matches the data.

    Args:
      real_logits: float [B, 1], D's logits on real data.
      fake_logits: float [B, 1], D's logits on generated data.
      real_label: the real data's target; 0.9 is one-sided label smoothing
        (Salimans et al., 2016), which keeps D from growing overconfident.

    Returns:
      Scalar float32 >= 0.
    """
    return _global_mean(_bce(real_logits, real_label)) + _global_mean(_bce(fake_logits, 0.0))


def minimax_generator_loss(fake_logits):
    """The original, saturating generator loss: L_G = E[log(1 - D(G(z)))].

    G minimises the same value D maximises. When D confidently rejects the
    fakes (early training) the gradient of log(1 - D) vanishes: this is the
    saturation the lectures warn about. Computed as -BCE(fake, 0), stable for
    any logit.

    Args:
      fake_logits: float [B, 1], D's logits on generated data.

    Returns:
      Scalar float32 <= 0.
    """
    return -_global_mean(_bce(fake_logits, 0.0))


def non_saturating_generator_loss(fake_logits):
    """The modified (non-saturating) generator loss: L_G = -E[log D(G(z))].

    Same fixed point as the minimax loss, but strong gradients when D rejects
    the fakes (Goodfellow et al., 2014, section 3). This is the lectures'
    `criterion(D(G(z)), lab_real)`.

    Args:
      fake_logits: float [B, 1], D's logits on generated data.

    Returns:
      Scalar float32 >= 0.
    """
    return _global_mean(_bce(fake_logits, 1.0))


# The non-saturating GAN trains D exactly as the minimax GAN does.
non_saturating_discriminator_loss = minimax_discriminator_loss


def least_squares_generator_loss(fake_logits):
    """LSGAN generator loss (Mao et al., 2017): L_G = 1/2 E[(D(G(z)) - 1)^2].

    D's output is used raw, without a sigmoid; targets are 1 (real) and 0 (fake).

    Args:
      fake_logits: float [B, 1], D's outputs on generated data.

    Returns:
      Scalar float32 >= 0.
    """
    return 0.5 * _global_mean(tf.square(tf.cast(fake_logits, tf.float32) - 1.0))


def least_squares_discriminator_loss(real_logits, fake_logits):
    """LSGAN discriminator loss: L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2].

    Args:
      real_logits: float [B, 1], D's outputs on real data.
      fake_logits: float [B, 1], D's outputs on generated data.

    Returns:
      Scalar float32 >= 0.
    """
    return (0.5 * _global_mean(tf.square(tf.cast(real_logits, tf.float32) - 1.0))
            + 0.5 * _global_mean(tf.square(tf.cast(fake_logits, tf.float32))))


def wasserstein_generator_loss(fake_logits):
    """WGAN generator loss (Arjovsky et al., 2017): L_G = -E[D(G(z))].

    D is a critic: its outputs are unbounded scores, not logits of a
    probability. Use it with weight clipping (--clip_value) or a gradient
    penalty (--penalty=gradient) to keep the critic Lipschitz.

    Args:
      fake_logits: float [B, 1], the critic's scores of generated data.

    Returns:
      Scalar float32.
    """
    return -_global_mean(fake_logits)


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """WGAN critic loss: L_D = E[D(G(z))] - E[D(x)], minus the Wasserstein-1 estimate.

    Args:
      real_logits: float [B, 1], the critic's scores of real data.
      fake_logits: float [B, 1], the critic's scores of generated data.

    Returns:
      Scalar float32.
    """
    return _global_mean(fake_logits) - _global_mean(real_logits)


# The hinge GAN (Lim & Ye, 2017; Miyato et al., 2018) trains G exactly as WGAN does: -E[D(G(z))].
hinge_generator_loss = wasserstein_generator_loss


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss: L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))].

    Args:
      real_logits: float [B, 1], D's outputs on real data.
      fake_logits: float [B, 1], D's outputs on generated data.

    Returns:
      Scalar float32 >= 0.
    """
    return (_global_mean(tf.nn.relu(1.0 - tf.cast(real_logits, tf.float32)))
            + _global_mean(tf.nn.relu(1.0 + tf.cast(fake_logits, tf.float32))))


def began_discriminator_loss(real_energies, fake_energies, k=0.0):
    """BEGAN's discriminator loss (Berthelot et al., 2017): L_D = L(x) - k_t L(G(z)).

    D is an autoencoder and its outputs are energies, each image's
    reconstruction error L(v) = mean |v - AE(v)| >= 0, not logits: D learns to
    reconstruct real images well and fakes badly, as far as k_t in [0, 1] lets
    it (`gans.began.BEGAN` updates k_t to keep E[L(G(z))] = gamma E[L(x)]).

    Args:
      real_energies: float [B, 1] >= 0, L(x).
      fake_energies: float [B, 1] >= 0, L(G(z)).
      k: scalar k_t in [0, 1].

    Returns:
      Scalar float32.
    """
    return _global_mean(real_energies) - tf.cast(k, tf.float32) * _global_mean(fake_energies)


def began_generator_loss(fake_energies):
    """BEGAN's generator loss: L_G = L(G(z)), the fakes' reconstruction error.

    Args:
      fake_energies: float [B, 1] >= 0, D's energies on generated data.

    Returns:
      Scalar float32 >= 0.
    """
    return _global_mean(fake_energies)


def _input_gradient_norms(discriminator, images):
    """||dD(x)/dx||_2 per example: images [B, ...] -> [B], finite even at a zero gradient."""
    images = tf.cast(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = tf.cast(discriminator(images, training=True), tf.float32)
    gradients = tape.gradient(scores, images)
    squared = tf.reduce_sum(tf.square(tf.reshape(gradients, [tf.shape(images)[0], -1])), axis=1)
    # tf.norm's gradient at 0 is NaN (0/0); the epsilon keeps it finite.
    return tf.sqrt(squared + 1e-12)


def gradient_penalty(discriminator, real_images, fake_images, seed=None):
    """WGAN-GP's two-sided penalty (Gulrajani et al., 2017): E[(||grad D(x_hat)|| - 1)^2].

    x_hat = alpha x + (1 - alpha) G(z), with alpha ~ U[0, 1] drawn per sample.
    The lectures weight it by lambda = 10 (--penalty_weight).

    Args:
      discriminator: images [B, H, W, C] -> [B, 1].
      real_images, fake_images: float [B, H, W, C].
      seed: a keras.random.SeedGenerator (or int) for alpha.

    Returns:
      Scalar float32 >= 0.
    """
    real_images = tf.cast(real_images, tf.float32)
    fake_images = tf.cast(fake_images, tf.float32)
    alpha_shape = [tf.shape(real_images)[0]] + [1] * (len(real_images.shape) - 1)
    alpha = keras.random.uniform(alpha_shape, seed=seed)
    interpolated = alpha * real_images + (1.0 - alpha) * fake_images
    return _global_mean(tf.square(_input_gradient_norms(discriminator, interpolated) - 1.0))


def drift_penalty(real_scores):
    """The progressive GAN's drift term (Karras et al., 2018, appendix A.1): E[D(x)^2] on real images.

    Weighted 0.001 beside WGAN-GP, it keeps the critic's scores near 0, which the Wasserstein
    loss alone leaves free to drift. Returns a scalar float32 >= 0 (the replica's share).
    """
    return _global_mean(tf.square(tf.cast(real_scores, tf.float32)))


def dragan_penalty(discriminator, real_images, fake_images=None, seed=None, spread=0.5):
    """DRAGAN's penalty (Kodali et al., 2017): the gradient penalty around perturbed real data.

    x_p = x + spread * std(x) * u with u ~ U[0, 1] per pixel, then
    x_hat = x + alpha (x_p - x) with alpha ~ U[0, 1] per sample, and
    E[(||grad D(x_hat)|| - 1)^2]. Keeps D smooth near the data, where mode
    collapse starts. `fake_images` is unused (same signature as the others).

    Returns:
      Scalar float32 >= 0.
    """
    del fake_images
    real_images = tf.cast(real_images, tf.float32)
    noise = keras.random.uniform(tf.shape(real_images), seed=seed)
    perturbed = real_images + spread * tf.math.reduce_std(real_images) * noise
    return gradient_penalty(discriminator, real_images, perturbed, seed=seed)


def r1_penalty(discriminator, real_images, fake_images=None, seed=None):
    """The R1 penalty (Mescheder et al., 2018): E[||grad D(x)||^2] on real data.

    The paper's gamma / 2 is the weight (--penalty_weight). `fake_images` and
    `seed` are unused (same signature as the others).

    Returns:
      Scalar float32 >= 0.
    """
    del fake_images, seed
    return _global_mean(tf.square(_input_gradient_norms(discriminator, real_images)))


PENALTIES = {
    "none": None,
    "gradient": gradient_penalty,
    "dragan": dragan_penalty,
    "r1": r1_penalty,
}


@dataclasses.dataclass(frozen=True)
class Loss:
    """A generator/discriminator loss pair.

    Attributes:
      generator: fake_logits [B, 1] -> scalar.
      discriminator: (real_logits [B, 1], fake_logits [B, 1]) -> scalar.
      d_outputs: what the pair takes from D: "logits", or "energies" (BEGAN's, whose
        discriminator loss also takes k_t): a GAN variant takes the pairs of its D's kind.
      d_probabilities: D's logits are log-odds that an input is real (the BCE losses), so
        sigmoid(logits) is a probability whose saturation at 0 or 1 means a broken run; a
        critic's outputs (Wasserstein, hinge, least squares) are scores with no such limit.
    """

    generator: Callable
    discriminator: Callable
    d_outputs: str = "logits"
    d_probabilities: bool = False


LOSSES = {
    "minimax": Loss(minimax_generator_loss, minimax_discriminator_loss, d_probabilities=True),
    "non_saturating": Loss(non_saturating_generator_loss, non_saturating_discriminator_loss, d_probabilities=True),
    "least_squares": Loss(least_squares_generator_loss, least_squares_discriminator_loss),
    "wasserstein": Loss(wasserstein_generator_loss, wasserstein_discriminator_loss),
    "hinge": Loss(hinge_generator_loss, hinge_discriminator_loss),
    "began": Loss(began_generator_loss, began_discriminator_loss, d_outputs="energies"),
}


def generator_logit_gradients(d_of_fake, names=("minimax", "non_saturating")) -> dict:
    """d (generator loss) / d (D's logit) against D(G(z)): why G trains on -log D(G(z)) (lecture 001).

    Early in training D tells fakes apart, D(G(z)) ~ 0, and the minimax loss
    log(1 - D(G(z))) is flat there: its gradient, -D(G(z)), vanishes and G learns
    nothing. The non-saturating -log D(G(z)) has the gradient -(1 - D(G(z))), largest
    exactly there. The values come from autodiff through the registered losses
    themselves, per example (a batch of one), so they are what training backpropagates.

    Args:
      d_of_fake: float [N] in (0, 1), D's probability that a fake is real.
      names: keys of LOSSES whose D outputs logits.

    Returns:
      {name: float32 [N]} the gradient of that loss with respect to the logit
      log(p / (1 - p)) of each p in d_of_fake.
    """
    p = np.asarray(d_of_fake, np.float64)
    if p.ndim != 1 or not ((p > 0) & (p < 1)).all():
        raise ValueError("d_of_fake must be a 1-D array of probabilities strictly inside (0, 1).")
    logits = tf.Variable(np.log(p / (1 - p))[:, None], dtype=tf.float32)
    gradients = {}
    for name in names:
        loss = get(name)
        if loss.d_outputs != "logits":
            raise ValueError(f"--loss={name} takes D's {loss.d_outputs}, not logits.")
        with tf.GradientTape() as tape:
            # Summing per-example means (batches of one) keeps each example's own gradient.
            total = tf.add_n([loss.generator(logits[i:i + 1]) for i in range(len(p))])
        gradients[name] = tape.gradient(total, logits).numpy()[:, 0]
    return gradients


def mutual_information_loss(categories, continuous, code_logits, code_mean):
    """InfoGAN's L_I (Chen et al., 2016): the codes' negative log-likelihood under Q.

    A variational lower bound on the mutual information I(c; G(z, c)), up to a
    constant: cross-entropy of the categorical code plus 1/2 ||c_cont - Q_mean||^2,
    the NLL of the continuous codes under a unit-variance Gaussian.

    Args:
      categories: int32 [B], the categorical code (ignored when code_logits has 0 columns).
      continuous: float32 [B, N], the continuous codes in [-1, 1].
      code_logits: float [B, num_categories], Q's logits of the categorical code.
      code_mean: float [B, N], Q's mean of the continuous codes.

    Returns:
      Scalar float32 >= 0: the mean over the global batch (a replica's share).
    """
    per_example = tf.zeros_like(categories, tf.float32)
    if code_logits.shape[-1]:
        per_example += tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=categories, logits=tf.cast(code_logits, tf.float32))
    if continuous.shape[-1]:
        per_example += 0.5 * tf.reduce_sum(tf.square(continuous - tf.cast(code_mean, tf.float32)), axis=1)
    return tf.nn.compute_average_loss(per_example)



def matching_aware_discriminator_loss(real_logits, fake_logits, mismatched_logits):
    """The matching-aware discriminator loss of text-to-image GANs (Reed et al., 2016, GAN-CLS; StackGAN).

    D judges (image, text) pairs, and sees three: a real image with its own text (label 1), a
    fake made from that text (label 0, weight 1/2) and a real image with another image's text
    (label 0, weight 1/2). The third teaches D that a realistic image with the wrong words is
    no match, so G must follow the text, not only make realistic images.

    Args:
      real_logits: float [B, 1], D on (real image, its text).
      fake_logits: float [B, 1], D on (G(z, text), text).
      mismatched_logits: float [B, 1], D on (real image, another example's text).

    Returns:
      Scalar float32 >= 0: BCE(real, 1) + 1/2 BCE(fake, 0) + 1/2 BCE(mismatched, 0), each the mean
      over the global batch (a replica's share).
    """
    return (_global_mean(_bce(real_logits, 1.0)) + 0.5 * _global_mean(_bce(fake_logits, 0.0))
            + 0.5 * _global_mean(_bce(mismatched_logits, 0.0)))


def conditioning_augmentation_kl(mu, log_sigma):
    """StackGAN's conditioning-augmentation term, KL(N(mu, diag sigma^2) || N(0, I)) per code dimension.

    Per example 1/(2D) sum_j (sigma_j^2 + mu_j^2 - 1 - 2 log sigma_j): the Gaussians' KL divided by
    the code's D dimensions, as the StackGAN authors' `KL_loss` takes it (a mean over every element;
    their weight on it is 2.0). It keeps the text's conditioning distribution near the unit
    Gaussian, so nearby captions give overlapping codes and the generator sees a smooth condition
    manifold. (The KL summed over 128 dimensions, at weight 1, is 64 times theirs: it pulls every
    caption's code onto N(0, I), and the images stop following the text.)

    Args:
      mu: float [B, D], the code's mean.
      log_sigma: float [B, D], the log of its standard deviation.

    Returns:
      Scalar float32 >= 0: the mean over the global batch (a replica's share).
    """
    mu, log_sigma = tf.cast(mu, tf.float32), tf.cast(log_sigma, tf.float32)
    per_example = 0.5 * tf.reduce_mean(tf.exp(2.0 * log_sigma) + tf.square(mu) - 1.0 - 2.0 * log_sigma, axis=1)
    return tf.nn.compute_average_loss(per_example)


def l1_distance(images, targets):
    """Mean absolute difference of two image batches: pix2pix's L1 term, CycleGAN's cycle and identity terms.

    E|images - targets| over every pixel and channel (the reference's `nn.L1Loss()`);
    ||G(x) - y||_1 in pix2pix (Isola et al., 2017, eq. 3), ||F(G(a)) - a||_1 in CycleGAN
    (Zhu et al., 2017, eq. 2).

    Args:
      images, targets: float [B, H, W, C], in [-1, 1] for images.

    Returns:
      Scalar float32 >= 0: the mean over the global batch (a replica's share); 0 for equal batches.
    """
    return _global_mean(tf.abs(tf.cast(images, tf.float32) - tf.cast(targets, tf.float32)))


def weighted_l2_distance(images, targets, weights):
    """The weighted mean of squared differences: the context encoder's reconstruction loss (Pathak et al., eq. 1).

    Per image, sum(w (images - targets)^2) / sum(w) over pixels and channels (the weights broadcast
    over channels), then the mean over the global batch. With `inpainting.reconstruction_weights` the
    hole counts once and the overlap band around it 10 times (the paper's weighting).

    Args:
      images, targets: float [B, H, W, C] in [-1, 1].
      weights: float [B, H, W, 1] >= 0, each image with some weight > 0.

    Returns:
      Scalar float32 >= 0 (at most 4 for images in [-1, 1]): the replica's share of the global mean.
    """
    weights = tf.cast(weights, tf.float32)
    squared = tf.square(tf.cast(images, tf.float32) - tf.cast(targets, tf.float32))
    total = tf.reduce_sum(weights * squared, axis=[1, 2, 3])
    norm = tf.reduce_sum(weights, axis=[1, 2, 3]) * tf.cast(tf.shape(squared)[-1], tf.float32)
    return tf.nn.compute_average_loss(total / tf.maximum(norm, 1e-12))


def mse_content_loss(images, targets, extract=None):
    """SRResNet's pixel-wise content loss: the mean squared difference of two image batches.

    E(images - targets)^2 over every pixel and channel: l_MSE of Ledig et al., 2017 (eq. 4),
    what PSNR rewards.

    Args:
      images, targets: float [B, H, W, C] in [-1, 1].
      extract: unused (the pixels are the features); `CONTENT_LOSSES` share one signature.

    Returns:
      Scalar float32 >= 0: the mean over the global batch (a replica's share); 0 for equal batches.
    """
    del extract
    return _global_mean(tf.square(tf.cast(images, tf.float32) - tf.cast(targets, tf.float32)))


def feature_content_loss(images, targets, extract):
    """SRGAN's perceptual content loss: the mean squared difference of a fixed network's feature maps.

    E(phi(images) - phi(targets))^2 over every feature: the paper's VGG loss l_VGG/i.j (Ledig et
    al., 2017, eq. 5) with phi a frozen classifier's feature maps (`extract`). Matching features
    rather than pixels lets G draw plausible texture instead of the blurred mean that MSE favours.

    Args:
      images, targets: float [B, H, W, C] in [-1, 1].
      extract: images [B, H, W, C] -> float32 features [B, ...], a frozen network in inference mode.

    Returns:
      Scalar float32 >= 0: the mean over the global batch (a replica's share); 0 for equal batches.
    """
    # No gradient into the targets' features: they are constants of the step.
    difference = extract(tf.cast(images, tf.float32)) - tf.stop_gradient(extract(tf.cast(targets, tf.float32)))
    return _global_mean(tf.square(difference))


# The content losses of a super-resolution model (gans/super_resolution.py): name -> fn(images, targets, extract).
CONTENT_LOSSES = {"mse": mse_content_loss, "features": feature_content_loss}

def _lookup(registry, name, kind, kinds):
    if name not in registry:
        raise ValueError(f"Unknown {kind} {name!r}; valid {kinds}: {', '.join(sorted(registry))}.")
    return registry[name]


def get(name: str) -> Loss:
    """The loss pair registered as `name`; ValueError listing valid names otherwise."""
    return _lookup(LOSSES, name, "loss", "losses")


def get_penalty(name: str):
    """The penalty registered as `name` (None for "none"); ValueError listing valid names otherwise."""
    return _lookup(PENALTIES, name, "penalty", "penalties")
