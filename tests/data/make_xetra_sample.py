"""Rebuild `tests/data/xetra-sample/` from a folder of the original Deutsche Börse files.

    python tests/data/make_xetra_sample.py ORIGINALS_DIR

ORIGINALS_DIR holds `<YYYY-MM-DD>/<YYYY-MM-DD>_BINS_XETR<hh>.csv` as published in
`s3://deutsche-boerse-xetra-pds`. Small days are copied byte for byte; the full trading days are
trimmed to the ISINs below, line by line, so the header, the quoting style and every kept line
stay byte-identical to the original. Writes PROVENANCE.md with the sha256 of each original and of
each copy. Tests never run this: they read the committed result.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "xetra-sample"

# Days copied whole: the header-only Sunday and the Saturday of reference rows only.
WHOLE_DAYS = ("2017-06-25", "2017-07-01")
# Full trading days, trimmed to KEPT_ISINS: VW on both 2017 days (its change is the published
# one), and the 2018 quoting style (SecurityType unquoted).
TRIMMED_DAYS = ("2017-07-27", "2017-07-28", "2018-02-16")
KEPT_ISINS = (
    "DE0007664039",  # Volkswagen Vz: the change test (close 133.2 -> 131.4)
    "DE0007164600",  # SAP
    "US02083G1004",  # quoted comma in SecurityDesc; a 04:00 zero-volume row on 2017-07-27
    "GB0059822006",  # quoted comma in SecurityDesc
    "DE0006627201",  # a 19:xx zero-volume row on 2017-07-27
    "NL0000009082",  # a 19:xx zero-volume row on 2017-07-27
    "AT0000818802",  # a 19:30 zero-volume row on 2017-07-28
    "DE000BFB0019",  # a late zero-volume row on 2018-02-16
    "LU0950674332",  # a 05:00 zero-volume row on 2018-02-16
    # Every 40th ISIN of 2017-07-28 in sort order: a spread of stocks, ETFs and ETCs.
    "AT0000603709",
    "CH0012138530",
    "DE0005104400",
    "DE0005408116",
    "DE0005785802",
    "DE0006204407",
    "DE0006924400",
    "DE0007493991",
    "DE000A0D88T9",
    "DE000A0HN4T3",
    "DE000A0Q4R36",
    "DE000A11QW50",
    "DE000A1E0HS6",
    "DE000A1TNNN5",
    "DE000ETC0175",
    "DE000FTG1111",
    "FI0009000681",
    "FR0010315770",
    "FR0010791160",
    "GB00B128C026",
    "IE00B1FZSF77",
    "IE00B4L5YX21",
    "IE00B652H904",
    "IE00BD1RP616",
    "IE00BP3QZB59",
    "IE00BYZK4776",
    "LU0290358653",
    "LU0378435043",
    "LU0476289623",
    "LU0721552544",
    "LU1291109616",
    "US0153511094",
    "US30231G1022",
    "US67020Y1001",
)


def trim(data: bytes, isins: tuple[str, ...]) -> bytes:
    """The header and the lines of `isins`, byte for byte (no data line spans two lines)."""
    lines = data.splitlines(keepends=True)
    wanted = tuple(f'"{i}",'.encode() for i in isins) + tuple(f"{i},".encode() for i in isins)
    return b"".join([lines[0], *(line for line in lines[1:] if line.startswith(wanted))])


def main(originals: Path) -> None:
    rows = []
    for day in WHOLE_DAYS + TRIMMED_DAYS:
        out_dir = HERE / day
        out_dir.mkdir(parents=True, exist_ok=True)
        for src in sorted((originals / day).glob("*.csv")):
            original = src.read_bytes()
            copy = original if day in WHOLE_DAYS else trim(original, KEPT_ISINS)
            (out_dir / src.name).write_bytes(copy)
            rows.append(
                f"| {day}/{src.name} | {'whole' if copy == original else 'trimmed'} | "
                f"{len(original)} | {hashlib.sha256(original).hexdigest()} | {len(copy)} | "
                f"{hashlib.sha256(copy).hexdigest()} |"
            )
    (HERE / "PROVENANCE.md").write_text(
        PROVENANCE.format(isins=", ".join(KEPT_ISINS)) + "\n".join(rows) + "\n"
    )


PROVENANCE = """# Xetra sample files: provenance

Deutsche Börse's public Xetra data (the PDS bucket `s3://deutsche-boerse-xetra-pds`, minute bars
as hourly CSV files), in the bucket's own layout `<YYYY-MM-DD>/<YYYY-MM-DD>_BINS_XETR<hh>.csv`.
The originals were taken from public GitHub repositories that hold byte-exact copies of the
bucket's files: Deutsche-Boerse/dbg-pds (its official samples of 2017-07-28),
rmunoz527/xetra-sparksql (2017-06-25, 2017-07-01, 2017-07-27) and werner-w/spark_xetra
(2018-02-16, where only the files with rows were kept).

What is here and why:

- 2017-06-25 (Sunday): 24 header-only files (136 bytes each), copied whole: a day without trading.
- 2017-07-01 (Saturday): reference rows only (traded volume 0), copied whole.
- 2017-07-27 and 2017-07-28: full trading days, trimmed to the ISINs below.
- 2018-02-16: a full trading day in the 2018 quoting style (SecurityType unquoted), trimmed the
  same way; the header-only hours are absent, as in the original set.

Trimming keeps the header line and each kept line byte for byte, so quoting, the quoted commas in
descriptions and the zero-volume rows outside trading hours are as published. Kept ISINs:
{isins}.

`python tests/data/make_xetra_sample.py ORIGINALS_DIR` rebuilds this folder and this file.
Set `XETRA_SAMPLE_DATA` to a folder of complete days to run the same tests on them.

| file | kind | original bytes | original sha256 | bytes here | sha256 here |
|---|---|---|---|---|---|
"""


if __name__ == "__main__":
    main(Path(sys.argv[1]))
