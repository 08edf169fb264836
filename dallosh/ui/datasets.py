"""Datasets: upload (chunked) → preview with detected columns and problems → Add; the list with downloads and delete.

The preview never stores anything: ``services.files.inspect`` validates the temporary upload, and only "Add"
calls ``services.files.add`` (which stores ``datasets/<uid>.csv`` and creates the task). Inspecting and adding a
200 MB file takes seconds, so both run off the kernel's message loop (``ctx.background``) with the buttons
disabled meanwhile.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import ipywidgets as w

from dallosh.datasets import DatasetInspection
from dallosh.defaults import DATASET_COLUMNS
from dallosh.errors import DuplicateDataset
from dallosh.storage import ANALYSED, CLEANED, DATASETS
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import (
    box,
    button,
    card_title_widget,
    html_widget,
    human_int,
    human_size,
    human_time,
    muted,
    name_cell,
    set_visible,
    status_badge,
    text_cells,
)
from dallosh.ui.html import fragment, render

log = logging.getLogger(__name__)

PAGE_SIZE = 15
DOWNLOAD_LABELS = {DATASETS: "Original", CLEANED: "Cleaned", ANALYSED: "Analysed"}
#: Columns of the dataset table: the five text columns share one HTML widget per row (fewer widgets = faster
#: refreshes; each widget costs a comm and a Layout), then the download buttons and the row actions.
#: Rows has room for "1 234 567" at 1280 px (10 % cut 6-digit counts there).
TEXT_COLUMNS = (("File", "30%"), ("Size", "13%"), ("Rows", "14%"), ("Owner", "26%"), ("Status", "17%"))
ROW_PARTS = ("58%", "27%", "15%")  # text cells, downloads, actions


def column_report(columns: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(expected columns found, expected columns missing, extra columns) for the preview's chips."""
    found = [c for c in DATASET_COLUMNS if c in columns]
    missing = [c for c in DATASET_COLUMNS if c not in columns]
    extra = [c for c in columns if c not in DATASET_COLUMNS]
    return found, missing, extra


def download_name(filename: str, kind: str) -> str:
    stem = filename[:-4] if filename.lower().endswith(".csv") else filename
    return f"{stem}.csv" if kind == DATASETS else f"{stem}-{kind}.csv"


class DatasetRow:
    """One line of the table, reused across refreshes (only its values change, no widget is rebuilt)."""

    def __init__(self, view: DatasetsView):
        self.uid, self.filename, self.status, self.task_id = "", "", "", None
        #: What tells this file from another of the same name: upload time, size, rows, owner.
        self.identity = ""
        self.info = html_widget("", "dl-td")
        self.downloads = {kind: button(label, lambda k=kind: view.click_download(self.uid, k), "dl-small")
                          for kind, label in DOWNLOAD_LABELS.items()}
        self.task_button = button("Task", lambda: view.ctx.navigate("tasks", task_id=self.task_id), "dl-small",
                                  "dl-link")
        self.delete_button = button("Delete", lambda: view.ask_delete(self.uid), "dl-small", style="danger")
        set_visible(self.delete_button, view.can("manage_datasets"))
        set_visible(self.task_button, view.can_open("tasks"))
        parts = [self.info, box(self.downloads.values(), "dl-tight", vertical=False),
                 box([self.task_button, self.delete_button], "dl-tight", vertical=False)]
        for part, width in zip(parts, ROW_PARTS, strict=True):
            part.layout.width = width
        self.root = box(parts, "dl-tr", vertical=False)

    def update(self, item: dict[str, Any]) -> None:
        file = item["file"]
        self.uid, self.filename, self.status, self.task_id = file.uid, file.data.filename, item["status"], \
            item["task_id"]
        self.info.value = text_cells([
            name_cell(file.data.filename, human_time(file.createdAt), hover=True),
            human_size(file.data.size), human_int(file.data.rows),
            fragment('<span title="{{ owner }}">{{ owner }}</span>', owner=item["owner"]),
            status_badge(item["status"])], TEXT_COLUMNS)
        self.identity = (f"uploaded {human_time(file.createdAt)} by {item['owner']}, {human_size(file.data.size)}, "
                         f"{human_int(file.data.rows)} rows")
        for kind, btn in self.downloads.items():
            available = bool(item["available"].get(kind))
            btn.disabled = not available
            btn.tooltip = f"Download the {kind} file" if available else f"No {kind} file yet"
        self.task_button.disabled = not item["task_id"]


