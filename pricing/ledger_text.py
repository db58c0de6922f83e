"""A ledger of text columns as CSV, byte for byte what pandas writes, at the speed a ledger of millions of claims needs.

``DataFrame.to_csv`` formats every cell in Python: at 3,000,000 claims a settlement spent most of its time there
(the ledger's SHA-256 is part of every audit record). :func:`csv_bytes` gives exactly the UTF-8 bytes of
``frame.to_csv(index=False, lineterminator="\\n")`` for a frame whose columns are all text (pandas strings,
categories of text, or objects that are text or missing), joining the fields of ordinary rows in Arrow: each
text column as it is, adjacent categories (a ledger's outcome, dates, prices, status, reason) as one piece written
once for each combination of their values the frame holds, so millions of rows are joined from a few pieces. A row
with a field pandas quotes (a comma, a quote, a line break) is written by pandas itself, so the quoting rules are
pandas' (and Python's ``csv`` module's), not copied here. Any other frame is written by pandas whole. Each line
is joined with its line end, so the body is the joined lines' bytes straight from Arrow's buffers: hashing a
ledger never decodes it into a Python string (which, with the copies around it, took as long as joining the
fields). The lines are joined some tens of thousands of rows at a time, on the machine's cores: a slice's
categories written out and joined stay in the processor's cache, where the whole ledger's (hundreds of MB) were
written to fresh memory and read back. :func:`csv_pieces` gives the header and each slice's bytes, to hash or
write one after the other without copying them into one; :func:`csv_bytes` joins them, :func:`csv_text` decodes.

Examples
--------
>>> frame = pd.DataFrame({"item": ["job", "job"], "evidence": ["letter", "letter, 3 May"], "note": [None, ""]})
>>> csv_text(frame) == frame.to_csv(index=False, lineterminator="\\n")
True
"""

from __future__ import annotations

import math
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ground.threads import each

__all__ = ["csv_bytes", "csv_pieces", "csv_text"]

#: A column's text a row (pyarrow string array) and the rows pandas would quote; a category's codes (-1 missing),
#: its names' text and the names pandas would quote.
_Text = tuple[pa.StringArray, np.ndarray]
_Coded = tuple[np.ndarray, pa.StringArray, np.ndarray]
#: A part of every line: a separator, a column's text a row, or a few texts and which of them each row takes.
_Part: TypeAlias = str | pa.StringArray | tuple[pa.StringArray, np.ndarray]
#: Rows joined at a time (a slice's parts, some MB, stay in the processor's cache).
ROWS_AT_A_TIME = 1 << 16

#: Bytes that make pandas quote a field (delimiter, quote, line breaks), and the two that mark rows here. Each is
#: ASCII, so it is never part of another character's UTF-8 bytes.
_SPECIAL, _MARKS = np.zeros(256, dtype=bool), np.zeros(256, dtype=bool)
_SPECIAL[[ord(c) for c in ',"\r\n\x1e\x1f']] = True
_MARKS[[0x1E, 0x1F]] = True


