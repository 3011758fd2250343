"""GANs from the lectures, in TensorFlow 2 / Keras 3."""

import os

# oneDNN's CPU kernels, read once when TensorFlow is imported (so this runs first: any `tfgan_course`
# import does). TensorFlow's Linux default turns them on only for CPUs with AVX512_VNNI, AVX512_BF16,
# AVX_VNNI or AMX; on the others, such as AVX2-only AMD EPYCs, its Eigen kernels ran the DCGAN-64 step
# 2.4x slower (4.87 s against 2.03 s, benchmarks/README.md). TF_ENABLE_ONEDNN_OPTS=0 keeps them off.
# serving/__init__.py does the same for the server, which never imports this package.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
