"""The ingestion corpus (issue 14): every kind of CSV analysts really upload, generated here, never committed.

Each case builds its bytes in code and states its exact outcome: a correct read (ids and texts as exact strings),
a refusal whose message names the problem and the fix, or rows flagged with the counts the task reports. Every
accepted case is then run through the pipeline from its stored copy (the worker's path) with a labeller that
echoes each text, which proves that the stored copy reads back as previewed, that labels land on the right rows,
and that the preview announced exactly the counts the task's summary reports.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dallosh.datasets import inspect_csv, read_dataset, write_normalised
from dallosh.defaults import HEADER_MAX_BYTES
from dallosh.errors import InvalidDataset
from dallosh.llm.base import Label, Provider
from dallosh.pipeline import Run, run_steps

COLUMNS = ["id", "created_at", "full_text", "screen_name", "favorite_count", "retweet_count", "views_count", "url"]
LIMIT = 64 * 1024 * 1024
#: Words a refusal must not contain: a message is for analysts, not a traceback.
JARGON = ("Traceback", "Error", "C error", "tokeniz", "dtype", "NaN", "pandas", "codec", "errno", "Exception")


def tweet(i: int, text: str, **fields: str) -> dict[str, str]:
    tweet_id = fields.pop("id", str(1962404500417282000 + i))
    return {"id": tweet_id, "created_at": f"2025-09-07 09:{i:02d}:00", "full_text": text, "screen_name": f"client{i}",
            "favorite_count": str(i), "retweet_count": "0", "views_count": str(100 * i),
            "url": f"https://x.com/client{i}/status/{tweet_id}", **fields}


#: Texts that exercise quoting, accents, emoji, entities, formulas; the Windows-1252 ones have no emoji.
ROWS = [
    tweet(1, "Réseau coupé à Lyon depuis ce matin 😡"),
    tweet(2, 'Il a dit "bonjour", puis ; rien | du tout'),
    tweet(3, "ligne 1\nligne 2, fin"),
    tweet(4, "&lt;script&gt;alert(1)&lt;/script&gt; facture"),
    tweet(5, '=HYPERLINK("http://x") l\'œuvre coûte 5 € \t tabulé'),
]
LATIN_ROWS = [
    tweet(1, "Réseau coupé à Lyon"),
    tweet(2, "Facture erronée, très déçu ; 5 €"),
    tweet(3, "L'œuvre « Noël » coûte cher"),
]


def field_text(value: str, delimiter: str, quote_all: bool, quote_cr: bool = True) -> str:
    specials = [delimiter, '"', "\n"] + (["\r"] if quote_cr else [])
    if quote_all or any(s in value for s in specials):
        return '"' + value.replace('"', '""') + '"'
    return value


def export(rows: list[dict[str, str]], columns: list[str] | None = None, *, delimiter: str = ",",
           newline: str = "\n", quote_all: bool = False, encoding: str = "utf-8", header: list[str] | None = None,
           bom: bool = False, quote_cr: bool = True, final_newline: bool = True) -> bytes:
    """A CSV export as tools write them (our own writer, so each case controls quoting and line ends exactly)."""
    columns = columns or COLUMNS
    lines = [delimiter.join(field_text(c, delimiter, quote_all) for c in (header or columns))]
    lines += [delimiter.join(field_text(r.get(c, ""), delimiter, quote_all, quote_cr) for c in columns) for r in rows]
    text = newline.join(lines) + (newline if final_newline else "")
    data = text.encode(encoding)
    return codecs.BOM_UTF8 + data if bom else data


def ids(rows: list[dict[str, str]]) -> list[str]:
    return [r["id"] for r in rows]


def texts(rows: list[dict[str, str]]) -> list[str]:
    return [r["full_text"] for r in rows]


@dataclass
class Case:
    """One kind of upload and its exact outcome."""

    name: str
    build: Callable[[], bytes]
    ids: list[str] | None = None  # expected ids after reading, exact strings (None: the file is refused)
    texts: list[str] | None = None
    notes: tuple[str, ...] = ()  # each must appear in one of the preview's notes
    refused: tuple[str, ...] = ()  # each must appear in the refusal (the problem and the fix)
    report: dict[str, Any] = field(default_factory=dict)  # expected part of the task's cleaning report
    columns: list[str] | None = None
    encoding: str | None = None
    filename: str = "export.csv"


def _bare_cr_rows() -> list[dict[str, str]]:
    return [tweet(1, "avant\rapres"), tweet(2, "sans retour"), tweet(3, "deux\r\rretours")]


#: Rows pasted from a Windows-1252 export under UTF-8 ones.
MIXED_ROWS = [*ROWS[:2], tweet(11, "Facture erronée, très déçu ; 5 €"), tweet(12, "L'œuvre « Noël » coûte cher")]


def _mixed() -> bytes:
    first = export(MIXED_ROWS[:2])
    second = "\n".join(",".join(field_text(r[c], ",", False) for c in COLUMNS) for r in MIXED_ROWS[2:]) + "\n"
    return first + second.encode("cp1252")


def _stray_ff() -> bytes:
    data = export(ROWS[:3])
    return data.replace(b"Il a dit", b"Il \xffa dit")


def _nul_late_rows() -> list[dict[str, str]]:
    filler = [tweet(10 + i, f"message ordinaire numéro {i} " + "x" * 200) for i in range(400)]
    return [*filler, tweet(99, "texte avec un\x00NUL")]


def _counts_rows() -> list[dict[str, str]]:
    written = ["12k", "1 234", "1,2K", "1.5M", "1\u00a0234", "1'234", "12.0", "7"]
    invalid = ["N/A", "∞", "-4", "99999999999999999999999", "1.5", "#N/A", "0", "0"]
    return [tweet(i, f"compte {i}", favorite_count=w, retweet_count=b, views_count="")
            for i, (w, b) in enumerate(zip(written, invalid, strict=True), start=1)]


def _blank_id_rows() -> list[dict[str, str]]:
    rows = []
    for i in range(1, 31):
        rows.append(tweet(i, f"texte distinct numéro {i}", id=f"row-{i}" if i % 2 else ("" if i % 4 else "  ")))
    rows.append(tweet(40, "un id qui ressemble aux nôtres", id="blank-1"))
    return rows


def _sci_rows(fr: bool = False) -> list[dict[str, str]]:
    shown = "1,84E+18" if fr else "1.84E+18"
    rows = []
    for i in range(1, 5):
        exact = f"18412345678901234{i:02d}"
        rows.append(tweet(i, f"tweet {i}", id=shown, url=f"https://twitter.com/c{i}/status/{exact}"))
    return rows


def _excel_rounded_rows() -> list[dict[str, str]]:
    return [tweet(i, f"tweet {i}", id="1840000000000000000") for i in range(1, 4)]


def _labelled_rows() -> list[dict[str, str]]:
    return [tweet(i, f"déjà étiqueté {i}", sentiment="positive", priority="2", main_topic="Offres",
                  labelled_by="analyst") for i in range(1, 4)]


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


def _wide() -> bytes:
    extra = [f"col{i}" for i in range(1978)]
    rows = [{**r, **{c: str(k) for k, c in enumerate(extra[:50])}} for r in ROWS[:2]]
    return export(rows, COLUMNS + extra)


ROWS_LABELLED_COLUMNS = [*COLUMNS, "sentiment", "priority", "main_topic", "labelled_by"]
FLAGS_INPUT = [*COLUMNS, "is_retweet", "engagement"]

CASES: list[Case] = [
    # ---- encodings
    Case("utf8", lambda: export(ROWS), ids(ROWS), texts(ROWS), encoding="utf-8"),
    Case("utf8-bom", lambda: export(ROWS, bom=True), ids(ROWS), texts(ROWS), encoding="utf-8-sig"),
    Case("cp1252-semicolon-crlf (Excel FR)", lambda: export(LATIN_ROWS, delimiter=";", newline="\r\n",
                                                           encoding="cp1252"),
         ids(LATIN_ROWS), texts(LATIN_ROWS), notes=("read as cp1252", "separated by ';'"), encoding="cp1252"),
    Case("utf16-le-bom", lambda: codecs.BOM_UTF16_LE + export(ROWS).decode().encode("utf-16-le"), ids(ROWS),
         texts(ROWS), notes=("UTF-16",)),
    Case("utf16-be-bom", lambda: codecs.BOM_UTF16_BE + export(ROWS).decode().encode("utf-16-be"), ids(ROWS),
         texts(ROWS), notes=("UTF-16",)),
    Case("utf16-le-no-bom", lambda: export(ROWS).decode().encode("utf-16-le"), ids(ROWS), texts(ROWS),
         notes=("UTF-16 without a byte-order mark",), encoding="utf-16-le"),
    Case("utf16-be-no-bom", lambda: export(ROWS).decode().encode("utf-16-be"), ids(ROWS), texts(ROWS),
         notes=("UTF-16 without a byte-order mark",), encoding="utf-16-be"),
    Case("utf16-tab (Excel Unicode text)", lambda: codecs.BOM_UTF16_LE + export(ROWS, delimiter="\t",
                                                                               newline="\r\n").decode()
         .encode("utf-16-le"), ids(ROWS), texts(ROWS), notes=("UTF-16", "separated by '\\t'")),
    Case("utf32-bom", lambda: export(ROWS).decode().encode("utf-32"), ids(ROWS), texts(ROWS), notes=("UTF-32",)),
    Case("mixed utf8 then cp1252", _mixed, ids(MIXED_ROWS), texts(MIXED_ROWS),
         notes=("mixes two encodings", "line 4 and 5", "Windows-1252"), encoding="utf-8 + windows-1252"),
    Case("stray 0xff in utf8", _stray_ff, ids(ROWS[:3]),
         [ROWS[0]["full_text"], ROWS[1]["full_text"].replace("Il a dit", "Il ÿa dit"), ROWS[2]["full_text"]],
         notes=("1 line(s) are not UTF-8 (line 3)",)),
    Case("stray 0xff in an ascii file", lambda: export([tweet(1, "plain"), tweet(2, "bad")]).replace(b"bad",
                                                                                                     b"b\xffd"),
         ["1962404500417282001", "1962404500417282002"], ["plain", "bÿd"], notes=("line 3",)),
    Case("NUL in a tweet in the first 64 KiB", lambda: export([tweet(1, "avant\x00après"), *ROWS[1:]]),
         ids(ROWS), ["avant\x00après", *texts(ROWS[1:])], notes=("NUL character", "line 2")),
    Case("NUL in a tweet after 64 KiB", lambda: export(_nul_late_rows()), ids(_nul_late_rows()),
         texts(_nul_late_rows()), notes=("NUL character", "line 402")),
    # ---- delimiters
    Case("semicolon", lambda: export(ROWS, delimiter=";"), ids(ROWS), texts(ROWS), notes=("separated by ';'",)),
    Case("tab", lambda: export(ROWS, delimiter="\t"), ids(ROWS), texts(ROWS), notes=("separated by '\\t'",)),
    Case("pipe", lambda: export(ROWS, delimiter="|"), ids(ROWS), texts(ROWS), notes=("separated by '|'",)),
    Case("Excel sep=; line", lambda: b"sep=;\r\n" + export(ROWS, delimiter=";", newline="\r\n"), ids(ROWS),
         texts(ROWS), notes=("sep=;",)),
    Case("comma file whose texts hold semicolons", lambda: export([tweet(1, "a;b;c"), tweet(2, "d;e")]),
         ["1962404500417282001", "1962404500417282002"], ["a;b;c", "d;e"]),
    # ---- line endings
    Case("crlf", lambda: export(ROWS, newline="\r\n"), ids(ROWS), texts(ROWS)),
    Case("cr only (old Mac)", lambda: export(ROWS[:2] + ROWS[3:], newline="\r"), ids(ROWS[:2] + ROWS[3:]),
         texts(ROWS[:2] + ROWS[3:])),
    Case("no final newline", lambda: export(ROWS, final_newline=False), ids(ROWS), texts(ROWS)),
    Case("mixed lf and crlf rows", lambda: export(ROWS[:2]) + export(ROWS[2:], newline="\r\n").split(b"\r\n", 1)[1],
         ids(ROWS), texts(ROWS)),
    Case("bare \\r inside fields (pandas to_csv)", lambda: export(_bare_cr_rows(), quote_cr=False),
         ids(_bare_cr_rows()), texts(_bare_cr_rows())),
    Case("bare \\r inside fields, crlf line ends", lambda: export(_bare_cr_rows(), quote_cr=False, newline="\r\n"),
         ids(_bare_cr_rows()), texts(_bare_cr_rows())),
    Case("quoted crlf inside a field", lambda: export([tweet(1, "un\r\ndeux"), tweet(2, "trois")]),
         ["1962404500417282001", "1962404500417282002"], ["un\r\ndeux", "trois"]),
    # ---- quoting
    Case("quote all", lambda: export(ROWS, quote_all=True), ids(ROWS), texts(ROWS)),
    Case("quoted newlines and doubled quotes", lambda: export([tweet(1, 'a "b"\n"c"'), tweet(2, '""')]),
         ["1962404500417282001", "1962404500417282002"], ['a "b"\n"c"', '""']),
    Case("unbalanced quote", lambda: export(ROWS[:2]) + b'9,2025,"jamais ferm\xc3\xa9,x,0,0,0,u\n',
         refused=("double quote opened in row 4", "never closed", "written twice")),
    Case("unquoted comma in a text", lambda: export(ROWS[:2]) + b"9,2025,un, deux,x,0,0,0,u\n",
         refused=("Row 4", "9 fields where the header has 8", "double quotes")),
    Case("unquoted comma in the first row", lambda: export([]) + b"9,2025,un, deux,x,0,0,0,u\n1,2,3,4,5,6,7,8\n",
         refused=("Row 2", "9 fields", "double quotes")),
    Case("two unquoted commas in a text", lambda: export(ROWS[:2]) + b"9,2025,un, deux, trois,x,0,0,0,u\n",
         refused=("Row 4 has 10 fields where the header has 8", "double quotes")),
    Case("two unquoted commas in the first row", lambda: export([]) + b"9,2025,un, deux, trois,x,0,0,0,u\n",
         refused=("Row 2 has more fields than the header has columns (8)", "double quotes")),
    # ---- headers
    Case("header names in other case", lambda: export(ROWS, header=["ID", "created_at", "Full_Text", *COLUMNS[3:]]),
         ids(ROWS), texts(ROWS), notes=("ID → id", "Full_Text → full_text")),
    Case("spaces around header names", lambda: export(ROWS, header=[f" {c} " for c in COLUMNS]), ids(ROWS),
         texts(ROWS)),
    Case("duplicate full_text header", lambda: export(ROWS, header=[*COLUMNS[:7], "full_text"]),
         refused=("full_text more than once", "columns 3 and 8", "rename or delete")),
    Case("no full_text column", lambda: export(ROWS, [c for c in COLUMNS if c != "full_text"]),
         refused=("no column 'full_text'", "at least the columns id, full_text")),
    Case("no id column", lambda: export(ROWS, [c for c in COLUMNS if c != "id"]), refused=("no column 'id'",)),
    Case("header only", lambda: export([]), refused=("header but no rows", "Export a period")),
    Case("empty file", lambda: b"", refused=("empty", "Choose a CSV export")),
    Case("blank lines only", lambda: b"\r\n \n\t\n", refused=("empty",)),
    Case("two exports concatenated", lambda: export(ROWS[:2]) + export(ROWS[2:]), ids(ROWS), texts(ROWS),
         notes=("header line appears again at row 4", "rows of every export are kept")),
    Case("two exports concatenated, each with a BOM", lambda: export(ROWS[:2], bom=True) + export(ROWS[2:], bom=True),
         ids(ROWS), texts(ROWS), notes=("header line appears again at row 4",)),
    Case("three exports concatenated, crlf", lambda: b"".join(export([r], newline="\r\n") for r in ROWS[:3]),
         ids(ROWS[:3]), texts(ROWS[:3]), notes=("row 3 and 5",)),
    Case("second export with other columns", lambda: export(ROWS[:2]) + export(ROWS[2:], COLUMNS[::-1]),
         refused=("Row 4 is the header of another export", "Upload each export as its own file")),
    Case("trailing comma on data rows (issue 14 #1)",
         lambda: "id,created_at,full_text,screen_name\n1001,2025-09-07 09:00:00,Réseau coupé,alice,\n".encode(),
         ["1001"], ["Réseau coupé"], notes=("extra comma",), columns=["id", "created_at", "full_text", "screen_name"]),
    Case("trailing comma on header and rows", lambda: export(ROWS, newline=",\n"), ids(ROWS), texts(ROWS),
         notes=("no name in the header and no values",), columns=COLUMNS),
    Case("unnamed column with values", lambda: export([{**r, "x": "v"} for r in ROWS], [*COLUMNS, "x"],
                                                      header=[*COLUMNS, ""]),
         ids(ROWS), texts(ROWS), notes=("kept as column_9",), columns=[*COLUMNS, "column_9"]),
    Case("unknown extra columns", lambda: export([{**r, "lang": "fr"} for r in ROWS], [*COLUMNS, "lang"]), ids(ROWS),
         texts(ROWS), columns=[*COLUMNS, "lang"]),
    Case("2,000 columns", _wide, ids(ROWS[:2]), texts(ROWS[:2])),
    Case("6,000 columns", lambda: export(ROWS[:1], [*COLUMNS, *(f"c{i}" for i in range(6000))]),
         refused=("6,008 columns", "at most 5,000")),
    Case("2 MB header line", lambda: b"id,full_text," + b"x" * (2 * 1024 * 1024) + b"\n1,a,b\n",
         refused=("longer than 256 KB", "not a header")),
    Case("50 MB single line", lambda: b"id,full_text," + b"y," * (25 * 1024 * 1024),
         refused=("longer than 256 KB", "no line breaks")),
    Case("blank lines between rows", lambda: export(ROWS[:2]) + b"\n\n" + export(ROWS[2:]).split(b"\n", 1)[1],
         ids(ROWS), texts(ROWS), notes=("2 empty row(s) were skipped (row 4 and 5)",)),
    Case("Excel empty rows (,,,,)", lambda: export(ROWS[:2]) + b",,,,,,,\n" + export(ROWS[2:]).split(b"\n", 1)[1],
         ids(ROWS), texts(ROWS), notes=("1 empty row(s) were skipped (row 4)",)),
    # ---- ids
    Case("19-digit ids and leading zeros", lambda: export([tweet(1, "a", id="0001962404500417282001"),
                                                           tweet(2, "b", id="9223372036854775808")]),
         ["0001962404500417282001", "9223372036854775808"], ["a", "b"]),
    Case("Excel scientific ids", lambda: export([{**r, "url": ""} for r in _sci_rows()]),
         refused=("Excel has rounded the tweet ids", "1.84E+18", "row 2, 3, 4 and 5", "set the id columns to Text",
                  "could be recovered")),
    Case("Excel FR scientific ids", lambda: export([{**r, "url": ""} for r in _sci_rows(fr=True)], delimiter=";"),
         refused=("Excel has rounded the tweet ids", "1,84E+18", "without opening and saving it in Excel")),
    Case("Excel scientific ids with urls", lambda: export(_sci_rows()),
         [f"18412345678901234{i:02d}" for i in range(1, 5)], [f"tweet {i}" for i in range(1, 5)],
         notes=("exact ids were taken from the url column", "kept in the column id_input")),
    Case("Excel scientific ids, one url missing",
         lambda: export([*_sci_rows()[:3], {**_sci_rows()[3], "url": ""}]),
         refused=("Excel has rounded the tweet ids", "does not give the exact id of every one")),
    Case("Excel rounded ids without notation", lambda: export([{**r, "url": ""} for r in _excel_rounded_rows()]),
         refused=("Excel has rounded the tweet ids", "1840000000000000000")),
    Case("ids kept as Excel text formulas", lambda: export([tweet(1, "a", id='="1962404500417282001"'),
                                                           tweet(2, "b", id='="0042"')]),
         ["1962404500417282001", "0042"], ["a", "b"], notes=("Excel text formulas",)),
    Case("Excel scientific in_reply_to", lambda: export([tweet(1, "a", in_reply_to="1.84E+18")],
                                                       [*COLUMNS, "in_reply_to"]),
         ["1962404500417282001"], ["a"], notes=("rounded 1 value(s) of in_reply_to", "time to first reply")),
    Case("blank ids next to row-1 ids", lambda: export(_blank_id_rows()), ids(_blank_id_rows()),
         texts(_blank_id_rows()), notes=("15 rows have no id", "blank-1, blank-2"),
         report={"flagged": {"blank_ids": 15}, "removed": {"duplicate_ids": 0}}),
    Case("repeated ids", lambda: export([*ROWS[:3], {**ROWS[3], "id": ROWS[0]["id"]}, ROWS[1]]),
         [*ids(ROWS[:3]), ROWS[0]["id"], ROWS[1]["id"]], [*texts(ROWS[:4]), ROWS[1]["full_text"]],
         notes=("1 row is an exact copy", "1 row repeats an id"),
         report={"removed": {"duplicate_rows": 1, "duplicate_ids": 1, "empty_text": 0}, "rows_out": 3}),
    # ---- counts
    Case("counts written like 12k, 1 234, N/A, ∞", lambda: export(_counts_rows()), ids(_counts_rows()),
         texts(_counts_rows()), notes=("7 counts are written like 12k", "6 rows have a count that is not a number",
                                       "retweet_count=N/A"),
         report={"counts_read": {"favorite_count": 7, "retweet_count": 0}, "flagged": {"invalid_counts": 6}}),
    Case("blank counts", lambda: export([tweet(1, "a", favorite_count="", retweet_count=" ")]),
         ["1962404500417282001"], ["a"], report={"flagged": {"invalid_counts": 0}}),
    # ---- columns the pipeline adds
    Case("existing sentiment, priority, main_topic columns", lambda: export(_labelled_rows(), ROWS_LABELLED_COLUMNS),
         ids(_labelled_rows()), texts(_labelled_rows()), notes=("kept as sentiment_input, priority_input",),
         report={"columns_renamed": {"sentiment": "sentiment_input", "priority": "priority_input",
                                     "main_topic": "main_topic_input", "labelled_by": "labelled_by_input"}}),
    Case("existing flag columns", lambda: export([{**r, "is_retweet": "yes", "engagement": "42"} for r in ROWS],
                                                 FLAGS_INPUT),
         ids(ROWS), texts(ROWS), notes=("is_retweet_input",),
         report={"columns_renamed": {"is_retweet": "is_retweet_input", "engagement": "engagement_input"}}),
    # ---- texts
    Case("texts empty once decoded", lambda: export([tweet(1, "\\n"), tweet(2, "&nbsp;"), tweet(3, "\t \t"),
                                                     tweet(4, " \\n\\t "), tweet(5, "&#32;&nbsp;"), tweet(6, "ok")]),
         [str(1962404500417282000 + i) for i in range(1, 7)], ["\\n", "&nbsp;", "\t \t", " \\n\\t ", "&#32;&nbsp;",
                                                                 "ok"],
         notes=("5 rows have an empty full_text",), report={"removed": {"empty_text": 5}, "rows_out": 1}),
    Case("a text of 200,000 characters", lambda: export([tweet(1, "a"), tweet(2, "b" * 200_000)]),
         refused=("row 3 is 200,000 characters", "check the quotes of that row")),
    # ---- not CSV at all
    Case("xlsx renamed .csv", _xlsx, refused=("Excel workbook", "CSV UTF-8")),
    Case("gzip", lambda: gzip.compress(export(ROWS)), refused=("compressed (gzip)", "Decompress it first")),
    Case("png", lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10,
         refused=("image (PNG)", "binary data")),
    Case("random binary", lambda: bytes((i * 7919) % 251 for i in range(20_000)), refused=("binary data",)),
    Case("web page saved as csv", lambda: b"<!DOCTYPE html><html><body>id,full_text</body></html>",
         refused=("web page (HTML)",)),
    Case("not a .csv name", lambda: export(ROWS), refused=("is not a .csv file", "Export the tweets as CSV"),
         filename="tweets.xlsx"),
    # Refused at preview, not at the Cleaning step (where Retry would fail the same way).
    Case("every tweet text empty", lambda: export([tweet(1, " "), tweet(2, "\\n"), tweet(3, "&nbsp;"),
                                                   tweet(3, "&nbsp;")]),
         refused=("Nothing in this file can be analysed: 3 rows have an empty tweet text and 1 row repeats",
                  "includes the text of the tweets")),
    Case("every tweet text empty but one", lambda: export([tweet(1, " "), tweet(2, "Panne fibre"), tweet(3, "")]),
         ["1962404500417282001", "1962404500417282002", "1962404500417282003"], [" ", "Panne fibre", ""],
         notes=("2 rows have an empty full_text",), report={"rows_out": 1}),
]

ACCEPTED = [c for c in CASES if not c.refused]


def test_the_corpus_has_sixty_kinds():
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


class Echo(Provider):
    """Labels every text with itself as topic: a label on the wrong row shows at once."""

    name = "echo"
    page_size = 7  # several pages, even for small files

    def label(self, rows, topics):
        return {r.id: Label("neutral", 0, r.text) for r in rows}


def process(inspection, data: bytes, tmp_path: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The worker's path: store the upload as ``FilesService.add`` does, then run every step from that file."""
    stored = tmp_path / "stored.csv"
    write_normalised(inspection, data, stored)
    run = Run(source=stored, cleaned=tmp_path / "cleaned.csv", analysed=tmp_path / "analysed.csv",
              checkpoints=tmp_path / "checkpoints", topics=["Réseau", "Autre"], operator_accounts=["free"],
              providers=lambda: [Echo()])
    return run_steps(run)["process_cleaning"], read_dataset(run.analysed)


