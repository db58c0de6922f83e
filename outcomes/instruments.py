"""Instruments as data: what an assessment measures and how its items score.

An instrument is read from a small TOML file, so a commissioner or provider
can add one without writing Python. The built-in files live in
``outcomes/instruments_data/``:

========================  ========  ==============================================
name                      scoring   measures
========================  ========  ==============================================
rosenberg                 sum       self-esteem, 10 items 0-3, total 0-30
ladder_family             single    journey-of-change ladder 1-10 (one per area:
ladder_accommodation                family, accommodation, ete, drugs_alcohol,
...                                 finance, attitudes)
accommodation_status      single    1 no fixed abode, 2 unsettled, 3 settled
family_contact            items     contact_frequency 0-4, living_with_family 0/1
========================  ========  ==============================================

TOML layout (every key but ``item`` tables is required unless marked)::

    name = "rosenberg"
    title = "Rosenberg Self-Esteem Scale"
    scoring = "sum"              # sum | mean | single | items
    items = ["q1", "q2", ...]
    item_min = 0
    item_max = 3
    reversed = ["q2", "q5"]      # optional: scored item_min + item_max - raw
    max_missing = 1              # optional (default 0): prorate up to this many
    direction = "higher_is_better"   # or "lower_is_better"
    reliability = 0.85           # optional: test-retest r for reliable change
    reliability_source = "..."   # optional, required when reliability is set
    source = "..."

    [item.status]                # optional per-item overrides
    min = 1
    max = 3
    [item.status.states]         # optional names of the codes
    1 = "no_fixed_abode"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ground.errors import SpecError

SCORINGS = ("sum", "mean", "single", "items")
DIRECTIONS = ("higher_is_better", "lower_is_better")
# Column names that score() writes itself, so no item may take them.
RESERVED_NAMES = frozenset({"person_id", "assessed_on", "score", "n_answered", "prorated", "scorable", "reason"})


@dataclass(frozen=True)
class Item:
    """One item of an instrument: its allowed integer range and state names."""

    name: str
    min: int
    max: int
    reversed: bool = False
    states: tuple[tuple[int, str], ...] = ()

    def code_of(self, state: str | int) -> int:
        """The code of a state given by name (or already as a code)."""
        if isinstance(state, bool):
            raise SpecError(f"The state of item '{self.name}' must be a name or a code. Got {state!r} instead.")
        if isinstance(state, int):
            if not self.min <= state <= self.max:
                raise SpecError(
                    f"The state of item '{self.name}' must be a code in {self.min}..{self.max}. Got {state} instead."
                )
            return state
        for code, label in self.states:
            if label == state:
                return code
        allowed = ", ".join(label for _, label in self.states) or "(none named)"
        raise SpecError(
            f"The state of item '{self.name}' must be one of {allowed}. Got {state!r} instead.", key=self.name
        )


@dataclass(frozen=True)
class Instrument:
    """An assessment instrument: items, item ranges, scoring and provenance.

    Attributes
    ----------
    name, title : str
        Short identifier (as in the assessments table's ``instrument`` column)
        and the full name.
    scoring : {"sum", "mean", "single", "items"}
        ``sum``/``mean`` combine items (after reversing) into ``score``;
        ``single`` has one item whose value is the score; ``items`` keeps each
        item as its own measure and has no total.
    items : tuple of Item
    max_missing : int
        For ``sum``/``mean``: how many items may be missing and prorated
        (total = mean of the answered items x number of items).
    direction : {"higher_is_better", "lower_is_better"}
    reliability : float or None
        Test-retest reliability used by the reliable change index.
    reliability_source, source : str

    Examples
    --------
    >>> from outcomes import get_instrument
    >>> get_instrument("rosenberg").score_range
    (0, 30)
    """

    name: str
    title: str
    scoring: str
    items: tuple[Item, ...]
    direction: str
    source: str
    max_missing: int = 0
    reliability: float | None = None
    reliability_source: str = ""

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.items)

    def item(self, name: str) -> Item:
        for item in self.items:
            if item.name == name:
                return item
        raise SpecError(
            f"The item of instrument '{self.name}' must be one of {', '.join(self.item_names)}. Got {name!r} instead.",
            key=self.name,
        )

    @property
    def measures(self) -> tuple[str, ...]:
        """Columns of the scores frame a rule may use: ``score`` and/or items."""
        return self.item_names if self.scoring == "items" else ("score",)

    def measure_item(self, measure: str) -> Item | None:
        """The item behind a measure (None for a summed or averaged score)."""
        if measure not in self.measures:
            raise SpecError(
                f"The measure of instrument '{self.name}' must be one of {', '.join(self.measures)}. "
                f"Got {measure!r} instead.",
                key=self.name,
            )
        if self.scoring == "items":
            return self.item(measure)
        if self.scoring == "single":
            return self.items[0]
        return None

    def measure_range(self, measure: str = "score") -> tuple[float, float]:
        item = self.measure_item(measure)
        return (item.min, item.max) if item is not None else self.score_range

    @property
    def score_range(self) -> tuple[float, float]:
        """Range of the total score (sum/mean) or of the single item."""
        lo = sum(item.min for item in self.items)
        hi = sum(item.max for item in self.items)
        if self.scoring == "mean":
            return lo / len(self.items), hi / len(self.items)
        if self.scoring == "items":
            raise SpecError(f"Instrument '{self.name}' has no total score; its measures are its items.")
        return lo, hi

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better."""
        return 1 if self.direction == "higher_is_better" else -1

    def describe(self) -> str:
        """One paragraph in plain words."""
        items = ", ".join(f"{i.name} {i.min}-{i.max}{' (reversed)' if i.reversed else ''}" for i in self.items)
        if self.scoring == "items":
            scoring = "each item is its own measure"
        elif self.scoring == "single":
            scoring = "the single item is the score"
        else:
            lo, hi = self.score_range
            scoring = f"{self.scoring} of items, range {lo:g}-{hi:g}"
        rel = (
            f"reliability {self.reliability:g} ({self.reliability_source})"
            if self.reliability is not None
            else "no reliability stated (reliable change needs one)"
        )
        missing = f"; up to {self.max_missing} missing item(s) prorated" if self.max_missing else ""
        return (
            f"{self.title} [{self.name}]: items {items}; {scoring}{missing}; "
            f"{self.direction.replace('_', ' ')}; {rel}. Source: {self.source}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout as a dict (``instrument_from_dict`` reads it back)."""
        first = self.items[0]
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "scoring": self.scoring,
            "items": list(self.item_names),
            "item_min": first.min,
            "item_max": first.max,
            "reversed": [i.name for i in self.items if i.reversed],
            "max_missing": self.max_missing,
            "direction": self.direction,
            "source": self.source,
        }
        if self.reliability is not None:
            out["reliability"] = self.reliability
            out["reliability_source"] = self.reliability_source
        overrides = {}
        for i in self.items:
            entry: dict[str, Any] = {}
            if (i.min, i.max) != (first.min, first.max):
                entry.update(min=i.min, max=i.max)
            if i.states:
                entry["states"] = {str(code): label for code, label in i.states}
            if entry:
                overrides[i.name] = entry
        if overrides:
            out["item"] = overrides
        return out


def _need(raw: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in raw:
        raise SpecError(f"The instrument {where} must have the key '{key}'. It is missing.", key=key)
    value = raw[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(f"The '{key}' key of instrument {where} must be {names}. Got {value!r} instead.", key=key)
    return value


def _choice(value: str, allowed: tuple[str, ...], key: str, where: str) -> str:
    if value not in allowed:
        raise SpecError(
            f"The '{key}' key of instrument {where} must be one of {', '.join(allowed)}. Got {value!r} instead.",
            key=key,
        )
    return value


KNOWN_KEYS = frozenset(
    {
        "name",
        "title",
        "scoring",
        "items",
        "item_min",
        "item_max",
        "reversed",
        "max_missing",
        "direction",
        "reliability",
        "reliability_source",
        "source",
        "item",
    }
)


def instrument_from_dict(raw: dict[str, Any], where: str = "") -> Instrument:
    """Build and validate an :class:`Instrument` from the TOML layout.

    Parameters
    ----------
    raw : dict
        The instrument's keys, as an instrument file holds them (``name``, ``title``, ``scoring``, ``items``,
        ``item_min``, ``item_max``, ``direction``, ``source``, ...).
    where : str
        How an error names the instrument (default: its name).

    Raises
    ------
    SpecError
        Naming the key, the allowed values and what was received.

    Examples
    --------
    >>> raw = {"name": "confidence", "title": "Confidence (two items)", "scoring": "sum", "items": ["q1", "q2"],
    ...        "item_min": 0, "item_max": 4, "direction": "higher_is_better", "source": "assumed: an example"}
    >>> instrument_from_dict(raw).item_names
    ('q1', 'q2')
    >>> instrument_from_dict({**raw, "scoring": "median"})
    Traceback (most recent call last):
    ...
    ground.errors.SpecError: ...
    """
    if not isinstance(raw, dict):
        raise SpecError(f"An instrument must be a table of keys. Got {raw!r} instead.", key="instrument")
    where = where or repr(raw.get("name", "?"))
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise SpecError(
            f"The keys of instrument {where} must be among {', '.join(sorted(KNOWN_KEYS))}. "
            f"Got {', '.join(map(str, unknown))}.",
            key=str(unknown[0]),
        )
    name = _need(raw, "name", str, where)
    names = _item_names(raw, where)
    scoring = _choice(_need(raw, "scoring", str, where), SCORINGS, "scoring", where)
    if scoring == "single" and len(names) != 1:
        raise SpecError(
            f"Instrument {where} with scoring 'single' must have exactly one item. Got {len(names)}.", key="items"
        )
    items = _items(raw, names, where)
    max_missing = raw.get("max_missing", 0)
    if (
        isinstance(max_missing, bool)
        or not isinstance(max_missing, int)
        or not 0 <= max_missing < len(names)
        or (max_missing and scoring not in ("sum", "mean"))
    ):
        raise SpecError(
            f"The 'max_missing' key of instrument {where} must be an integer from 0 to {len(names) - 1} "
            f"(and 0 unless scoring is sum or mean). Got {max_missing!r}.",
            key="max_missing",
        )
    reliability = _reliability(raw, where)
    return Instrument(
        name=name,
        title=_need(raw, "title", str, where),
        scoring=scoring,
        items=items,
        direction=_choice(_need(raw, "direction", str, where), DIRECTIONS, "direction", where),
        source=_need(raw, "source", str, where),
        max_missing=max_missing,
        reliability=reliability,
        reliability_source=raw.get("reliability_source", ""),
    )


def _item_names(raw: dict[str, Any], where: str) -> list[str]:
    names = _need(raw, "items", list, where)
    if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise SpecError(
            f"The 'items' key of instrument {where} must list distinct item names. Got {names!r}.", key="items"
        )
    clash = sorted(set(names) & RESERVED_NAMES)
    if clash:
        raise SpecError(
            f"The 'items' of instrument {where} must not use the names {', '.join(sorted(RESERVED_NAMES))}. "
            f"Got {', '.join(clash)}.",
            key="items",
        )
    return names


def _items(raw: dict[str, Any], names: list[str], where: str) -> tuple[Item, ...]:
    """Each item with its range (the defaults or its [item.<name>] table), reversal and named states."""
    reversed_ = raw.get("reversed", [])
    if not isinstance(reversed_, list) or not all(r in names for r in reversed_):
        raise SpecError(
            f"The 'reversed' key of instrument {where} must list items among {', '.join(names)}. Got {reversed_!r}.",
            key="reversed",
        )
    overrides = raw.get("item", {})
    if not isinstance(overrides, dict) or not all(k in names and isinstance(v, dict) for k, v in overrides.items()):
        raise SpecError(
            f"The [item.*] tables of instrument {where} must be tables named after items among {', '.join(names)}. "
            f"Got {overrides!r}.",
            key="item",
        )
    lo_default = _need(raw, "item_min", int, where)
    hi_default = _need(raw, "item_max", int, where)
    items = []
    for n in names:
        extra = overrides.get(n, {})
        lo, hi = extra.get("min", lo_default), extra.get("max", hi_default)
        if not (_whole(lo) and _whole(hi)) or lo >= hi:
            raise SpecError(
                f"The range of item '{n}' of instrument {where} must be integers min < max. Got {lo!r}..{hi!r}.",
                key=f"item.{n}",
            )
        items.append(Item(n, lo, hi, n in reversed_, _states(extra.get("states", {}), n, lo, hi, where)))
    return tuple(items)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _states(table: Any, item: str, lo: int, hi: int, where: str) -> tuple[tuple[int, str], ...]:
    """``{"1": "no_fixed_abode", ...}`` -> sorted (code, name) pairs, each code within the item's range."""
    if not isinstance(table, dict):
        raise SpecError(
            f"The states of item '{item}' of instrument {where} must be a table of code = name. Got {table!r}.",
            key=f"item.{item}.states",
        )
    states = []
    for code, label in table.items():
        try:
            code_int = int(code)
        except ValueError:
            code_int = None
        if code_int is None or not lo <= code_int <= hi or not isinstance(label, str):
            raise SpecError(
                f"The states of item '{item}' of instrument {where} must map codes in {lo}..{hi} to names. "
                f"Got {code!r} = {label!r}.",
                key=f"item.{item}.states",
            )
        states.append((code_int, label))
    return tuple(sorted(states))


def _reliability(raw: dict[str, Any], where: str) -> float | None:
    reliability = raw.get("reliability")
    if reliability is None:
        return None
    if isinstance(reliability, bool) or not isinstance(reliability, (int, float)) or not 0 < reliability < 1:
        raise SpecError(
            f"The 'reliability' key of instrument {where} must be a number strictly between 0 and 1. "
            f"Got {reliability!r}.",
            key="reliability",
        )
    _need(raw, "reliability_source", str, where)
    return float(reliability)


def load_instrument(path: str | Path) -> Instrument:
    """Read an instrument from a TOML file.

    Parameters
    ----------
    path : str or Path
        The instrument file (the layout of :func:`instrument_from_dict`); an error names it.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "confidence.toml"
    >>> _ = path.write_text(
    ...     'name = "confidence"\\ntitle = "Confidence"\\nscoring = "sum"\\nitems = ["q1", "q2"]\\nitem_min = 0\\n'
    ...     'item_max = 4\\ndirection = "higher_is_better"\\nsource = "assumed: an example"\\n',
    ...     encoding="utf-8",
    ... )
    >>> load_instrument(path).scoring
    'sum'
    >>> folder.cleanup()
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(
            f"The instrument file must exist. Got {str(path)!r}, which does not.", source=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
        raise SpecError(f"{path}: cannot read the instrument file: {reason}.", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"The instrument file {path} is not valid TOML: {exc}.", source=str(path)) from None
    return instrument_from_dict(raw, where=f"{raw.get('name', '?')!r} ({path.name})")


@cache
def builtin_instruments() -> dict[str, Instrument]:
    """The instruments shipped with desist, by name.

    Examples
    --------
    >>> instruments = builtin_instruments()
    >>> "rosenberg" in instruments, instruments["ladder_family"].items[0].max
    (True, 10)
    """
    out = {}
    for entry in sorted(resources.files("outcomes.instruments_data").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            raw = tomllib.loads(entry.read_text(encoding="utf-8"))
            out[raw["name"]] = instrument_from_dict(raw, where=f"{raw.get('name')!r} ({entry.name})")
    return out


def get_instrument(instrument: str | Instrument, extra: dict[str, Instrument] | None = None) -> Instrument:
    """Resolve an instrument given by name (built-in or in ``extra``).

    Parameters
    ----------
    instrument : str or Instrument
        A name, or an instrument (returned as it is).
    extra : dict of str -> Instrument, optional
        Instruments besides the built-in ones (a spec's own), by name.

    Examples
    --------
    >>> get_instrument("ladder_family").scoring
    'single'
    """
    if isinstance(instrument, Instrument):
        return instrument
    known = {**builtin_instruments(), **(extra or {})}
    if instrument not in known:
        raise SpecError(
            f"The instrument must be one of {', '.join(sorted(known))} (or loaded with load_instrument). "
            f"Got {instrument!r} instead.",
            key="instrument",
        )
    return known[instrument]
