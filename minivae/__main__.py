"""`python -m minivae ...` runs the command line (see minivae.cli)."""

import sys

from minivae.cli import main

sys.exit(main())
