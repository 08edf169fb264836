"""Contract of the database adapter: every operation, against a real server.

Runs on the embedded nx-27017 by default; ``DALLOSH_TEST_MONGODB_URI=mongodb://… pytest tests/integration/db``
runs the same contract on a real MongoDB.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from dallosh.errors import Conflict


@pytest.fixture
def people(db):
    db.ensure_index("people", "uid", unique=True)
    db.ensure_index("people", "data.email", unique=True)
    docs = [db.insert("people", {"email": f"p{i}@x.io", "age": 20 + i, "team": "red" if i % 2 else "blue",
                                 "tags": ["a", "b"]}, by="tester") for i in range(6)]
    return docs


def test_insert_stamps_envelope(db):
    doc = db.insert("things", {"name": "one"}, by="u1")
    assert isinstance(doc["uid"], str) and len(doc["uid"]) == 32
    assert doc["data"] == {"name": "one"}
    assert doc["createdBy"] == doc["updatedBy"] == "u1"
    assert isinstance(doc["createdAt"], datetime) and doc["createdAt"].tzinfo is not None
    stored = db.get("things", doc["uid"])
    assert stored == doc  # round-trips exactly, no _id leaks out


def test_insert_with_given_uid_and_duplicate_refused(db):
    db.ensure_index("things", "uid", unique=True)
    db.insert("things", {"n": 1}, by="s", uid="fixed")
    with pytest.raises(Conflict):
        db.insert("things", {"n": 2}, by="s", uid="fixed")
    assert db.get("things", "fixed")["data"] == {"n": 1}


def test_unique_index_on_data_field(db, people):
    with pytest.raises(Conflict):
        db.insert("people", {"email": "p1@x.io"}, by="s")
    assert db.count("people") == 6


def test_insert_many(db):
    docs = db.insert_many("events", [{"k": i} for i in range(5)], by="system")
    assert [d["data"]["k"] for d in docs] == list(range(5))
    assert db.count("events") == 5
    assert db.insert_many("events", [], by="system") == []


def test_get_missing_and_non_string_uid(db):
    assert db.get("things", "nope") is None
    assert db.get("things", None) is None  # type: ignore[arg-type]


def test_find_filter_sort_skip_limit(db, people):
    found = db.find("people", {"data.age": {"$gte": 22}}, sort=[("data.age", -1)], skip=1, limit=2)
    assert [d["data"]["age"] for d in found] == [24, 23]
    assert len(db.find("people")) == 6


def test_find_operators(db, people):
    assert {d["data"]["age"] for d in db.find("people", {"data.team": {"$in": ["red"]}})} == {21, 23, 25}
    assert len(db.find("people", {"data.team": {"$ne": "red"}})) == 3
    assert len(db.find("people", {"data.email": {"$regex": "^P1@", "$options": "i"}})) == 1
    assert len(db.find("people", {"$or": [{"data.age": 20}, {"data.age": 25}]})) == 2
    assert len(db.find("people", {"data.missing": {"$exists": False}})) == 6
    assert len(db.find("people", {"data.tags": "a"})) == 6
    assert len(db.find("people", {"data.age": {"$gt": 21, "$lt": 24}})) == 2


def test_find_projection_is_nested(db, people):
    found = db.find("people", {"data.age": 20}, projection=["data.email"])
    assert found == [{"uid": people[0]["uid"], "data": {"email": "p0@x.io"}}]


def test_find_one(db, people):
    assert db.find_one("people", {"data.email": "p3@x.io"})["uid"] == people[3]["uid"]
    assert db.find_one("people", {"data.email": "none"}) is None


def test_update_partial_set_unset_inc(db, people):
    uid = people[0]["uid"]
    before = db.get("people", uid)
    after = db.update("people", uid, {"team": "green", "profile.city": "Paris"}, by="editor", inc={"age": 2},
                      unset=["tags"])
    assert after["data"] == {"email": "p0@x.io", "age": 22, "team": "green", "profile": {"city": "Paris"}}
    assert after["updatedBy"] == "editor" and after["createdBy"] == "tester"
    assert after["updatedAt"] >= before["updatedAt"] and after["createdAt"] == before["createdAt"]
    assert db.update("people", "missing", {"x": 1}, by="e") is None


def test_a_boolean_set_by_update_is_found_and_reads_back_as_a_boolean_record(db):
    """MongoDB keeps a boolean written by ``$set`` as a boolean; nx-27017 0.8.1 stores it as 0/1. Both answer
    queries on true/false, and ``Record.from_doc`` (every service's way to read) turns 0/1 back into booleans."""
    from dallosh.schemas import Record, SettingsData, dump

    doc = db.insert("flags", {"on": True, "settings": dump(SettingsData())}, by="t")
    db.update("flags", doc["uid"], {"on": False, "later": True}, by="t")
    stored = db.get("flags", doc["uid"])["data"]
    assert stored["on"] == False and stored["later"] == True  # noqa: E712 - 0/1 on nx-27017, booleans on MongoDB
    assert [d["uid"] for d in db.find("flags", {"data.later": True})] == [doc["uid"]]
    assert db.find("flags", {"data.on": True}) == []  # positive control above
    db.update("flags", doc["uid"], {"settings.general.isMaintenance": True}, by="t")
    settings = Record.from_doc(SettingsData, {"uid": "s", "data": db.get("flags", doc["uid"])["data"]["settings"]})
    assert settings.data.general.isMaintenance is True


def test_update_many(db, people):
    assert db.update_many("people", {"data.team": "red"}, {"flag": True}, by="bulk") == 3
    assert db.count("people", {"data.flag": True}) == 3


def test_find_one_and_update_is_atomic(db):
    db.ensure_index("jobs", "uid", unique=True)
    job = db.insert("jobs", {"status": "queued"}, by="s")
    winners = []

    def claim():
        got = db.find_one_and_update("jobs", {"uid": job["uid"], "data.status": {"$in": ["queued"]}},
                                     {"status": "running"}, by="worker")
        if got is not None:
            winners.append(got)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert winners[0]["data"]["status"] == "running"
    assert db.find_one_and_update("jobs", {"uid": job["uid"], "data.status": "queued"}, {"status": "x"},
                                  by="w") is None


def test_find_one_and_update_sort_picks_oldest(db):
    for i in range(3):
        db.insert("queue", {"n": i, "state": "waiting"}, by="s")
    got = db.find_one_and_update("queue", {"data.state": "waiting"}, {"state": "taken"}, by="w",
                                 sort=[("data.n", 1)])
    assert got["data"]["n"] == 0


def test_delete_and_delete_many(db, people):
    assert db.delete("people", people[0]["uid"]) is True
    assert db.delete("people", people[0]["uid"]) is False
    assert db.delete_many("people", {"data.team": "red"}) == 3
    assert db.count("people") == 2


def test_count_and_group_count(db, people):
    assert db.count("people", {"data.team": "blue"}) == 3
    assert db.group_count("people", "data.team") == {"red": 3, "blue": 3}
    assert db.group_count("people", "data.team", {"data.age": {"$lt": 22}}) == {"blue": 1, "red": 1}
    assert db.group_count("empty", "data.x") == {}


def test_datetime_range_queries(db):
    doc = db.insert("stamped", {"n": 1}, by="s")
    assert db.count("stamped", {"createdAt": {"$gte": doc["createdAt"]}}) == 1
    assert db.count("stamped", {"createdAt": {"$gt": doc["createdAt"]}}) == 0


def test_unicode_and_big_ids_survive(db):
    doc = db.insert("texts", {"text": "Réseau en panne 😡 l'opérateur", "id": "1790000000000000123"}, by="s")
    stored = db.get("texts", doc["uid"])
    assert stored["data"]["text"] == "Réseau en panne 😡 l'opérateur"
    assert stored["data"]["id"] == "1790000000000000123"


def test_ping_and_drop_database(mongo_uri):
    from dallosh.db import MongoAdapter

    adapter = MongoAdapter(mongo_uri, "test_drop_me")
    assert adapter.ping()
    adapter.insert("x", {"a": 1}, by="s")
    adapter.drop_database()
    assert adapter.count("x") == 0
    adapter.close()


def test_drop_database_leaves_other_databases(mongo_uri, db):
    from dallosh.db import MongoAdapter

    db.insert("keep", {"a": 1}, by="s")
    other = MongoAdapter(mongo_uri, "test_other_db")
    other.insert("x", {"a": 1}, by="s")
    other.drop_database()
    other.close()
    assert db.count("keep") == 1


def test_ping_false_when_nothing_answers():
    from dallosh.db import MongoAdapter
    from tests.conftest import free_port

    adapter = MongoAdapter(f"mongodb://127.0.0.1:{free_port()}", "x", timeout_ms=300)
    assert adapter.ping() is False
    adapter.close()
