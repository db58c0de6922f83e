"""Every provider screen on one set of tables: what ``desist screen`` and the report run.

:func:`screen_tables` takes everyone eligible, the service contacts and,
optionally, each person's outcome, joins them (counting whoever does not
join, with the reason) and runs the creaming and parking screens, the funnel
and the provider comparison, and with a spec, the enrolled people and their
assessments, the measurement screens: one :class:`ProviderScreens`.
:func:`measurement_tables` judges a spec's outcomes on the enrolled people and
screens how each provider measured them, with the people's needs as case-mix.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import check_given, require_columns, rows_text
from ground.dates import DateLike, parse_as_of
from ground.errors import SchemaError, naming
from ground.tables import UnmatchedRowsWarning, check_links
from outcomes.spec import MetricSpec
from validation.funnels import Funnel, funnel
from validation.gaming import Screen, creaming_screen, parking_screen
from validation.measurement import MeasurementScreens, measurement_screens
from validation.providers import ProviderEstimates, compare_providers
from validation.screens import flag_values

__all__ = ["FALLBACK_DIFFICULTY", "ProviderScreens", "measurement_tables", "screen_tables"]

#: The difficulty column used when the eligible table has no ``difficulty``.
FALLBACK_DIFFICULTY = "ogrs_score"
#: The screens in the order they are shown.
SCREENS = ("creaming", "parking", "funnel", "providers", "measurement")


@dataclass(frozen=True)
class ProviderScreens:
    """Every provider screen run on one set of tables.

    Attributes
    ----------
    creaming, parking : Screen
        Enrolment, and service hours (or attainment against expected), by difficulty.
    difficulty : str
        The difficulty column used.
    notes : tuple of str
        Who was not counted, and why; why a screen tested no provider.
    funnel : Funnel or None
        Attainment by provider (with outcomes and a grouping).
    providers : ProviderEstimates or None
        The provider comparison (with outcomes and a grouping).
    measurement : MeasurementScreens or None
        How each provider measured the spec's outcomes (with a spec, people and assessments).
    """

    creaming: Screen
    parking: Screen
    difficulty: str
    notes: tuple[str, ...] = ()
    funnel: Funnel | None = None
    providers: ProviderEstimates | None = None
    measurement: MeasurementScreens | None = None

    def results(self) -> dict[str, Screen | Funnel | ProviderEstimates | MeasurementScreens]:
        """The screens that were run, by name, in the order they are shown."""
        found = {key: getattr(self, key) for key in SCREENS}
        return {key: result for key, result in found.items() if result is not None}

    def to_dict(self) -> dict[str, Any]:
        """Each screen's ``to_dict()`` by name, the difficulty column and the notes (``desist screen --json``)."""
        return {
            **{key: result.to_dict() for key, result in self.results().items()},
            "difficulty": self.difficulty,
            "notes": list(self.notes),
        }


