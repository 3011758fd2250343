"""The unrolled GAN's lookahead (Metz et al., 2017; lecture 004 and textbook 12.7's remedy for mode collapse).

G's loss is computed through a copy of D advanced `unrolled_steps` optimizer
steps ahead on the same batch, differentiating through those steps, so G's
gradient includes how D would react to G. Any GAN variant uses it by setting
`unrolled_steps` (`gan.GAN.train_step` calls `lookahead_weights`).

Keras' public `optimizer.stateless_apply` would replay D's optimizer, but
Keras 3.15 refuses it on the TensorFlow backend ("incompatible with
tf.distribute"), so Adam's update is written out here from its moments.
"""

import keras
import tensorflow as tf

from tfgan_course import replicas


def lookahead_weights(model, real_images, real_condition, fake_images, condition):
    """D's trainable weights after `model.unrolled_steps` more updates on this batch, differentiable in G.

    The updates replay D's optimizer: Adam from its current moments and step
    count (as Metz et al. unroll Adam), any other optimizer as plain gradient
    descent at its learning rate. The fakes are not stopped, so G's gradient
    includes how D would react to G: the term that fights mode collapse. D's
    penalty, weight decay and clipping are left out of the lookahead.
    """
    variables = model.discriminator.trainable_variables
    weights = [tf.convert_to_tensor(v) for v in variables]
    # Under mixed_float16 D's optimizer wraps the Adam that holds the moments.
    optimizer = getattr(model.d_optimizer, "inner_optimizer", model.d_optimizer)
    adam = isinstance(optimizer, keras.optimizers.Adam)
    if adam:
        index = optimizer._get_variable_index  # pylint: disable=protected-access
        moments = [tf.convert_to_tensor(optimizer._momentums[index(v)]) for v in variables]  # pylint: disable=protected-access
        velocities = [tf.convert_to_tensor(optimizer._velocities[index(v)]) for v in variables]  # pylint: disable=protected-access
    learning_rate = tf.cast(optimizer.learning_rate, tf.float32)
    for step in range(model.unrolled_steps):
        with tf.GradientTape() as tape:
            tape.watch(weights)
            d_loss = model.discriminator_loss(model.discriminate(real_images, real_condition, weights),
                                              model.discriminate(fake_images, condition, weights), condition)
        grads = replicas.sum_across(tape.gradient(d_loss, weights))
        if not adam:
            weights = [w - learning_rate * g for w, g in zip(weights, grads)]
            continue
        t = tf.cast(optimizer.iterations + 1 + step, tf.float32)
        alpha = learning_rate * tf.sqrt(1 - optimizer.beta_2 ** t) / (1 - optimizer.beta_1 ** t)
        moments = [m + (g - m) * (1 - optimizer.beta_1) for m, g in zip(moments, grads)]
        velocities = [v + (tf.square(g) - v) * (1 - optimizer.beta_2) for v, g in zip(velocities, grads)]
        # sqrt's derivative is infinite at 0 (a weight with no gradient yet);
        # the tiny offset keeps the second-order gradient finite.
        weights = [w - alpha * m / (tf.sqrt(v + 1e-20) + optimizer.epsilon)
                   for w, m, v in zip(weights, moments, velocities)]
    return weights
