"""The upload preview shows what ingestion found as text: notes quoting the file never become markup."""

from __future__ import annotations

from dallosh.ui.components import is_visible
from dallosh.ui.datasets import DatasetsView


def test_notes_quoting_the_file_are_escaped_in_the_preview(services, analyst, ctx, upload):
    # A Windows-1252 line under UTF-8 ones: the note quotes that line, markup included.
    content = ("id,full_text\n1,Réseau coupé\n".encode() + b"2,<script>alert(1)</script> d\xe9\xe7u\n"
               + b"3,ok\nid,full_text\n4,<b>gras</b>\n")
    view = DatasetsView(ctx(analyst))
    view.on_show()
    view.on_upload("melange.csv", upload(content, "melange.csv"))
    assert is_visible(view.preview) and "4 rows" in view.p_summary.value
    problems = view.p_problems.value
    assert "mixes two encodings" in problems and "header line appears again at row 5" in problems
    assert "&lt;script&gt;alert(1)&lt;/script&gt; déçu" in problems
    assert "<script>" not in problems and "<b>gras" not in problems
