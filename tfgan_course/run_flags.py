"""A run's flags on disk: flags.cfg, the check that a resume keeps the experiment, and flags_history/.

  flags.cfg              the flags the run trains with now (`--flagfile=` repeats it)
  flags_history/NNN.cfg  only after a resume with --allow_flag_changes: each segment's flags,
                         in order, each headed by the step it started at and what changed

A resume may change what `config.RESUMABLE` lists (how long it trains, logging,
speed, ...); any other difference from flags.cfg changes the experiment, and is
refused unless the user passes --allow_flag_changes. Runs from before this
check (flags.cfg alone) resume as before.
"""

import os

from absl import logging

from tfgan_course import config as config_lib
from tfgan_course import fileio

FLAGS_FILE = "flags.cfg"
HISTORY_DIR = "flags_history"


def check_resume(config: config_lib.Config, workdir: str, checkpoint: str | None,
                 normalise=lambda config: config) -> list[str]:
    """The experiment's flags that `config` changes from the run in `workdir`, as "--flag: was X, now Y".

    Args:
      config: the flags of this resume.
      workdir: the run's directory.
      checkpoint: the checkpoint it resumes from; None when it starts afresh (nothing to compare).
      normalise: Config -> Config applied to the run's recorded flags before comparing
        (`variants.without_foreign_options`: an option the variant does not take is not its experiment).

    Returns:
      [] unless `config.allow_flag_changes` let flags change (pass them to `record`).

    Raises:
      ValueError: flags differ, or flags.cfg is unreadable, without --allow_flag_changes; one line
        naming each flag, both values and the fixes.
    """
    path = os.path.join(workdir, FLAGS_FILE)
    if checkpoint is None or not os.path.isfile(path):
        return []
    with open(path) as f:
        text = f.read()
    fixes = (f"Repeat its flags (--flagfile={path}), pass --allow_flag_changes to continue with the new ones "
             f"(both kept in {os.path.join(workdir, HISTORY_DIR)}), or start over with --resume=false or a new "
             "--workdir.")
    try:
        before = normalise(config_lib.Config.from_flagfile(text))
    except (ValueError, TypeError) as error:
        if not config.allow_flag_changes:
            raise ValueError(f"Cannot resume {checkpoint}: its run's {path} is unreadable ({error}). {fixes}") from None
        return [f"{path} was unreadable ({error})"]
    changes = [f"--{name}: was {_show(was)}, now {_show(now)}"
               for name, was, now in config_lib.experiment_changes(before, config)]
    allowed = [f"--{name}: was {_show(getattr(before, name))}, now {_show(getattr(config, name))}"
               for name in sorted(config_lib.RESUMABLE - {"allow_flag_changes", "resume"})
               if getattr(before, name) != getattr(config, name)]
    if allowed:
        logging.info("Resuming with other settings that keep the experiment: %s", "; ".join(allowed))
    if changes and not config.allow_flag_changes:
        raise ValueError(f"Cannot resume {checkpoint} with flags that change the experiment: {'; '.join(changes)}. "
                         f"{fixes}")
    return changes


def record(config: config_lib.Config, workdir: str, changes: list[str], step: int) -> None:
    """Writes flags.cfg; after `check_resume`'s `changes`, first adds the old and new flags to flags_history/.

    `step` is the step this segment starts at. Every file is written atomically, the history
    before flags.cfg, so a run killed in between records the change when it is resumed again.
    """
    text = config.replace(allow_flag_changes=False).to_flagfile()
    if changes:
        history = os.path.join(workdir, HISTORY_DIR)
        os.makedirs(history, exist_ok=True)
        segments = sorted(int(name[:-4]) for name in os.listdir(history)
                          if name.endswith(".cfg") and name[:-4].isdigit())
        if not segments:
            # The run so far, as its flags.cfg says (runs from before the history have only that).
            with open(os.path.join(workdir, FLAGS_FILE)) as f:
                first = f.read()
            segments.append(1)
            fileio.write_atomically(_segment_path(history, 1),
                                    f"# Segment 1 of this run: its flags from step 0 until step {step}.\n{first}")
        if not _same_flags(_segment_path(history, segments[-1]), text):
            number = segments[-1] + 1
            fileio.write_atomically(
                _segment_path(history, number),
                f"# Segment {number} of this run: its flags from step {step}, resumed with --allow_flag_changes.\n"
                f"# Changed: {'; '.join(changes)}\n{text}")
        logging.info("Resumed with changed flags (%s); flags_history/ keeps every segment's: %s",
                     "; ".join(changes), history)
    fileio.write_atomically(os.path.join(workdir, FLAGS_FILE), text)


def _segment_path(history, number):
    return os.path.join(history, f"{number:03d}.cfg")


def _same_flags(path, text):
    """Whether the flagfile at `path` holds the Config of `text`."""
    with open(path) as f:
        try:
            return config_lib.Config.from_flagfile(f.read()) == config_lib.Config.from_flagfile(text)
        except (ValueError, TypeError):
            return False


def _show(value):
    """A flag's value as the command line writes it: 0.0002, true, 'fashion_mnist', ''."""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)
