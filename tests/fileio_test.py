"""Durable renames: the data and the directory are fsynced before the rename, the parent after it."""

import os
from unittest import mock

import tensorflow as tf

from tfgan_course import export, fileio, models


class _Recorder:
    """Records os.fsync (by the path its descriptor names) and os.replace calls, in order."""

    def __init__(self):
        self.events = []
        self.fsync, self.replace = os.fsync, os.replace

    def record_fsync(self, fd):
        self.events.append(("fsync", os.path.realpath(os.readlink(f"/proc/self/fd/{fd}"))))
        self.fsync(fd)

    def record_replace(self, source, target):
        self.events.append(("replace", os.path.realpath(source), os.path.realpath(target)))
        self.replace(source, target)

    def __enter__(self):
        self.patches = [mock.patch.object(os, "fsync", self.record_fsync),
                        mock.patch.object(os, "replace", self.record_replace)]
        for patch in self.patches:
            patch.start()
        return self

    def __exit__(self, *exc):
        for patch in self.patches:
            patch.stop()

    def index(self, *event):
        return self.events.index(event)


class FileioTest(tf.test.TestCase):

    def test_write_atomically_fsyncs_the_file_before_the_rename_and_the_directory_after(self):
        directory = os.path.realpath(self.get_temp_dir())
        path = os.path.join(directory, "best.json")
        temp = f"{path}.tmp-{os.getpid()}"
        with _Recorder() as recorder:
            fileio.write_atomically(path, "{}")
        self.assertEqual(recorder.events, [("fsync", temp), ("replace", temp, path), ("fsync", directory)])
        with open(path) as f:
            self.assertEqual(f.read(), "{}")

    def test_rename_durably_fsyncs_a_whole_tree_first(self):
        base = os.path.realpath(self.get_temp_dir())
        source, target = os.path.join(base, ".tmp-1"), os.path.join(base, "1")
        os.makedirs(os.path.join(source, "variables"))
        for name in ("saved_model.pb", "variables/variables.index"):
            with open(os.path.join(source, name), "w") as f:
                f.write("x")
        with _Recorder() as recorder:
            fileio.rename_durably(source, target)
        rename = recorder.index("replace", source, target)
        for synced in ("saved_model.pb", "variables/variables.index", "variables", ""):
            self.assertLess(recorder.index("fsync", os.path.join(source, synced).rstrip("/")), rename, synced)
        self.assertEqual(recorder.events[rename + 1:], [("fsync", base)])
        self.assertTrue(os.path.isfile(os.path.join(target, "variables/variables.index")))

    def test_an_export_is_fsynced_before_it_is_renamed_into_place(self):
        generator, _ = models.build("mlp", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0)
        base = os.path.realpath(self.get_temp_dir())
        with _Recorder() as recorder:
            final = export.export_generator(generator, base, "m")
        renames = [event for event in recorder.events if event[0] == "replace" and event[2] == final]
        self.assertLen(renames, 1)
        temp = renames[0][1]
        rename = recorder.events.index(renames[0])
        synced = {event[1] for event in recorder.events[:rename] if event[0] == "fsync"}
        self.assertContainsSubset({os.path.join(temp, "saved_model.pb"), os.path.join(temp, export.DIGEST_FILE),
                                   os.path.join(temp, export.WARMUP_FILE), temp}, synced)
        self.assertEqual(recorder.events[rename + 1], ("fsync", os.path.dirname(final)))
        # And the server configs beside it (serving.layout's own writer).
        config = os.path.join(base, export.MODELS_CONFIG)
        temp_config = f"{config}.tmp-{os.getpid()}"
        replace = recorder.index("replace", temp_config, config)
        self.assertLess(recorder.index("fsync", temp_config), replace)
        self.assertEqual(recorder.events[replace + 1], ("fsync", base))


if __name__ == "__main__":
    tf.test.main()
