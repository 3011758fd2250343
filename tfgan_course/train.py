r"""Trains one experiment: `python -m tfgan_course.train --flagfile=CONFIG --workdir=DIR`.

Every `Config` field is a flag; a flagfile holds only what differs from the
defaults, and later flags override it:

  python -m tfgan_course.train \
      --flagfile=tfgan_course/configs/mlp_fashion_mnist.cfg --workdir=runs/mlp --epochs=3

Re-running the same command resumes from the last checkpoint in --workdir; flags that
change the experiment must stay as they were (--allow_flag_changes overrides, keeping
both settings in <workdir>/flags_history/). A dataset TFDS has not prepared is an error
unless --download lets TFDS fetch it. SIGTERM (a preempted job) or Ctrl-C ends training
after the current step, saves a checkpoint there, prints how to resume and exits with 143
or 130 (128 + the signal); a second one exits at once.
"""

import dataclasses
import logging as python_logging
import os
import signal
import sys
import threading

from absl import app, flags, logging

from tfgan_course import config as config_lib

_DEFINE = {bool: flags.DEFINE_boolean, int: flags.DEFINE_integer, float: flags.DEFINE_float,
           str: flags.DEFINE_string}

flags.DEFINE_string("workdir", None, "Directory of the run: checkpoints, samples, logs, export (required).")
for _field in dataclasses.fields(config_lib.Config):
    _DEFINE[_field.type](_field.name, _field.default, _field.metadata["help"])

FLAGS = flags.FLAGS


def config_from_flags() -> config_lib.Config:
    """The validated Config of the parsed flags (checked against every registry)."""
    from tfgan_course import variants  # pylint: disable=import-outside-toplevel  # TensorFlow: keeps --help fast.

    values = {field.name: getattr(FLAGS, field.name) for field in dataclasses.fields(config_lib.Config)}
    return variants.validate(config_lib.Config(**values))


def parse_config(args) -> config_lib.Config:
    """The validated Config of command-line arguments, e.g. ["--flagfile=configs/x.cfg", "--epochs=1"].

    Starts from the defaults each time, so notebooks and tests can load several configs.
    """
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_from_flags()


CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


def config_names() -> list[str]:
    """The shipped lecture configs, by name: the .cfg files of tfgan_course/configs/ without the suffix."""
    return sorted(name[:-len(".cfg")] for name in os.listdir(CONFIG_DIR) if name.endswith(".cfg"))


def load_config(name: str, *args) -> config_lib.Config:
    """The validated Config of the shipped flagfile `name` (e.g. "wgan_gp_mnist"), overridden by `args`.

    `load_config("dcgan_fashion_mnist", "--epochs=1")` is the command line's
    `--flagfile=tfgan_course/configs/dcgan_fashion_mnist.cfg --epochs=1`, wherever the package is
    installed (a notebook in Colab has no repository path to give).

    Raises:
      ValueError: an unknown name, listing the valid ones; a bad flag value.
    """
    if name not in config_names():
        raise ValueError(f"Unknown config {name!r}; valid configs: {', '.join(config_names())}.")
    return parse_config([f"--flagfile={os.path.join(CONFIG_DIR, name + '.cfg')}", *args])


def _only_our_info(record) -> bool:
    return record.levelno >= python_logging.WARNING or f"{os.sep}tensorflow{os.sep}" not in record.pathname


def _usage_error(message):
    # absl's UsageError would print every flag's help above the one line that matters.
    print(f"error: {message}\n(`python -m tfgan_course.train --help` lists every flag.)", file=sys.stderr)
    return 2


def _check_outputs(config, workdir):
    """A usage error, before TensorFlow starts, unless the run can write its workdir and export."""
    from tfgan_course import preflight  # pylint: disable=import-outside-toplevel  # TensorFlow: keeps --help fast.

    preflight.check(config, workdir)


def _stop_on_signals(stop):
    """Makes SIGTERM and SIGINT ask `stop` (callbacks.StopOnRequest) to end training after the current step.

    The first signal restores both signals' default action, so a second one ends the process at
    once, even in the middle of a step. Only the main thread can install handlers: elsewhere (a
    notebook's worker thread) this does nothing. Returns a function that restores the previous
    handlers, and a list that receives the number of the signal that arrived.
    """
    received = []
    if threading.current_thread() is not threading.main_thread():
        return (lambda: None), received
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}

    def handle(signum, frame):
        del frame
        for other in previous:
            signal.signal(other, signal.SIG_DFL)
        received.append(signum)
        stop.request(signal.Signals(signum).name)

    for signum in previous:
        signal.signal(signum, handle)

    def restore():
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore, received


def main(argv):
    if len(argv) > 1:
        return _usage_error(f"Unexpected arguments: {' '.join(argv[1:])} (flags need a leading --).")
    if not FLAGS.workdir:
        return _usage_error("--workdir is required: the directory of the run, e.g. --workdir=runs/dcgan.")
    try:
        config = config_from_flags()
        _check_outputs(config, FLAGS.workdir)
    except ValueError as error:
        return _usage_error(str(error))
    from tfgan_course import experiment  # pylint: disable=import-outside-toplevel  # TensorFlow: keeps --help fast.

    # TensorFlow's own INFO messages (saver and export internals) bury the run's.
    logging.get_absl_handler().addFilter(_only_our_info)

    from tfgan_course import callbacks  # pylint: disable=import-outside-toplevel

    stop = callbacks.StopOnRequest()
    # Not across workers: one that stopped alone would leave the others waiting in a collective.
    restore, received = _stop_on_signals(stop) if config.distribute != "multi_worker" else ((lambda: None), [])
    try:
        result = experiment.run(config, FLAGS.workdir, stop=stop)
    except (ValueError, experiment.TrainingDiverged) as error:
        # One line: absl's log also goes to stderr, so logging it too would print it twice.
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    except experiment.TrainingStopped as stopped:
        print(stopped, file=sys.stderr, flush=True)
        return 128 + (received[0] if received else signal.SIGTERM)
    finally:
        restore()
    print(f"Trained {result.steps} steps; samples in {os.path.join(FLAGS.workdir, 'samples')}; "
          f"exported to {result.export_dir}")
    return 0


if __name__ == "__main__":
    app.run(main)
