"""The test suite."""

import tfgan_course  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py).
