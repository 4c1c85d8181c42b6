"""Small file helpers: atomic writes, so a failed run never leaves a half-written file."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file + :func:`os.replace`); a failure
    raises a :class:`~deepcrn.errors.DataError` naming ``path`` and leaves it untouched."""
    from .errors import DataError

    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise DataError(f"cannot write {target}: it is a folder")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
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
    except OSError as err:
        raise DataError(f"cannot write {target}: {err.strerror or err}") from err
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def read_text(path: str | os.PathLike[str], what: str, error: type[Exception] | None = None) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or binary file raises ``error``
    (default :class:`~deepcrn.errors.ParseError`) naming the file and ``what`` it should be."""
    from .errors import ParseError

    exc = error or ParseError
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8-sig")  # a byte-order mark (some editors write one) is not text
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


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path`` (whose old
    contents are removed), on failure it is removed and ``path`` is left untouched. So a folder
    of results is all new or all old, never a mix."""
    from .errors import DataError

    target = Path(path)
    parent = make_dir(target.parent if str(target.parent) else ".")
    if target.exists() and not target.is_dir():
        raise DataError(f"{target} exists and is not a folder")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as err:
        raise DataError(f"cannot create a folder in {parent}: {err.strerror or err}") from err
    try:
        yield tmp
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)  # mkdtemp makes it private; give it what mkdir would
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.replace(target, old / "previous")
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
