"""The benchmark scripts and the lecture notebooks pick TensorFlow's CPU kernels before TensorFlow starts.

`tfgan_course/__init__.py` (and `serving/__init__.py`) turn oneDNN's kernels on, which TensorFlow reads
once, at its import: a script that imports Keras or TensorFlow before either package trains on whatever
TensorFlow chose (Eigen's kernels on AVX2-only CPUs, 2.4x slower for the DCGAN), and its timings say so.
"""

import ast
import glob
import os

import tensorflow as tf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
KERNEL_CHOOSERS = ("tfgan_course", "serving")
TENSORFLOW = ("tensorflow", "keras")


def _imported(node):
    """The top-level package names an import statement imports."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module.split(".")[0]]
    return []


def first_line(tree, packages, module_level):
    """The line of the first import of one of `packages` (module level only, or anywhere), or None."""
    nodes = tree.body if module_level else ast.walk(tree)
    lines = [node.lineno for node in nodes if set(_imported(node)) & set(packages)]
    return min(lines, default=None)


class ScriptsTest(tf.test.TestCase):

    def test_every_script_that_uses_tensorflow_imports_the_kernel_chooser_first(self):
        # The lecture notebooks too: run by notebooks/execute.py their kernels inherit the variable, but opened in
        # Jupyter they start with nothing set.
        scripts = sorted(glob.glob(os.path.join(ROOT, "benchmarks", "*.py"))
                         + glob.glob(os.path.join(ROOT, "notebooks", "*.py")))
        self.assertNotEmpty(scripts)
        for path in scripts:
            with self.subTest(script=os.path.relpath(path, ROOT)):
                with open(path) as f:
                    tree = ast.parse(f.read())
                if first_line(tree, TENSORFLOW, module_level=False) is None:
                    continue  # No TensorFlow in this script (torch_peers.py, machine.py).
                chooser = first_line(tree, KERNEL_CHOOSERS, module_level=True)
                self.assertIsNotNone(chooser, "imports TensorFlow or Keras but not tfgan_course or serving at "
                                              "module level, which picks TensorFlow's CPU kernels")
                tensorflow = first_line(tree, TENSORFLOW, module_level=True)
                if tensorflow is not None:
                    self.assertLess(chooser, tensorflow, "imports TensorFlow or Keras before tfgan_course/serving")

    def test_the_check_catches_keras_imported_first(self):
        tree = ast.parse("def train():\n    import keras\n    from tfgan_course import experiment\n")
        self.assertIsNone(first_line(tree, KERNEL_CHOOSERS, module_level=True))
        tree = ast.parse("import keras\nimport tfgan_course\n")
        self.assertLess(first_line(tree, TENSORFLOW, module_level=True),
                        first_line(tree, KERNEL_CHOOSERS, module_level=True))


if __name__ == "__main__":
    tf.test.main()
