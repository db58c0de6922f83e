"""Segments: named groups of people defined by rules over their columns.

A segment is a name, a rule over people columns in desist's rule language
(:mod:`ground.expressions`: parsed, never executed, e.g. ``"sex == 'female'"``),
an optional label and a priority. Segments may
overlap; :func:`assign` gives one flag per segment, a primary segment per
person (the first segment they belong to, by priority) and the counts.

Segments come from Python (:class:`Segment`, :func:`default_segments`) or from
TOML tables, the same shape a metric spec keeps under ``[segments]``::

    [segments.women]
    where = "sex == 'female'"
    label = "Women"
    priority = 5

    [segments.high_risk]          # a built-in name with no ``where``: the built-in rule
    cutoff = 60                   # ... with its parameter changed

Missing values are never read as "not in the segment": a person whose value
of a column named in the rule is missing (or one of the segment's ``missing``
codes, such as ethnicity "unknown") is *unknown* for that segment, and the
unknowns are counted per segment.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import column_names, parameter_error, require_columns, shorten
from ground.errors import SchemaError, SpecError
from ground.expressions import Expression, parse
from ground.memo import remembered
from ground.tables import check_known_columns

__all__ = [
    "HIGH_RISK_CUTOFF",
    "PROLIFIC_MIN_PRIOR",
    "Segment",
    "SegmentAssignment",
    "assign",
    "default_segments",
    "segments_from_mapping",
    "segments_from_toml",
    "toml_tables",
]

#: Default OGRS-like cut-off (percent) for ``high_risk``: the lower bound of
#: the "high" band (75-89; 90+ very high) in probation's OGRS3 banding. That
#: banding is for the 2-year score, and a 1-year score is lower, so on a 1-year
#: score 75 picks out a smaller, riskier group; pass ``high_risk_cutoff`` to
#: change it. The band limits are a recollection of practice, not a sourced
#: figure (no published source for the bands was found).
HIGH_RISK_CUTOFF = 75.0
#: Default number of prior proven offences for ``prolific``. No national
#: definition was found; 15 is about the top 7% of the synthetic
#: eligible population. Pass ``prolific_min_prior`` to change it.
PROLIFIC_MIN_PRIOR = 15

#: Segment name for people in none of the segments, and for people whose
#: primary segment cannot be decided because a higher-priority rule is unknown.
NONE = "none"
UNKNOWN = "unknown"
_ALLOWED_KEYS = {"where", "label", "priority", "missing", "cutoff", "min_prior"}


@dataclass(frozen=True)
class Segment:
    """A named rule over people columns.

    Parameters
    ----------
    name : str
        Identifier (snake_case), used as the flag column's name.
    where : str
        A rule giving True for members, e.g. ``"18 <= age <= 24"``, in the
        language of :mod:`ground.expressions` (comparisons, and/or/not,
        ``in [...]``, ``between``, ``isna``, ``count``; never executed as code).
    label : str, optional
        Readable name for reports; defaults to ``name``.
    priority : int, default 100
        Lower numbers win when choosing a person's primary segment.
    missing : mapping of column -> values, optional
        Recorded values that mean "not known" (e.g. ``{"ethnicity":
        ("unknown",)}``); rows holding them are unknown for this segment.
    source : str, optional
        The file the rule came from, named in errors.

    Examples
    --------
    >>> Segment("young_adults", "18 <= age <= 24").columns
    ('age',)
    >>> Segment("young_adults", "18 <= age <= 24").describe()
    'age is at least 18 and at most 24'
    """

    name: str
    where: str
    label: str = ""
    priority: int = 100
    missing: Mapping[str, tuple] = field(default_factory=dict)
    source: str | None = field(default=None, compare=False, repr=False)
    rule: Expression = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpecError(
                f"A segment's name must be an identifier (letters, digits, underscores). Got {self.name!r} instead.",
                key="segments",
            )
        if not isinstance(self.where, str) or not self.where.strip():
            raise SpecError(
                f"Segment {self.name!r}: 'where' must be a non-empty rule such as \"sex == 'female'\". "
                f"Got {self.where!r}.",
                key=f"segments.{self.name}.where",
                source=self.source,
            )
        if isinstance(self.priority, bool) or not isinstance(self.priority, (int, np.integer)):
            raise SpecError(
                f"Segment {self.name!r}: 'priority' must be an int (lower wins). Got {self.priority!r} instead.",
                key=f"segments.{self.name}.priority",
            )
        # Parse now so a bad rule fails when it is written, not when it is used.
        object.__setattr__(self, "rule", parse(self.where, key=f"segments.{self.name}.where", source=self.source))

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the rule reads, in order of first appearance."""
        return self.rule.columns

    def describe(self) -> str:
        """The rule in words, for reports."""
        return self.rule.describe()

    @property
    def title(self) -> str:
        return self.label or self.name


