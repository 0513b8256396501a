"""Files that hold internal material (exports, reports, archives) are the owner's alone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.errors import InvalidInput

OWNER_ONLY = 0o600


@contextmanager
def owner_only(path: Path) -> Iterator[Path]:
    """Create `path` 0600 before anything is written into it, and leave it 0600 after.

    Writers (openpyxl, python-docx, zipfile) truncate an existing file and keep its mode, so
    the content never sits in a file others can read, not even while it is being written.
    """
    created = not path.exists()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, OWNER_ONLY)
        os.close(fd)
        os.chmod(path, OWNER_ONLY)  # an existing file keeps its old mode through O_CREAT
    except OSError as exc:
        raise InvalidInput("error.input", detail=f"无法写入 {path}：{exc.strerror}") from None
    try:
        yield path
    except BaseException:
        if created:  # a refused export or archive leaves nothing behind
            path.unlink(missing_ok=True)
        raise
    if path.exists():
        os.chmod(path, OWNER_ONLY)
