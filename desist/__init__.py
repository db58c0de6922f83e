"""desist: the command line and the reports.

Nothing in the other packages imports from here. Files are read by
:mod:`ground.reading` (``read_table``, ``read_frame``, ``write_table``), the one
reader the commands and the library share.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
