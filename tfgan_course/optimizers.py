"""Optimizers by name, one per network, from a Config's g_/d_ hyperparameters."""

import keras

# name -> fn(learning rate, beta1, beta2, momentum, Adam's epsilon) -> optimizer.
OPTIMIZERS = {
    "adam": lambda lr, beta1, beta2, momentum, epsilon: keras.optimizers.Adam(
        lr, beta_1=beta1, beta_2=beta2, epsilon=epsilon),
    "sgd": lambda lr, beta1, beta2, momentum, epsilon: keras.optimizers.SGD(lr, momentum=momentum),
    "rmsprop": lambda lr, beta1, beta2, momentum, epsilon: keras.optimizers.RMSprop(lr, momentum=momentum),
}


def make(config, network: str) -> keras.optimizers.Optimizer:
    """The optimizer of `network` ("g" or "d"): e.g. Adam(g_learning_rate, g_beta1, g_beta2).

    Under --mixed_precision=mixed_float16 it is wrapped in a LossScaleOptimizer.
    """
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {config.optimizer!r}; valid: {', '.join(sorted(OPTIMIZERS))}.")
    optimizer = OPTIMIZERS[config.optimizer](
        getattr(config, f"{network}_learning_rate"),
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
