"""Fill a (small tmpfs) disk to the last byte, for the store-trouble tests of the API and the browser."""

from __future__ import annotations

import os
from pathlib import Path


def fill(disk: Path) -> Path:
    """Write a filler file until the disk refuses; returns it (unlink it to give the space back).
    Unbuffered: a buffered file's close would flush what the full disk refused again and raise ENOSPC
    itself (the full-disk journey failed now and then on exactly that)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = b"\0" * 65536
        while True:
            try:
                if os.write(fd, block) <= 0:
                    break
            except OSError:
                break
    finally:
        os.close(fd)
    return filler
