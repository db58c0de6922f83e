"""What an appraisal runs on: the tables, the metric spec and, when there is one, the contract.

Examples
--------
>>> from cohorts.synthetic import make_world
>>> from outcomes import MetricSpec
>>> w = make_world(seed=1, n_eligible=400, n_pool=4_000)
>>> inputs = AppraisalInputs.from_world(w, MetricSpec.from_toml(DEFAULT_SPEC))
>>> inputs.truth is w.truth.effects, inputs.costs is DEMO_COSTS
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import pandas as pd

from cohorts.synthetic import World
from ground.dates import DateLike, parse_as_of
from outcomes import MetricSpec
from outcomes.spec import ReoffendingSpec
from pricing.contract import Contract

__all__ = ["DEFAULT_SPEC", "DEMO_COSTS", "AppraisalInputs"]

#: The intermediate-outcomes spec shipped with the package (family ties,
#: self-esteem, accommodation, ETE, substance misuse; binary and frequency
#: reoffending reported alongside). It is a contract too, with tranches.
DEFAULT_SPEC = Path(str(files("appraisal").joinpath("specs", "intermediate.toml")))
#: Delivery cost per enrolled person by payment segment in the demo (£): an
#: assumption for illustration, rising with complexity.
DEMO_COSTS = {"none": 450.0, "young_adults": 550.0, "women": 650.0, "complex_needs": 850.0, "unknown": 450.0}


@dataclass(frozen=True, eq=False)
class AppraisalInputs:
    """The tables an appraisal runs on. Only ``spec``, ``people``, ``offences`` and ``pool`` are required.

    Attributes
    ----------
    spec : MetricSpec
    people : pandas.DataFrame
        The programme cohort (``in_programme`` true).
    offences : pandas.DataFrame
        Offence events of the cohort (and of all eligible people, if given).
    pool : pandas.DataFrame
        National comparison pool with ``reoffended``, ``reoffences``, ``days_to_first``.
    eligible : pandas.DataFrame, optional
        Everyone eligible for referral, with ``enrolled`` (for the creaming screen).
    services : pandas.DataFrame, optional
        Service contacts with ``hours`` (for the parking screen).
    assessments : pandas.DataFrame, optional
        Intermediate-outcome assessments.
    history : pandas.DataFrame, optional
        A past cohort with 0/1 columns per price key; default: the cohort's
        own people whose outcome windows have closed.
    as_of : DateLike, optional
        The data's as-of date, read by :func:`ground.dates.parse_as_of` (held as a ``pandas.Timestamp``).
    costs : mapping of str -> float, optional
        Delivery cost per person by payment segment (£).
    pool_measure : ReoffendingSpec
        How the pool's outcomes were measured (default the MoJ measure:
        offences in 365 days proven by conviction or caution within a further 182).
        The matched comparison measures the cohort the same way, whatever the
        spec pays on, because a comparison is only fair like for like.
    contract : pricing.Contract, optional
        The contract the spec belongs to; with tranches and an as-of date the
        appraisal settles it (``pricing.settle``).
    world : cohorts.synthetic.World, optional
        The synthetic world the tables come from (:meth:`from_world`): its
        true effects are shown beside the estimates.
    """

    spec: MetricSpec
    people: pd.DataFrame
    offences: pd.DataFrame
    pool: pd.DataFrame
    eligible: pd.DataFrame | None = None
    services: pd.DataFrame | None = None
    assessments: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    as_of: DateLike | None = None
    costs: Mapping[str, float] | None = None
    pool_measure: ReoffendingSpec = field(default_factory=ReoffendingSpec)
    contract: Contract | None = None
    world: World | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of", parse_as_of(self.as_of, "AppraisalInputs"))

    @property
    def truth(self) -> Mapping[str, float] | None:
        """The true effects of the synthetic world the tables come from (None for real data)."""
        return None if self.world is None else self.world.truth.effects

    @classmethod
    def from_world(
        cls, world: World, spec: MetricSpec | Contract, costs: Mapping[str, float] | None = None
    ) -> AppraisalInputs:
        """Inputs from a synthetic world, with its true effects for comparison.

        ``spec`` is a metric spec, or a ``pricing.Contract`` (then its spec,
        and the contract is settled on the world). ``costs`` default to
        :data:`DEMO_COSTS`.
        """
        contract = spec if isinstance(spec, Contract) else None
        return cls(
            spec=spec.spec if isinstance(spec, Contract) else spec,
            contract=contract,
            people=world.people,
            offences=world.offences,
            pool=world.pool,
            eligible=world.eligible,
            services=world.services,
            assessments=world.assessments,
            as_of=world.as_of,
            costs=DEMO_COSTS if costs is None else costs,
            world=world,
        )
