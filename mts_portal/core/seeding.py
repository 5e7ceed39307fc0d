"""A marker that a demo population is being seeded into the store, so that a portal started at the
same time (run.sh builds the portal while the seed runs) waits for it before serving and before its
demo traffic and scheduler start: nobody sees a half-made world."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from mts_portal.core.settings import get_settings


def lock_path() -> Path:
    return get_settings().data_dir / "seeding.lock"


@contextlib.contextmanager
def seeding_lock() -> Iterator[None]:
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(os.getpid()))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def seeding_in_progress() -> bool:
    """True while a live process holds the marker (a marker left by a killed seed does not count)."""
    path = lock_path()
    try:
        pid = int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
