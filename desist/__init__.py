"""desist: the command line, file input/output and reports.

Nothing in the other packages imports from here. The readers load pandas, so
they are imported on first use: ``desist --help`` starts without them.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "read_frame", "read_table", "write_table"]


def __getattr__(name: str) -> Any:
    if name in ("read_frame", "read_table", "write_table"):
        from desist import io

        return getattr(io, name)
    raise AttributeError(f"module 'desist' has no attribute {name!r}")
