"""Run the SQL stages on DuckDB: embedded, reading Parquet or CSV from disk, spilling past its memory limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import parameter_error
from ground.errors import SchemaError
from outcomes.engines.assessment_sql import repeated_sql
from outcomes.engines.boundary import file_kind
from outcomes.engines.sql import RawColumn, literal, quoted

# DuckDB type name (its first word) -> the kind the SQL stages read.
KINDS = {
    "VARCHAR": "text",
    "BIGINT": "integer",
    "INTEGER": "integer",
    "SMALLINT": "integer",
    "TINYINT": "integer",
    "UBIGINT": "integer",
    "UINTEGER": "integer",
    "USMALLINT": "integer",
    "UTINYINT": "integer",
    "HUGEINT": "integer",
    "DOUBLE": "float",
    "FLOAT": "float",
    "DECIMAL": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "ENUM": "text",
}


def parquet_schema(path: str | Path) -> list:
    """A Parquet file's fields, from its footer; none where pyarrow cannot reach it (a URL it has no
    credentials for: the engine reads it all the same).

    Parameters
    ----------
    path : str or Path
        The Parquet file.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "people.parquet"
    >>> pd.DataFrame({"person_id": ["a"], "age": [30]}).to_parquet(path)
    >>> [field.name for field in parquet_schema(path)], parquet_schema(Path(folder.name) / "absent.parquet")
    (['person_id', 'age'], [])
    >>> folder.cleanup()
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path))
    except (OSError, pa.ArrowException):
        return []


def zones(path: str | Path) -> dict[str, str]:
    """Time zones of a Parquet file's timestamp columns.

    Parameters
    ----------
    path : str or Path
        The Parquet file.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "people.parquet"
    >>> when = pd.to_datetime(["2024-01-01 09:00"])
    >>> pd.DataFrame({"start_date": when.tz_localize("Europe/London"), "seen": when}).to_parquet(path)
    >>> zones(path)
    {'start_date': 'Europe/London'}
    >>> folder.cleanup()
    """
    import pyarrow as pa

    return {f.name: f.type.tz for f in parquet_schema(path) if pa.types.is_timestamp(f.type) and f.type.tz}


class DuckDBRunner:
    """A DuckDB connection in memory, holding the views of one computation."""

    def __init__(self, engine: Any) -> None:
        import duckdb

        config = {"memory_limit": engine.memory_limit, "temp_directory": engine.temp_directory}
        config = {key: value for key, value in config.items() if value is not None}
        if engine.threads is not None:
            config["threads"] = int(engine.threads)
        # the stages order their output themselves; not keeping input order lets DuckDB stream
        config["preserve_insertion_order"] = False
        try:
            self.connection = duckdb.connect(config=config)
        except duckdb.Error as exc:
            raise parameter_error(
                "engine", "proven_reoffending", "a DuckDB engine with settings DuckDB takes", engine
            ) from exc
        # no bar drawn on stderr for each query of more than two seconds (a settle runs many, between the
        # command's own lines)
        self.connection.execute("SET enable_progress_bar = false")
        self.zones: dict[str, dict[str, str]] = {}

    def load(self, name: str, source: pd.DataFrame | Path | str) -> None:
        import duckdb

        try:
            self._load(name, source)
        except duckdb.Error as exc:
            table = name.removesuffix("_raw")
            message = str(exc).splitlines()[0]
            raise SchemaError(f"{source}: cannot read: {message}", table=table, source=str(source)) from exc

    def _load(self, name: str, source: pd.DataFrame | Path | str) -> None:
        table = name.removesuffix("_raw")
        if isinstance(source, pd.DataFrame):
            self.connection.register(f"{name}_frame", source.assign(_row=range(len(source))))
            self.connection.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_frame")
            return
        path = literal(str(source))
        if file_kind(source, table) == "parquet":
            self.zones[name] = zones(source)
            self.connection.execute(
                f"CREATE VIEW {name} AS SELECT * EXCLUDE (file_row_number), file_row_number AS _row "
                f"FROM read_parquet({path}, file_row_number = true)"
            )
            return
        # A CSV has no row numbers to read: a table keeps them as its rowid (spilled to disk if large).
        self.connection.execute(f"CREATE TEMP TABLE {name}_csv AS SELECT * FROM read_csv({path}, all_varchar = true)")
        self.connection.execute(f"CREATE VIEW {name} AS SELECT *, rowid AS _row FROM {name}_csv")

    def columns(self, name: str) -> dict[str, RawColumn]:
        described = self.connection.execute(f"DESCRIBE {name}").fetchall()
        zones = self.zones.get(name, {})
        out = {}
        for column, type_name, *_ in described:
            if column == "_row":
                continue
            kind = KINDS.get(type_name, KINDS.get(type_name.split("(")[0], "other"))
            out[column] = RawColumn(column, kind, zones.get(column))
        return out

    def whole(self, name: str, column: str) -> bool:
        found = self.connection.execute(
            f"SELECT COALESCE(BOOL_AND({quoted(column)} = FLOOR({quoted(column)})), TRUE) FROM {name}"
        ).fetchall()
        return bool(found[0][0])

    def view(self, name: str, sql: str, keep: bool = False) -> None:
        kind = "TEMP TABLE" if keep else "VIEW"
        self.connection.execute(f"CREATE OR REPLACE {kind} {name} AS {sql}")

    def fetch(self, sql: str) -> pd.DataFrame:
        return self.connection.sql(sql).to_arrow_table().to_pandas()

    def repeats(self, sql: str, n: int) -> bool:
        # A hash of each row, sorted in numpy: 8 bytes a row, where DuckDB's grouping of tens of millions of
        # records spills to disk. Equal hashes are only candidates: the records are then compared themselves.
        hashes, at = np.empty(n, dtype=np.uint64), 0
        for batch in self.connection.sql(f"SELECT hash(k0, k1, k2, k3) FROM ({sql}) AS k").to_arrow_reader(1 << 20):
            part = batch.column(0).to_numpy()
            hashes[at : at + part.size] = part
            at += part.size
        hashes.sort()
        if not (hashes[1:] == hashes[:-1]).any():
            return False
        del hashes
        return bool(self.fetch(repeated_sql(sql)).shape[0])

    def close(self) -> None:
        self.connection.close()