def assert_subset(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    for key, value in expected.items():
        if isinstance(value, dict) and isinstance(actual.get(key), dict) and key != "columns_renamed":
            assert_subset(value, actual[key])
        else:
            assert actual.get(key) == value, key


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path):
    data = case.build()
    if case.refused:
        with pytest.raises(InvalidDataset) as refusal:
            inspect_csv(data, case.filename, max_bytes=LIMIT)
        message = str(refusal.value)
        for part in case.refused:
            assert part in message, message
        assert not any(word in message for word in JARGON), message
        return
    inspection = inspect_csv(data, case.filename, max_bytes=LIMIT)
    notes = " | ".join(inspection.warnings)
    for part in case.notes:
        assert part in notes, notes
    if case.ids is not None:
        assert inspection.frame["id"].tolist() == case.ids
        assert inspection.frame["full_text"].tolist() == case.texts
    if case.columns is not None:
        assert inspection.columns == case.columns
    if case.encoding is not None:
        assert inspection.encoding == case.encoding
    report, analysed = process(inspection, data, tmp_path)
    assert_subset(case.report, report)
    # The preview announced what the task reports.
    assert_subset(inspection.cleaning, report)
    # Every row kept carries the label of its own text, whatever its id was.
    assert (analysed["main_topic"] == analysed["full_text"]).all()
    assert analysed["id"].is_unique and (analysed["id"].str.strip() != "").all()


