"""Starting a generator from another run's trained weights (SRGAN from its SRResNet pre-training)."""

import os

import tensorflow as tf

from tfgan_course import spec as spec_lib


def checkpoint_path(path: str) -> str:
    """The checkpoint `path` names: a run's workdir (its last checkpoint), a checkpoints directory or a prefix.

    Raises:
      ValueError: in one line, when there is no checkpoint there.
    """
    for directory in (os.path.join(path, spec_lib.CHECKPOINTS), path):
        if os.path.isdir(directory) and tf.train.latest_checkpoint(directory):
            return tf.train.latest_checkpoint(directory)
    if tf.io.gfile.exists(f"{path}.index"):
        return path
    raise ValueError(f"--init_from={path}: no checkpoint there; pass the --workdir of a finished SRResNet run "
                     "(train it first with --flagfile=tfgan_course/configs/srresnet_fashion_mnist_4x.cfg).")


def restore_generator(generator, path: str, spec: spec_lib.GeneratorSpec) -> str:
    """Loads the generator weights of the checkpoint at `path` (`checkpoint_path`) into `generator`; returns it.

    The saved run's spec, when it has one beside its checkpoints, must describe the same generator
    (`spec`'s family, input and output); either way every weight of `generator` must be found with
    its shape, so a run of other widths or blocks is refused rather than half loaded.

    Raises:
      ValueError: in one line, naming what differs and the run, when the checkpoint does not fit.
    """
    checkpoint = checkpoint_path(path)
    saved = spec_lib.read(os.path.dirname(checkpoint))
    if saved is not None:
        found = (saved.family or "?", saved.input("image") and saved.input("image").shape, saved.output.shape)
        wanted = (spec.family or found[0], spec.input("image").shape, spec.output.shape)
        if found != wanted:
            raise ValueError(f"--init_from={path}: its generator is --model={found[0]} from {found[1]} to {found[2]}, "
                             f"this run's --model={wanted[0]} from {wanted[1]} to {wanted[2]}: train the SRResNet "
                             "on this run's data and sizes first.")
    try:
        # Partial by design (the run's D and optimizers stay behind): silences TF's warnings of unread values.
        status = tf.train.Checkpoint(generator=generator).read(checkpoint).expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"--init_from={path}: its generator's weights do not fit this one (other --g_width or "
                         f"--resnet_blocks?): {first_line}") from None
    return checkpoint