def screen_tables(
    eligible: pd.DataFrame,
    services: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    *,
    difficulty: str = "difficulty",
    by: str | None = "provider_id",
    attained: str = "attained",
    expected: str = "expected",
    sources: Mapping[str, Path | str | None] | None = None,
    spec: MetricSpec | None = None,
    people: pd.DataFrame | None = None,
    assessments: pd.DataFrame | None = None,
    as_of: DateLike | None = None,
) -> ProviderScreens:
    """Run the creaming, parking and funnel screens, the provider comparison and the measurement screens.

    Parameters
    ----------
    eligible : pandas.DataFrame
        Everyone eligible, with ``enrolled``, ``person_id``, the difficulty column and ``by``.
    services : pandas.DataFrame
        The enrolled people's service contacts (``person_id``, ``hours``).
    outcomes : pandas.DataFrame, optional
        ``person_id``, ``attained`` (0/1) and optionally ``expected`` (a probability): adds attainment
        against expected to the parking screen, the funnel and the provider comparison.
    difficulty : str, default "difficulty"
        The difficulty column (higher = harder); without it, ``ogrs_score`` when the table has one.
    by : str or None, default "provider_id"
        Screen within this column too (Holm-corrected); None screens everyone together.
    attained, expected : str
        The outcomes' columns.
    sources : mapping, optional
        ``"eligible"``, ``"services"``, ``"outcomes"``, ``"people"`` and ``"assessments"`` to the files the
        tables came from, to name them in errors.
    spec : MetricSpec, optional
        With ``people`` and ``assessments``: screen how each provider measured the spec's outcomes.
    people, assessments : pandas.DataFrame, optional
        The enrolled cohort and its assessments, for the measurement screens.
    as_of : date-like, optional
        Date of the data, for the measurement screens (default: the latest assessment).

    Returns
    -------
    ProviderScreens

    Examples
    --------
    >>> from cohorts.synthetic import make_world
    >>> world = make_world(n_eligible=600, n_pool=100, seed=1)
    >>> screens = screen_tables(world.eligible, world.services)
    >>> list(screens.results())
    ['creaming', 'parking']
    """
    sources = sources or {}
    notes: list[str] = []
    if difficulty not in eligible.columns and difficulty == "difficulty" and FALLBACK_DIFFICULTY in eligible.columns:
        notes.append(f"difficulty: no 'difficulty' column, so the OGRS-like score {FALLBACK_DIFFICULTY!r} is used.")
        difficulty = FALLBACK_DIFFICULTY
    if by is not None:  # a grouping that is not there is refused, never dropped while the words still claim it
        require_columns(eligible, {"by": by}, table="eligible", source=_source(sources, "eligible"))
    with naming(sources.get("eligible"), "--eligible"):
        creaming = creaming_screen(eligible, difficulty=difficulty, by=by)
    enrolled = _served(eligible, services, notes, sources)
    result: dict[str, Any] = {}
    if outcomes is None:
        with naming(sources.get("eligible"), "--eligible"):
            result["parking"] = parking_screen(enrolled, difficulty=difficulty, by=by)
    else:
        result.update(_with_outcomes(enrolled, outcomes, difficulty, by, attained, expected, notes, sources))
    measuring = {"spec": spec, "people": people, "assessments": assessments}
    check_given("screen_tables", measuring, "all or none", why="the measurement screens need all three")
    if spec is not None and people is not None:
        when = parse_as_of(as_of, "screen_tables")
        with naming(sources.get("people"), "--people"):
            result["measurement"] = measurement_tables(
                spec, people, assessments, eligible, difficulty=difficulty, by=by or "provider_id", as_of=when
            )
        notes += _untested(result["measurement"], when)
    return ProviderScreens(creaming=creaming, difficulty=difficulty, notes=tuple(notes), **result)


def _untested(measurement: MeasurementScreens, as_of: pd.Timestamp | None) -> list[str]:
    """A note when the measurement screens tested no provider at all, saying why that can be."""
    tested = any(
        table.loc[table["unit"] != "all", "p_adjusted"].notna().any()
        for table in (screen.to_frame() for screen in measurement.screens.values())
    )
    if tested:
        return []
    when = f"as of {as_of:%Y-%m-%d}" if as_of is not None else "as of the latest assessment"
    return [
        f"no provider was tested on how it measures outcomes: {when}, no provider had enough enrolled people whose "
        "payment window had closed (a window still open is not yet measurable). Give a later as-of date, or screen "
        "again when more windows have closed."
    ]


def _source(sources: Mapping, name: str) -> str | None:
    return None if sources.get(name) is None else str(sources[name])


