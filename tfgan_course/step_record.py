"""StepRecord: every training step's logged values, for callbacks that see one step in N.

Keras hands callbacks the logs of the last step of each execution only
(`steps_per_execution=N`). The step writes its values to row (step - 1) % N of
a variable; a callback reads the rows of the steps it has not seen yet, so the
loss log keeps one row per step.
"""

import tensorflow as tf


class StepRecord:
    """A ring of the last `capacity` steps' values of `names`.

    Args:
      names: the logged values, in column order.
      capacity: steps held, >= 1 (Keras' steps_per_execution).
    """

    def __init__(self, names, capacity: int):
        self.names = tuple(names)
        # One writer under a strategy: every replica writes the same (all-reduced) values.
        self.values = tf.Variable(tf.zeros([max(int(capacity), 1), len(self.names)]), trainable=False,
                                  name="step_record", aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def write(self, step, logs: dict) -> None:
        """Records `logs` (scalar tensors by name) as step `step` (int64 tensor, from 1), in a tf.function."""
        row = tf.cast((step - 1) % tf.shape(self.values, out_type=tf.int64)[0], tf.int32)
        self.values.assign(tf.tensor_scatter_nd_update(
            self.values, [[row]], [tf.stack([logs[name] for name in self.names])]))

    def read(self, first: int, last: int) -> dict:
        """{step: {name: value}} for the steps first..last (Python ints) still held; older ones are left out."""
        record = self.values.numpy()
        first = max(first, last - len(record) + 1, 1)
        return {step: dict(zip(self.names, map(float, record[(step - 1) % len(record)])))
                for step in range(first, last + 1)}
