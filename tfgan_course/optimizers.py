"""Optimizers by name, one per network, from a Config's g_/d_ hyperparameters; the linear learning-rate decay."""

import keras
import tensorflow as tf

# name -> fn(learning rate, beta1, beta2, momentum, Adam's epsilon) -> optimizer.
OPTIMIZERS = {
    "adam": lambda lr, beta1, beta2, momentum, epsilon: keras.optimizers.Adam(
        lr, beta_1=beta1, beta_2=beta2, epsilon=epsilon),
    "sgd": lambda lr, beta1, beta2, momentum, epsilon: keras.optimizers.SGD(lr, momentum=momentum),
    "rmsprop": lambda lr, beta1, beta2, momentum, epsilon: keras.optimizers.RMSprop(lr, momentum=momentum),
}


@keras.saving.register_keras_serializable(package="tfgan_course")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`initial` for `constant_steps` updates, then linearly down to 0 over `decay_steps` (CycleGAN's schedule).

    lr(t) = initial * clip((constant_steps + decay_steps - t) / decay_steps, 0, 1) for the
    optimizer's update count t (its `iterations`, which a checkpoint holds: a resumed run
    continues the schedule exactly). The last update, t = constant + decay - 1, still moves.
    """

    def __init__(self, initial, constant_steps, decay_steps):
        if decay_steps < 1 or constant_steps < 0:
            raise ValueError(f"LinearDecay needs decay_steps >= 1 and constant_steps >= 0, got {decay_steps} and "
                             f"{constant_steps}.")
        self.initial = float(initial)
        self.constant_steps = int(constant_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        remaining = float(self.constant_steps + self.decay_steps) - tf.cast(step, tf.float32)
        return self.initial * tf.clip_by_value(remaining / self.decay_steps, 0.0, 1.0)

    def get_config(self):
        return {"initial": self.initial, "constant_steps": self.constant_steps, "decay_steps": self.decay_steps}


@keras.saving.register_keras_serializable(package="tfgan_course")
class RestartableAdam(keras.optimizers.Adam):
    """Adam whose moments can be started afresh mid-run (`restart`), its bias correction counting from there.

    The progressive GAN restarts both optimizers at each new resolution, as TF-GAN makes new ones
    per stage. `iterations` runs on (G's is the run's step count), so the bias correction uses
    t = iterations + 1 - restarted_at: Adam's step size lr sqrt(1 - beta2^t) / (1 - beta1^t) is
    reached by rescaling the learning rate Adam's own `update_step` gets.
    """

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.restarted_at = self.add_variable((), initializer="zeros", dtype="int64", name="restarted_at")

    def restart(self):
        """Zeroes the moments; the next update is the first of a new Adam."""
        for moment in [*self._momentums, *self._velocities]:
            moment.assign(tf.zeros_like(moment))
        self.restarted_at.assign(tf.cast(self.iterations, tf.int64))

    def update_step(self, gradient, variable, learning_rate):
        def correction(t):
            return tf.sqrt(1.0 - tf.pow(self.beta_2, t)) / (1.0 - tf.pow(self.beta_1, t))

        step = tf.cast(self.iterations + 1, tf.float32)
        local_step = step - tf.cast(self.restarted_at, tf.float32)
        scale = tf.cast(correction(local_step) / correction(step), variable.dtype)
        super().update_step(gradient, variable, tf.cast(learning_rate, variable.dtype) * scale)


def learning_rate(config, network: str, steps_per_epoch: int = 0):
    """`network`'s learning rate: a float, or with --lr_decay_epochs (and steps_per_epoch) a LinearDecay.

    Constant for --epochs minus --lr_decay_epochs epochs, then linear to 0 at the end of
    --epochs; D's optimizer updates --d_steps times per step, so its schedule counts that many.
    """
    initial = getattr(config, f"{network}_learning_rate")
    decay_epochs = config.lr_decay_epochs
    if not (decay_epochs and steps_per_epoch):
        return initial
    updates = steps_per_epoch * (config.d_steps if network == "d" else 1)
    return LinearDecay(initial, (config.epochs - decay_epochs) * updates, decay_epochs * updates)


def make(config, network: str, steps_per_epoch: int = 0) -> keras.optimizers.Optimizer:
    """The optimizer of `network` ("g" or "d"): e.g. Adam(g_learning_rate, g_beta1, g_beta2).

    Its learning rate decays linearly over the last --lr_decay_epochs when steps_per_epoch is
    given (`learning_rate`). Under --mixed_precision=mixed_float16 it is wrapped in a LossScaleOptimizer.
    """
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {config.optimizer!r}; valid: {', '.join(sorted(OPTIMIZERS))}.")
    optimizer = OPTIMIZERS[config.optimizer](
        learning_rate(config, network, steps_per_epoch),
        getattr(config, f"{network}_beta1"),
        getattr(config, f"{network}_beta2"),
        config.momentum,
        config.adam_epsilon,
    )
    if config.mixed_precision == "mixed_float16":
        # float16 gradients underflow to 0 below ~6e-8: each network's loss is
        # scaled up before differentiating and its gradients scaled back, with
        # the scale halved on overflow and doubled after 2,000 good steps. D
        # and G need a scale each, as their losses differ by orders of magnitude.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
