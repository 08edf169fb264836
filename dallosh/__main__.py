import sys

from dallosh.cli import main

sys.exit(main())
