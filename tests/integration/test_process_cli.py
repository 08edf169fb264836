"""``dallosh process FILE.csv``: the same pipeline without queue or database, as a power user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tools.synthetic import generate_tweets


def test_process_builtin(tmp_path):
    source = tmp_path / "export.csv"
    generate_tweets(300, seed=5).to_csv(source, sep=";", index=False)  # semicolons are handled too
    result = subprocess.run([sys.executable, "-m", "dallosh", "process", str(source)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    out = tmp_path / "export_analysed.csv"
    assert report["output"] == str(out)
    analysed = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(analysed) == report["steps"]["process_cleaning"]["rows_out"]
    assert {"sentiment", "priority", "main_topic", "labelled_by", "is_retweet", "is_operator"} <= set(analysed)
    assert "page 1/1" in result.stderr  # the progress bar
    # in the user's words, as in the app: "labelling", never the step's code name or "llm"
    assert "labelling" in result.stderr and "cleaning done in" in result.stderr
    assert "llm" not in result.stderr.lower() and "sending_to" not in result.stderr


def test_process_with_model_and_fallback(tmp_path):
    from tests.mocking import FAKE_MODEL, FakeLLMServer

    source = tmp_path / "export.csv"
    generate_tweets(60, seed=6).to_csv(source, index=False)
    with FakeLLMServer() as server:
        result = subprocess.run([sys.executable, "-m", "dallosh", "process", str(source), "--model",
                                 f"ollama:{FAKE_MODEL}@{server.ollama_url}", "--hybrid-threshold", "1",
                                 "--out", str(tmp_path / "o.csv")],
                                capture_output=True, text=True, timeout=120,
                                env={"NO_PROXY": "127.0.0.1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert not server.shape_errors
    labelled_by = pd.read_csv(tmp_path / "o.csv")["labelled_by"]
    assert set(labelled_by) == {f"ollama:{FAKE_MODEL}", "rule:operator"}  # the operator's own posts: no LLM
    # The default hybrid threshold keeps the rows the built-in analyzer is sure of: fewer requests, same file.
    with FakeLLMServer() as server:
        result = subprocess.run([sys.executable, "-m", "dallosh", "process", str(source), "--model",
                                 f"ollama:{FAKE_MODEL}@{server.ollama_url}", "--out", str(tmp_path / "h.csv")],
                                capture_output=True, text=True, timeout=120,
                                env={"NO_PROXY": "127.0.0.1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    hybrid = pd.read_csv(tmp_path / "h.csv")["labelled_by"]
    assert "builtin" in set(hybrid) and len(hybrid) == len(labelled_by)


def test_process_bad_file_says_what_to_do(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = subprocess.run([sys.executable, "-m", "dallosh", "process", str(bad)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "no column 'id' or 'full_text'" in result.stderr


def run_process(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dallosh", "process", *args], capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_trailing_comma_on_data_rows_is_read_right(tmp_path):
    """issue 14 #1: pandas alone took the first column as the index and shifted every column left."""
    source = tmp_path / "trailing.csv"
    source.write_bytes("id,created_at,full_text,screen_name\n1001,2025-09-07 09:00:00,Réseau coupé,alice,\n".encode())
    result = run_process(str(source))
    assert result.returncode == 0, result.stderr
    assert "extra comma" in result.stderr  # the preview's note, printed by the command
    analysed = pd.read_csv(tmp_path / "trailing_analysed.csv", dtype=str, keep_default_na=False)
    assert analysed[["id", "created_at", "full_text", "screen_name"]].values.tolist() == [
        ["1001", "2025-09-07 09:00:00", "Réseau coupé", "alice"]]


def test_carriage_return_line_ends_are_read(tmp_path):
    source = tmp_path / "mac.csv"
    source.write_bytes(b"id,full_text\r1,Panne r\xc3\xa9seau\r2,merci\r")
    result = run_process(str(source))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["steps"]["process_cleaning"]["rows_out"] == 2


def test_bad_paths_are_sentences_not_tracebacks(tmp_path):
    source = tmp_path / "export.csv"
    generate_tweets(5, seed=1).to_csv(source, index=False)
    cases = [
        ((str(tmp_path / "missing.csv"),), "There is no file at"),
        ((str(tmp_path),), "is a folder, not a file"),
        ((str(source), "--out", str(tmp_path)), "is a folder. Give a file name"),
        ((str(source), "--out", str(tmp_path / "no" / "such" / "o.csv")), "does not exist. Create it"),
        ((str(source), "--out", str(source)), "names the input file itself"),
        ((str(source), "--max-mb", "0"), "over --max-mb 0"),
    ]
    for args, message in cases:
        result = run_process(*args)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_refused_file_is_a_sentence_not_a_traceback(tmp_path):
    source = tmp_path / "excel.csv"
    source.write_text("id;full_text\n1,84E+18;a\n1,84E+18;b\n")
    result = run_process(str(source))
    assert result.returncode == 1 and "Excel has rounded the tweet ids" in result.stderr
    assert "Traceback" not in result.stderr


def test_out_on_another_filesystem_is_written_through_a_temporary_file_beside_it(tmp_path, monkeypatch):
    """os.replace across filesystems fails with EXDEV after the whole run; the output is copied instead."""
    import errno
    import os

    from dallosh import cli
    from dallosh.pipeline import saving_file

    source, out = tmp_path / "export.csv", tmp_path / "elsewhere" / "out.csv"
    out.parent.mkdir()
    generate_tweets(40, seed=2).to_csv(source, index=False)
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == out and Path(src).parent != out.parent:  # from the run's temporary folder: another device
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_replace(src, dst)

    monkeypatch.setattr(saving_file.os, "replace", replace)
    assert cli.main(["process", str(source), "--out", str(out)]) == 0
    assert len(pd.read_csv(out, dtype=str)) > 30
    assert [p.name for p in out.parent.iterdir()] == ["out.csv"]  # no temporary file left beside it
