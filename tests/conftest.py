"""Test-suite set-up: two logical CPU devices (for MirroredStrategy tests), quiet TensorFlow."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # pylint: disable=wrong-import-position

# Must run before TensorFlow initialises its devices, hence here and at import.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])


def pytest_collection_modifyitems(items):
    # tf.test.TestCase.test_session is a deprecated helper that pytest collects
    # as a skipped test in every class; it tests nothing.
    items[:] = [item for item in items if item.name != "test_session"]