def default_segments(
    *,
    high_risk_cutoff: float = HIGH_RISK_CUTOFF,
    prolific_min_prior: int = PROLIFIC_MIN_PRIOR,
) -> dict[str, Segment]:
    """The built-in segments, in their default priority order.

    ====================  ==================================================  ========
    name                  rule                                                priority
    ====================  ==================================================  ========
    ``high_risk``         ``ogrs_score >= high_risk_cutoff`` (default 75)     1
    ``complex_needs``     two or more of accommodation, substance misuse and  2
                          mental health needs
    ``prolific``          ``prior_offences >= prolific_min_prior`` (15)       3
    ``young_adults``      ``18 <= age <= 24``                                 4
    ``women``             ``sex == 'female'``                                 5
    ``bame``              ethnicity black, asian, mixed or other              6
    ====================  ==================================================  ========

    The primary segment favours the hardest to help (risk, then needs, then
    offending history) because pricing and the gaming screens care most about
    them; women, young adults and Black, Asian and minority ethnic people are
    still flagged, and reported, whatever their primary segment. For ``bame``,
    a missing ethnicity or a recorded "unknown", "not_stated" or "refused" is
    unknown, not "white".

    Parameters
    ----------
    high_risk_cutoff : float
        The OGRS score from which a person is ``high_risk``.
    prolific_min_prior : int
        The prior offences from which a person is ``prolific``.

    Examples
    --------
    >>> list(default_segments())
    ['high_risk', 'complex_needs', 'prolific', 'young_adults', 'women', 'bame']
    >>> default_segments(high_risk_cutoff=60)["high_risk"].where
    'ogrs_score >= 60'
    """
    return {
        s.name: s
        for s in (
            Segment("high_risk", f"ogrs_score >= {high_risk_cutoff:g}", f"High risk (OGRS {high_risk_cutoff:g}+)", 1),
            Segment(
                "complex_needs",
                "count(need_accommodation, need_substance, need_mental_health) >= 2",
                "Complex needs (2+ of accommodation, substance, mental health)",
                2,
            ),
            Segment(
                "prolific",
                f"prior_offences >= {int(prolific_min_prior)}",
                f"Prolific ({int(prolific_min_prior)}+ prior offences)",
                3,
            ),
            Segment("young_adults", "18 <= age <= 24", "Young adults (18-24)", 4),
            Segment("women", "sex == 'female'", "Women", 5),
            Segment(
                "bame",
                "ethnicity in ['black', 'asian', 'mixed', 'other']",
                "Black, Asian and minority ethnic",
                6,
                missing={"ethnicity": ("unknown", "not_stated", "refused")},
            ),
        )
    }


