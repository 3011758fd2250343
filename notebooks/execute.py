"""Executes the lecture notebooks (jupytext percent files) and writes them as .ipynb with their outputs.

    python notebooks/execute.py                          # every notebook at the full budget -> notebooks/executed/
    python notebooks/execute.py --budget=smoke lecture_001_fleuret_gan_theory.py

The notebooks are stored as `.py` percent files (diffable, no outputs); this pairs each to a
notebook, runs it in a fresh kernel with TFGAN_NOTEBOOK_BUDGET set, from the notebooks' folder as
Jupyter would (its runs go to the repository's runs/notebooks/ unless TFGAN_NOTEBOOK_RUNS says
otherwise), and writes `<out>/<name>.ipynb`. Any variable of the environment (TFGAN_NOTEBOOK_DATA,
...) reaches the kernel.
"""

import argparse
import glob
import os
import re
import sys
import time

NOTEBOOK_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(NOTEBOOK_DIR)
BUDGETS = ("smoke", "full")
# TensorFlow's C++ start-up lines ("I0000 00:00:17.. 3913 port.cc:153] oneDNN ...", the failed cuInit of a
# machine without a GPU): written before absl's logging is set up, so TF_CPP_MIN_LOG_LEVEL cannot
# silence them, and they say nothing about the lecture.
NATIVE_LOG_LINE = re.compile(r"^([IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] |"
                             r"WARNING: All log messages before absl::InitializeLog\(\) is called)")


def notebook_paths(names=()):
    """The stored notebooks (notebooks/lecture_*.py), or those named (file names or paths), in order."""
    if not names:
        return sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "lecture_*.py")))
    return [name if os.path.exists(name) else os.path.join(NOTEBOOK_DIR, name) for name in names]


def execute(path, budget, out_dir=None, timeout=3600):
    """Runs the percent file `path` at `budget` in a fresh python3 kernel; returns (notebook, seconds).

    With `out_dir`, writes the executed notebook (outputs and figures inline) to out_dir/<name>.ipynb.
    A failing cell raises nbclient's CellExecutionError, which names the cell and its traceback.
    """
    import jupytext  # pylint: disable=import-outside-toplevel
    import nbclient  # pylint: disable=import-outside-toplevel
    import nbformat  # pylint: disable=import-outside-toplevel

    if budget not in BUDGETS:
        raise ValueError(f"Unknown budget {budget!r}; valid budgets: {', '.join(BUDGETS)}.")
    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    previous = dict(os.environ)
    # The kernel inherits this process's environment.
    os.environ["TFGAN_NOTEBOOK_BUDGET"] = budget
    os.environ.setdefault("TFGAN_NOTEBOOK_RUNS", os.path.join(ROOT, "runs", "notebooks"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    try:
        client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": NOTEBOOK_DIR}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    seconds = time.perf_counter() - start
    drop_native_log_lines(notebook)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        name = os.path.splitext(os.path.basename(path))[0] + ".ipynb"
        nbformat.write(notebook, os.path.join(out_dir, name))
    return notebook, seconds


def drop_native_log_lines(notebook):
    """Removes TensorFlow's C++ start-up lines (NATIVE_LOG_LINE) from the cells' stderr, in place."""
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = output["text"].splitlines(keepends=True)
                output["text"] = "".join(line for line in lines if not NATIVE_LOG_LINE.match(line))
                if not output["text"].strip():
                    continue
            outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebook files (default: every notebooks/lecture_*.py)")
    parser.add_argument("--budget", default="full", choices=BUDGETS)
    parser.add_argument("--out", default=os.path.join(NOTEBOOK_DIR, "executed"),
                        help="where the executed .ipynb files go")
    args = parser.parse_args(argv)
    for path in notebook_paths(args.notebooks):
        print(f"executing {os.path.relpath(path, ROOT)} at the {args.budget} budget ...", flush=True)
        _, seconds = execute(path, args.budget, args.out)
        print(f"  {seconds:.0f} s -> {os.path.relpath(args.out, ROOT)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
