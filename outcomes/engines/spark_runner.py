"""Run the SQL stages on Spark: the DuckDB-dialect queries transpiled by sqlglot, on any session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ground.errors import SchemaError
from outcomes.engines.assessment_sql import repeated_sql
from outcomes.engines.boundary import file_kind
from outcomes.engines.duckdb_runner import parquet_schema
from outcomes.engines.sql import RawColumn, quoted

# Spark type name -> the kind the SQL stages read.
KINDS = {
    "string": "text",
    "bigint": "integer",
    "int": "integer",
    "smallint": "integer",
    "tinyint": "integer",
    "double": "float",
    "float": "float",
    "boolean": "boolean",
    "date": "date",
    "timestamp_ntz": "timestamp",
    "timestamp": "timestamptz",
}


def local_session(master: str) -> Any:
    """The active Spark session, else a local one (no web UI, few shuffle partitions: small jobs)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    return (
        SparkSession.builder.master(master)
        .appName("desist")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )


class SparkRunner:
    """Temporary views on a Spark session; queries arrive in DuckDB's dialect and are transpiled."""

    def __init__(self, engine: Any) -> None:
        self.spark = engine.session if engine.session is not None else local_session(engine.master)
        self.views: list[str] = []

    def load(self, name: str, source: pd.DataFrame | Path | str) -> None:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        try:
            self._load(name, source)
        except (PySparkException, Py4JJavaError) as exc:
            given = exc.java_exception.getMessage() if isinstance(exc, Py4JJavaError) else str(exc)
            message = str(given).splitlines()[0]
            raise SchemaError(
                f"{source}: cannot read: {message}", table=name.removesuffix("_raw"), source=str(source)
            ) from exc

    def _load(self, name: str, source: pd.DataFrame | Path | str) -> None:
        if isinstance(source, pd.DataFrame):
            import pyarrow as pa

            # checked dates go over as dates: Spark would read a time without a zone at the session's zone
            columns = {
                name: pa.array(values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"))
                if pd.api.types.is_datetime64_any_dtype(values)
                else pa.array(values)
                for name, values in source.items()
            }
            table = pa.table({**columns, "_row": pa.array(range(len(source)), pa.int64())})
            frame = self.spark.createDataFrame(table)
        elif file_kind(source, name.removesuffix("_raw")) == "parquet":
            refuse_timestamps(source, name.removesuffix("_raw"))
            frame = self.spark.read.parquet(str(source)).select("*", "_metadata.row_index")
            frame = frame.withColumnRenamed("row_index", "_row")
        else:
            frame = self._numbered(self.spark.read.option("header", True).csv(str(source)))
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def _numbered(self, frame: Any) -> Any:
        """A CSV's rows with their 0-based position (Spark keeps a file's line order within its partitions).

        Numbered in the JVM: a row's place in its partition (``monotonically_increasing_id`` holds it in the low 33
        bits, the partition above them) plus the rows of the partitions before it, counted once here. Numbering
        through Python (``rdd.zipWithIndex``) sent every row through a Python worker again at every query that
        read the file: 12 s for 60,000 assessment rows where this takes a fraction of it.
        """
        from pyspark.sql import functions as F

        part, at = F.col("_row_partition"), F.col("_row_id")
        tagged = frame.select(
            "*", F.spark_partition_id().alias("_row_partition"), F.monotonically_increasing_id().alias("_row_id")
        )
        counts = tagged.groupBy(part).count().toPandas().sort_values("_row_partition")
        before = counts["count"].cumsum() - counts["count"]
        pairs = zip(counts["_row_partition"], before)
        first = F.create_map(*(x for p, b in pairs for x in (F.lit(int(p)), F.lit(int(b)).cast("long"))))
        row = first[part] + at - F.shiftleft(part.cast("long"), 33) if len(counts) else F.lit(0).cast("long")
        return tagged.withColumn("_row", row).drop("_row_partition", "_row_id")

    def columns(self, name: str) -> dict[str, RawColumn]:
        fields = self.spark.table(name).schema.fields
        return {
            f.name: RawColumn(f.name, KINDS.get(f.dataType.simpleString().split("(")[0], "other"))
            for f in fields
            if f.name != "_row"
        }

    def whole(self, name: str, column: str) -> bool:
        found = self.fetch(
            f"SELECT COALESCE(BOOL_AND({quoted(column)} = FLOOR({quoted(column)})), TRUE) AS w FROM {name}"
        )
        return bool(found["w"].iloc[0])

    def view(self, name: str, sql: str, keep: bool = False) -> None:
        frame = self.spark.sql(spark_sql(sql))
        (frame.cache() if keep else frame).createOrReplaceTempView(name)
        self.views.append(name)

    def fetch(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(spark_sql(sql)).toArrow().to_pandas()

    def repeats(self, sql: str, n: int) -> bool:
        return bool(self.fetch(repeated_sql(sql)).shape[0])  # grouped where the session's data are

    def close(self) -> None:
        for name in self.views:
            self.spark.catalog.uncacheTable(name)
            self.spark.catalog.dropTempView(name)


def refuse_timestamps(path: str | Path, table: str) -> None:
    """Refuse what Spark would misread: times with a zone (read at the session's zone, not where they were
    recorded) and nanosecond times (which Spark cannot read)."""
    import pyarrow as pa

    times = [f for f in parquet_schema(path) if pa.types.is_timestamp(f.type)]
    zoned = [f.name for f in times if f.type.tz]
    nanos = [f.name for f in times if f.type.unit == "ns" and not f.type.tz]
    if zoned or nanos:
        what = "times with a time zone" if zoned else "nanosecond times"
        raise SchemaError(
            f"{path}: columns {', '.join(zoned or nanos)} hold {what}, which the Spark engine cannot read as "
            "dates; write local dates (pandas: to_parquet(..., coerce_timestamps='us')) or use engine='duckdb'.",
            table=table,
            source=str(path),
        )


def spark_sql(sql: str) -> str:
    """A query in DuckDB's dialect, in Spark's."""
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]