def segments_from_mapping(tables: Mapping[str, Mapping[str, Any]], *, source: str | None = None) -> dict[str, Segment]:
    """Segments from plain data, as parsed from ``[segments.<name>]`` TOML tables.

    Each table has ``where`` (required unless the name is a built-in), and
    optional ``label``, ``priority`` and ``missing``. A built-in name without
    ``where`` takes the built-in rule; ``cutoff`` (for ``high_risk``) and
    ``min_prior`` (for ``prolific``) change its parameter.

    Parameters
    ----------
    tables : mapping of str -> mapping
        Each segment's table by its name.
    source : str, optional
        Where the tables came from (a file), named in any error.

    Examples
    --------
    >>> s = segments_from_mapping({"older": {"where": "age >= 50", "priority": 3}})
    >>> s["older"].priority
    3
    """
    if not isinstance(tables, Mapping) or not tables:
        raise SpecError(
            f"'segments' must be a non-empty table of [segments.<name>] tables. Got {tables!r} instead.",
            key="segments",
            source=source,
        )
    out: dict[str, Segment] = {}
    for name, table in tables.items():
        key = f"segments.{name}"
        if not isinstance(table, Mapping):
            raise SpecError(f"'{key}' must be a table. Got {table!r} instead.", key=key, source=source)
        unknown = sorted(set(table) - _ALLOWED_KEYS)
        if unknown:
            raise SpecError(
                f"'{key}' has unknown key(s) {unknown}. Allowed keys: {sorted(_ALLOWED_KEYS)}.",
                key=f"{key}.{unknown[0]}",
                source=source,
            )
        if "where" in table:
            for parameter in ("cutoff", "min_prior"):
                if parameter in table:
                    raise SpecError(
                        f"'{key}.{parameter}' only applies to a built-in segment without 'where'.",
                        key=f"{key}.{parameter}",
                        source=source,
                    )
            base = Segment(name, table["where"], source=source)
        else:
            builtins = default_segments(
                high_risk_cutoff=table.get("cutoff", HIGH_RISK_CUTOFF),
                prolific_min_prior=table.get("min_prior", PROLIFIC_MIN_PRIOR),
            )
            if name not in builtins:
                raise SpecError(
                    f"'{key}' needs 'where' (a rule over people columns), unless its name is "
                    f"a built-in segment: {list(builtins)}.",
                    key=f"{key}.where",
                    source=source,
                )
            base = builtins[name]
        missing = table.get("missing", base.missing)
        if not isinstance(missing, Mapping):
            raise SpecError(
                f"'{key}.missing' must be a table of column -> list of values. Got {missing!r} instead.",
                key=f"{key}.missing",
                source=source,
            )
        label = table.get("label", base.label)
        if not isinstance(label, str):
            raise SpecError(f"'{key}.label' must be text. Got {label!r} instead.", key=f"{key}.label", source=source)
        out[name] = Segment(
            name,
            base.where,
            label,
            table.get("priority", base.priority if "where" not in table else 100),
            {str(c): tuple(v) if isinstance(v, (list, tuple)) else (v,) for c, v in missing.items()},
            source=source,
        )
    return out


