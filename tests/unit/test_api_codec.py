"""What crosses the API: service results round-trip with their types; a request can never build an object."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from dallosh.api.codec import decode, encode
from dallosh.errors import ValidationError
from dallosh.schemas import FileData, GeneralSettings, Record
from dallosh.services import Actor, Page


def test_results_round_trip_with_their_types():
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = Record("u1", FileData("a.csv", 10, "datasets/u1.csv", "csv", "text/csv", rows=3), when, "me")
    frame = pd.DataFrame({"id": ["1234567890123456789", "2"], "when": [when, when], "n": [1, 2]})
    value = {"page": Page([record], 1, 0, 50, {"names": {"u": "x@y"}}), "pair": (record, 3),
             "actor": Actor("u", "x@y", permissions=frozenset({"read_datasets"})), "general": GeneralSettings(),
             "frame": frame}
    back = decode(encode(value), trusted=True)
    assert back["page"].items[0] == record and back["page"].total == 1 and back["page"].extra == value["page"].extra
    assert back["pair"] == (record, 3) and back["actor"] == value["actor"] and back["general"] == GeneralSettings()
    pd.testing.assert_frame_equal(back["frame"], frame, check_dtype=False)
    assert back["frame"]["id"].iloc[0] == "1234567890123456789"  # ids stay exact text


def test_arguments_from_a_request_never_build_objects():
    assert decode({"since": {"$dt": "2026-01-02T03:04:05+00:00"}, "ids": {"$tuple": ["a"]}}) == {
        "since": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "ids": ("a",)}
    actor = encode(Actor("admin", "admin@free.com", is_system=True))
    for smuggled in (actor, {"$frame": "AAAA"}, {"$page": {}}, [{"x": actor}]):
        with pytest.raises(ValidationError):
            decode(smuggled)
    with pytest.raises(ValidationError, match="not a dallosh type"):
        decode({"$dc": "subprocess:Popen", "fields": {}}, trusted=True)


def test_an_upload_inspection_is_sent_without_its_process_local_removals():
    from dallosh.datasets import inspect_csv

    data = b"id,full_text\n1,Panne fibre\n1,Panne fibre\n2,Merci\n"
    inspection = inspect_csv(data, "t.csv", max_bytes=1 << 20)
    assert inspection.removals is not None and inspection.removals.duplicate_rows.tolist() == [False, True, False]
    back = decode(encode(inspection), trusted=True)
    assert back.removals is None  # numpy masks stay in the process that made them
    assert back.rows == 3 and back.cleaning == inspection.cleaning
    pd.testing.assert_frame_equal(back.frame, inspection.frame, check_dtype=False)
