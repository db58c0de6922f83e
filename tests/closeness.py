"""One comparison of nested results (dicts, lists, numbers, text) for tests whose floats may move in their last
digits on another machine or in another summation order: everything else must be equal, type included."""

from __future__ import annotations

import pytest


def differences(
    got: object, want: object, *, rel: float, abs: float, new_keys: bool = False, where: str = ""
) -> list[str]:
    """Where ``got`` differs from ``want``: floats to ``rel`` of themselves or ``abs``, whichever is wider, all else
    exactly. ``new_keys``: keys ``got`` has and ``want`` lacks are not compared (figures added since ``want`` was
    made); otherwise the two dicts must have the same keys."""
    if isinstance(want, dict) and isinstance(got, dict):
        keys = [] if new_keys or got.keys() == want.keys() else [f"{where}: keys {sorted(got)} != {sorted(want)}"]
        return keys + [
            d
            for k in sorted(want)
            for d in differences(got.get(k), want[k], rel=rel, abs=abs, new_keys=new_keys, where=f"{where}.{k}")
        ]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [
            d
            for i, (g, w) in enumerate(zip(got, want))
            for d in differences(g, w, rel=rel, abs=abs, new_keys=new_keys, where=f"{where}[{i}]")
        ]
    if isinstance(want, float) and isinstance(got, float):
        return [] if got == pytest.approx(want, rel=rel, abs=abs) else [f"{where}: {got!r} != {want!r}"]
    return [] if got == want and type(got) is type(want) else [f"{where}: {got!r} != {want!r}"]