def toml_tables(path: str | Path, table: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``[<table>.<name>]`` tables of a TOML file, and its other top-level keys.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    table : str
        The top-level table whose sub-tables are wanted (``"segments"``, ``"margins"``).

    Returns
    -------
    tables, rest : dict
        The sub-tables by name, and the file's other top-level keys.

    Raises
    ------
    ground.errors.SpecError
        Naming the file when it is missing, is not valid TOML, or has no ``[<table>.<name>]`` tables.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "margins.toml"
    >>> _ = path.write_text('total = 500\\n[margins.sex]\\nfemale = 0.15\\nmale = 0.85\\n', encoding="utf-8")
    >>> toml_tables(path, "margins")
    ({'sex': {'female': 0.15, 'male': 0.85}}, {'total': 500})
    >>> folder.cleanup()
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{table.capitalize()} file not found: {path}", key=table, source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
        raise SpecError(f"{path}: cannot read the {table} file: {reason}.", key=table, source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path} is not valid TOML: {exc}", key=table, source=str(path)) from None
    tables = data.pop(table, None)
    if not isinstance(tables, dict) or not tables:
        raise SpecError(
            f"{path} has no [{table}.<name>] tables. Top-level keys found: {sorted(data)}.",
            key=table,
            source=str(path),
        )
    return tables, data


def segments_from_toml(path: str | Path) -> dict[str, Segment]:
    """Read ``[segments.<name>]`` tables from a TOML file (see :func:`segments_from_mapping`).

    Parameters
    ----------
    path : str or Path
        The TOML file; an error names it.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "segments.toml"
    >>> _ = path.write_text('[segments.older]\\nwhere = "age >= 50"\\npriority = 1\\n', encoding="utf-8")
    >>> segments_from_toml(path)["older"].where
    'age >= 50'
    >>> folder.cleanup()
    """
    tables, _ = toml_tables(path, "segments")
    return segments_from_mapping(tables, source=str(path))


@dataclass(frozen=True)
class SegmentAssignment:
    """Who is in which segment.

    Attributes
    ----------
    flags : pandas.DataFrame
        One nullable-boolean column per segment, aligned with the people's
        index; ``<NA>`` where the rule could not be evaluated.
    primary : pandas.Series
        Each person's primary segment (categorical): the first segment by
        priority they belong to, ``"none"`` if they belong to none, or
        ``"unknown"`` if a higher-priority segment is unknown for them and no
        earlier one applies.
    counts : pandas.DataFrame
        One row per segment (by priority): ``label``, ``priority``, ``rule``,
        ``n`` (members), ``share`` (of people whose membership is known),
        ``n_unknown`` and ``primary`` (people for whom it is the primary
        segment); then rows for ``none`` and ``unknown``.
    """

    flags: pd.DataFrame
    primary: pd.Series
    counts: pd.DataFrame
    segments: tuple[Segment, ...]

    def to_frame(self) -> pd.DataFrame:
        """The flags plus a ``primary_segment`` column, aligned with the people."""
        return self.flags.assign(primary_segment=self.primary)

    def to_dict(self) -> dict:
        return {
            "n": int(len(self.flags)),
            "segments": [
                {"name": s.name, "label": s.title, "where": s.where, "priority": int(s.priority)} for s in self.segments
            ],
            "counts": self.counts.reset_index().to_dict(orient="records"),
        }

    def summary(self, *, suppress_below: int = 10) -> str:
        """Counts per segment as text; counts of 1 to ``suppress_below - 1`` are shown as ``<10``."""

        def cell(x: float) -> str:
            return f"<{suppress_below}" if 0 < x < suppress_below else f"{int(x):,}"

        table = self.counts.copy()
        for col in ("n", "n_unknown", "primary"):
            table[col] = table[col].map(cell)
        small = self.counts["n"].between(1, suppress_below - 1)
        table["share"] = np.where(small, "", self.counts["share"].map(lambda x: f"{x:.1%}" if pd.notna(x) else ""))
        lines = [f"Segments of {len(self.flags):,} people (overlaps allowed; primary by priority)", ""]
        lines.append(table[["label", "priority", "n", "share", "n_unknown", "primary"]].to_string())
        unknown = self.counts.loc[self.counts["n_unknown"] > 0]
        if len(unknown):
            lines.append("")
            lines += [
                f"  {name}: {cell(row.n_unknown)} people unknown (missing or unknown values in "
                f"{', '.join(self._segment(name).columns)})"
                for name, row in unknown.iterrows()
                if isinstance(name, str)
                if name not in (NONE, UNKNOWN)
            ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _segment(self, name: str) -> Segment:
        return next(s for s in self.segments if s.name == name)

    def plot(self, ax=None):
        """Members per segment (bars), with the unknowns stacked on top."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        rows = self.counts.loc[[s.name for s in self.segments]]
        ax.barh(rows["label"], rows["n"], label="members")
        ax.barh(rows["label"], rows["n_unknown"], left=rows["n"], label="unknown", color="lightgrey")
        ax.invert_yaxis()
        ax.set_xlabel("people")
        ax.legend()
        return ax


def assign(
    people: pd.DataFrame,
    segments: Mapping[str, Segment | str] | Iterable[Segment] | None = None,
    *,
    priority: Sequence[str] | None = None,
) -> SegmentAssignment:
    """Flag each person's segments and choose their primary segment.

    Parameters
    ----------
    people : pandas.DataFrame
        One row per person with the columns the rules name.
    segments : mapping of name -> Segment, rule string or table; iterable of Segment, optional
        Default: :func:`default_segments`. Tables are as in TOML (``where``,
        ``label``, ``priority``, ...); a metric spec's ``spec.segments`` can
        be passed as it is.
    priority : sequence of str, optional
        Segment names in priority order (first wins), overriding the
        segments' own ``priority``; segments not listed follow, by priority.

    Returns
    -------
    SegmentAssignment

    Raises
    ------
    SchemaError
        ``people`` is not a DataFrame, lacks a column a rule reads (naming the
        segment and the column), or breaks the people schema in a column it
        knows (an unknown sex, an age of 300), rows counted from 1.
    SpecError
        A rule that does not give one True/False per person.
    ParameterError
        An unknown name in ``priority``, or segments of the wrong kind.

    Examples
    --------
    >>> people = pd.DataFrame({"sex": ["female", "male", "male"], "age": [19, 40, 22]})
    >>> a = assign(people, {"young": "18 <= age <= 24", "women": "sex == 'female'"})
    >>> a.primary.tolist()
    ['young', 'none', 'young']
    >>> a.counts.loc["women", "n"]
    np.int64(1)
    """
    ordered = _ordered(_as_segments(segments), priority)
    # The same table under the same segments has the same answer: an active ground.memo.Memo made for the
    # table (the contract designer's) gives it again instead of reading the table at every edit.
    rules = tuple(
        (s.name, s.where, s.label, s.priority, tuple((k, tuple(v)) for k, v in s.missing.items())) for s in ordered
    )
    return remembered(("segments", id(people), rules), lambda: _assigned(people, ordered), held=people)


def _assigned(people: pd.DataFrame, ordered: list[Segment]) -> SegmentAssignment:
    """The flags, primary segments and counts of ``people`` under segments in priority order."""
    require_columns(people, [], table="people")
    missing_columns = [(s.name, c) for s in ordered for c in s.columns if c not in people.columns]
    if missing_columns:
        described = "; ".join(f"segment {s!r} reads column {c!r}" for s, c in missing_columns)
        raise SchemaError(
            f"table 'people': segment rules name columns it does not have: {shorten([described], 20)}. "
            f"Columns available: {shorten(map(str, people.columns), 20)}.",
            table="people",
        )
    # Columns the people schema knows are read as the command line reads them ("Female" is female);
    # their missing values stay unknown for the segments that read them.
    people = check_known_columns(people, "people", [c for s in ordered for c in (*s.columns, *s.missing)])
    flags = pd.DataFrame(index=people.index)
    for seg in ordered:
        flags[seg.name] = _evaluate(people, seg)
    primary = _primary(flags, [s.name for s in ordered])
    primary_counts = primary.value_counts()
    counts = pd.DataFrame(
        {
            "label": [s.title for s in ordered] + ["In no segment", "Primary segment unknown"],
            "priority": [int(s.priority) for s in ordered] + [pd.NA, pd.NA],
            "rule": [s.where for s in ordered] + ["", ""],
            "n": [int(flags[s.name].sum()) for s in ordered]
            + [int(primary_counts.get(NONE, 0)), int(primary_counts.get(UNKNOWN, 0))],
            "n_unknown": [int(flags[s.name].isna().sum()) for s in ordered] + [0, 0],
        },
        index=pd.Index([s.name for s in ordered] + [NONE, UNKNOWN], name="segment"),
    )
    known = len(people) - counts["n_unknown"]
    counts["share"] = np.where(known > 0, counts["n"] / known.where(known > 0, 1), np.nan)
    counts["primary"] = [int(primary_counts.get(name, 0)) for name in counts.index]
    return SegmentAssignment(flags=flags, primary=primary, counts=counts, segments=tuple(ordered))


def _as_segments(segments: Mapping[str, Segment | str] | Iterable[Segment] | None) -> list[Segment]:
    if segments is None:
        return list(default_segments().values())
    if isinstance(segments, Mapping):
        out = []
        for name, value in segments.items():
            if isinstance(value, Segment):
                out.append(
                    value
                    if value.name == name
                    else Segment(name, value.where, value.label, value.priority, value.missing, source=value.source)
                )
            elif isinstance(value, str):
                out.append(Segment(name, value, priority=100 + len(out)))
            elif isinstance(value, Mapping):
                out.append(segments_from_mapping({name: value})[name])
            elif hasattr(value, "to_dict"):
                # e.g. outcomes.spec.SegmentSpec from a metric spec's [segments] tables
                table = {k: v for k, v in value.to_dict().items() if v is not None}
                out.append(segments_from_mapping({name: table})[name])
            else:
                raise parameter_error(
                    "segments", "assign", f"a mapping of name -> Segment, rule or table (segment {name!r})", value
                )
        return out
    out = list(segments) if isinstance(segments, Iterable) and not isinstance(segments, str) else [segments]
    bad = [s for s in out if not isinstance(s, Segment)]
    if bad:
        raise parameter_error("segments", "assign", "Segment objects, or a mapping of name -> rule", bad[:3])
    return out


def _ordered(segments: list[Segment], priority: Sequence[str] | None) -> list[Segment]:
    if not segments:
        raise parameter_error("segments", "assign", "at least one segment", segments)
    names = [s.name for s in segments]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise parameter_error("segments", "assign", "segments with distinct names", f"{duplicated} repeated")
    if priority is None:
        # Stable sort: equal priorities keep the order given.
        return sorted(segments, key=lambda s: s.priority)
    priority = column_names(priority, "priority", "assign")
    unknown = [p for p in priority if p not in names]
    if unknown:
        raise parameter_error("priority", "assign", f"names of the segments ({', '.join(names)})", unknown)
    rank = {name: i for i, name in enumerate(priority)}
    return sorted(segments, key=lambda s: (rank.get(s.name, len(rank)), s.priority))


def _evaluate(people: pd.DataFrame, seg: Segment) -> pd.Series:
    """The rule's value per person; <NA> where a column it reads is missing or an unknown code."""
    # Missing values are unknown inside the rule itself; codes that mean "not known" are the segment's.
    unknown = np.zeros(len(people), dtype=bool)
    for col, codes in seg.missing.items():
        if col in people.columns and codes:
            unknown |= people[col].isin(list(codes)).to_numpy()
    result = seg.rule.evaluate(people)
    if not isinstance(result.dtype, pd.BooleanDtype):
        raise SpecError(
            f"Segment {seg.name!r}: the rule {seg.where!r} must give true or false for each person; it gives "
            "numbers. Compare them with something, e.g. '>= 2'.",
            key=f"segments.{seg.name}.where",
            source=seg.source,
        )
    result[unknown] = pd.NA
    return result.rename(seg.name)


def _primary(flags: pd.DataFrame, order: list[str]) -> pd.Series:
    """First segment in ``order`` each person belongs to, vectorised over people."""
    values = flags[order].to_numpy(dtype="float64", na_value=np.nan)  # 1, 0 or NaN
    is_member = values == 1
    first_member = np.where(is_member.any(axis=1), is_member.argmax(axis=1), len(order))
    is_unknown = np.isnan(values)
    first_unknown = np.where(is_unknown.any(axis=1), is_unknown.argmax(axis=1), len(order))
    code = np.where(first_unknown < first_member, len(order) + 1, first_member)
    # Codes placed as they are: the labels are not written out and hashed again for every person.
    primary = pd.Categorical.from_codes(code, categories=pd.Index([*order, NONE, UNKNOWN]))
    return pd.Series(primary, index=flags.index, name="primary_segment")