def test_blank_ids_get_ids_no_real_id_has(tmp_path):
    rows = _blank_id_rows()
    data = export(rows)
    report, analysed = process(inspect_csv(data, "b.csv", max_bytes=LIMIT), data, tmp_path)
    assert report["flagged"]["blank_ids"] == 15 and report["removed"]["duplicate_ids"] == 0
    generated = [v for v, r in zip(analysed["id"], rows, strict=True) if not r["id"].strip()]
    assert generated == [f"blank2-{k}" for k in range(1, 16)]  # "blank-1" is a real id of this file
    assert analysed["id"].tolist()[-1] == "blank-1"


def test_counts_are_read_and_flagged_in_the_cleaned_file(tmp_path):
    data = export(_counts_rows())
    _, analysed = process(inspect_csv(data, "c.csv", max_bytes=LIMIT), data, tmp_path)
    assert analysed["favorite_count"].tolist() == ["12000", "1234", "1200", "1500000", "1234", "1234", "12", "7"]
    assert analysed["retweet_count"].tolist() == ["", "", "", "", "", "", "0", "0"]
    assert analysed["invalid_counts"].tolist()[:2] == ["retweet_count=N/A", "retweet_count=∞"]
    assert analysed["invalid_counts"].tolist()[3] == "retweet_count=99999999999999999999999"
    assert analysed["engagement"].tolist() == ["12000", "1234", "1200", "1500000", "1234", "1234", "12", "7"]


