"""``dallosh process FILE.csv``: the same pipeline without queue or database, as a power user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from dallosh.synthetic import generate_tweets


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


def test_process_with_model_and_fallback(tmp_path):
    from tests.mocking import FAKE_MODEL, FakeLLMServer

    source = tmp_path / "export.csv"
    generate_tweets(60, seed=6).to_csv(source, index=False)
    with FakeLLMServer() as server:
        result = subprocess.run([sys.executable, "-m", "dallosh", "process", str(source), "--model",
                                 f"ollama:{FAKE_MODEL}@{server.ollama_url}", "--out", str(tmp_path / "o.csv")],
                                capture_output=True, text=True, timeout=120,
                                env={"NO_PROXY": "127.0.0.1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert not server.shape_errors
    labelled_by = pd.read_csv(tmp_path / "o.csv")["labelled_by"]
    assert set(labelled_by) == {f"ollama:{FAKE_MODEL}", "rule:operator"}  # the operator's own posts: no LLM


def test_process_bad_file_says_what_to_do(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = subprocess.run([sys.executable, "-m", "dallosh", "process", str(bad)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "no column 'id' or 'full_text'" in result.stderr
