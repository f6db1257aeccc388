"""What several test folders share: the repository's root, hypothesis pickers, file builders,
the kernels' host builds and bounds. Importable as `support` (pyproject sets tests/ on the path)."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]  # the repository
