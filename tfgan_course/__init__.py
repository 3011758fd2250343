"""GANs from the lectures, in TensorFlow 2 / Keras 3."""
