"""Reading and writing stored datasets: the fast writer must produce exactly what pandas writes."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from dallosh.datasets import read_dataset, write_dataset

#: Characters that change how a CSV field is written (quotes, separators, line ends) and some that must not.
ALPHABET = ['a', 'é', '😀', ',', ';', '"', "'", '\n', '\t', ' ', '\\', '\x0b', '\x0c', '\u2028',
            '\x1e', '#', '=', '', '""', 'None', 'nan']


def random_texts(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8))) for _ in range(n)]


def pandas_bytes(frame: pd.DataFrame, tmp_path) -> bytes:
    path = tmp_path / "pandas.csv"
    frame.to_csv(path, index=False)
    return path.read_bytes()


def written_bytes(frame: pd.DataFrame, tmp_path) -> bytes:
    path = tmp_path / "ours.csv"
    write_dataset(frame, path)
    return path.read_bytes()


@pytest.mark.parametrize("seed", range(5))
def test_write_dataset_writes_the_bytes_pandas_writes(tmp_path, seed):
    rng = random.Random(seed)
    n = 3000  # more than one block of rows
    frame = pd.DataFrame({
        "id": [str(10**18 + i) for i in range(n)],
        "full_text": random_texts(rng, n),
        "empty": [""] * n,
        "with, comma \"header\"": random_texts(rng, n),
        "flag": [rng.random() < 0.5 for _ in range(n)],
        "count": np.array([rng.randint(-5, 10**12) for _ in range(n)], dtype="int64"),
    }).astype({"id": "str", "full_text": "str", "empty": "str"})
    frame.loc[rng.sample(range(n), 50), "full_text"] = np.nan  # missing text is written empty
    assert written_bytes(frame, tmp_path) == pandas_bytes(frame, tmp_path)


def test_carriage_returns_are_quoted_so_the_file_reads_back(tmp_path):
    """pandas (csv.writer with "\\n" line ends) leaves a lone "\\r" unquoted, which splits the row on reading."""
    frame = pd.DataFrame({"id": ["1", "2"], "bio": ["line\rbreak", "dos\r\nline"], "full_text": ["a", "b"]})
    path = tmp_path / "cr.csv"
    write_dataset(frame, path)
    assert read_dataset(path).to_dict("list") == frame.to_dict("list")


def test_object_columns_of_strings_are_written_like_pandas(tmp_path):
    frame = pd.DataFrame({"a": pd.Series(["x", None, 'say "hi"'], dtype=object),
                          "b": pd.Series(["1", "2,5", "\n"], dtype=object)})
    assert written_bytes(frame, tmp_path) == pandas_bytes(frame, tmp_path)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"only": ["", "x", ""]}),  # csv quotes a lone empty field
    pd.DataFrame({"a": ["x", "y"], "f": [1.5, np.nan]}),
    pd.DataFrame({"a": ["x", "y"], "t": pd.to_datetime(["2024-01-01", None])}),
    pd.DataFrame({"a": ["x", "y"], "mixed": pd.Series([1, "two"], dtype=object)}),
    pd.DataFrame({"a": pd.Series([], dtype="str"), "b": pd.Series([], dtype="str")}),
], ids=["one-column", "floats", "dates", "mixed-objects", "no-rows"])
def test_other_frames_fall_back_to_pandas(tmp_path, frame):
    assert written_bytes(frame, tmp_path) == pandas_bytes(frame, tmp_path)


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("previous\n")
    frame = pd.DataFrame({"id": ["1", "2"], "full_text": ["ok", "bad \ud800 surrogate"]})
    with pytest.raises(UnicodeEncodeError):
        write_dataset(frame, path)
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_round_trip_keeps_every_cell(tmp_path):
    rng = random.Random(7)
    frame = pd.DataFrame({"id": ["007", "", "12345678901234567890"], "full_text": random_texts(rng, 3),
                          "screen_name": ["a", "b", "c"]})
    path = tmp_path / "rt.csv"
    write_dataset(frame, path)
    back = read_dataset(path)
    assert back.to_dict("list") == frame.to_dict("list")


def test_read_dataset_strips_header_names_as_the_upload_inspection_does(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text(" id , full_text\n1,bonjour\n")
    assert list(read_dataset(path).columns) == ["id", "full_text"]
