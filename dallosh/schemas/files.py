from __future__ import annotations

from dataclasses import dataclass, field

from dallosh.errors import ValidationError


@dataclass
class FileData:
    filename: str  # the name the user uploaded (display only, never a path)
    size: int  # bytes stored
    file_path: str  # relative to the storage root: datasets/<uid>.csv
    extension: str
    type: str  # MIME type
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"  # encoding of the upload (stored files are always UTF-8)
    delimiter: str = ","  # delimiter of the upload (stored files are always comma-separated)
    sha256: str = ""  # of the upload's bytes; finds duplicate uploads
    task_id: str = ""
    warnings: list[str] = field(default_factory=list)

    def check(self, path: str) -> None:
        if self.size < 0:
            raise ValidationError(f"{path}.size", "must not be negative")
        if not self.file_path.startswith("datasets/"):
            raise ValidationError(f"{path}.file_path", "must be inside the datasets folder")
