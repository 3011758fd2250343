"""Executes the lecture notebooks (jupytext percent files) and writes them as .ipynb with their outputs.

    python notebooks/execute.py                          # every notebook at the full budget -> notebooks/executed/
    python notebooks/execute.py --budget=smoke lecture_001_fleuret_gan_theory.py
    python notebooks/execute.py --check                  # is every executed notebook in step with its source?
    python notebooks/execute.py --sync_markdown          # copy edited prose into the executed notebooks

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

import tfgan_course  # noqa: F401  # Its choice of TensorFlow's CPU kernels reaches the kernels' environment.

NOTEBOOK_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(NOTEBOOK_DIR)
BUDGETS = ("smoke", "full")
# TensorFlow's C++ start-up lines ("I0000 00:00:17.. 3913 port.cc:153] oneDNN ...", the failed cuInit of a
# machine without a GPU): written before absl's logging is set up, so TF_CPP_MIN_LOG_LEVEL cannot
# silence them, and they say nothing about the lecture.
NATIVE_LOG_LINE = re.compile(r"^([IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] |"
                             r"WARNING: All log messages before absl::InitializeLog\(\) is called)")


def notebook_paths(names=()):
    """The stored notebooks (notebooks/lecture_*.py), or those named (paths, or file names in notebooks/,
    with or without .py), in order; SystemExit naming the notebooks there for a name that is none."""
    if not names:
        return sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "lecture_*.py")))
    paths = []
    for name in names:
        candidates = [name, os.path.join(NOTEBOOK_DIR, name)]
        candidates += [f"{candidate}.py" for candidate in candidates if not candidate.endswith(".py")]
        found = next((candidate for candidate in candidates if os.path.isfile(candidate)), None)
        if found is None:
            stored = ", ".join(os.path.basename(path)[:-3] for path in notebook_paths())
            raise SystemExit(f"No notebook {name!r}: name one of {stored} (with or without .py), or a path.")
        paths.append(found)
    return paths


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
        nbformat.write(notebook, executed_path(path, out_dir))
    return notebook, seconds


def executed_path(path, out_dir=None):
    """Where `execute` writes the executed notebook of the percent file `path`."""
    name = os.path.splitext(os.path.basename(path))[0] + ".ipynb"
    return os.path.join(out_dir or os.path.join(NOTEBOOK_DIR, "executed"), name)


def _cells(notebook):
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def staleness(path, out_dir=None):
    """Why the executed twin of the percent file `path` does not show that file's results, and the fix; or None.

    In step means: the executed notebook exists, ran at the full budget (its budget cell printed
    "budget full"), and holds the source's cells, in order, code and prose alike.
    """
    import jupytext  # pylint: disable=import-outside-toplevel
    import nbformat  # pylint: disable=import-outside-toplevel

    name = os.path.basename(path)
    rerun = f"run ./run.sh notebooks {name}"
    executed = executed_path(path, out_dir)
    if not os.path.isfile(executed):
        return f"it was never executed; {rerun}"
    source, outputs = _cells(jupytext.read(path)), nbformat.read(executed, as_version=4)
    if not any(output.get("text", "").startswith("budget full") for cell in outputs.cells
               for output in cell.get("outputs", [])):
        return f"it was not executed at the full budget; {rerun}"
    if [kind for kind, _ in source] != [kind for kind, _ in _cells(outputs)]:
        return f"its cells were added, removed or reordered since; {rerun}"
    changed = [index for index, (a, b) in enumerate(zip(source, _cells(outputs))) if a != b]
    if not changed:
        return None
    cells = ", ".join(str(index) for index in changed)
    if any(source[index][0] == "code" for index in changed):
        return f"code in cell(s) {cells} changed since; {rerun}"
    return f"the prose of cell(s) {cells} changed since; run python notebooks/execute.py --sync_markdown {name}"


def sync_markdown(path, out_dir=None):
    """Copies the prose cells of the percent file `path` into its executed twin; False when code differs too."""
    import jupytext  # pylint: disable=import-outside-toplevel
    import nbformat  # pylint: disable=import-outside-toplevel

    executed = executed_path(path, out_dir)
    source, outputs = jupytext.read(path), nbformat.read(executed, as_version=4)
    pairs = list(zip(source.cells, outputs.cells))
    if len(source.cells) != len(outputs.cells) or any(
            a.cell_type != b.cell_type or (a.cell_type == "code" and a.source != b.source) for a, b in pairs):
        return False
    for a, b in pairs:
        b.source = a.source
    nbformat.write(outputs, executed)
    return True


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
    parser.add_argument("--check", action="store_true",
                        help="execute nothing; exit 1 naming each executed notebook out of step with its source")
    parser.add_argument("--sync_markdown", action="store_true",
                        help="execute nothing; copy each source's prose cells into its executed notebook")
    args = parser.parse_args(argv)
    if args.check:
        return check(notebook_paths(args.notebooks), args.out)
    if args.sync_markdown:
        for path in notebook_paths(args.notebooks):
            synced = sync_markdown(path, args.out)
            print(f"{os.path.basename(path)}: {'prose synced' if synced else 'its code changed: not synced'}")
        return 0
    for path in notebook_paths(args.notebooks):
        print(f"executing {os.path.relpath(path, ROOT)} at the {args.budget} budget ...", flush=True)
        _, seconds = execute(path, args.budget, args.out)
        print(f"  {seconds:.0f} s -> {os.path.relpath(args.out, ROOT)}", flush=True)


def check(paths, out_dir=None):
    """Prints one line per executed notebook out of step with its source, with the fix; 1 if any."""
    stale = [(path, staleness(path, out_dir)) for path in paths]
    for path, why in stale:
        if why:
            print(f"{os.path.relpath(executed_path(path, out_dir), ROOT)} does not show "
                  f"{os.path.basename(path)}: {why}")
    return int(any(why for _, why in stale))


if __name__ == "__main__":
    sys.exit(main())
