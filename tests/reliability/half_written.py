"""`xetra-etl` whose local store can be killed with an object half-written (`XETRA_CRASH_AT=
store:half-written[@N]`): the crash-safety test runs the command through this module.

A local store writes an object to a temporary file and renames it into place. Here, just before
the rename, the temporary file is cut to half its bytes and the crash point is passed: a kill
there leaves exactly what a kill in the middle of the write leaves. When the kill is not due,
the bytes are restored and the write goes on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from xetra_etl.common.infra.faults import crash_point
from xetra_etl.steps.cli import main

_replace = os.replace


def _replace_after_half_a_write(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
    if Path(src).name.startswith("put-"):  # a local store's temporary object
        data = Path(src).read_bytes()
        os.truncate(src, len(data) // 2)
        crash_point("store:half-written")
        Path(src).write_bytes(data)
    _replace(src, dst, *args, **kwargs)


if __name__ == "__main__":
    os.replace = _replace_after_half_a_write
    sys.exit(main())
