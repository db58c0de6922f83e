"""Keyed pseudonyms for person identifiers, so that a settlement can be shared without them.

A settlement's ledger names people (the PNC number, a case reference). Before it goes to an investor or is
published, each identifier is replaced by its pseudonym: HMAC-SHA256 of the identifier under a secret key
the commissioner keeps (RFC 2104; the key file holds at least 32 random bytes, e.g. made by
``head -c 32 /dev/urandom > settlement.key``), written as ``p-`` and its first 20 hexadecimal digits (80
bits: two of ten million people share a pseudonym with a chance of about one in 10^10). The same
identifier and key give the same pseudonym in every output and on every run, so the ledger still adds up,
a person's rows still go together, and ``desist verify`` with the same key rebuilds the files byte for byte;
without the key, the identifier cannot be found from its pseudonym, short of trying every identifier with
the key. The key is never written to an output: an audit record holds only :func:`key_check`, an HMAC of a
fixed text, which tells verify it was given the same key and tells no one the key.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import numpy as np
import pandas as pd

from ground.checks import parameter_error

__all__ = ["MIN_KEY_BYTES", "PREFIX", "key_check", "pseudonyms", "read_key"]

#: Shortest key accepted: HMAC-SHA256's own block of security (RFC 2104 section 3 advises at least the hash's length).
MIN_KEY_BYTES = 32
#: What a pseudonym starts with, so no one mistakes it for an identifier.
PREFIX = "p-"
_DIGITS = 20


def read_key(path: str | Path) -> bytes:
    """The key in a key file (its bytes, surrounding whitespace and newlines not counted).

    Parameters
    ----------
    path : str or pathlib.Path
        The key file.

    Raises
    ------
    ParameterError
        The file is missing or holds fewer than :data:`MIN_KEY_BYTES` bytes.

    Examples
    --------
    >>> key = read_key("settlement.key")  # doctest: +SKIP
    """
    try:
        key = Path(path).read_bytes().strip()
    except OSError:
        raise parameter_error("path", "read_key", "a key file that exists and can be read", str(path)) from None
    if len(key) < MIN_KEY_BYTES:
        raise parameter_error(
            "path",
            "read_key",
            f"a key file of at least {MIN_KEY_BYTES} random bytes (a pseudonymisation key)",
            got=f"{str(path)!r}, which holds {len(key)}",
            advice="Make one with head -c 32 /dev/urandom > settlement.key. Keep it secret and keep it: the same "
            "key is needed to verify the settlement.",
        )
    return key


def pseudonyms(ids: pd.Series, key: bytes) -> pd.Series:
    """Each identifier's pseudonym (``p-`` and 20 hexadecimal digits); missing and empty ones stay as they are.

    Computed once per distinct identifier, so a ledger of millions of rows costs its distinct people.

    Parameters
    ----------
    ids : pandas.Series
        The identifiers (compared as text).
    key : bytes
        The key (:func:`read_key`).

    Examples
    --------
    >>> key = b"k" * 32
    >>> pseudonyms(pd.Series(["007", "", "007"]), key).tolist()
    ['p-7eb5192adba029e1d6f0', '', 'p-7eb5192adba029e1d6f0']
    """
    codes, uniques = pd.factorize(ids.astype("string"), use_na_sentinel=True)
    named = [
        "" if value == "" else PREFIX + hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:_DIGITS]
        for value in uniques
    ]
    out = np.array([*named, None], dtype=object)[np.where(codes < 0, len(named), codes)]
    return pd.Series(out, index=ids.index, name=ids.name, dtype=object)


def key_check(key: bytes) -> str:
    """A fingerprint that tells whether two keys are the same, and nothing of the key (an HMAC of a fixed text).

    Parameters
    ----------
    key : bytes
        The key.

    Examples
    --------
    >>> key_check(b"k" * 32) == key_check(b"k" * 32) != key_check(b"j" * 32)
    True
    """
    return hmac.new(key, b"desist: the key that pseudonymised this settlement", hashlib.sha256).hexdigest()[:16]
