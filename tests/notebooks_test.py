"""Every lecture notebook (notebooks/lecture_*.py) runs end to end at the smoke budget.

One kernel per notebook, executed by nbclient from the jupytext percent file, on a small learnable
fixture instead of the lectures' datasets (tests never download). All in one file, so that pytest-xdist
puts them on one worker: each starts its own TensorFlow.
"""

import importlib.util
import os
import tempfile
import time
import unittest
from unittest import mock

from absl.testing import parameterized

from tests import fixtures

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("notebook_execute", os.path.join(_ROOT, "notebooks", "execute.py"))
execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute)

NOTEBOOKS = execute.notebook_paths()
_HAVE_JUPYTER = all(importlib.util.find_spec(name) for name in ("jupytext", "nbclient", "ipykernel"))


@unittest.skipUnless(_HAVE_JUPYTER, "pip install -e .[notebooks] (jupytext, nbclient, ipykernel)")
class NotebooksTest(parameterized.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = fixtures.write_squares(tempfile.mkdtemp(), num_train=300, num_test=100)

    def test_every_lecture_has_a_notebook(self):
        names = [os.path.basename(path)[:len("lecture_000")] for path in NOTEBOOKS]
        self.assertEqual(names, [f"lecture_{i:03d}" for i in range(len(names))])
        self.assertGreaterEqual(len(names), 1)

    def test_notebooks_are_named_with_or_without_py_and_an_unknown_name_is_one_line(self):
        name = os.path.basename(NOTEBOOKS[0])
        self.assertEqual(execute.notebook_paths([name[:-3], name, NOTEBOOKS[0]]), [NOTEBOOKS[0]] * 3)
        with self.assertRaisesRegex(SystemExit, r"No notebook 'lecture_9': name one of lecture_000_\w+, .*\(with or "
                                                r"without \.py\), or a path\.$"):
            execute.notebook_paths(["lecture_9"])

    @parameterized.named_parameters(*[(os.path.basename(path)[:len("lecture_000")], path) for path in NOTEBOOKS])
    def test_notebook_runs_at_the_smoke_budget(self, path):
        cache = tempfile.mkdtemp()
        env = {"TFGAN_NOTEBOOK_DATA": f"idx:{self.data}", "TFGAN_COURSE_CACHE": cache, "TFGAN_NOTEBOOK_RUNS": os.path.join(cache, "runs"),
               "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get(
                   "PYTHONPATH")]))}
        with mock.patch.dict(os.environ, env):
            start = time.perf_counter()
            notebook, _ = execute.execute(path, "smoke", timeout=300)
        print(f"{os.path.basename(path)}: {time.perf_counter() - start:.1f} s at the smoke budget")
        errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
                  if output.get("output_type") == "error"]
        self.assertEqual(errors, [])
        images = [output for cell in notebook.cells for output in cell.get("outputs", [])
                  if "image/png" in output.get("data", {})]
        self.assertNotEmpty(images, "the notebook shows its figures inline")
        native = [line for cell in notebook.cells for output in cell.get("outputs", []) if output.get("name") == "stderr"
                  for line in output["text"].splitlines() if execute.NATIVE_LOG_LINE.match(line)]
        self.assertEqual(native, [], "TensorFlow's C++ start-up lines are dropped from the outputs")

    def test_only_native_log_lines_are_dropped(self):
        import nbformat  # pylint: disable=import-outside-toplevel

        tf_line = "I0000 00:00:1796401206.434752    3913 cudart_stub.cc:31] Could not find cuda drivers\n"
        cell = nbformat.v4.new_code_cell("x", outputs=[
            nbformat.v4.new_output("stream", name="stderr", text=tf_line + "WARNING:absl:a warning of the library\n"),
            nbformat.v4.new_output("stream", name="stderr", text=tf_line),
            nbformat.v4.new_output("stream", name="stdout", text=tf_line)])
        notebook = nbformat.v4.new_notebook(cells=[cell])
        execute.drop_native_log_lines(notebook)
        self.assertEqual([(o.name, o.text) for o in notebook.cells[0].outputs],
                         [("stderr", "WARNING:absl:a warning of the library\n"), ("stdout", tf_line)])