def csv_pieces(frame: pd.DataFrame) -> list[pa.Buffer]:
    """``frame.to_csv(index=False, lineterminator="\\n")`` as UTF-8 bytes in pieces: the header, then the lines of
    each slice of rows, to hash or write one after the other (joined, they are :func:`csv_bytes`).

    Parameters
    ----------
    frame : pandas.DataFrame
        Any frame; its columns are written in Arrow when all of them are text
        (a missing value is written empty, as pandas writes it), by pandas otherwise.

    Returns
    -------
    list of pyarrow.Buffer
        Each read as bytes are (hashed, written, joined), without copying it; kept with a settlement, they pickle.

    Examples
    --------
    >>> [bytes(piece) for piece in csv_pieces(pd.DataFrame({"a": ["x", "y, z"]}))]
    [b'a\\n', b'x\\n"y, z"\\n']
    """
    pieces = _pieces(frame) if len(frame) and frame.columns.is_unique else None
    if not pieces:
        return [pa.py_buffer(frame.to_csv(index=False, lineterminator="\n").encode())]
    header = pa.py_buffer(frame.iloc[:0].to_csv(index=False, lineterminator="\n").encode())
    parts, quoted = _parts(pieces)
    at = np.flatnonzero(quoted)
    by_pandas = pa.array(_by_pandas(frame.iloc[at]), pa.string())

    def lines(first: int) -> pa.Buffer:
        """The lines of the rows from ``first``, each row's pandas wrote in its place."""
        last = min(first + ROWS_AT_A_TIME, len(frame))
        joined = pc.binary_join_element_wise(*(_rows(part, first, last) for part in parts), "")
        lo, hi = np.searchsorted(at, [first, last])
        if hi > lo:
            joined = pc.replace_with_mask(joined, pa.array(quoted[first:last]), by_pandas.slice(lo, hi - lo))
        # Every line ends in its line end, so the lines' bytes, end to end, are the slice's text.
        offsets = _bytes(joined)[0]
        return joined.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))

    return [header, *each(lines, range(0, len(frame), ROWS_AT_A_TIME))]


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame.to_csv(index=False, lineterminator="\\n")`` as UTF-8 bytes, byte for byte, fast for a frame of text.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any frame (see :func:`csv_pieces`).

    Returns
    -------
    bytes

    Examples
    --------
    >>> csv_bytes(pd.DataFrame({"a": pd.Categorical(["x", None]), "b": ["3 May, 2024", "£5"]}))
    b'a,b\\nx,"3 May, 2024"\\n,\\xc2\\xa35\\n'
    """
    return b"".join(csv_pieces(frame))


def csv_text(frame: pd.DataFrame) -> str:
    """``frame.to_csv(index=False, lineterminator="\\n")``, byte for byte: :func:`csv_bytes` as text.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any frame (see :func:`csv_bytes`).

    Examples
    --------
    >>> print(csv_text(pd.DataFrame({"a": pd.Categorical(["x", None]), "b": ["3 May, 2024", "y"]})), end="")
    a,b
    x,"3 May, 2024"
    ,y
    """
    return csv_bytes(frame).decode()


def _pieces(frame: pd.DataFrame) -> list[_Text | list[_Coded]] | None:
    """The frame's columns as pieces of each line: a text column alone, adjacent categories together (a column of
    empty text only is a category of one); None when a column is not all text or holds a character this module
    marks rows with."""
    pieces: list[_Text | list[_Coded]] = []
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            names = _text(pd.Series(column.cat.categories, dtype=object))
            if names is None:
                return None
            coded = (column.cat.codes.to_numpy(), *names)
        else:
            text = _text(column)
            if text is None:
                return None
            if _bytes(text[0])[1].size:
                pieces.append(text)
                continue
            coded = (np.zeros(len(column), dtype=np.int8), pa.array([""]), np.zeros(1, dtype=bool))
        run = pieces[-1] if pieces else None
        if isinstance(run, list) and _combinations(run) * (len(coded[1]) + 1) <= _MOST_COMBINATIONS:
            run.append(coded)
        else:
            pieces.append([coded])
    return pieces


def _parts(pieces: list[_Text | list[_Coded]]) -> tuple[list[_Part], np.ndarray]:
    """The parts of every line, a comma between the pieces and the line end after them, and the rows pandas would
    quote.

    Adjacent categories are one part: a text for each combination of their values found, with the commas around
    them and the line end, and each row's combination. The rows are joined from a few long parts, not from every
    column's short ones and every comma (a ledger's outcome, dates, prices, status and reason are categories).
    """
    parts: list[_Part] = []
    quoted = []
    for i, piece in enumerate(pieces):
        after = "\n" if i == len(pieces) - 1 else ","
        if isinstance(piece, list):
            before = "," if i and not isinstance(pieces[i - 1], list) else ""
            text, combination, special = _combined(piece, before, after)
            parts.append((text, combination))
        else:
            column, special = piece
            parts.append(column)
            if after == "\n" or not isinstance(pieces[i + 1], list):  # else the categories after it have the comma
                parts.append(after)
        quoted.append(special)
    return parts, np.logical_or.reduce(quoted)


def _rows(part: _Part, first: int, last: int) -> pa.StringArray | str:
    """A part of the lines of rows ``first`` to ``last`` (a separator is the same for every row)."""
    if isinstance(part, str):
        return part
    if isinstance(part, tuple):
        text, combination = part
        return text.take(combination[first:last])
    return part.slice(first, last - first)


#: The most combinations of adjacent categories' values (a missing value counted as one more) one integer codes.
_MOST_COMBINATIONS = 2**62


def _combinations(run: list[_Coded]) -> int:
    return math.prod(len(names) + 1 for _, names, _ in run)


def _combined(run: list[_Coded], before: str, after: str) -> tuple[pa.StringArray, np.ndarray, np.ndarray]:
    """Adjacent categories as one piece of text a row, between ``before`` and ``after``: the text of each
    combination found, each row's combination, and the rows pandas would quote."""
    packed = np.zeros(run[0][0].size, dtype=np.int64)
    for codes, names, _ in run:  # 0 for a missing value, 1 + its code otherwise
        packed = packed * (len(names) + 1) + (codes.astype(np.int64) + 1)
    combination, found = pd.factorize(packed)
    parts, special, rest = [], np.zeros(len(found), dtype=bool), found
    for _, names, quoted in reversed(run):
        rest, value = np.divmod(rest, len(names) + 1)
        parts.append(pc.fill_null(names.take(pa.array(value - 1, mask=value == 0)), ""))
        special |= np.append(False, quoted)[value]
    text = pc.binary_join_element_wise(before, pc.binary_join_element_wise(*parts[::-1], ","), after, "")
    return text, combination, special[combination]


def _text(column: pd.Series) -> _Text | None:
    """The column as Arrow text (a missing value as "") and the rows pandas would quote; None when it is not all
    text or holds a character this module marks rows with. The text's bytes are read in one pass, not a row at a
    time."""
    if not (pd.api.types.is_string_dtype(column) or column.dtype == object):
        return None
    try:
        text = pc.fill_null(pa.array(column, type=pa.string(), from_pandas=True), "")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    offsets, data = _bytes(text)
    at = np.flatnonzero(_SPECIAL[data])
    if _MARKS[data[at]].any():
        return None
    special = np.zeros(len(text), dtype=bool)
    special[np.searchsorted(offsets, offsets[0] + at, side="right") - 1] = True
    return text, special


def _bytes(text: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """The text's offsets and its bytes from the first offset to the last."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return offsets, np.zeros(0, dtype=np.uint8)
    return offsets, np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]


def _by_pandas(rows: pd.DataFrame) -> list[str]:
    """Each row as pandas writes it (with its line end): one to_csv call, rows told apart by a marker field."""
    marked = rows.copy()
    marked.insert(0, "\x1f", [f"\x1e{i}\x1f" for i in range(len(rows))], allow_duplicates=True)
    text = marked.to_csv(index=False, header=False, lineterminator="\n")
    return [piece.split("\x1f,", 1)[1] for piece in text.split("\x1e")[1:]]
