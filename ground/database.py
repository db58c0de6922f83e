"""A table read from a database: desist builds the SELECT itself, in a read-only transaction.

A data mapping's table (:mod:`ground.mapping`) may live in a warehouse rather than a file::

    [offences]
    source = "postgresql://analyst@warehouse.example/justice"
    schema = "pnc"
    table = "offences"

The connection goes through SQLAlchemy (``pip install 'desist[database]'``, which brings psycopg for
PostgreSQL). Other databases work where their SQLAlchemy driver is installed (SQL Server:
``mssql+pyodbc://...`` with Microsoft's ODBC driver; documented, not tested here).

No SQL from a file is run. The mapping names a schema, a table and columns; they are identifiers, each quoted
by the database's own dialect (a name with a quote or a space in it stays a name), and the one statement is
``SELECT <columns> FROM <schema>.<table> ORDER BY <columns>``: ordered so that the same table gives the same
rows in the same order, and so the same settlement, every time. It runs in a read-only transaction (PostgreSQL
refuses any write in it) that is rolled back, never committed. A password does not belong in a mapping file:
PostgreSQL reads ``PGPASSWORD`` or ``~/.pgpass``; a password in the URL is never shown in a message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ground.errors import SchemaError

if TYPE_CHECKING:  # SQLAlchemy is the optional 'database' extra, imported when a database is read
    from sqlalchemy.sql.expression import Executable

__all__ = ["DATABASE_SCHEMES", "DatabaseTable", "is_database"]

#: URL schemes read as databases (a driver may follow a plus: ``postgresql+psycopg://``).
DATABASE_SCHEMES = ("postgresql", "postgres", "mssql", "mysql", "mariadb", "oracle", "sqlite")


def is_database(source: str) -> bool:
    """Whether a mapping's ``source`` names a database (``postgresql://...``) rather than files.

    Parameters
    ----------
    source : str
        The mapping's ``source``.

    Examples
    --------
    >>> is_database("postgresql://analyst@warehouse/justice"), is_database("pnc_extract.csv")
    (True, False)
    """
    scheme, sep, _ = source.partition("://")
    return bool(sep) and scheme.split("+")[0].lower() in DATABASE_SCHEMES


@dataclass(frozen=True)
class DatabaseTable:
    """One table of a database, read as a whole or by columns.

    Attributes
    ----------
    url : str
        SQLAlchemy's URL (``postgresql://user@host:5432/database``); plain ``postgresql://``
        is read with psycopg.
    table : str
        The table (or view).
    schema : str or None
        Its schema (PostgreSQL's default search path when None).

    Examples
    --------
    >>> DatabaseTable("postgresql://analyst:secret@warehouse/justice", "offences", "pnc").label
    'postgresql://analyst:***@warehouse/justice, table pnc.offences'
    """

    url: str
    table: str
    schema: str | None = None

    @property
    def label(self) -> str:
        """The table as messages name it, without the password."""
        where = f"{self.schema}.{self.table}" if self.schema else self.table
        return f"{_hidden(self.url)}, table {where}"

    def columns(self) -> list[str]:
        """The table's column names, in the database's order (a missing table refused, naming it)."""
        import sqlalchemy as sa

        with self._connection() as connection:
            inspector = sa.inspect(connection)
            if not inspector.has_table(self.table, schema=self.schema):
                raise SchemaError(f"{self.label}: no such table in the database.", table=self.table, source=self.label)
            return [str(c["name"]) for c in inspector.get_columns(self.table, schema=self.schema)]

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows (of ``columns``, else every column), in the order of those columns' values.

        Examples
        --------
        >>> DatabaseTable("postgresql:///justice", "offences").read(["PNC_ID"])  # doctest: +SKIP
        """
        names = list(columns) if columns is not None else self.columns()
        with self._connection() as connection:
            result = connection.execute(self.select(names))
            return pd.DataFrame(result.fetchall(), columns=names)

    def select(self, columns: Sequence[str]) -> Executable:
        """The one statement desist runs: every identifier quoted, no text from the mapping run as SQL."""
        import sqlalchemy as sa
        from sqlalchemy.sql import quoted_name

        chosen: list[Any] = [sa.column(quoted_name(name, quote=True)) for name in columns]
        schema = None if self.schema is None else quoted_name(self.schema, quote=True)
        source = sa.table(quoted_name(self.table, quote=True), *chosen, schema=schema)
        return sa.select(*source.columns).order_by(*source.columns)

    def sha256(self) -> str:
        """SHA-256 of the table's content as read (its CSV text), for an audit record."""
        return hashlib.sha256(self.read().to_csv(index=False).encode("utf-8")).hexdigest()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection in a read-only transaction, rolled back at the end (nothing is ever committed)."""
        engine = _engine(self.url, self.label)
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "postgresql":
                    connection = connection.execution_options(postgresql_readonly=True)
                with connection.begin() as transaction:
                    yield connection
                    transaction.rollback()
        except SchemaError:
            raise
        except Exception as exc:  # the driver's own errors: a refused connection, a missing column
            raise SchemaError(
                f"{self.label}: cannot read from the database: {type(exc).__name__}: {_hidden(str(exc))[:300]}",
                table=self.table,
                source=self.label,
            ) from None
        finally:
            engine.dispose()


def _engine(url: str, label: str) -> Any:
    try:
        import sqlalchemy as sa
    except ImportError:
        raise SchemaError(
            f"{label}: reading a database needs SQLAlchemy and the database's driver: pip install 'desist[database]'."
        ) from None
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):  # SQLAlchemy's default would be psycopg2; desist ships psycopg (3)
        url = f"postgresql+psycopg://{rest}"
    try:
        return sa.create_engine(url)
    except Exception as exc:  # an unknown dialect, a driver not installed, a malformed URL
        raise SchemaError(f"{label}: cannot connect: {type(exc).__name__}: {_hidden(str(exc))[:300]}") from None


def _hidden(text: str) -> str:
    """Text with any password in a URL (``user:password@``) replaced by ``***``."""
    import re

    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)
