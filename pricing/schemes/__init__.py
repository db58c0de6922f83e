"""Built-in schemes: real payment-by-results contracts as contract files, with their facts and sources.

One definition per scheme, shipped as package data: ``peterborough``,
``doncaster``, ``transforming_rehabilitation``, ``youth_justice`` (custody bed
nights), ``sector_ask``, and the rate cards ``dwp_work_programme``,
``dwp_innovation_fund_1``, ``dwp_innovation_fund_2`` and ``skill_mill``. Each
file's ``[metric].sources`` cites the publications behind its figures
(publisher, title, date, table or page), and its ``[assumed]`` table names every
figure no source gives, with the reason (``desist check`` lists them;
docs/schemes.md has them figure by figure).

Examples
--------
>>> schemes()
['doncaster', 'dwp_innovation_fund_1', 'dwp_innovation_fund_2', 'dwp_work_programme', 'peterborough', \
'sector_ask', 'skill_mill', 'transforming_rehabilitation', 'youth_justice']
>>> scheme("peterborough").rules[1].at_least
0.075
"""

from __future__ import annotations

from pathlib import Path

from ground.checks import Options, check_parameter
from pricing.contract import Contract

__all__ = ["scheme", "scheme_path", "schemes"]

_HERE = Path(__file__).parent


def schemes() -> list[str]:
    """The names of the built-in schemes.

    Examples
    --------
    >>> "doncaster" in schemes()
    True
    """
    return sorted(p.stem for p in _HERE.glob("*.toml"))


def scheme_path(name: str) -> Path:
    """The contract file of a built-in scheme.

    Parameters
    ----------
    name : str
        One of :func:`schemes`.

    Examples
    --------
    >>> scheme_path("doncaster").name
    'doncaster.toml'
    """
    check_parameter(name, "name", "scheme", Options(*schemes()))
    return _HERE / f"{name}.toml"


def scheme(name: str) -> Contract:
    """A built-in scheme as a :class:`~pricing.contract.Contract`.

    Parameters
    ----------
    name : str
        One of :func:`schemes`.

    Examples
    --------
    >>> scheme("doncaster").baseline.of("binary").rate
    0.58
    """
    return Contract.from_toml(scheme_path(name))
