"""The demo in one call: a synthetic world made and appraised whole, as ``desist demo`` does.

``appraisal.demo(seed=1)`` gives what ``desist demo --seed 1`` shows (see
the package's example); :func:`check_settings` refuses a setting outside
:data:`LIMITS`, for the command line as for Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from appraisal.inputs import DEFAULT_SPEC, AppraisalInputs
from appraisal.result import CALIPER, Appraisal
from appraisal.steps import appraise
from cohorts.synthetic import make_world
from ground.checks import Interval, check_parameter
from ground.errors import MatchingError, ModelError
from pricing.contract import Contract

__all__ = ["LIMITS", "check_settings", "demo"]

#: What each setting of the demo may be. The smallest world the whole appraisal runs on (fewer eligible
#: people leave some ethnic groups with no one enrolled, so the propensity model separates); the largest
#: (beyond these a synthetic world takes minutes and gigabytes, and shows nothing new); a gaming strength
#: of 10 already cuts the odds (or hours) at the hardest decile a thousandfold.
LIMITS = {
    "n_eligible": Interval(int, 200, 1_000_000),
    "n_pool": Interval(int, 1_000, 10_000_000),
    "draws": Interval(int, 1, 1_000_000),
    "creaming": Interval(float, 0, 20.0),
    "parking": Interval(float, 0, 20.0),
}


def check_settings(
    settings: Mapping[str, float], caller: str = "demo", name: Callable[[str], str] = lambda setting: setting
) -> None:
    """Refuse a demo setting outside :data:`LIMITS`, named by ``name(setting)`` (the command line names options).

    Parameters
    ----------
    settings : mapping of str -> number
        Settings of :func:`demo` by name, each a key of :data:`LIMITS`.
    caller : str
        Who the error says refused them (``"desist demo"`` on the command line).
    name : callable
        How ``caller`` names a setting (``"--n-eligible"`` for ``n_eligible`` on the command line).

    Raises
    ------
    ground.errors.ParameterError
        For the first setting outside its limits.

    Examples
    --------
    >>> check_settings({"n_eligible": 100}, "desist demo", lambda setting: "--" + setting.replace("_", "-"))
    Traceback (most recent call last):
    ...
    ground.errors.ParameterError: The '--n-eligible' parameter of desist demo must be an int in the range [200, ...
    """
    for setting, value in settings.items():
        check_parameter(value, name(setting), caller, LIMITS[setting])


def demo(
    seed: int = 0,
    *,
    n_eligible: int = 5_000,
    n_pool: int = 200_000,
    creaming: float = 0.0,
    parking: float = 0.0,
    draws: int = 2_000,
    progress: Callable[[str], None] | None = None,
    caliper: float = CALIPER,
) -> Appraisal:
    """Make a synthetic world (``cohorts.synthetic.make_world``) and appraise it with the built-in contract.

    The built-in spec is a contract with tranches, so the appraisal settles it
    on the world's as-of date (``Appraisal.settlement``).

    Parameters
    ----------
    seed : int
        Seed of the world and of the appraisal: the same seed gives the same numbers.
    n_eligible, n_pool : int
        People eligible for referral, and the size of the national comparison pool.
    creaming, parking : float
        Gaming built into the world: enrolment odds (or service hours) fall
        ``2**-strength`` from the easiest to the hardest decile.
    draws : int
        Contract simulation draws.
    progress : callable, optional
        Called with each step's name as it starts.
    caliper : float
        Widest match allowed, in standard deviations of the propensity logit (0.2).

    Returns
    -------
    Appraisal
        Its ``inputs.world`` is the world, with its true effects.

    Raises
    ------
    ground.errors.ModelError, ground.errors.MatchingError
        When the world is too small for the appraisal's models at this seed (the message says so).

    Examples
    --------
    A small world, built with reoffences 15% less frequent in the programme, is too small to tell:

    >>> a = demo(seed=1, n_eligible=300, n_pool=1_000, draws=50)
    >>> a.inputs.truth["reoffending_rate_ratio"], a.verdicts()["frequency"].form, a.spend().draws
    (0.85, 'inconclusive', 50)
    """
    check_settings(
        {"n_eligible": n_eligible, "n_pool": n_pool, "draws": draws, "creaming": creaming, "parking": parking}
    )
    world = make_world(seed=seed, n_eligible=n_eligible, n_pool=n_pool, creaming=creaming, parking=parking)
    # The built-in spec is a contract with tranches, and the world has an as-of date: the demo settles it.
    inputs = AppraisalInputs.from_world(world, Contract.from_toml(DEFAULT_SPEC))
    try:
        return appraise(inputs, seed=seed, draws=draws, progress=progress, caliper=caliper)
    except (ModelError, MatchingError) as exc:
        exc.args = (
            f"{exc} (The synthetic world of {n_eligible:,} eligible people may be too small for the appraisal "
            "at this seed: try more eligible people, e.g. 2,000, or another seed.)",
        )
        raise
