"""The datasets view: upload → preview → add, list with downloads, delete with confirmation, permissions."""

from __future__ import annotations

from dallosh.storage import ANALYSED
from dallosh.ui.components import is_visible
from dallosh.ui.datasets import DatasetsView
from tests.factories import make_csv, tweet_row


def view_for(ctx, actor) -> DatasetsView:
    view = DatasetsView(ctx(actor))
    view.on_show()
    return view


def sent(widget) -> list[dict]:
    messages: list[dict] = []
    widget.send = lambda content, buffers=None: messages.append({**content, "_buffers": buffers})
    return messages


def test_upload_shows_a_preview_with_columns_and_problems(services, analyst, ctx, upload):
    rows = [tweet_row(1), tweet_row(1), tweet_row(2, text="")]
    view = view_for(ctx, analyst)
    assert view.add_button.disabled
    view.on_upload("octobre.csv", upload(make_csv(rows, columns=["id", "full_text", "screen_name"])))
    assert view.alert.kind == ""
    assert is_visible(view.preview)
    assert "3 rows" in view.p_summary.value and "utf-8" in view.p_summary.value
    assert "dl-chip-missing" in view.p_columns.value and "created_at" in view.p_columns.value
    assert "empty full_text" in view.p_problems.value and "exact copy" in view.p_problems.value
    (grid,) = view.grid_box.children
    assert type(grid).__name__ == "Grid"
    assert not view.add_button.disabled
    assert services.files.list(analyst).total == 0  # the preview stores nothing


def test_an_invalid_upload_is_explained_and_removed(services, analyst, ctx, upload):
    view = view_for(ctx, analyst)
    path = upload(b"name;text\nbob;hello\n", "bad.csv")
    view.on_upload("bad.csv", path)
    assert view.alert.kind == "error" and "no column 'id'" in view.alert.message
    assert not is_visible(view.preview) and not path.exists()


def test_add_creates_the_dataset_and_its_task(services, analyst, ctx, upload):
    navigated = []
    view = DatasetsView(ctx(analyst, navigate=lambda name, **p: navigated.append((name, p))))
    view.on_show()
    path = upload(8)
    view.on_upload("octobre.csv", path)
    view.click_add()
    assert view.alert.kind == "success" and "octobre.csv was added" in view.alert.message
    assert not path.exists() and not is_visible(view.preview)
    (row,) = view.rows.values()
    assert row.filename == "octobre.csv" and row.status == "added"
    assert not row.downloads["datasets"].disabled and row.downloads["analysed"].disabled
    view.open_last_task()
    assert navigated == [("tasks", {"task_id": view.last_added[1].uid})]


def test_duplicate_needs_confirmation(services, analyst, ctx, upload):
    services.files.add(analyst, "first.csv", make_csv(5))
    view = view_for(ctx, analyst)
    view.on_upload("again.csv", upload(5))
    view.click_add()
    assert view.alert.kind == "error" and "already uploaded" in view.alert.message
    assert is_visible(view.add_anyway)
    view.click_add(allow_duplicate=True)
    assert view.alert.kind == "success" and services.files.list(analyst).total == 2


def test_maintenance_blocks_adding(services, admin, analyst, ctx, upload):
    services.settings.update_general(admin, isMaintenance=True)
    view = view_for(ctx, analyst)
    assert view.uploader.disabled and "maintenance" in view.uploader.label
    view.on_upload("octobre.csv", upload(5))
    assert view.add_button.disabled
    view.click_add()
    assert "maintenance" in view.alert.message


def test_readers_see_no_upload_and_no_delete(services, analyst, ctx, make_actor):
    services.files.add(analyst, "octobre.csv", make_csv(5))
    reader = make_actor("read_datasets")
    view = view_for(ctx, reader)
    upload_card = view.body.children[0]
    assert not is_visible(upload_card)
    (row,) = view.rows.values()
    assert not is_visible(row.delete_button)
    view.ask_delete(row.uid)
    view.confirm_delete()
    assert "lacks the permission manage_datasets" in view.alert.message


def test_delete_asks_first(services, analyst, ctx, added):
    file, _ = added
    view = view_for(ctx, analyst)
    view.ask_delete(file.uid)
    assert is_visible(view.confirm_bar) and "octobre.csv" in view.confirm_text.value
    view.cancel_delete()
    assert not is_visible(view.confirm_bar) and services.files.list(analyst).total == 1
    view.ask_delete(file.uid)
    view.confirm_delete()
    assert view.alert.kind == "success" and view.rows == {} and is_visible(view.empty)


def test_two_files_of_the_same_name_are_told_apart_when_deleting(services, analyst, ctx, added):
    first, _ = added
    second, _ = services.files.add(analyst, "octobre.csv", make_csv(7), allow_duplicate=True)
    view = view_for(ctx, analyst)
    texts = []
    for file in (first, second):
        view.ask_delete(file.uid)
        texts.append(view.confirm_text.value)
        assert "octobre.csv" in texts[-1] and f"{file.data.rows} rows" in texts[-1] and "analyst@free.com" in texts[-1]
    assert texts[0] != texts[1]  # upload time, size and rows differ


def test_a_running_dataset_cannot_be_deleted(services, analyst, ctx, added):
    file, task = added
    services.tasks.request(analyst, task.uid, "start")
    view = view_for(ctx, analyst)
    view.ask_delete(file.uid)
    view.confirm_delete()
    assert view.alert.kind == "error" and "stop its task first" in view.alert.message


def test_download_streams_the_stored_file(services, analyst, ctx, added):
    file, _ = added
    view = view_for(ctx, analyst)
    messages = sent(view.downloader)
    view.click_download(file.uid, "datasets")
    begin = messages[0]
    assert begin["type"] == "begin" and begin["name"] == "octobre.csv" and begin["size"] == file.data.size
    view.downloader.handle({"type": "next", "id": begin["id"], "offset": 0})
    assert bytes(messages[1]["_buffers"][0]) == services.storage.path("datasets", file.uid).read_bytes()
    view.click_download(file.uid, ANALYSED)
    assert view.alert.kind == "error" and "does not exist yet" in view.alert.message


def test_pagination_and_search(services, analyst, ctx):
    for i in range(17):
        services.files.add(analyst, f"lot-{i:02d}.csv", make_csv([tweet_row(100 + i)]))
    view = view_for(ctx, analyst)
    assert len(view.rows) == 15 and view.page_label.value == "1–15 of 17"
    assert view.prev_button.disabled and not view.next_button.disabled
    view.go_to_page(1)
    assert len(view.rows) == 2 and view.next_button.disabled
    view.search.value = "lot-03"
    assert [r.filename for r in view.rows.values()] == ["lot-03.csv"] and view.page == 0


def test_links_to_views_the_user_cannot_open_are_hidden(services, analyst, ctx, make_actor):
    services.files.add(analyst, "octobre.csv", make_csv(5))
    only_datasets = make_actor("read_datasets")
    (row,) = view_for(ctx, only_datasets).rows.values()
    assert not is_visible(row.task_button)
    (row,) = view_for(ctx, analyst).rows.values()
    assert is_visible(row.task_button)