def _served(eligible: pd.DataFrame, services: pd.DataFrame, notes: list[str], sources: Mapping) -> pd.DataFrame:
    """The enrolled people with their total service hours (0 for no contact); strays counted in ``notes``."""
    enrolled = eligible[eligible["enrolled"].astype(bool)].reset_index(drop=True)
    with naming(sources.get("services"), "--services"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedRowsWarning)  # some strays are counted in the notes below
        check_links(services, enrolled, table="service contacts", to_table="the enrolled people of --eligible")
    hours = services.groupby(services["person_id"].astype(str))["hours"].sum()
    ids = enrolled["person_id"].astype(str)
    stray = sorted(set(hours.index) - set(ids))
    if stray:
        notes.append(
            f"{len(stray)} people in the services file are not enrolled in the eligible file "
            f"(e.g. {', '.join(stray[:3])}); their contacts are not counted."
        )
    none = int((~ids.isin(hours.index)).sum())
    notes.append(f"{none} of {len(enrolled)} enrolled people have no service contact and count with 0 hours.")
    return enrolled.assign(hours=ids.map(hours).fillna(0.0).to_numpy())


def _with_outcomes(enrolled, outcomes, difficulty, by, attained, expected, notes, sources) -> dict[str, Any]:
    """Parking with attainment observed against expected, the funnel and the provider comparison."""
    with naming(sources.get("outcomes"), "--outcomes"):
        outcomes = _outcome_flags(outcomes, attained)
    has_expected = expected in outcomes.columns
    keep = ["person_id", attained] + ([expected] if has_expected else [])
    merged = enrolled.merge(outcomes[keep], on="person_id", how="inner")
    notes.append(f"outcomes known for {len(merged)} of {len(enrolled)} enrolled people.")
    out: dict[str, Any] = {}
    with naming(sources.get("outcomes"), "--outcomes"):
        out["parking"] = parking_screen(
            merged,
            difficulty=difficulty,
            by=by,
            attained=attained if has_expected else None,
            expected=expected if has_expected else None,
        )
        if by is not None:
            out["funnel"] = funnel(merged, unit=by, outcome=attained)
            out["providers"] = compare_providers(
                merged, unit=by, outcome=attained, expected=expected if has_expected else None
            )
    return out


def measurement_tables(
    spec: Any,
    people: pd.DataFrame,
    assessments: pd.DataFrame | None,
    eligible: pd.DataFrame | None = None,
    *,
    difficulty: str,
    by: str,
    as_of: DateLike | None = None,
    judged: Mapping[str, Any] | None = None,
) -> MeasurementScreens:
    """The spec's outcomes on the enrolled people, screened for measurement gaming.

    The difficulty is taken from ``eligible`` (by person) when given, else
    from ``people``; the people's ``need_*`` columns are the case-mix.
    ``judged`` holds the outcomes already judged on ``people``
    (``MetricSpec.achievement``); without it they are judged here.
    """
    scored = people
    if eligible is not None:
        scored = people.drop(columns=[difficulty], errors="ignore").merge(
            eligible[["person_id", difficulty]].drop_duplicates("person_id"), on="person_id", how="left"
        )
    results = judged if judged is not None else spec.achievement(scored, assessments, as_of=as_of)
    needs = [c for c in scored.columns if c.startswith("need_")]
    return measurement_screens(scored, results, by=by, difficulty=difficulty, covariates=needs)


def _outcome_flags(outcomes: pd.DataFrame, attained: str) -> pd.DataFrame:
    """The outcomes table with string ids and ``attained`` as 0/1 floats; one row per person."""
    missing = [c for c in ("person_id", attained) if c not in outcomes.columns]
    if missing:
        raise SchemaError(
            f"The outcomes file needs columns {missing}; columns found: {list(outcomes.columns)}.", table="outcomes"
        )
    flags = flag_values(outcomes, attained, "attained", "outcomes", "desist screen")
    ids = outcomes["person_id"].astype(str)
    repeated = np.flatnonzero(ids.duplicated(keep=False).to_numpy())
    if repeated.size:
        raise SchemaError(
            f"The outcomes file must have one row per person_id; {ids.iloc[repeated].nunique()} "
            f"people appear more than once (data rows counted from 1): {rows_text(repeated, ids.iloc[repeated])}.",
            table="outcomes",
        )
    return outcomes.assign(person_id=ids, **{attained: flags})
