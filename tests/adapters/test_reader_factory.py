"""open_reader: a reader that imports the data packages only when it reads a date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import FIRST_DATA, write_demo
from xetra_etl.common.adapters.catalog import list_source_dates
from xetra_etl.common.adapters.reader_factory import open_reader
from xetra_etl.common.adapters.source_reader import SourceReader
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.infra.config import SourceConfig

WIRED_WITHOUT_DATA_PACKAGES = """
import importlib.abc, sys

class HideDataPackages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"numpy", "pyarrow", "pandas", "obstore"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, HideDataPackages())
from xetra_etl.common.adapters.reader_factory import open_reader
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.infra.config import SourceConfig

open_reader(LocalStore(sys.argv[1]), SourceConfig(uri=sys.argv[1]))
print("wired")
"""


def test_a_reader_is_wired_without_numpy_or_pyarrow(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WIRED_WITHOUT_DATA_PACKAGES, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "wired"


def test_the_reader_reads_a_date_as_the_source_reader_does(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, durable=False)
    write_demo(store)
    source_date = list_source_dates(store, FIRST_DATA, FIRST_DATA)[FIRST_DATA]
    settings = SourceConfig(uri=str(tmp_path))

    bars = open_reader(store, settings).read_date(source_date)

    assert bars.bars.num_rows > 0
    assert bars.bars.equals(SourceReader(store, settings).read_date(source_date).bars)
