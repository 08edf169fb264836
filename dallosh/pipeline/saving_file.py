"""Step 5: publish the staged output as ``analysed/<file_id>.csv`` (an atomic rename)."""

from __future__ import annotations

import os
from typing import Any

from dallosh.errors import DalloshError
from dallosh.pipeline.base import Run, Timer, step


@step("saving_file")
def saving_file(run: Run) -> dict[str, Any]:
    timer = Timer()
    if not run.staging.exists():
        if run.analysed.exists():  # a previous run already published it (idempotent retry)
            return {"size": run.analysed.stat().st_size, "duration_s": timer.seconds, "already_saved": True}
        raise DalloshError("The analysed output is missing. Click Retry to rebuild it from the labels.")
    run.analysed.parent.mkdir(parents=True, exist_ok=True)
    os.replace(run.staging, run.analysed)
    return {"size": run.analysed.stat().st_size, "duration_s": timer.seconds}
