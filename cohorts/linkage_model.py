"""The probabilistic linkage model, on splink: settings, training, scoring and each cohort row's best match.

splink (the Ministry of Justice's linkage library) implements the Fellegi-Sunter model: each compared
field agrees at some level (exact, one letter apart, day and month swapped, ...), each level has
an m probability (among true matches) and a u probability (among non-matches), and a pair's match weight
is the sum of log2(m/u) over its fields plus the prior log-odds of a match. The model is trained without
labels, as splink's documentation sets out:

1. the prior (the probability that two random records match) from the pairs that agree exactly on both
   names and date of birth, taking those to be :data:`EXACT_RECALL` of the true matches;
2. u probabilities from ``sample_pairs`` random pairs (almost all non-matches), drawn with ``seed``;
3. m probabilities by expectation maximisation, once on pairs with the same date of birth (which trains
   the names) and once on pairs with the same full name (which trains the date of birth); those of sex
   and the IDs are fixed (:data:`SEX_M`, :data:`ID_M`).

Names agree exactly, within one letter (Levenshtein), or not; dates of birth exactly, with day and month
swapped, within one character, or not; sex and IDs exactly or not. A unique ID's u probability comes from
the random sample like the others: roughly the share of random pairs that are the same person, about one
over the people table's size, so an agreeing ID weighs about log2(0.95 n) and no more.

Candidate pairs are those sharing a date of birth (or it with day and month swapped), a full name, an ID,
or a birth year and a first name or a surname (:data:`BLOCKING`). Every comparison uses SQL functions that
both DuckDB and Spark have, so the same model runs on a laptop and on a cluster without splink's Java
functions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from outcomes.engines import DuckDB, Spark

#: Share of true matches assumed to agree exactly on first name, surname and date of birth: it scales the
#: count of such pairs up to the prior number of matches. Only the probabilities' calibration depends on it,
#: not which candidate is best.
EXACT_RECALL = 0.7
#: m probabilities (agree, differ) fixed rather than trained, assumed: among true matches 1 in 100 has its sex
#: recorded differently, and 1 in 20 of those with an ID on both sides a different ID (a typing error, a
#: second record). Expectation maximisation would otherwise learn from data where no true match differs
#: that a difference rules a match out (a weight of -40), and one wrong code would block a link.
SEX_M = (0.99, 0.01)
ID_M = (0.95, 0.05)
#: Candidate pairs, in words (the reason an unlinked row with no candidate gives).
BLOCKING = (
    "a date of birth (or it with day and month swapped), a full name, an ID, or a birth year and a first name or "
    "surname"
)


@dataclass(frozen=True)
class Scored:
    """Each cohort row's best candidate, and the trained model.

    Attributes
    ----------
    best : pandas.DataFrame
        One row per cohort row that has a candidate: ``cohort_row``, ``people_row`` (positions),
        ``match_weight`` (log2 odds of a match), ``second_weight`` (the runner-up's, NaN if none) and
        ``candidates`` (pairs scored).
    pairs : int
        Candidate pairs scored.
    model : dict
        splink's settings with the trained parameters (load with ``splink.Linker(tables, model)``).
    notes : list of str
        What splink warned of while training (levels never seen, and so not trained).
    """

    best: pd.DataFrame
    pairs: int
    model: dict[str, Any]
    notes: list[str]


def score(
    cohort: pd.DataFrame,
    people: pd.DataFrame,
    n_ids: int,
    engine: DuckDB | Spark,
    sample_pairs: int,
    seed: int,
) -> Scored:
    """Train the model on the two tables and find each cohort row's best candidate.

    Parameters
    ----------
    cohort, people : pandas.DataFrame
        The key tables of a :class:`cohorts.linkage_input.Prepared`.
    n_ids : int
        How many ID columns they hold (``id_1``, ``id_2``, ...).
    engine : splink's DuckDB or Spark
        Where the comparisons run.
    sample_pairs : int
        Random pairs used to estimate the chance that two records disagree on each field.
    seed : int
        Seed of that sample.

    Returns
    -------
    Scored

    Examples
    --------
    >>> scored = score(ready.cohort, ready.people, len(ready.ids), DuckDB(), 1_000_000, 0)  # doctest: +SKIP
    """
    from splink import Linker, block_on

    database, close = _database(engine)
    try:
        with _splink_warnings() as notes:
            tables = [database.register(cohort, table_name="cohort"), database.register(people, table_name="people")]
            linker = Linker(tables, _settings(n_ids), log_level=None)
            linker.training.estimate_probability_two_random_records_match(
                [block_on("first_name", "surname", "dob")], recall=EXACT_RECALL
            )
            linker.training.estimate_u_using_random_sampling(max_pairs=sample_pairs, seed=seed, num_chunks=1)
            linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
            linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
            predictions = linker.inference.predict(warning_mode="never")
            best = linker.misc.query_sql(_best_sql(predictions.physical_name), output_type="pandas")
            model = linker.misc.save_model_to_json()
        return Scored(best=_typed(best), pairs=int(best["candidates"].sum()), model=model, notes=notes)
    finally:
        close()


def _settings(n_ids: int) -> Any:
    from splink import SettingsCreator, block_on
    from splink import comparison_level_library as cll
    from splink import comparison_library as cl
    from splink.blocking_rule_library import CustomRule

    date_of_birth = cl.CustomComparison(
        [
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(
                '"dob_swapped_l" = "dob_r" OR "dob_l" = "dob_swapped_r"', "day and month swapped", "duckdb"
            ),
            cll.LevenshteinLevel("dob", 1),
            cll.ElseLevel(),
        ],
        output_column_name="date_of_birth",
    )
    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.LevenshteinAtThresholds("first_name", 1),
            cl.LevenshteinAtThresholds("surname", 1).configure(term_frequency_adjustments=True),
            date_of_birth,
            _exactly("sex", SEX_M),
            *(_exactly(f"id_{i}", ID_M) for i in range(1, n_ids + 1)),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"),
            block_on("first_name", "surname"),
            block_on("birth_year", "surname"),
            block_on("birth_year", "first_name"),
            CustomRule('l."dob_swapped" = r."dob"', "duckdb"),
            *(block_on(f"id_{i}") for i in range(1, n_ids + 1)),
        ],
        retain_matching_columns=False,
    )


def _exactly(column: str, m: tuple[float, float]) -> Any:
    """Agree exactly or not, with the m probabilities fixed."""
    from splink import comparison_level_library as cll
    from splink import comparison_library as cl

    agree, differ = m
    return cl.CustomComparison(
        [
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(m_probability=agree, fix_m_probability=True),
            cll.ElseLevel().configure(m_probability=differ, fix_m_probability=True),
        ],
        output_column_name=column,
    )


def _best_sql(predictions: str) -> str:
    """Each cohort row's best candidate (ties broken by the people table's row order), the runner-up's
    weight and the number of candidates: standard SQL that DuckDB and Spark both run."""
    cohort = "CASE WHEN source_dataset_l = 'cohort' THEN unique_id_l ELSE unique_id_r END"
    person = "CASE WHEN source_dataset_l = 'cohort' THEN unique_id_r ELSE unique_id_l END"
    return f"""
        SELECT cohort_row, people_row, match_weight, second_weight, candidates FROM (
            SELECT {cohort} AS cohort_row, {person} AS people_row, match_weight,
                ROW_NUMBER() OVER (PARTITION BY {cohort} ORDER BY match_weight DESC, {person}) AS rank,
                LEAD(match_weight) OVER (PARTITION BY {cohort} ORDER BY match_weight DESC, {person}) AS second_weight,
                COUNT(*) OVER (PARTITION BY {cohort}) AS candidates
            FROM {predictions}
        ) AS ranked
        WHERE rank = 1
        ORDER BY cohort_row
    """


def _typed(best: pd.DataFrame) -> pd.DataFrame:
    return best.astype(
        {
            "cohort_row": "int64",
            "people_row": "int64",
            "match_weight": "float64",
            "second_weight": "float64",
            "candidates": "int64",
        }
    ).reset_index(drop=True)


def _database(engine: DuckDB | Spark) -> tuple[Any, Any]:
    """splink's database API for the engine, and how to free it."""
    if isinstance(engine, Spark):
        from splink import SparkAPI

        from outcomes.engines.spark_runner import local_session

        session = engine.session if engine.session is not None else local_session(engine.master)
        # splink's Java string functions are not needed: every comparison is in Spark's own SQL. Steps are
        # written to the session's checkpoint folder where it has one, else kept in memory (and on disk past it).
        database = SparkAPI(
            spark_session=session,
            register_udfs_automatically=False,
            break_lineage_method="parquet" if _checkpoint_folder(session) else "persist",
        )
        return database, database.delete_tables_created_by_splink_from_db
    import duckdb
    from splink import DuckDBAPI

    settings = {"memory_limit": engine.memory_limit, "temp_directory": engine.temp_directory, "threads": engine.threads}
    connection = duckdb.connect(config={k: v for k, v in settings.items() if v is not None})
    return DuckDBAPI(connection=connection), connection.close


def _checkpoint_folder(session: Any) -> str | None:
    try:
        return session.sparkContext.getCheckpointDir()
    except Exception:  # Spark Connect has no SparkContext to ask
        return None


class _Notes(logging.Handler):
    def __init__(self, notes: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        self.notes.append(" ".join(record.getMessage().split()))


@contextmanager
def _splink_warnings() -> Iterator[list[str]]:
    """splink's warnings kept as notes rather than printed (a command's output is desist's to write)."""
    logger = logging.getLogger("splink")
    notes: list[str] = []
    handler = _Notes(notes)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield notes
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
