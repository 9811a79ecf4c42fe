"""`python -m gridding …` (see gridding.cli)."""

import sys

from gridding.cli import main

sys.exit(main())
