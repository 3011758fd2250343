"""What a GAN step needs from `tf.distribute`: replica counts, this replica's slice of global noise, log reduction.

Under a strategy with R replicas every replica runs `train_step` on its
share of the global batch. Noise is drawn for the global batch and sliced, so
R replicas see exactly what one device would; logged values are averaged
over replicas. Outside a strategy every function here is the identity.
"""

import tensorflow as tf


def count() -> int:
    """R, the replicas in sync (1 outside a strategy or in cross-replica context)."""
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context else 1


def global_slice(values, batch_size):
    """This replica's rows of `values` drawn for the global batch [R * batch_size, ...]."""
    context = tf.distribute.get_replica_context()
    if not context or context.num_replicas_in_sync == 1:
        return values
    start = context.replica_id_in_sync_group * batch_size
    return values[start:start + batch_size]


def sum_across(values):
    """The sum of `values` (a tensor or a list) over replicas; `values` itself on one replica."""
    context = tf.distribute.get_replica_context()
    if context and context.num_replicas_in_sync > 1:
        return context.all_reduce(tf.distribute.ReduceOp.SUM, values)
    return values


def mean_across(value):
    """The mean of a scalar over replicas (an all-reduce in replica context)."""
    context = tf.distribute.get_replica_context()
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, value) if context else value


def multi_worker() -> bool:
    """True inside a MultiWorkerMirroredStrategy that spans several workers (Keras' own test)."""
    extended = tf.distribute.get_strategy().extended
    return getattr(extended, "_in_multi_worker_mode", lambda: False)()


def as_step_outputs(logs: dict) -> dict:
    """Keras averages a multi-worker step's outputs along axis 0 across workers: give the
    (already averaged) scalars that axis there; elsewhere `logs` as they are."""
    if multi_worker():
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs
