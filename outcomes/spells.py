"""Payments that fall due from spells: every N weeks of a continuous spell (in work, in education), up to a count.

A recurring outcome is paid once for each ``every_days`` of a continuous
spell of one kind, counted from the later of the spell's start, the person's
start date and the anchor (the day a prerequisite was achieved, such as the
job outcome a sustainment payment follows). Spells of one person that overlap
or meet (one ends the day before the next starts) are one spell; a break
starts the count again. The ``k``-th payment of a spell falls due ``k *
every_days`` days after its count began, if the spell has not ended before
that day; only payments due by the settlement date are made, and at most
``times`` per person over all their spells, the earliest first.

Everything is computed on whole arrays (one row per spell, then one per
payment): no loop over people or spells.

Examples
--------
>>> import numpy as np
>>> person, day, began, number = payments_due(
...     person=np.array([0]), start=np.array([0]), end=np.array([420]), anchor=np.array([182]),
...     every_days=28, times=13, until=np.array([10_000]))
>>> number.tolist(), day[:2].tolist()
([1, 2, 3, 4, 5, 6, 7, 8], [210, 238])
"""

from __future__ import annotations

import numpy as np

__all__ = ["NEVER", "merged", "payments_due"]

#: A day later than any date (dates end in 2262, day 106,751): an open end, or the anchor of a person
#: who never achieved the prerequisite.
NEVER = 10**9


def merged(person: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One spell for each run of spells of a person that overlap or meet (days; an open end is :data:`NEVER`).

    Parameters
    ----------
    person, start, end : numpy.ndarray
        One spell a row: the person's code, its first and last day (days since 1970-01-01).

    Returns
    -------
    tuple of numpy.ndarray
        ``(person, start, end)`` of the merged spells, in order of person, then start.

    Examples
    --------
    >>> p, s, e = merged(np.array([0, 0, 0]), np.array([0, 10, 50]), np.array([20, 30, 60]))
    >>> p.tolist(), s.tolist(), e.tolist()
    ([0, 0], [0, 50], [30, 60])
    """
    order = np.lexsort((start, person))
    person, start, end = person[order], start[order], end[order]
    if person.size == 0:
        return person, start, end
    # The furthest end reached so far within each person. Offsets keep the running maximum from crossing
    # into the next person: every day lies within (-NEVER, NEVER], so a step of 3 * NEVER separates them.
    offset = person.astype(np.int64) * (3 * NEVER)
    reach = np.maximum.accumulate(end + offset) - offset
    new = np.ones(person.size, dtype=bool)
    new[1:] = (person[1:] != person[:-1]) | (start[1:] > reach[:-1] + 1)
    first = np.flatnonzero(new)
    last = np.append(first[1:], person.size) - 1
    return person[first], start[first], reach[last]


def payments_due(
    *,
    person: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    anchor: np.ndarray,
    every_days: int,
    times: int | np.ndarray,
    until: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The payments due from merged spells: ``(person, day due, day the count began, payment number)``.

    Parameters
    ----------
    person, start, end : numpy.ndarray
        One merged spell a row (:func:`merged`), days since 1970-01-01; an
        open end is :data:`NEVER`.
    anchor : numpy.ndarray
        Per spell, the first day that counts: the later of the person's start
        date and the day the prerequisite was achieved (:data:`NEVER` when it
        was not).
    every_days : int
        Days of continuous spell per payment.
    times : int or numpy.ndarray
        Most payments a person may receive over all their spells (per spell:
        the spell's person's).
    until : numpy.ndarray
        Per spell, the last day a payment may fall due (the settlement date).

    Returns
    -------
    tuple of numpy.ndarray
        In order of person, then day due; the payment number counts from 1
        over the person's spells.

    Examples
    --------
    >>> _, day, _, number = payments_due(person=np.array([0, 0]), start=np.array([0, 100]), end=np.array([70, NEVER]),
    ...                                  anchor=np.array([0, 0]), every_days=28, times=3, until=np.array([500, 500]))
    >>> day.tolist(), number.tolist()
    ([28, 56, 128], [1, 2, 3])
    """
    began = np.maximum(start, anchor)
    last = np.minimum(end, until)
    counts = np.where(last >= began, (last - began) // every_days, 0)
    counts = np.where(began >= NEVER, 0, counts)
    order = np.lexsort((began, person))
    person, began, counts = person[order], began[order], counts[order]
    times = np.broadcast_to(times, order.shape)[order]
    # At most ``times`` a person, the earliest spells first: clip each spell by what the person's
    # earlier spells have used.
    used = np.cumsum(counts) - counts
    first_of_person = np.ones(person.size, dtype=bool)
    first_of_person[1:] = person[1:] != person[:-1]
    used -= np.maximum.accumulate(np.where(first_of_person, used, 0))
    counts = np.clip(times - used, 0, counts).astype(np.int64)
    spell = np.repeat(np.arange(person.size), counts)
    within = np.arange(spell.size) - np.repeat(np.cumsum(counts) - counts, counts)
    number = (within + 1 + np.repeat(used, counts)).astype(np.int64)
    day = began[spell] + (within + 1) * every_days
    return person[spell], day, began[spell], number
