"""Atomic file writes: a reader (or a polling model server) sees the old file or the new one, never half of one."""

import os


def write_atomically(path: str, content) -> None:
    """Writes `content` (str or bytes) to `path` through a temporary file beside it and a rename.

    The temporary name carries the process id, so two writers of one path do not
    write into each other's temporary file.
    """
    temp = f"{path}.tmp-{os.getpid()}"
    mode = "wb" if isinstance(content, bytes) else "w"
    try:
        with open(temp, mode) as f:
            f.write(content)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
