"""Reading a large HR workbook: the product's ``ingest`` beside a plain openpyxl read and a bare fastexcel read.

A Workday-style workbook of ``--rows`` leavers (title rows above the header, a ``Total`` footer, real date cells,
logins in mixed case with stray spaces) is written once; then each reader runs in a fresh interpreter (time and peak
memory of that process):

- ``ingest``: :func:`box_offboarding.ingest.ingest`, i.e. fastexcel read of every sheet as text, header detection,
  row classification (data, blank, footer), date parsing: the frame the pipeline works on.
- ``openpyxl read-only``: ``load_workbook(read_only=True)`` and ``iter_rows(values_only=True)`` into a list, what
  a hand-written script would do.
- ``fastexcel (floor)``: the read ingest starts with (every sheet, as text), nothing else.

    uv run python -m bench ingest            # 200,000 rows, each reader 3 times, medians
    uv run python -m bench ingest --quick    # 50,000 rows, once each
    uv run python -m bench ingest --smoke    # 500 rows, once each (CI: does it run)
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import add_size_options, save_results, sized
from bench.measure import Work, measure, measurement_table

SHEET = "Terminations"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__.splitlines()[0])
    add_size_options(parser, quick="50,000 rows, one run per reader", smoke="500 rows, one run per reader")
    parser.add_argument("--rows", type=int, default=None, help="leaver rows in the workbook (default 200,000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per reader, medians reported (default 3)")
    return parser.parse_args(argv)


def write_workbook(path: Path, *, rows: int) -> Path:
    """A Workday-style export of ``rows`` leavers, written with openpyxl in write-only mode."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    sheet.append(["Terminations report"])
    sheet.append(["Generated 2026-11-28 by Workday"])
    sheet.append([])
    sheet.append(["Worker", "Employee ID", "Primary Work Email", "Last Day of Work"])
    first_day = date(2026, 10, 1)
    for index in range(rows):
        login = f"leaver.{index}@corp.example.com"
        written = login.upper() if index % 5 == 0 else f" {login} " if index % 7 == 0 else login
        sheet.append([f"Leaver {index}", f"E{index:07d}", written, first_day + timedelta(days=index % 58)])
    sheet.append([f"Total {rows}"])
    book.save(path)
    return path


# --- the readers (each runs in its own interpreter through bench.measure) ----------------------------------------


def read_with_ingest(path: str) -> Work:
    from box_offboarding.ingest import ingest
    from box_offboarding.settings import Settings

    settings = Settings(_env_file=None)

    def work() -> dict[str, Any]:
        result = ingest([Path(path)], settings=settings)
        return {"rows": result.rows.height, "dated": result.rows.get_column("termination_date").count()}

    return work


def read_with_openpyxl(path: str) -> Work:
    from openpyxl import load_workbook

    def work() -> dict[str, Any]:
        book = load_workbook(path, read_only=True, data_only=True)
        rows = [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
        book.close()
        return {"rows": len(rows)}

    return work


def read_with_fastexcel(path: str) -> Work:
    import fastexcel
    import polars  # noqa: F401 (imported by to_polars otherwise, inside the timed part)

    def work() -> dict[str, Any]:
        reader = fastexcel.read_excel(Path(path).read_bytes())
        frames = [
            reader.load_sheet(name, header_row=None, skip_rows=[], dtypes="string").to_polars()
            for name in reader.sheet_names
        ]
        return {"rows": sum(frame.height for frame in frames)}

    return work


# --- the run ------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    rows = args.rows or sized(args, full=200_000, quick=50_000, smoke=500)
    repeat = args.repeat or sized(args, full=3, quick=1, smoke=1)
    path = str(write_workbook(folder / "leavers.xlsx", rows=rows))
    Path(path).read_bytes()  # in the page cache before the first reader, as for the others
    measured = [
        measure("ingest (product)", "bench.ingest:read_with_ingest", repeat=repeat, path=path),
        measure("openpyxl read-only iter_rows", "bench.ingest:read_with_openpyxl", repeat=repeat, path=path),
        measure("fastexcel read (floor)", "bench.ingest:read_with_fastexcel", repeat=repeat, path=path),
    ]
    floor = measured[-1]
    print(f"A {rows:,}-row workbook ({Path(path).stat().st_size / 2**20:.1f} MiB); medians of {repeat} run(s) each.\n")
    print(measurement_table(measured, what="reader", baseline=floor, extra=[("rows read", lambda m: m.facts["rows"])]))
    return {
        "rows": rows,
        "repeat": repeat,
        "file_mb": round(Path(path).stat().st_size / 2**20, 2),
        "measurements": [vars(m) for m in measured],
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        figures = run(args, Path(folder))
    save_results("ingest", figures, smoke=args.smoke)
    return 0
