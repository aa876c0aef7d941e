"""Durable, all-or-nothing file writes for model saves.

The content goes to a temporary file next to the target, is flushed to disk (fsync), and only then
renamed over the target (os.replace is atomic on POSIX and Windows); the folder is flushed after
the rename so the new name survives a power loss too. A reader thus sees either the old file or
the complete new one, never a truncated mix.

A process killed mid-save (``kill -9``, power loss) cannot remove its temporary file. Temporaries
are named ``.<target>.<pid>.<random>.tmp`` so the next save of the same target recognizes and
removes those left by a process that is no longer running, or untouched for ``STALE_AFTER_S``.
"""

import os
import re
import tempfile
import time

# A temporary this long untouched belongs to no live save (a writer touches it continuously).
STALE_AFTER_S = 600


def atomic_write(path, write):
    """Calls ``write(tmp_path)`` and makes the written file ``path`` only if it returns."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: folder {folder!r} does not exist")
    name = os.path.basename(path)
    remove_stale_temporaries(folder, name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        _fsync_file(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        # An interrupt (Ctrl-C) may land after os.replace already moved tmp: nothing to remove
        # then, and the interrupt, not a FileNotFoundError, is what the caller must see.
        _remove_if_present(tmp)
        raise
    _fsync_folder(folder)


def remove_stale_temporaries(folder, name):
    """Removes the temporaries of earlier saves of ``folder/name`` whose writer is gone."""
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)\.[A-Za-z0-9_]+\.tmp")
    try:
        candidates = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for entry in candidates:
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        full = os.path.join(folder, entry)
        try:
            age = now - os.stat(full).st_mtime
        except OSError:
            continue  # removed meanwhile by another saver
        if age >= STALE_AFTER_S or not _process_alive(int(match.group(1))):
            _remove_if_present(full)


def _process_alive(pid):
    if os.name == "nt":
        # os.kill on Windows terminates the process instead of probing it: rely on age alone.
        return True
    if pid <= 0:
        return False  # os.kill(0, ...) would address our own process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    except (OverflowError, OSError):
        return False
    return True


def _remove_if_present(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_file(path):
    # O_RDWR: Windows flushes only handles opened for writing.
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder):
    """Makes the rename durable. Platforms without O_DIRECTORY (Windows) cannot open a folder
    for syncing, and some file systems refuse to sync one: the rename itself stands anyway."""
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:
        return
    try:
        fd = os.open(folder, os.O_RDONLY | flag)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
