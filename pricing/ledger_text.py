"""A ledger of text columns as CSV, byte for byte what pandas writes, at the speed a ledger of millions of claims needs.

``DataFrame.to_csv`` formats every cell in Python: at 3,000,000 claims a settlement spent most of its time there
(the ledger's SHA-256 is part of every audit record). :func:`csv_bytes` gives exactly the UTF-8 bytes of
``frame.to_csv(index=False, lineterminator="\\n")`` for a frame whose columns are all text (pandas strings,
categories of text, or objects that are text or missing), joining the fields of ordinary rows in Arrow. A row
with a field pandas quotes (a comma, a quote, a line break) is written by pandas itself, so the quoting rules are
pandas' (and Python's ``csv`` module's), not copied here. Any other frame is written by pandas whole. The bytes
come straight from Arrow's buffer, so hashing a ledger never decodes it into a Python string (which, with the copies
around it, took as long as joining the fields); :func:`csv_text` is the same as text.

Examples
--------
>>> frame = pd.DataFrame({"item": ["job", "job"], "evidence": ["letter", "letter, 3 May"], "note": [None, ""]})
>>> csv_text(frame) == frame.to_csv(index=False, lineterminator="\\n")
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["csv_bytes", "csv_text"]

#: Bytes that make pandas quote a field (delimiter, quote, line breaks), and the two that mark rows here. Each is
#: ASCII, so it is never part of another character's UTF-8 bytes.
_SPECIAL, _MARKS = np.zeros(256, dtype=bool), np.zeros(256, dtype=bool)
_SPECIAL[[ord(c) for c in ',"\r\n\x1e\x1f']] = True
_MARKS[[0x1E, 0x1F]] = True


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame.to_csv(index=False, lineterminator="\\n")`` as UTF-8 bytes, byte for byte, fast for a frame of text.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any frame; its columns are written in Arrow when all of them are text
        (a missing value is written empty, as pandas writes it), by pandas otherwise.

    Returns
    -------
    bytes

    Examples
    --------
    >>> csv_bytes(pd.DataFrame({"a": pd.Categorical(["x", None]), "b": ["3 May, 2024", "£5"]}))
    b'a,b\\nx,"3 May, 2024"\\n,\\xc2\\xa35\\n'
    """
    header = frame.iloc[:0].to_csv(index=False, lineterminator="\n").encode()
    read = [_column(frame[c]) for c in frame.columns] if len(frame) and frame.columns.is_unique else []
    columns = [c for c in read if c is not None]
    if not columns or len(columns) < len(read):
        return frame.to_csv(index=False, lineterminator="\n").encode()
    lines = pc.binary_join_element_wise(*[text for text, _ in columns], ",")
    quoted = np.logical_or.reduce([special for _, special in columns])
    if quoted.any():
        lines = pc.replace_with_mask(lines, pa.array(quoted), pa.array(_by_pandas(frame.iloc[np.flatnonzero(quoted)])))
    whole = pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines.cast(pa.large_string()))
    body = pc.binary_join(whole, pa.scalar("\n", pa.large_string()))[0].as_buffer()
    return b"".join((header, body, b"\n"))


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


def _column(column: pd.Series) -> tuple[pa.Array, np.ndarray] | None:
    """The column as Arrow text (a missing value as "") and the rows pandas would quote; None when it is not all
    text or holds a character this module marks rows with. A category's text is read once, not once a row."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = _column(pd.Series(column.cat.categories, dtype=object))
        if names is None:
            return None
        codes = column.cat.codes.to_numpy()
        text = pc.fill_null(names[0].take(pa.array(codes, mask=codes < 0)), "")
        return text, np.append(names[1], False)[codes]
    if not (pd.api.types.is_string_dtype(column) or column.dtype == object):
        return None
    try:
        text = pc.fill_null(pa.array(column, type=pa.string(), from_pandas=True), "")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    special, marked = _rows_with(text, _SPECIAL), _rows_with(text, _MARKS)
    return None if marked.any() else (text, special)


def _rows_with(text: pa.StringArray, chosen: np.ndarray) -> np.ndarray:
    """Which rows hold one of the ``chosen`` bytes: one pass over the text's bytes, not a search per row."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    found = np.zeros(len(text), dtype=bool)
    if data is None or offsets[-1] == offsets[0]:
        return found
    at = offsets[0] + np.flatnonzero(chosen[np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]])
    found[np.searchsorted(offsets, at, side="right") - 1] = True
    return found


def _by_pandas(rows: pd.DataFrame) -> list[str]:
    """Each row as pandas writes it (without its line end): one to_csv call, rows told apart by a marker field."""
    marked = rows.copy()
    marked.insert(0, "\x1f", [f"\x1e{i}\x1f" for i in range(len(rows))], allow_duplicates=True)
    text = marked.to_csv(index=False, header=False, lineterminator="\n")
    return [piece.split("\x1f,", 1)[1][:-1] for piece in text.split("\x1e")[1:]]