class DatasetsView(View):
    name = "datasets"
    title = "Datasets"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        from dallosh.ui.transfer import ChunkedUploader, Downloader

        self.can_manage = self.can("manage_datasets")
        self.pending: tuple[str, Path, DatasetInspection] | None = None
        self.rows: dict[str, DatasetRow] = {}
        self._row_pool: list[DatasetRow] = []
        self.page = 0
        self.total = 0
        self.confirming: str | None = None
        self.last_added: tuple[Any, Any] | None = None
        self._lock = threading.RLock()

        general = self.services.settings.general()
        self.maintenance = general.isMaintenance
        self.uploader = ChunkedUploader(self.services.storage.tmp_dir, self.on_upload,
                                        max_bytes=general.maxUploadMB * 1024 * 1024)
        self.checking = html_widget("", "dl-muted")
        self.p_summary = html_widget("")
        self.p_columns = html_widget("")
        self.p_problems = html_widget("")
        self.grid_box = box([], "dl-grid")
        self.add_button = button("Add dataset", self.click_add, style="primary",
                                 tooltip="Store the file and create its task")
        self.add_anyway = button("Add anyway", lambda: self.click_add(allow_duplicate=True), style="warning",
                                 tooltip="Add this file again although the same content exists")
        self.discard_button = button("Discard", self.click_discard)
        set_visible(self.add_anyway, False)
        self.preview = box([card_title_widget("Preview"), self.p_summary, self.p_columns, self.p_problems,
                            self.grid_box, box([self.add_button, self.add_anyway, self.discard_button], "dl-row",
                                               vertical=False)], "dl-card")
        set_visible(self.preview, False)
        self.open_task = button("Open the new task →", self.open_last_task, "dl-link")
        set_visible(self.open_task, False)
        upload_card = box([card_title_widget("Upload a CSV export"), self.uploader, self.checking,
                           self.open_task], "dl-card")
        set_visible(upload_card, self.can_manage)

        self.search = w.Text(placeholder="Search by file name", layout=w.Layout(width="280px"),
                             continuous_update=False)
        self.search.observe(lambda _c: self.go_to_page(0), "value")
        self.refresh_button = button("Refresh", self.refresh)
        self.confirm_text = html_widget("")
        self.confirm_button = button("Delete for good", self.confirm_delete, style="danger")
        self.cancel_button = button("Cancel", self.cancel_delete)
        self.confirm_bar = box([self.confirm_text, box([self.confirm_button, self.cancel_button], "dl-row",
                                                       vertical=False)], "dl-alert-warning", "dl-card")
        set_visible(self.confirm_bar, False)
        header = box([html_widget(text_cells([label for label, _ in TEXT_COLUMNS], TEXT_COLUMNS), "dl-td",
                                  width=ROW_PARTS[0]),
                      html_widget("Download", "dl-td", width=ROW_PARTS[1]), html_widget("", width=ROW_PARTS[2])],
                     "dl-tr", "dl-th", vertical=False)
        self.table = box([], "dl-table")
        self.empty = html_widget(muted("No datasets yet."))
        self.prev_button = button("‹ Previous", lambda: self.go_to_page(self.page - 1), "dl-small")
        self.next_button = button("Next ›", lambda: self.go_to_page(self.page + 1), "dl-small")
        self.page_label = html_widget("", "dl-muted")
        self.downloader = Downloader()
        list_card = box([
            box([card_title_widget("All datasets"), box([self.search, self.refresh_button], "dl-row",
                                                         vertical=False)],
                "dl-row", vertical=False, justify_content="space-between"),
            self.confirm_bar, header, self.table, self.empty,
            box([self.prev_button, self.page_label, self.next_button], "dl-row", vertical=False,
                align_items="center"),
            self.downloader,
        ], "dl-card")
        self.set_heading("Datasets", "Upload tweet exports, check them, follow and download results.")
        self.body.children = [upload_card, self.preview, list_card]

    # -- list -----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        with self.guard(clear=False) as g:
            page = self.services.files.list(self.actor, search=self.search.value.strip(), skip=self.page * PAGE_SIZE,
                                            limit=PAGE_SIZE)
            maintenance = self.services.settings.general().isMaintenance
        if g.failed:
            return
        with self._lock:
            self.total = page.total
            while len(self._row_pool) < len(page.items):
                self._row_pool.append(DatasetRow(self))
            self.rows = {}
            for row, item in zip(self._row_pool, page.items, strict=False):
                row.update(item)
                self.rows[row.uid] = row
            shown = [row.root for row in self._row_pool[:len(page.items)]]
            if tuple(shown) != self.table.children:
                self.table.children = shown
            set_visible(self.empty, not page.items)
            first = self.page * PAGE_SIZE + 1 if page.items else 0
            self.page_label.value = f"{first}–{self.page * PAGE_SIZE + len(page.items)} of {page.total}"
            self.prev_button.disabled = self.page == 0
            self.next_button.disabled = (self.page + 1) * PAGE_SIZE >= page.total
            self.maintenance = maintenance
            self.uploader.disabled = maintenance
            self.uploader.label = "Uploads paused (maintenance)" if maintenance else "Choose a CSV file"
            self._paint_add()

    def go_to_page(self, page: int) -> None:
        self.page = max(0, page)
        self.refresh()

    # -- upload → preview → add -----------------------------------------------------------------------------

    def on_upload(self, name: str, path: Path) -> None:
        """The uploader finished writing ``path``: inspect it off the message loop."""
        self.click_discard(keep=path)
        self.checking.value = f"Checking {name}…"
        self.ctx.background(self._inspect, name, Path(path))

    def _inspect(self, name: str, path: Path) -> None:
        with self.guard() as g:
            inspection = self.services.files.inspect(self.actor, name, path)
        self.checking.value = ""
        if g.failed:
            path.unlink(missing_ok=True)
            return
        with self._lock:
            self.pending = (name, path, inspection)
            self.render_preview(inspection)

    def render_preview(self, inspection: DatasetInspection) -> None:
        found, missing, extra = column_report(inspection.columns)
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(inspection.delimiter,
                                                                                    inspection.delimiter)
        self.p_summary.value = fragment(
            "<b>{{ name }}</b> · {{ size }} · {{ rows }} rows · {{ columns }} columns · encoding {{ encoding }} · "
            "{{ delimiter }}-separated", name=inspection.filename, size=human_size(inspection.size),
            rows=human_int(inspection.rows), columns=len(inspection.columns), encoding=inspection.encoding,
            delimiter=delimiter)
        self.p_columns.value = render("datasets_columns.html", found=found, missing=missing, extra=extra)
        self.p_problems.value = render("datasets_problems.html", warnings=inspection.warnings)
        self.grid_box.children = [self._grid(inspection)]
        set_visible(self.add_anyway, False)
        set_visible(self.preview, True)
        self._paint_add()

    def _grid(self, inspection: DatasetInspection) -> w.Widget:
        """An ipyaggrid table of the first rows (long texts truncated: the preview is for checking columns)."""
        from ipyaggrid import Grid

        from dallosh.ui.grids import column_defs, positional_frame

        headers = list(inspection.preview.columns)
        frame = positional_frame(inspection.preview)
        for column in frame.columns:
            frame[column] = frame[column].astype(str).str.slice(0, 160)
        defs = column_defs(headers, resizable=True, sortable=True)
        for spec, header in zip(defs, headers, strict=True):
            spec["width"] = {"full_text": 340, "id": 190}.get(str(header), 140)
        grid = Grid(grid_data=frame, grid_options={"columnDefs": defs, "rowHeight": 28, "headerHeight": 32},
                    theme="ag-theme-balham", height=330, columns_fit="", quick_filter=False, export_mode="disabled",
                    index=False, license="community")  # "" would load (and watermark) the enterprise build
        grid.add_class("dl-grid")
        return grid

    def _paint_add(self) -> None:
        self.add_button.disabled = self.pending is None or self.maintenance
        self.add_button.tooltip = ("Adding datasets is paused during maintenance" if self.maintenance
                                   else "Store the file and create its task")

    def click_add(self, allow_duplicate: bool = False) -> None:
        """Store the previewed file and create its task (off the message loop: it re-reads the whole file)."""
        if self.pending is None:
            return
        self.add_button.disabled = self.add_anyway.disabled = self.discard_button.disabled = True
        self.checking.value = "Adding the dataset…"
        self.ctx.background(self._add, allow_duplicate)

    def _add(self, allow_duplicate: bool) -> None:
        name, path, inspection = self.pending  # type: ignore[misc]
        with self.guard() as g:
            file, task = self.services.files.add(self.actor, name, path, allow_duplicate=allow_duplicate)
        self.checking.value = ""
        self.add_anyway.disabled = self.discard_button.disabled = False
        if g.failed:
            set_visible(self.add_anyway, isinstance(g.error, DuplicateDataset))
            self._paint_add()
            return
        self.last_added = (file, task)
        self.click_discard()
        # The list shows the stored size: say so when storing changed it (a file re-encoded to UTF-8).
        stored = (f", stored as UTF-8: {human_size(file.data.size)}"
                  if inspection is not None and inspection.size != file.data.size else "")
        self.alert.success(f"{file.data.filename} was added ({human_int(file.data.rows)} rows{stored}). Its task is "
                           "ready to start.")
        set_visible(self.open_task, True)
        self.go_to_page(0)

    def open_last_task(self) -> None:
        if self.last_added:
            self.ctx.navigate("tasks", task_id=self.last_added[1].uid)

    def click_discard(self, keep: Path | None = None) -> None:
        """Forget the previewed upload and delete its temporary file."""
        with self._lock:
            pending, self.pending = self.pending, None
            if pending is not None and pending[1] != keep:
                pending[1].unlink(missing_ok=True)
            self.grid_box.children = []
            set_visible(self.preview, False)
            set_visible(self.add_anyway, False)
            set_visible(self.open_task, False)
            self._paint_add()

    # -- downloads and delete -------------------------------------------------------------------------------

    def click_download(self, uid: str, kind: str) -> None:
        """Hand out the spreadsheet-safe file (cells that would run as formulas start with an apostrophe)."""
        with self.guard() as g:
            path, neutralised = self.services.files.download(self.actor, uid, kind)
            record = self.services.files.get(self.actor, uid)
        if not g.failed:
            self.downloader.start(path, download_name(record.data.filename, kind))
            if neutralised:
                self.alert.show("info", f"{neutralised} cell(s) of {record.data.filename} started like a spreadsheet "
                                        "formula; they begin with an apostrophe in this download so that Excel or "
                                        "LibreOffice shows them as text instead of running them.")

    def ask_delete(self, uid: str) -> None:
        row = self.rows.get(uid)
        self.confirming = uid
        name = row.filename if row else uid
        # The upload time, owner and size tell two files of the same name apart.
        self.confirm_text.value = fragment("Delete <b>{{ name }}</b> ({{ identity }}), its task and its cleaned and "
                                           "analysed files? This cannot be undone.", name=name,
                                           identity=row.identity if row else "")
        set_visible(self.confirm_bar, True)

    def cancel_delete(self) -> None:
        self.confirming = None
        set_visible(self.confirm_bar, False)

    def confirm_delete(self) -> None:
        uid, name = self.confirming, self.rows[self.confirming].filename if self.confirming in self.rows else ""
        self.cancel_delete()
        if not uid:
            return
        with self.guard() as g:
            self.services.files.delete(self.actor, uid)
        if not g.failed:
            self.alert.success(f"{name or 'The dataset'} was deleted.")
            self.refresh()

    def close(self) -> None:
        self.click_discard()
        self.uploader.close()
        self.downloader.close()
        super().close()
