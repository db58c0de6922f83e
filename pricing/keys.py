"""Reading a contract file's keys one way: every problem a SpecError naming the key, unknown keys refused.

The contract (:mod:`pricing.contract`) and its rate card (:mod:`pricing.ratecard`) read their TOML tables with
these, so a key is refused in the same words wherever it is written: ``The 'rules.early.at_least' key must be a
finite number [-1, 1]. Got 2 instead.``

Examples
--------
>>> number({"at_least": 0.1}, "at_least", "rules.early", low=-1, high=1)
0.1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import EllipsisType
from typing import TypeVar, overload

from ground.errors import SpecError

__all__ = ["choice", "fail", "known", "number", "table", "text"]

#: What an absent key gives (``...``: none, the key is required).
D = TypeVar("D")


def fail(key: str, must: str, value: object) -> SpecError:
    """The error for a key whose value breaks its rule (to raise).

    Parameters
    ----------
    key : str
        The key in full (``"claims.outcomes.job.price"``).
    must : str
        What it must be, in words.
    value : object
        What it was.

    Examples
    --------
    >>> str(fail("claims.periods", "one of monthly, quarterly", "weekly"))
    "The 'claims.periods' key must be one of monthly, quarterly. Got 'weekly' instead."
    """
    return SpecError(f"The '{key}' key must be {must}. Got {value!r} instead.", key=key)


def known(raw: Mapping, allowed: tuple[str, ...], key: str) -> None:
    """Refuse a key of the table ``key`` that is not ``allowed``, naming the keys that are.

    Parameters
    ----------
    raw : mapping
        The table as TOML reads it.
    allowed : tuple of str
        Its keys, in the order the message lists them.
    key : str
        The table's own key.

    Examples
    --------
    >>> known({"price": 1, "prise": 2}, ("price", "label"), "claims.outcomes.job")
    Traceback (most recent call last):
    ...
    ground.errors.SpecError: The keys of 'claims.outcomes.job' must be among price, label. Got unknown key 'prise'.
    """
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise SpecError(
            f"The keys of '{key}' must be among {', '.join(allowed)}. Got unknown key {unknown[0]!r}.",
            key=f"{key}.{unknown[0]}",
        )


def table(raw: Mapping, name: str, key: str, required: bool = False) -> dict:
    """The table ``key.name`` (``{}`` when absent and not required).

    Parameters
    ----------
    raw : mapping
        The table holding it.
    name, key : str
        Its name, and the key of ``raw``.
    required : bool, default False

    Examples
    --------
    >>> table({"ladders": {"q": {}}}, "ladders", "claims"), table({}, "ladders", "claims")
    ({'q': {}}, {})
    """
    if name not in raw:
        if required:
            raise SpecError(f"The '{key}.{name}' key is required. It is missing.", key=f"{key}.{name}")
        return {}
    value = raw[name]
    if not isinstance(value, Mapping):
        raise fail(f"{key}.{name}", "a table", value)
    return dict(value)


@overload
def number(
    raw: Mapping, name: str, key: str, default: EllipsisType = ..., *, low: float = 0.0, high: float = math.inf
) -> float: ...
@overload
def number(raw: Mapping, name: str, key: str, default: D, *, low: float = 0.0, high: float = math.inf) -> float | D: ...
def number(
    raw: Mapping, name: str, key: str, default: object = ..., *, low: float = 0.0, high: float = math.inf
) -> object:
    """A finite number in ``[low, high]`` (a float), or ``default`` when absent; required without one.

    Parameters
    ----------
    raw : mapping
    name, key : str
        The key's name, and the key of ``raw``.
    default : object, optional
        What an absent key gives; none: the key is required.
    low, high : float
        The bounds, both included.

    Examples
    --------
    >>> number({"cap_share": 0.4}, "cap_share", "claims.outcomes.job", high=1)
    0.4
    """
    full = f"{key}.{name}"
    if name not in raw:
        if default is ...:
            raise SpecError(f"The '{full}' key is required. It is missing.", key=full)
        return default
    value = raw[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high:
        span = f"[{low:g}, {high:g}]" if math.isfinite(high) else f">= {low:g}"
        raise fail(full, f"a finite number {span}", value)
    return float(value)


def choice(raw: Mapping, name: str, key: str, options: tuple[str, ...], default: str | EllipsisType = ...) -> str:
    """One of ``options``, or ``default`` when absent; required without one.

    Parameters
    ----------
    raw : mapping
    name, key : str
        The key's name, and the key of ``raw``.
    options : tuple of str
    default : object, optional

    Examples
    --------
    >>> choice({}, "periods", "claims", ("monthly", "quarterly"), "monthly")
    'monthly'
    """
    full = f"{key}.{name}"
    if name not in raw:
        if default is ...:
            raise SpecError(f"The '{full}' key is required (one of {', '.join(options)}). It is missing.", key=full)
        return default
    if raw[name] not in options:
        raise fail(full, f"one of {', '.join(options)}", raw[name])
    return raw[name]


@overload
def text(raw: Mapping, name: str, key: str, default: EllipsisType = ...) -> str: ...
@overload
def text(raw: Mapping, name: str, key: str, default: D) -> str | D: ...
def text(raw: Mapping, name: str, key: str, default: object = ...) -> object:
    """Text, or ``default`` when absent; required without one.

    Parameters
    ----------
    raw : mapping
    name, key : str
        The key's name, and the key of ``raw``.
    default : object, optional

    Examples
    --------
    >>> text({"label": "In work 13 weeks"}, "label", "claims.outcomes.job_13")
    'In work 13 weeks'
    """
    if name not in raw:
        if default is ...:
            raise SpecError(f"The '{key}.{name}' key is required. It is missing.", key=f"{key}.{name}")
        return default
    if not isinstance(raw[name], str):
        raise fail(f"{key}.{name}", "text", raw[name])
    return raw[name]
