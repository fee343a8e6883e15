"""A main container's command that ends as a test's plan says (see kubelet.py, "plans").

The kubelet puts this program on PATH as `play` and passes the planned outcome in the
XETRA_LAB_PLAY environment variable (JSON): `seconds` to run, `files` to write (path: content),
`message` for /dev/termination-log, `code` to exit with. Without a plan it exits 0, so a
workflow whose containers run `play` behaves like the conformance cases' stub image.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    play = json.loads(os.environ.get("XETRA_LAB_PLAY") or "{}")
    time.sleep(float(play.get("seconds", 0)))
    for path, content in play.get("files", {}).items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
    if play.get("message"):
        Path("/dev/termination-log").write_text(play["message"])
    print(f"play: exit {int(play.get('code', 0))}", file=sys.stderr)
    return int(play.get("code", 0))


if __name__ == "__main__":
    sys.exit(main())
