"""The processing worker entry point; the logic lives in ``dallosh.worker``."""
