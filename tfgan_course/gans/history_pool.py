"""CycleGAN's image history pool (Shrivastava et al., 2017; Zhu et al., 2017, section 4).

D is updated on a mix of the newest fakes and older ones, so it does not
forget what G produced a few hundred steps ago and G cannot oscillate between
modes D has stopped rejecting. The pool's images and fill count are
`tf.Variable`s: a checkpoint holds them, and a resumed run draws the same
fakes as an uninterrupted one.
"""

import keras
import tensorflow as tf


class HistoryPool(tf.Module):
    """Up to `size` past fakes of shape `image_shape`.

    `query(fakes)`, image by image, as the reference's ImagePool: while the
    pool is not full, each fake is stored and passes through; once full, each
    fake is, with probability 1/2, swapped with a uniformly chosen stored one
    (the stored one goes to D, the fake into the pool), else passes through.
    size 0: every fake passes through.

    Args:
      size: the pool's capacity (50 in CycleGAN).
      image_shape: (H, W, C) of the fakes.
      name: the module's name.
    """

    def __init__(self, size, image_shape, name="history_pool"):
        super().__init__(name=name)
        if size < 0:
            raise ValueError(f"A history pool's size must be >= 0, got {size}.")
        self.size = int(size)
        self.images = tf.Variable(tf.zeros([max(self.size, 1), *image_shape]), trainable=False, name="images")
        self.count = tf.Variable(0, dtype=tf.int32, trainable=False, name="count")

    def query(self, fakes, seed_generator):
        """fakes float32 [B, H, W, C] -> the images D sees, float32 [B, H, W, C]; updates the pool.

        Randomness comes from `seed_generator` (a keras.random.SeedGenerator), so a resumed run repeats it.
        """
        if not self.size:
            return fakes
        fakes = tf.cast(fakes, self.images.dtype)
        batch = tf.shape(fakes)[0]
        swaps = keras.random.uniform([batch], seed=seed_generator) < 0.5
        slots = tf.cast(keras.random.randint([batch], 0, self.size, seed=seed_generator), tf.int32)

        def step(i, outputs):
            fake = fakes[i]
            filling = self.count < self.size

            def store():
                self.images.scatter_nd_update([[self.count]], fake[None])
                with tf.control_dependencies([self.count.assign_add(1)]):
                    return tf.identity(fake)

            def swap():
                old = tf.identity(self.images[slots[i]])
                with tf.control_dependencies([old]):
                    with tf.control_dependencies([self.images.scatter_nd_update([[slots[i]]], fake[None])]):
                        return tf.identity(old)

            image = tf.cond(filling, store, lambda: tf.cond(swaps[i], swap, lambda: fake))
            return i + 1, outputs.write(i, image)

        _, outputs = tf.while_loop(lambda i, _: i < batch, step,
                                   (tf.constant(0), tf.TensorArray(fakes.dtype, size=batch)))
        return tf.reshape(outputs.stack(), tf.shape(fakes))
