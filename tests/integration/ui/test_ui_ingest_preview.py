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


def test_a_re_encoded_file_says_its_stored_size(services, analyst, ctx, upload):
    """The list shows the stored (UTF-8) size; the message after adding says why it differs from the upload's."""
    from tests.factories import make_csv

    utf8 = make_csv(6)
    view = DatasetsView(ctx(analyst))
    view.on_show()
    latin = utf8.decode().encode("cp1252", errors="replace")
    assert len(latin) < len(utf8)  # the accents take one byte each instead of two
    view.on_upload("latin.csv", upload(latin, "latin.csv"))
    view.click_add()  # inline: the context is not live
    stored = services.files.list(analyst).items[0]["file"].data.size
    assert stored != len(latin)
    assert "stored as UTF-8" in view.alert.message and view.alert.kind == "success"
    # positive control: a UTF-8 upload is stored as it came, and the message says nothing of it
    view.on_upload("utf8.csv", upload(make_csv(5), "utf8.csv"))
    view.click_add(allow_duplicate=True)
    assert view.alert.kind == "success" and "stored as" not in view.alert.message
