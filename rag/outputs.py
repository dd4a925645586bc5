"""``--output`` files of the CLI: checked before any work, written atomically.

Every command that takes ``--output`` (retrieval, rag, loadtest, report, export) calls
``check_output`` first, so a typo in the path costs nothing (no model loaded, no run recorded), and
writes with ``write_atomic`` (a temp file in the same folder, then ``os.replace``), so a command that
fails mid-write leaves no half-written file and never truncates the file a previous run wrote.
It lives in ``rag`` (the bottom layer) because cli.py, evaluators and loadtests all write outputs.

Usage:
    check_output("out/results.json")              # ValueError with one clear line, before any work
    write_atomic("out/results.json", json.dumps(payload))
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rag.i18n import _


def check_output(output: str | Path | None, flag: str = "--output") -> None:
    """Refuse a path that cannot be written: a folder, a missing folder, or a folder we cannot write to
    (tried by creating a temp file there: ``os.access`` says yes for root on a read-only file system)."""
    if not output:
        return
    path = Path(output)
    if path.is_dir():
        raise ValueError(_("{flag} {output}: is a folder; give a file name").format(flag=flag, output=output))
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ValueError(_("{flag} {output}: folder {folder} does not exist").format(flag=flag, output=output,
                                                                                      folder=folder))
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".check"):
            pass
    except OSError as e:
        raise ValueError(_("{flag} {output}: folder {folder} is not writable ({reason})").format(
            flag=flag, output=output, folder=folder, reason=e.strerror or e)) from None


def write_atomic(output: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to a temp file beside ``output`` and rename it into place; on any failure the temp
    file is removed and ``OSError("could not write OUTPUT: reason")`` is raised."""
    path = Path(output)
    raw = data.encode() if isinstance(data, str) else data
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise OSError(_("could not write {output}: {reason}").format(output=output, reason=e.strerror or e)) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path
