"""The processing pipeline: one module per step, registered in lifecycle order (see ``base.step``)."""

from dallosh.lifecycle import STEPS
from dallosh.pipeline import (  # noqa: F401 - importing registers the steps
    appending_columns,
    process_cleaning,
    reading_dataset,
    saving_file,
    sending_to_llm,
)
from dallosh.pipeline.base import STEP_FUNCTIONS, Interrupted, Run, step
from dallosh.pipeline.runner import run_steps

assert set(STEP_FUNCTIONS) == set(STEPS), "every lifecycle step needs exactly one registered function"

__all__ = ["STEP_FUNCTIONS", "Interrupted", "Run", "run_steps", "step"]
