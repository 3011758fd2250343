"""Checks, before a run's first step, that it can write what it writes: the workdir, the export and its name.

Without them a bad --workdir fails with a traceback, and a bad --model_name or
--export_base only after all of training. Nothing is created here: a refused run
leaves nothing behind.
"""

import os
import tempfile

from serving import layout
from tfgan_course import config as config_lib


def check(config: config_lib.Config, workdir: str) -> None:
    """Raises ValueError, one line naming the flag and the fix, unless the run can write its files.

    Checks: --workdir is (or can be made) a writable directory; so is the export base
    (--export_base, else <workdir>/export); the model name (--model_name, else
    <model>_<dataset>) is one TF Serving accepts, and no file holds its place.
    """
    _check_writable_dir(workdir, f"--workdir={workdir}")
    name = config.serving_name
    try:
        layout.check_model_name(name)  # The rule the export and the model server apply.
    except ValueError as error:
        raise ValueError(f"--model_name={name!r} cannot be exported: {error} Pick another --model_name.") from None
    export_base = config.export_base or os.path.join(workdir, "export")
    flag = f"--export_base={config.export_base}" if config.export_base else f"The export directory {export_base}"
    _check_writable_dir(export_base, flag)
    model_dir = os.path.join(export_base, name)
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise ValueError(f"Cannot export model {name!r}: {model_dir} is a file. Move it, or pick another "
                         "--model_name or --export_base.")


def _check_writable_dir(path, flag):
    """ValueError unless `path` is a directory this process can write in, or can be created as one."""
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        where = "is a file" if existing == os.path.abspath(path) else f"is under {existing}, which is a file"
        raise ValueError(f"{flag} {where}: choose a directory path.")
    try:
        # A probe, not os.access: that answers yes to root on a directory it still cannot write.
        os.rmdir(tempfile.mkdtemp(prefix=".write-test-", dir=existing))
    except OSError as error:
        raise ValueError(f"{flag} is not writable: cannot create anything in {existing} ({error.strerror}). "
                         "Choose a directory you can write, or fix its permissions.") from None