def test_existing_label_columns_are_kept_beside_the_new_ones(tmp_path):
    data = export(_labelled_rows(), ROWS_LABELLED_COLUMNS)
    _, analysed = process(inspect_csv(data, "l.csv", max_bytes=LIMIT), data, tmp_path)
    assert analysed["sentiment_input"].tolist() == ["positive"] * 3
    assert analysed["priority_input"].tolist() == ["2"] * 3 and analysed["main_topic_input"].tolist() == ["Offres"] * 3
    assert analysed["sentiment"].tolist() == ["neutral"] * 3  # the labeller's, beside the file's own


def test_escaped_markup_is_decoded_and_stays_text(tmp_path):
    """Cleaning decodes &lt;script&gt; (documented); the cleaned and analysed files keep it as plain text."""
    data = export(ROWS)
    _, analysed = process(inspect_csv(data, "s.csv", max_bytes=LIMIT), data, tmp_path)
    assert analysed["full_text"].tolist()[3] == "<script>alert(1)</script> facture"
    assert (tmp_path / "cleaned.csv").read_text(encoding="utf-8").count("<script>alert(1)</script> facture") == 1


def test_a_huge_first_line_is_refused_fast_and_in_bounded_memory(tmp_path):
    import time
    import tracemalloc

    path = tmp_path / "one-line.csv"
    with open(path, "wb") as f:
        f.write(b"id,full_text,")
        for _ in range(50):
            f.write(b"z," * (512 * 1024))
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(InvalidDataset, match="longer than 256 KB"):
        inspect_csv(path, "one-line.csv", max_bytes=LIMIT)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 2 and peak < 4 * HEADER_MAX_BYTES  # only the head was read: ~0.3 s and 2 GB before


