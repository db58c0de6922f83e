"""desist: the command line, file input/output and reports.

Nothing in the other packages imports from here.
"""

from desist.io import read_frame, read_table, write_table

__version__ = "0.1.0"

__all__ = ["__version__", "read_frame", "read_table", "write_table"]
