"""Schemas of the stored documents, in the spec's ``{uid, data, createdAt, createdBy, updatedAt, updatedBy}`` shape."""

from dallosh.schemas.base import Record, dump, parse
from dallosh.schemas.files import FileData
from dallosh.schemas.logs import LogData
from dallosh.schemas.roles import RoleData
from dallosh.schemas.settings import (
    AIPreferences,
    AISettings,
    DeliverySettings,
    GeneralSettings,
    ModelData,
    SettingsData,
)
from dallosh.schemas.tasks import TaskData
from dallosh.schemas.users import UserData, normalise_email

__all__ = ["AIPreferences", "AISettings", "DeliverySettings", "FileData", "GeneralSettings", "LogData", "ModelData",
           "Record", "RoleData", "SettingsData", "TaskData", "UserData", "dump", "normalise_email", "parse"]