def test_size_limit_counts_1024_by_1024_bytes_per_mb():
    with pytest.raises(InvalidDataset, match=r"The file is 1\.5 MB; the limit is 1 MB"):
        inspect_csv(b"x" * (3 * 512 * 1024), "big.csv", max_bytes=1024 * 1024)
    with pytest.raises(InvalidDataset, match=r"is 210 MB; the limit is 200 MB"):
        inspect_csv(b"x" * (210 * 1024 * 1024), "big.csv", max_bytes=200 * 1024 * 1024)


def test_a_missing_path_or_a_folder_is_a_sentence(tmp_path):
    with pytest.raises(InvalidDataset, match="There is no file at"):
        inspect_csv(tmp_path / "nope.csv", "nope.csv", max_bytes=LIMIT)
    with pytest.raises(InvalidDataset, match="is a folder, not a file"):
        inspect_csv(tmp_path, "dir.csv", max_bytes=LIMIT)


def test_stored_copy_is_the_upload_itself_only_when_nothing_was_repaired(tmp_path):
    plain = export(ROWS)
    assert inspect_csv(plain, "p.csv", max_bytes=LIMIT).stored_as_is
    for data in (export(ROWS, bom=True), export(ROWS, delimiter=";"), export(_bare_cr_rows(), quote_cr=False),
                 export(ROWS[:2]) + export(ROWS[2:]), _mixed(), export(ROWS, header=["ID", *COLUMNS[1:]])):
        assert not inspect_csv(data, "r.csv", max_bytes=LIMIT).stored_as_is


