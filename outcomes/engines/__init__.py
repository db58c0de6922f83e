"""Engines that run the SQL definition of proven reoffending (:mod:`outcomes.engines.sql`), for a measure
(:func:`outcomes.proven_reoffending`) or a settlement's offences (:mod:`pricing.settlement_engine`).

``engine="pandas"`` (the default) computes in memory. ``DuckDB`` runs the SQL
embedded in this process, out of core: it reads Parquet or CSV files straight
from disk and spills to ``temp_directory`` past ``memory_limit``. ``Spark`` runs
it on a Spark session: a local one by default, or any session you give it (a
cluster's). The strings ``"duckdb"`` and ``"spark"`` stand for the defaults.

Each engine opens a :class:`Runner`: load a table (a DataFrame or a file) as
a named view with ``_row`` (its 0-based position), describe its columns, run
a query (written in DuckDB's dialect) and return a small pandas frame.

Examples
--------
>>> as_engine("duckdb")
DuckDB(memory_limit=None, temp_directory=None, threads=None)
>>> as_engine(DuckDB(memory_limit="4GB")).memory_limit
'4GB'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ground.checks import InstanceOf, Options, check_parameter, parameter_error
from outcomes.engines.sql import RawColumn

ENGINES = ("pandas", "duckdb", "spark")


class Runner(Protocol):
    """What the SQL stages need from an engine."""

    def load(self, name: str, source: pd.DataFrame | Path) -> None:
        """Make ``source`` the view ``name``, with ``_row`` its 0-based row position."""

    def columns(self, name: str) -> dict[str, RawColumn]:
        """The view's columns as the engine typed them (``_row`` left out)."""

    def whole(self, name: str, column: str) -> bool:
        """Whether every value of a float column is a whole number."""

    def view(self, name: str, sql: str, keep: bool = False) -> None:
        """Make the query ``sql`` the view ``name``; ``keep`` computes it once (a small table read twice)."""

    def repeats(self, sql: str, n: int) -> bool:
        """Whether two of the ``n`` rows of the query ``sql`` are the same (its columns ``k0`` to ``k3``)."""

    def fetch(self, sql: str) -> pd.DataFrame:
        """Run a query (DuckDB's dialect) and return its rows."""

    def close(self) -> None:
        """Free what the runner holds."""


@dataclass(frozen=True)
class DuckDB:
    """Run proven reoffending on DuckDB, embedded, out of core.

    Parameters
    ----------
    memory_limit : str, optional
        DuckDB's ``memory_limit``, e.g. ``"4GB"``; past it, joins and
        aggregates spill to ``temp_directory``. Default: DuckDB's (80% of RAM).
    temp_directory : str, optional
        Where to spill. Default: DuckDB's (``.tmp`` beside a database file, or
        the system's temporary folder for an in-memory one).
    threads : int, optional
        Threads to use. Default: one per core.
    """

    memory_limit: str | None = None
    temp_directory: str | None = None
    threads: int | None = None

    def runner(self) -> Runner:
        from outcomes.engines.duckdb_runner import DuckDBRunner

        return DuckDBRunner(self)


@dataclass(frozen=True)
class Spark:
    """Run proven reoffending on Spark.

    Parameters
    ----------
    session : pyspark.sql.SparkSession, optional
        The session to run on: build one for a cluster (``SparkSession.builder
        .master("yarn")`` or ``.remote("sc://host:15002")``) and pass it. Default:
        the active session, else a local one on ``master``.
    master : str, default "local[*]"
        The master of the local session made when there is none.
    """

    session: Any = None
    master: str = "local[*]"

    def runner(self) -> Runner:
        try:
            import pyspark  # noqa: F401
            import sqlglot  # noqa: F401
        except ImportError as exc:
            must = (
                "an engine whose packages are installed: the Spark engine needs pyspark and sqlglot (pip install "
                "'desist[spark]') and Java 17 or later (Debian: apt-get install default-jdk-headless)"
            )
            raise parameter_error("engine", "Spark", must, got=f"none of {exc.name}") from exc
        from outcomes.engines.spark_runner import SparkRunner

        return SparkRunner(self)


def as_engine(engine: Any, caller: str = "proven_reoffending") -> str | DuckDB | Spark:
    """``"pandas"``, or the engine object a name or object stands for.

    Parameters
    ----------
    engine : {"pandas", "duckdb", "spark"} or DuckDB or Spark
        A name (an engine with its defaults) or an engine object (returned as it is).
    caller : str
        Named in the error.

    Examples
    --------
    >>> as_engine("pandas"), as_engine("duckdb"), as_engine(DuckDB(memory_limit="4GB")).memory_limit
    ('pandas', DuckDB(memory_limit=None, temp_directory=None, threads=None), '4GB')
    >>> as_engine("sqlite")
    Traceback (most recent call last):
    ...
    ground.errors.ParameterError: The 'engine' parameter of proven_reoffending must be one of 'pandas', ...
    """
    check_parameter(
        engine, "engine", caller, Options(*ENGINES), InstanceOf((DuckDB, Spark), "a DuckDB or Spark engine")
    )
    if engine == "duckdb":
        return DuckDB()
    if engine == "spark":
        return Spark()
    return engine


__all__ = ["DuckDB", "ENGINES", "Runner", "Spark", "as_engine"]
