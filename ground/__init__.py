"""ground: the floor every desist package stands on, importing none of them.

- :mod:`ground.errors`: the ``DesistError`` family and ``DesistWarning``;
- :mod:`ground.checks`: constraints on arguments and columns, one message form;
- :mod:`ground.findings`: :class:`~ground.findings.Finding`, what a check found;
- :mod:`ground.tables`: the pandera schema of every table and :func:`~ground.tables.validate`;
- :mod:`ground.dates`: the one date parser (:func:`~ground.dates.parse_date`, ``DateLike``);
- :mod:`ground.reading`: the one file reader;
- :mod:`ground.expressions`: the safe rule language of specs and contracts.

Import each by its module: this package imports none of them, so the command line starts fast.
"""