def test_preview_counts_are_what_cleaning_finds_on_a_messy_export(tmp_path):
    """A synthetic export (duplicates, empty texts, literal \\n, entities) made messier the way exports are."""
    from dallosh.cleaning import clean_tweets
    from tools.synthetic import generate_tweets

    frame = generate_tweets(3000, seed=14)
    frame.loc[::97, "id"] = ""
    frame.loc[5::89, "id"] = "   "
    frame.loc[::53, "favorite_count"] = "12k"
    frame.loc[7::61, "retweet_count"] = "N/A"
    frame.loc[9::71, "views_count"] = "1 234"
    frame.loc[11::83, "full_text"] = "\\n &nbsp; \t"
    frame["sentiment"] = "neutral"
    data = frame.to_csv(index=False, sep=";").encode("cp1252", errors="replace")
    inspection = inspect_csv(data, "messy.csv", max_bytes=LIMIT)
    stored = tmp_path / "stored.csv"
    write_normalised(inspection, data, stored)
    report = clean_tweets(read_dataset(stored), ["free"]).report
    assert_subset(inspection.cleaning, report)
    assert report["flagged"]["blank_ids"] > 30 and report["flagged"]["invalid_counts"] > 40
    assert report["removed"]["empty_text"] > 30 and report["counts_read"]["favorite_count"] > 50
