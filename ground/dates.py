"""Every date a user gives, read one way: as-of dates, contract dates, date columns.

A date is written ISO 8601: ``YYYY-MM-DD`` (``2025-09-30``), optionally with
a time of day (``2025-09-30 14:05`` or ``2025-09-30T14:05:00``); a date or
datetime object is a date as it is. Anything else is refused, never guessed:
``01/09/2025`` is 1 September in Britain and 9 January in the United States,
and ``25-09-30`` could be 30 September 2025 or 25 September 2030. A file
written another way is read by declaring its format, for the whole run
(``desist --date-format %d/%m/%Y ...`` on the command line, :func:`date_format`
in Python): the format must have a four-digit year, and ISO dates stay readable.

- :data:`DateLike`: what a user may pass as a date (``as_of: DateLike``);
- :func:`parse_date`: one value, or one message naming the value and the form;
- :func:`parse_as_of`: a function's ``as_of`` argument (``None`` stays ``None``);
- :func:`parse_dates`: a column, with the cells that are not dates;
- :func:`fitting_formats`: the common ways of writing a date that read every
  value of a column (``desist inspect`` shows them, and a mapping without a
  ``date_format`` is refused naming them); two that both fit are ambiguous.

Timezone-aware values keep their local date and time and lose the zone.

Examples
--------
>>> parse_date("2025-09-30", "The 'as_of' parameter of settle")
Timestamp('2025-09-30 00:00:00')
>>> parse_date("01/09/2025", "The 'as_of' parameter of settle")
Traceback (most recent call last):
...
ground.errors.ParameterError: The 'as_of' parameter of settle must be a date written YYYY-MM-DD, e.g. 2025-09-30. \
Got '01/09/2025' instead: day and month could be either way round (1 September or 9 January 2025).
>>> with date_format("%d/%m/%Y"):
...     parse_date("01/09/2025", "The 'as_of' parameter of settle")
Timestamp('2025-09-01 00:00:00')
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ground.checks import parameter_error, shown_value
from ground.errors import DesistError, ParameterError

__all__ = [
    "CANDIDATE_FORMATS",
    "DATE_RULE",
    "ISO_FORM",
    "DateLike",
    "date_format",
    "declared_format",
    "fitting_formats",
    "parse_as_of",
    "parse_date",
    "parse_dates",
]

#: What a user may pass wherever desist takes a date (a datetime and a Timestamp are dates too).
DateLike: TypeAlias = str | datetime.date | pd.Timestamp

#: The one form dates are written in unless another is declared.
ISO_FORM = "YYYY-MM-DD"
#: The rule a date cell breaks, in the table messages' words.
DATE_RULE = "not a valid date (expected YYYY-MM-DD, years 1678-2261)"
#: ISO dates, optionally with a time of day (what :data:`DATE_RULE` accepts).
ISO_PATTERN = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"

#: The ways of writing a date that :func:`fitting_formats` tries (four-digit years only; ISO first), each also
#: with a time of day after it.
CANDIDATE_FORMATS = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d %b %Y", "%d %B %Y",
    "%d-%b-%Y", "%Y%m%d",
)  # fmt: skip
_TIMES = ("", " %H:%M", " %H:%M:%S", "T%H:%M:%S")

_declared: ContextVar[str | None] = ContextVar("desist_date_format", default=None)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip


@contextmanager
def date_format(fmt: str | None) -> Iterator[None]:
    """Read dates written ``fmt`` (a ``strptime`` format, e.g. ``"%d/%m/%Y"``) inside the block, besides ISO.

    ``None`` declares nothing (ISO only).

    Parameters
    ----------
    fmt : str or None
        A ``strptime`` format with a four-digit year, a month and a day, or None (ISO only).

    Raises
    ------
    ParameterError
        A format without a four-digit year (``%Y``), a month (``%m``, ``%b``
        or ``%B``) and a day (``%d``), or with a two-digit year (``%y``).

    Examples
    --------
    >>> with date_format("%d.%m.%Y"):
    ...     parse_dates(pd.Series(["30.09.2025"]))[0].dt.strftime("%Y-%m-%d").tolist()
    ['2025-09-30']
    """
    if fmt is not None:
        _check_format(fmt)
    token = _declared.set(fmt)
    try:
        yield
    finally:
        _declared.reset(token)


def declared_format() -> str | None:
    """The date format declared for this run (:func:`date_format`), or None: ISO only.

    Examples
    --------
    >>> declared_format() is None
    True
    >>> with date_format("%d/%m/%Y"):
    ...     declared_format()
    '%d/%m/%Y'
    """
    return _declared.get()


def _check_format(fmt: Any) -> None:
    ok = (
        isinstance(fmt, str)
        and "%Y" in fmt
        and "%d" in fmt
        and any(m in fmt for m in ("%m", "%b", "%B"))
        and "%y" not in fmt
    )
    if not ok:
        raise parameter_error(
            "date_format", "date_format", "a strptime format with a four-digit year (%Y), a month (%m, %b or %B) "
            "and a day (%d), such as %d/%m/%Y", fmt,
        )  # fmt: skip
    try:
        datetime.datetime.strptime(datetime.date(2025, 9, 30).strftime(fmt), fmt)
    except ValueError:
        raise parameter_error(
            "date_format", "date_format", "a format that reads back the dates it writes", fmt
        ) from None


def _accepted_form() -> str:
    """``"a date written YYYY-MM-DD, e.g. 2025-09-30"`` (and the declared format, when there is one)."""
    fmt = declared_format()
    iso = f"a date written {ISO_FORM}, e.g. 2025-09-30"
    if fmt is None:
        return iso
    return f"{iso}, or as declared ({fmt}, e.g. {datetime.date(2025, 9, 30).strftime(fmt)})"


def parse_date(
    value: object, what: str, *, error: Callable[[str], DesistError] | None = None, time: bool = True
) -> pd.Timestamp:
    """Read one date a user gave; refuse anything that is not plainly a date, naming it and the form.

    Parameters
    ----------
    value : DateLike
        ISO text (or text in the declared format), a ``datetime.date``,
        ``datetime.datetime``, ``pandas.Timestamp`` or ``numpy.datetime64``.
    what : str
        Who asked, as the message starts: ``"The 'as_of' parameter of settle"``,
        ``"The '--as-of' option"``, ``"The 'tranches.h1.start' key"``.
    error : callable, optional
        Makes the exception from the message (default :class:`ParameterError`).
    time : bool, default True
        Allow a time of day; False: a time other than midnight is refused.

    Returns
    -------
    pandas.Timestamp
        Without a time zone.

    Examples
    --------
    >>> parse_date(datetime.date(2025, 9, 30), "The 'as_of' parameter of settle")
    Timestamp('2025-09-30 00:00:00')
    """
    stamp, why = _one(value)
    if stamp is not None and not time and stamp != stamp.normalize():
        stamp, why = None, "a date has no time of day here"
    if stamp is None:
        message = f"{what} must be {_accepted_form()}. Got {shown_value(value)} instead{': ' + why if why else ''}."
        raise (error or ParameterError)(message)
    return stamp


def parse_as_of(value: DateLike | None, caller: str) -> pd.Timestamp | None:
    """A function's ``as_of`` argument read by :func:`parse_date`; ``None`` (no as-of date given) stays ``None``.

    Parameters
    ----------
    value : DateLike or None
        The date the data were extracted, as the user gave it.
    caller : str
        The function that takes it, as the message names it.

    Returns
    -------
    pandas.Timestamp or None

    Examples
    --------
    >>> parse_as_of("2025-09-30", "settle")
    Timestamp('2025-09-30 00:00:00')
    >>> parse_as_of(None, "settle") is None
    True
    """
    if value is None:
        return None
    error = partial(ParameterError, parameter="as_of", caller=caller)
    return parse_date(value, f"The 'as_of' parameter of {caller}", error=error)


def _one(value: Any) -> tuple[pd.Timestamp | None, str]:
    """The value as a Timestamp, or None and why not."""
    if isinstance(value, (datetime.date, np.datetime64)) and not isinstance(value, bool):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, OverflowError):
            return None, "outside the years 1678-2261"
        if pd.isna(stamp):
            return None, "a missing date"
        return (stamp.tz_localize(None) if stamp.tzinfo is not None else stamp), ""
    if not isinstance(value, str):
        return None, ""
    parsed, bad, _ = parse_dates(pd.Series([value], dtype=object))
    if bad[0] or pd.isna(parsed.iloc[0]):
        return None, _why(value.strip())
    return pd.Timestamp(parsed.iloc[0]), ""


def _why(text: str) -> str:
    """Why text is not an ISO date, when the reason can be named."""
    if re.match(ISO_PATTERN, text):
        try:
            datetime.date.fromisoformat(text[:10])
        except ValueError:
            return "no such day"
        return "outside the years 1678-2261"
    parts = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})", text)
    if parts is None:
        return ""
    first, middle, last = (int(p) for p in parts.groups())
    if len(parts.group(3)) != 4:
        return "its year has two digits"
    if first <= 12 and middle <= 12 and first != middle:
        return (
            f"day and month could be either way round ({first} {_MONTHS[middle - 1]} or {middle} "
            f"{_MONTHS[first - 1]} {last})"
        )
    return "day, month and year are not in the YYYY-MM-DD order"


def parse_dates(values: pd.Series, _categories: object = None) -> tuple[pd.Series, np.ndarray, str]:
    """Read a column as dates the way every schema does: ``(dates, cells that are not dates, rule)``.

    ISO dates (``YYYY-MM-DD``, optionally with a time), dates in the declared
    format (:func:`date_format`) and datetime values; timezone-aware values keep
    their local date and time and lose the zone; numbers are never dates (pandas
    would read them as nanoseconds since 1970); missing values stay missing
    (NaT) and are not failures.

    Parameters
    ----------
    values : pandas.Series
        The column as read from the file.
    _categories : object, optional
        Ignored: pandera passes the column's categories to a parser it is given.

    Examples
    --------
    >>> dates, bad, rule = parse_dates(pd.Series(["2024-01-05", "05/01/2024", None]))
    >>> dates.dt.strftime("%Y-%m-%d").tolist(), bad.tolist()
    (['2024-01-05', nan, nan], [False, True, False])
    """
    fmt = declared_format()
    rule = DATE_RULE if fmt is None else DATE_RULE.replace("YYYY-MM-DD", f"YYYY-MM-DD or {fmt}")
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is None:
            return (*_as_nanoseconds(values), rule)
        parsed = values.dt.tz_localize(None)
    elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    else:
        # Each distinct value is read once: a column of millions of rows holds a few thousand dates.
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        text = pd.Series(uniques, dtype=object).astype("str").str.strip()
        iso = text.str.match(ISO_PATTERN).fillna(False).astype(bool)
        once = pd.to_datetime(text.where(iso), format="ISO8601", errors="coerce")
        if fmt is not None:
            declared = pd.to_datetime(text.where(~iso), format=fmt, errors="coerce")
            once = once.astype("datetime64[us]").fillna(declared.astype("datetime64[us]"))
        once = once.where((once >= pd.Timestamp.min) & (once <= pd.Timestamp.max)).astype("datetime64[ns]")
        every = np.append(once.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
        parsed = pd.Series(every[np.where(codes < 0, len(once), codes)], index=values.index)
    in_range = (parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max)
    parsed = parsed.where(in_range).astype("datetime64[ns]")
    bad = values.notna().to_numpy() & parsed.isna().to_numpy()
    return parsed, bad, rule


def _as_nanoseconds(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates already read (no zone) as ``datetime64[ns]``, and the cells that nanoseconds cannot hold (then NaT).

    Worked on the int64 ticks of the column's own unit, against the nanosecond range's ends rounded inwards to
    it: a national table's millions of dates in a few numpy passes (pandas' comparisons, ``where`` and numpy's
    checked unit conversion take ten times as long).
    """
    moments = values.to_numpy()
    unit = np.datetime_data(moments.dtype)[0]
    if unit == "ns":
        return values.astype("datetime64[ns]"), np.zeros(len(values), dtype=bool)
    ticks = moments.view(np.int64)
    low = np.datetime64(pd.Timestamp.min.ceil(f"1{unit}")).astype(moments.dtype).view(np.int64)
    high = np.datetime64(pd.Timestamp.max.floor(f"1{unit}")).astype(moments.dtype).view(np.int64)
    per_tick = int(np.timedelta64(1, unit) // np.timedelta64(1, "ns"))  # type: ignore[call-overload]
    nanoseconds = ticks * per_tick
    bad = np.zeros(ticks.size, dtype=bool)
    if not (ticks.size and low <= ticks.min() and ticks.max() <= high):  # some moment does not fit, or is NaT
        inside = (ticks >= low) & (ticks <= high)  # NaT, the least int64, is outside
        nanoseconds[~inside] = np.iinfo(np.int64).min  # NaT
        bad = ~inside & (ticks != np.iinfo(np.int64).min)
    return pd.Series(nanoseconds.view("datetime64[ns]"), index=values.index, name=values.name, copy=False), bad


def fitting_formats(values: pd.Series) -> list[str]:
    """The formats of :data:`CANDIDATE_FORMATS` (with or without a time) that read every value present.

    Tried on the distinct values, so a column of millions of rows costs what
    its few thousand dates cost. Missing and blank cells are not values. More
    than one format fitting is ambiguous (``01/09/2025``: day first or month
    first); none fitting means the column is not all dates in one common form.

    Parameters
    ----------
    values : pandas.Series
        The column as read (text; a date or number column fits no form).

    Returns
    -------
    list of str
        ``strptime`` formats, in :data:`CANDIDATE_FORMATS`' order.

    Examples
    --------
    >>> fitting_formats(pd.Series(["30/09/2025", "01/10/2025"]))
    ['%d/%m/%Y']
    >>> fitting_formats(pd.Series(["01/09/2025", "02/10/2025"]))
    ['%d/%m/%Y', '%m/%d/%Y']
    >>> fitting_formats(pd.Series(["2025-09-30", None]))
    ['%Y-%m-%d']
    """
    if pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return []
    text = pd.Series(pd.unique(values.dropna().astype("str").str.strip()), dtype=object)
    text = text[text != ""]
    if text.empty:
        return []
    # Every form is tried on a few values first: a column of ids fails them all at once, not value by value.
    sample = text.iloc[:200]
    tried = [f + t for f in CANDIDATE_FORMATS for t in _TIMES]
    likely = [fmt for fmt in tried if pd.to_datetime(sample, format=fmt, errors="coerce").notna().all()]
    fits = [fmt for fmt in likely if pd.to_datetime(text, format=fmt, errors="coerce").notna().all()]
    # One form per date form: the first time of day that reads every value.
    return [fmt for i, fmt in enumerate(fits) if not any(fmt.startswith(f) for f in fits[:i])]
