"""Regression safety net: every GAN variant, a few seeded steps through `experiment.run`, pinned checksums.

Each variant trains 3 generator steps (batch 4, 8x8 images, latent 8, widths 8, seed 1)
on one shared IDX fixture through the public entry point
`experiment.run(config.Config(...), workdir, verbose=0)`, then the test compares with the
numbers pinned in PINNED below, at rtol 1e-5 (room for float summation order only):

  weights_sum, weights_abs_sum  float64 sum and sum of |w| over
                                result.model.generator.weights + result.model.discriminator.weights
  num_weights                   the number of scalars in those weights (exact)
  images_sum, images_abs_sum    float64 sum and sum of |x| of result.model.generate(8, seed=0)
                                (label=None: a conditional model draws its labels from the seed)
  steps                         result.steps (exact)

The numbers were measured at commit 375bd114ac0ce7f317585dcc51fdad0e2ff363c7 (and are the same
at its parent 7687662), on an AMD EPYC with AVX2 and no AVX512-BF16:
each variant twice in fresh processes, in reverse order, alone, and pinned to one CPU core,
always identical to the last digit; under pytest too, where tf.test.TestCase sets a global seed.
InfoGAN's were re-pinned on 2026-12-06 (same machine kind, twice in fresh processes), when the project
turned TensorFlow's oneDNN kernels on for every x86 CPU (tfgan_course/__init__.py; TensorFlow had left
them off on this one): its images moved by 13% of their small sum, the other seven not at all.
oneDNN kernels differ between CPU instruction sets, so another machine may round differently
(bfloat16 most of all): re-pin there rather than loosen RTOL, in PINNED_BY_CPU under the CPU flag
that changes the kernels. On an AMD EPYC with AVX512-BF16 (2026-12-04) six variants gave PINNED's
numbers to the last digit and two did not (InfoGAN's images by 2.8% of their small sum, the bfloat16
MLP's by 0.3%); their numbers there, the same in two fresh processes and under pytest, are
PINNED_BY_CPU["avx512_bf16"]. A deliberate change of behaviour re-pins too: `python -m
tests.regression_test [VARIANT ...]` prints a new PINNED dict (it imports tests/conftest.py first, so
the process is set up as under pytest).

Each variant's numbers differ from the plain MLP's, and a 1% change of one learning rate, a
10% change of the gradient penalty's or the information loss's weight, or a sign error in
BEGAN's k_t update each fail the test (checked when it was written).
"""

import os
import sys
import tempfile

import numpy as np
import tensorflow as tf

from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import experiment

TINY = dict(image_size=8, channels=1, batch_size=4, latent_dim=8, g_width=8, d_width=8, optimizer="adam",
            g_learning_rate=1e-3, d_learning_rate=1e-3, epochs=1, steps_per_epoch=3, log_every_steps=0,
            num_fixed_samples=8, seed=1)

# What differs from TINY, per variant.
VARIANTS = {
    "plain_mlp": dict(model="mlp"),
    "plain_dcgan": dict(model="dcgan"),
    "conditional_cmlp": dict(model="cmlp"),
    "infogan": dict(model="infogan", info_categories=3, info_continuous=2),
    "began_mlp": dict(model="mlp", loss="began", began_lambda_k=0.1),  # k_t matters within 3 steps.
    "unrolled_mlp": dict(model="mlp", unrolled_steps=2),
    "wgan_gp_dcgan": dict(model="dcgan", loss="wasserstein", penalty="gradient", d_steps=2, d_norm="layer"),
    "mixed_bfloat16_mlp": dict(model="mlp", mixed_precision="mixed_bfloat16"),
}

PINNED = {
    'plain_mlp': {
        'weights_sum': 0.5656586986151524, 'weights_abs_sum': 145.56492448371137, 'num_weights': 1177,
        'images_sum': 10.75270991330035, 'images_abs_sum': 119.73395985341631, 'steps': 3},
    'plain_dcgan': {
        'weights_sum': 13.633832924431772, 'weights_abs_sum': 36.74104545869341, 'num_weights': 1440,
        'images_sum': -0.11270254406554159, 'images_abs_sum': 1.7272013221227098, 'steps': 3},
    'conditional_cmlp': {
        'weights_sum': 10.558152032725047, 'weights_abs_sum': 263.9329945674981, 'num_weights': 2729,
        'images_sum': 12.379745237412862, 'images_abs_sum': 79.3233152461471, 'steps': 3},
    'infogan': {
        'weights_sum': 3555.529090746921, 'weights_abs_sum': 8078.011078531475, 'num_weights': 290543,
        'images_sum': -0.6266079405904748, 'images_abs_sum': 0.6279886330594309, 'steps': 3},
    'began_mlp': {
        'weights_sum': 0.2902510748099303, 'weights_abs_sum': 403.3794130929309, 'num_weights': 2840,
        'images_sum': 10.5500400440651, 'images_abs_sum': 117.57232244935585, 'steps': 3},
    'unrolled_mlp': {
        'weights_sum': 0.55585955188144, 'weights_abs_sum': 145.55159060657024, 'num_weights': 1177,
        'images_sum': 10.782176271313801, 'images_abs_sum': 119.57595551782288, 'steps': 3},
    'wgan_gp_dcgan': {
        'weights_sum': 11.846942306488927, 'weights_abs_sum': 35.90794743051083, 'num_weights': 1440,
        'images_sum': -0.3485362593382888, 'images_abs_sum': 2.0575049726357975, 'steps': 3},
    'mixed_bfloat16_mlp': {
        'weights_sum': 0.5652964119217359, 'weights_abs_sum': 145.564366636856, 'num_weights': 1177,
        'images_sum': 10.69427490234375, 'images_abs_sum': 119.47027587890625, 'steps': 3},
}