@unittest.skipUnless(_HAVE_JUPYTER, "pip install -e .[notebooks] (jupytext, nbclient, ipykernel)")
class ExecutedNotebooksTest(parameterized.TestCase):
    """notebooks/executed/ shows the results of the notebooks as they are stored, at the full budget."""

    def test_every_executed_notebook_is_in_step_with_its_source(self):
        self.assertEqual({os.path.basename(path): execute.staleness(path) for path in NOTEBOOKS},
                         {os.path.basename(path): None for path in NOTEBOOKS})

    def _copy(self, budget_line="budget full\n"):
        """A stored notebook of three cells and its executed twin, in a temporary folder."""
        import jupytext  # pylint: disable=import-outside-toplevel
        import nbformat  # pylint: disable=import-outside-toplevel

        folder = tempfile.mkdtemp()
        path = os.path.join(folder, "lecture_009_x.py")
        with open(path, "w") as f:
            f.write('# %% [markdown]\n# Prose.\n\n# %%\nprint("budget full")\n\n# %%\nx = 1\n')
        notebook = jupytext.read(path)
        notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=budget_line)]
        nbformat.write(notebook, execute.executed_path(path, folder))
        return path, folder

    def _edit(self, path, old, new):
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace(old, new))

    def test_an_unchanged_copy_is_in_step(self):
        path, folder = self._copy()
        self.assertIsNone(execute.staleness(path, folder))
        self.assertEqual(execute.check([path], folder), 0)

    def test_a_code_change_asks_for_a_run(self):
        path, folder = self._copy()
        self._edit(path, "x = 1", "x = 2")
        self.assertEqual(execute.staleness(path, folder),
                         "code in cell(s) 2 changed since; run ./run.sh notebooks lecture_009_x.py")
        self.assertFalse(execute.sync_markdown(path, folder))
        self.assertEqual(execute.check([path], folder), 1)

    def test_a_prose_change_is_mended_by_sync_markdown(self):
        path, folder = self._copy()
        self._edit(path, "# Prose.", "# Better prose.")
        self.assertIn("--sync_markdown lecture_009_x.py", execute.staleness(path, folder))
        self.assertTrue(execute.sync_markdown(path, folder))
        self.assertIsNone(execute.staleness(path, folder))

    def test_a_smoke_run_or_a_new_cell_is_not_in_step(self):
        path, folder = self._copy(budget_line="budget smoke\n")
        self.assertIn("not executed at the full budget", execute.staleness(path, folder))
        path, folder = self._copy()
        self._edit(path, "x = 1", "x = 1\n\n# %%\ny = 2")
        self.assertIn("added, removed or reordered", execute.staleness(path, folder))
        os.remove(execute.executed_path(path, folder))
        self.assertIn("never executed", execute.staleness(path, folder))


class ReadmeTutorialTest(parameterized.TestCase):
    """The README's "GAN of your own" block runs as written, on a fixture and for 2 steps an epoch."""

    def test_the_readme_gan_in_ten_lines_runs(self):
        with open(os.path.join(_ROOT, "README.md")) as f:
            readme = f.read()
        section = readme[readme.index("## The library"):]
        code = section[section.index("```python\n") + len("```python\n"):section.index("```\n", 10)]
        self.assertIn("model.compile(d_optimizer=", code)
        data_dir = fixtures.write_squares(tempfile.mkdtemp(), num_train=200, num_test=20)
        runs = tempfile.mkdtemp()
        code = (code.replace('"fashion_mnist"', repr(f"idx:{data_dir}")).replace('"runs/mine', f'"{runs}/mine')
                .replace("steps_per_epoch=100", "steps_per_epoch=2"))
        namespace = {}
        exec(compile(code, "README.md", "exec"), namespace)  # pylint: disable=exec-used
        self.assertEqual(namespace["images"].shape, (16, 28, 28, 1))
        self.assertEqual(namespace["served"].sample(3, seed=0).shape, (3, 28, 28, 1))
        self.assertTrue(os.path.isfile(os.path.join(runs, "mine", "samples", "progress.gif")))
        self.assertTrue(os.path.isfile(os.path.join(runs, "mine", "losses.png")))
