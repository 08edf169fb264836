"""Small hand-made tweet CSVs for tests (the real-looking generator lives in tools.synthetic)."""

from __future__ import annotations

import csv
import io

from dallosh.defaults import DATASET_COLUMNS


def tweet_row(i: int, text: str | None = None, **overrides: str) -> dict[str, str]:
    row = {col: "" for col in DATASET_COLUMNS}
    row.update({
        "id": str(1790000000000000000 + i),
        "created_at": f"2025-10-{1 + i % 28:02d} 10:{i % 60:02d}:00",
        "full_text": text if text is not None else f"@free réseau en panne depuis {i} heures 😡 c'est inadmissible",
        "screen_name": f"client{i}",
        "name": f"Client {i}",
        "user_id": str(5000 + i),
        "favorite_count": str(i % 7),
        "retweet_count": str(i % 3),
        "reply_count": "0",
        "quote_count": "0",
        "views_count": str(100 + i),
        "url": f"https://x.com/client{i}/status/{1790000000000000000 + i}",
    })
    row.update(overrides)
    return row


def make_csv(rows: list[dict[str, str]] | int = 5, *, columns: list[str] | None = None, delimiter: str = ",",
             encoding: str = "utf-8") -> bytes:
    if isinstance(rows, int):
        rows = [tweet_row(i) for i in range(rows)]
    columns = columns or list(DATASET_COLUMNS)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, delimiter=delimiter, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)
