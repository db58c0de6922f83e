"""desist: the command line, file input/output and reports.

Nothing in the other packages imports from here.
"""

__version__ = "0.1.0"