# Pins of the machines whose oneDNN kernels round differently, by the /proc/cpuinfo flag that selects them.
PINNED_BY_CPU = {
    "avx512_bf16": {
        'infogan': {
            'weights_sum': 3558.0257634123727, 'weights_abs_sum': 8078.08294588992, 'num_weights': 290543,
            'images_sum': -0.7001747320755385, 'images_abs_sum': 0.7009771933662705, 'steps': 3},
        'mixed_bfloat16_mlp': {
            'weights_sum': 0.5655954324174672, 'weights_abs_sum': 145.56409439444542, 'num_weights': 1177,
            'images_sum': 10.65789794921875, 'images_abs_sum': 119.85797119140625, 'steps': 3},
    },
}

RTOL = 1e-5
EXACT = ("num_weights", "steps")


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (an empty set where /proc/cpuinfo does not exist)."""
    try:
        with open(cpuinfo) as f:
            return {flag for line in f if line.startswith("flags") for flag in line.split(":", 1)[1].split()}
    except OSError:
        return set()


def pins(flags):
    """PINNED with the entries of PINNED_BY_CPU whose flag is in `flags` (at most one may apply)."""
    matching = [pinned for flag, pinned in PINNED_BY_CPU.items() if flag in flags]
    if len(matching) > 1:
        raise ValueError(f"more than one of PINNED_BY_CPU's flags {sorted(PINNED_BY_CPU)} applies; pin the "
                         "combination under one key")
    return {**PINNED, **(matching[0] if matching else {})}


def write_data(directory):
    """The shared fixture: 64 labelled (10 classes) 28x28 noise images, resized to 8x8 by the pipeline."""
    return fixtures.write_idx(directory, num_images=64, size=28, seed=0)


def variant_config(name, data_dir):
    return config_lib.Config(dataset=f"idx:{data_dir}", **{**TINY, **VARIANTS[name]})


def measure(name, data_dir, workdir):
    """The checksums of variant `name` trained in `workdir` (a new directory)."""
    result = experiment.run(variant_config(name, data_dir), workdir, verbose=0)
    weights = [np.asarray(w.numpy(), np.float64).ravel()
               for w in result.model.generator.weights + result.model.discriminator.weights]
    weights = np.concatenate(weights)
    images = np.asarray(result.model.generate(8, seed=0), np.float64)
    return {"weights_sum": float(np.sum(weights)), "weights_abs_sum": float(np.sum(np.abs(weights))),
            "num_weights": int(weights.size), "images_sum": float(np.sum(images)),
            "images_abs_sum": float(np.sum(np.abs(images))), "steps": int(result.steps)}


class RegressionTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data_dir = write_data(tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir()))

    def _check(self, name):
        actual = measure(name, self.data_dir, os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run"))
        pinned = pins(cpu_flags())[name]
        self.assertCountEqual(actual, pinned)
        for key in EXACT:
            self.assertEqual(actual[key], pinned[key], f"{name} {key}; measured {actual!r}")
        for key in sorted(set(pinned) - set(EXACT)):
            np.testing.assert_allclose(actual[key], pinned[key], rtol=RTOL,
                                       err_msg=f"{name} {key}; measured {actual!r}")

    def test_plain_mlp(self):
        self._check("plain_mlp")

    def test_plain_dcgan(self):
        self._check("plain_dcgan")

    def test_conditional_cmlp(self):
        self._check("conditional_cmlp")

    def test_infogan(self):
        self._check("infogan")

    def test_began_mlp(self):
        self._check("began_mlp")

    def test_unrolled_mlp(self):
        self._check("unrolled_mlp")

    def test_wgan_gp_dcgan(self):
        self._check("wgan_gp_dcgan")

    def test_mixed_bfloat16_mlp(self):
        self._check("mixed_bfloat16_mlp")

    def test_every_variant_is_pinned_and_tested(self):
        self.assertCountEqual(PINNED, VARIANTS)
        for flag, pinned in PINNED_BY_CPU.items():
            self.assertContainsSubset(pinned, VARIANTS, f"PINNED_BY_CPU[{flag!r}]")
            self.assertEqual({name: pins({flag})[name] for name in pinned}, pinned)
        self.assertEqual(pins(set()), PINNED)
        self.assertCountEqual([n[len("test_"):] for n in dir(self) if n.startswith("test_") and n[5:] in VARIANTS],
                              VARIANTS)


def _print_pins(names):
    """Measures `names` (all variants by default) in this process and prints a PINNED dict."""
    import tests.conftest  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import  # pytest's set-up.

    root = tempfile.mkdtemp()
    data_dir = write_data(os.path.join(root, "data"))
    print("PINNED = {")
    for name in names or VARIANTS:
        items = [f"{key!r}: {value!r}" for key, value in measure(name, data_dir, os.path.join(root, name)).items()]
        print(f"    {name!r}: {{\n        {', '.join(items[:3])},\n        {', '.join(items[3:])}}},", flush=True)
    print("}")


if __name__ == "__main__":
    _print_pins(sys.argv[1:])
