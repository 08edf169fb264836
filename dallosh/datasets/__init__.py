"""Reading, validating and storing uploaded tweet CSVs.

Uploads arrive in many shapes (Excel's Windows-1252 or BOM'd UTF-8, UTF-16, semicolons, ``sep=`` lines, quoted
newlines, trailing commas, ids rounded by Excel, two exports joined together). Each is read right, refused with a
message saying what to fix, or repaired with a note the preview shows; nothing is changed silently. Every cell is
read as text so 19-digit ids and leading zeros survive.

One module per stage: ``decoding`` (bytes → text), ``header``, ``parsing`` (rows), ``ids``, ``inspection`` (the
preview and the stored copy) and ``csvfile`` (reading and writing stored datasets).
"""

import dallosh.tables  # noqa: F401 (text columns as Python strings, before any frame is built)
from dallosh.datasets.csvfile import read_dataset, write_dataset
from dallosh.datasets.header import DELIMITERS
from dallosh.datasets.inspection import DatasetInspection, inspect_csv, megabytes, safe_display_name, write_normalised

__all__ = ["DELIMITERS", "DatasetInspection", "inspect_csv", "megabytes", "read_dataset", "safe_display_name",
           "write_dataset", "write_normalised"]
