"""Durable, atomic file writes: a reader sees the old file or the new one, never half of one, even after a power loss.

A rename is atomic, but not durable on its own: after a power loss the new name
can point at a file whose data never reached the disk (an empty version). So
the data is fsynced before the rename, and the directory entry after it.
"""

import os


def fsync_file(path: str) -> None:
    """Flushes the data of the file at `path` to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Flushes the entries of the directory `path` (files created, removed or renamed in it) to the disk."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # Windows cannot open a directory; its renames are flushed by the file system.
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: str) -> None:
    """fsyncs every file and directory under `path`, and `path` itself (deepest entries first)."""
    for root, _, files in os.walk(path, topdown=False):
        for name in files:
            fsync_file(os.path.join(root, name))
        fsync_dir(root)


def rename_durably(source: str, target: str) -> None:
    """Renames the file or directory tree `source` to `target` (which must not be a non-empty directory).

    Everything under `source` is fsynced before the rename, the parent directory after it, so a
    power loss leaves either no `target` or a complete one.
    """
    if os.path.isdir(source):
        fsync_tree(source)
    else:
        fsync_file(source)
    os.replace(source, target)
    fsync_dir(os.path.dirname(os.path.abspath(target)))


def write_atomically(path: str, content) -> None:
    """Writes `content` (str or bytes) to `path` through a temporary file beside it and a durable rename.

    The temporary name carries the process id, so two writers of one path do not
    write into each other's temporary file.
    """
    temp = f"{path}.tmp-{os.getpid()}"
    mode = "wb" if isinstance(content, bytes) else "w"
    try:
        with open(temp, mode) as f:
            f.write(content)
        rename_durably(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
