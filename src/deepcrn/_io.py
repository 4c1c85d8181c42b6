"""Small file helpers: atomic writes, so a failed run never leaves a half-written file."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file + :func:`os.replace`)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp makes the file private (0600); give it what a plain open() would: the
        # replaced file's permissions, or 0666 less the umask.
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_text(path: str | os.PathLike[str], what: str, error: type[Exception] | None = None) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or binary file raises ``error``
    (default :class:`~deepcrn.errors.ParseError`) naming the file and ``what`` it should be."""
    from .errors import ParseError

    exc = error or ParseError
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as err:
        raise exc(f"cannot read {what} {p}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise exc(f"{p}: not a text (UTF-8) {what}") from err


def make_dir(path: str | os.PathLike[str]) -> Path:
    """Create an output folder (and its parents); a failure raises a one-line DataError."""
    from .errors import DataError

    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create the output folder {folder}: {err.strerror or err}") from err
    return folder
