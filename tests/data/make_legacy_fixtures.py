"""Writes tests/data/legacy/: run directories and exports as the code of one commit wrote them.

tests/legacy_test.py checks that later code still resumes, evaluates, explores and serves
these "old" runs. They are committed, so do not regenerate them with newer code unless
you mean to drop compatibility with what they record.

Last run at commit 375bd114ac0ce7f317585dcc51fdad0e2ff363c7 (`git rev-parse HEAD`), on a
clean checkout of it (`git archive HEAD | tar -x -C /tmp/base`), as

  cd <repository root> && python tests/data/make_legacy_fixtures.py

It writes (all paths relative to the repository root, where pytest runs):

  data/          the IDX data of every run: 40 labelled (10 classes) 28x28 noise images,
                 tests/fixtures.write_idx (the pipeline resizes them to 8x8)
  run_mlp/       plain MLP GAN, normal z            export/legacy_mlp/1/
  run_cmlp/      conditional MLP GAN, 10 classes    export/legacy_cmlp/1/
  run_infogan/   InfoGAN, 3 categories + 1 code     export/legacy_infogan/1/
  run_uniform/   plain MLP GAN, uniform z           export/legacy_uniform/1/

Each run trained 2 generator steps (1 epoch of 2 steps: checkpoints/ckpt-*, losses.csv rows
1 and 2) from `--dataset=idx:tests/data/legacy/data`, a path relative to the repository root,
so its flags.cfg works from there on any machine. Removed after training, to keep the
directory small and free of absolute paths: tensorboard/ and the figures at a run's top
(losses.png, d_outputs.png, real_vs_fake.png, sweep_*.png), and the export base's
models.config and batching.config (TF Serving configs holding this machine's absolute paths), and
empty directories (a SavedModel's assets/), which git would not keep. samples/ stays (a few KB).
"""

import glob
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEGACY = os.path.join("tests", "data", "legacy")
DATA = os.path.join(LEGACY, "data")

TINY = dict(image_size=8, channels=1, batch_size=4, latent_dim=8, g_width=8, d_width=8, optimizer="adam",
            g_learning_rate=1e-3, d_learning_rate=1e-3, epochs=1, steps_per_epoch=2, log_every_steps=0,
            num_fixed_samples=8, seed=0)
RUNS = {
    "run_mlp": dict(model="mlp", model_name="legacy_mlp"),
    "run_cmlp": dict(model="cmlp", model_name="legacy_cmlp"),
    # InfoGAN's fully connected layers have fixed widths (1024, 128): widths 2 keep its checkpoint near 2 MB.
    "run_infogan": dict(model="infogan", g_width=2, d_width=2, info_categories=3, info_continuous=1,
                        model_name="legacy_infogan"),
    "run_uniform": dict(model="mlp", latent_distribution="uniform", model_name="legacy_uniform"),
}
REMOVED = ("tensorboard", "losses.png", "d_outputs.png", "real_vs_fake.png", "sweep_*.png",
           "export/models.config", "export/batching.config")


def main():
    os.chdir(REPO)  # The runs' dataset path is relative to the repository root.
    sys.path.insert(0, REPO)
    from tests import fixtures  # pylint: disable=import-outside-toplevel
    from tfgan_course import config as config_lib  # pylint: disable=import-outside-toplevel
    from tfgan_course import experiment

    shutil.rmtree(LEGACY, ignore_errors=True)
    fixtures.write_idx(DATA, num_images=40, size=28, seed=0)
    for name, changes in RUNS.items():
        workdir = os.path.join(LEGACY, name)
        config = config_lib.Config(dataset=f"idx:{DATA}", **{**TINY, **changes})
        result = experiment.run(config, workdir, verbose=0)
        assert result.steps == 2, result.steps
        for pattern in REMOVED:
            for path in glob.glob(os.path.join(workdir, pattern)):
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)  # pylint: disable=expression-not-assigned
        for directory, subdirectories, files in os.walk(workdir, topdown=False):
            if not subdirectories and not files:
                os.rmdir(directory)  # Git keeps no empty directory (a SavedModel's assets/): nor do the tests.
        with open(os.path.join(workdir, "flags.cfg")) as f:
            assert f"--dataset=idx:{DATA}\n" in f.read()
        print(f"{workdir}: {result.steps} steps, export {os.path.relpath(result.export_dir)}")
    absolute = subprocess.run(["grep", "-rl", REPO, LEGACY], capture_output=True, text=True, check=False).stdout
    assert not absolute, f"files holding this machine's paths: {absolute}"
    print(subprocess.run(["du", "-sh", LEGACY], capture_output=True, text=True, check=True).stdout.strip())


if __name__ == "__main__":
    main()
