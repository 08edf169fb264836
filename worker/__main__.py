"""``python -m worker``: run one processing worker (same as ``dallosh worker``)."""

import sys

from dallosh.cli import main

sys.exit(main(["worker", *sys.argv[1:]]))
