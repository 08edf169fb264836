from __future__ import annotations

import pytest

from dallosh.errors import ValidationError
from dallosh.schemas import FileData, ModelData, Record, RoleData, SettingsData, TaskData, UserData, dump, parse


def test_user_fields_are_named_in_errors():
    with pytest.raises(ValidationError) as exc:
        parse(UserData, {"email": "a@b.io", "role_id": "r"})
    assert exc.value.field == "data.password" and "required" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        parse(UserData, {"email": "a@b.io", "password": "h", "role_id": "r", "status": "banned"})
    assert exc.value.field == "data.status"


def test_types_are_checked():
    with pytest.raises(ValidationError, match="whole number"):
        parse(FileData, {"filename": "a", "size": "10", "file_path": "datasets/x.csv", "extension": "csv",
                         "type": "text/csv"})
    with pytest.raises(ValidationError, match="true or false"):
        parse(SettingsData, {"general": {"isMaintenance": 1}})
    with pytest.raises(ValidationError) as exc:
        parse(RoleData, {"name": "r", "permissions": "manage_app"})
    assert exc.value.field == "data.permissions"


def test_nested_paths():
    with pytest.raises(ValidationError) as exc:
        parse(SettingsData, {"ai": {"preferences": {"mode": "cloud"}}})
    assert exc.value.field == "data.ai.preferences.mode"


def test_model_limits():
    ok = parse(ModelData, {"model": "m", "baseUrl": "http://h"})
    assert ok.retryRequests == 3 and ok.paginateRowsLimit == 500
    for field, value in (("retryRequests", 11), ("paginateRowsLimit", 0), ("paginateRowsLimit", 5001),
                         ("baseUrl", "ftp://h"), ("concurrency", 0)):
        with pytest.raises(ValidationError) as exc:
            parse(ModelData, {"model": "m", "baseUrl": "http://h", field: value})
        assert exc.value.field == f"data.{field}"


def test_task_status_and_step():
    with pytest.raises(ValidationError):
        parse(TaskData, {"file_id": "f", "file_path": "p", "status": "weird"})
    with pytest.raises(ValidationError):
        parse(TaskData, {"file_id": "f", "file_path": "p", "last_completed_step": "done"})


def test_record_envelope_round_trip():
    doc = {"uid": "abc", "data": dump(RoleData(name="x")), "createdAt": None, "createdBy": "system",
           "updatedAt": None, "updatedBy": "system"}
    record = Record.from_doc(RoleData, doc)
    assert record.uid == "abc" and record.data.name == "x" and record.createdBy == "system"
    with pytest.raises(ValidationError, match="record's id"):
        Record.from_doc(RoleData, {"data": {}})


def test_validation_errors_read_as_sentences_without_field_paths():
    from dallosh.errors import ValidationError

    assert str(ValidationError("password_confirm", "does not match the password")) == \
        "The password confirmation does not match the password"
    assert str(ValidationError("data.role_id", "is required")) == "The role is required"
    assert str(ValidationError("ai.local[0].data.retryRequests", "must be a whole number")) == \
        "The retry requests must be a whole number"
    error = ValidationError("data.email", "is required")
    assert (error.field, error.message) == ("data.email", "is required")  # forms still place it by field
    assert "data." not in str(error) and "_" not in str(ValidationError("new_password", "is too short"))


def test_stored_booleans_read_as_0_or_1_come_back_as_booleans_but_user_input_stays_strict():
    """nx-27017 0.8.1 stores a boolean written by a dotted ``$set`` as 0/1 (tests/integration/db): records read
    from the database accept that; what a user sends does not."""
    stored = {"uid": "s", "data": dump(SettingsData())}
    stored["data"]["general"]["isMaintenance"] = 1
    record = Record.from_doc(SettingsData, stored)
    assert record.data.general.isMaintenance is True
    stored["data"]["general"]["isMaintenance"] = 0
    assert Record.from_doc(SettingsData, stored).data.general.isMaintenance is False
    for other in (2, "1", None):  # only 0 and 1 are booleans in disguise
        stored["data"]["general"]["isMaintenance"] = other
        with pytest.raises(ValidationError):
            Record.from_doc(SettingsData, stored)
    with pytest.raises(ValidationError, match="true or false"):  # user input: strict (see test_types_are_checked)
        parse(SettingsData, {"general": {"isMaintenance": 1}})
