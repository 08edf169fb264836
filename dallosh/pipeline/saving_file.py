"""Step 5: publish the staged output as ``analysed/<file_id>.csv`` (an atomic rename)."""

from __future__ import annotations

import errno
import os
import shutil
from typing import Any

from dallosh.errors import DalloshError
from dallosh.pipeline.base import Run, Timer, step
from dallosh.storage import atomic_path


@step("saving_file")
def saving_file(run: Run) -> dict[str, Any]:
    timer = Timer()
    if not run.staging.exists():
        if run.analysed.exists():  # a previous run already published it (idempotent retry)
            return {"size": run.analysed.stat().st_size, "duration_s": timer.seconds, "already_saved": True}
        raise DalloshError("The analysed output is missing. Click Retry to rebuild it from the labels.")
    run.analysed.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(run.staging, run.analysed)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # Another filesystem (``dallosh process --out`` elsewhere than the temporary folder): copy to a temporary
        # file beside the destination, then rename it there, so the destination is never half-written.
        with atomic_path(run.analysed) as tmp:
            shutil.copyfile(run.staging, tmp)
        run.staging.unlink()
    return {"size": run.analysed.stat().st_size, "duration_s": timer.seconds}
