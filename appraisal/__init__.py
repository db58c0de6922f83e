"""appraisal: the whole appraisal of a programme and its contract, as numbers and answers.

What ``desist demo`` and ``desist report`` compute, as a library: proven
reoffending and intermediate outcomes, the matched comparison and its
effects, sensitivity to hidden bias, payment rules and power, the difficulty
model, tariffs, the contract simulation and settlement, the gaming,
measurement and provider screens, the equality impact, the design findings,
and each reader's answer (:mod:`appraisal.answers`).

- :func:`appraise` runs every step on :class:`AppraisalInputs` and returns an
  immutable :class:`Appraisal`;
- :func:`demo` makes a synthetic world and appraises it, in one call.

It stands above ``validation`` (it calls every floor below) and below
``studies`` and ``desist``, which present it (terminal, HTML, PDF, workbook).

Examples
--------
>>> a = demo(seed=1, n_eligible=400, n_pool=4_000, draws=200)
>>> verdict = a.verdicts()["binary"]
>>> verdict.form in ("reduction", "increase", "inconclusive"), a.spend().draws
(True, 200)
"""

from appraisal.answers import Outlook, Sensitivity, SensitivityRow, Spend, Verdict
from appraisal.demo import demo
from appraisal.inputs import DEFAULT_SPEC, DEMO_COSTS, AppraisalInputs
from appraisal.result import CALIPER, READERS, Appraisal, RunOptions
from appraisal.steps import STEPS, appraise, step

__all__ = [
    "CALIPER",
    "DEFAULT_SPEC",
    "DEMO_COSTS",
    "READERS",
    "STEPS",
    "Appraisal",
    "AppraisalInputs",
    "Outlook",
    "RunOptions",
    "Sensitivity",
    "SensitivityRow",
    "Spend",
    "Verdict",
    "appraise",
    "demo",
    "step",
]
