"""Every public function of the library has a numpydoc Parameters section (when it takes any) and Examples.

The API reference (docs/, built by mkdocs from these docstrings) is only as good as they are. A public function
is a module-level ``def`` whose name, and every part of whose module path, has no leading underscore, in the
library packages (every floor of tests/test_architecture.py but ``desist``). The docstrings are read from the
source with ``ast``, so nothing is imported. ``GAPS`` lists the functions that lacked a section when this test
was written: the list may only shrink. A new function must come with both sections; a gap filled must leave the
list (the test says which).
"""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from pathlib import Path

from tests.test_architecture import FLOORS

ROOT = Path(__file__).resolve().parents[1]
#: The library: every floor but the command line's.
PACKAGES = tuple(p for p in FLOORS if p != "desist")
#: A numpydoc section header: its name, then a line of dashes.
SECTION = re.compile(r"^(?P<name>[A-Z][A-Za-z ]+)\n-{3,}[ \t]*$", re.MULTILINE)

#: module.function -> the sections it lacks. Delete a line when its docstring gains them; never add one.
GAPS: dict[str, tuple[str, ...]] = {
    "ground.checks.check_parameter": ("Parameters",),
    "ground.checks.column_names": ("Parameters",),
    "ground.checks.described": ("Parameters", "Examples"),
    "ground.checks.rows_text": ("Parameters",),
    "ground.checks.shorten": ("Parameters",),
    "ground.checks.shown_value": ("Parameters", "Examples"),
    "ground.findings.by_severity": ("Parameters", "Examples"),
    "ground.tables.check_known_columns": ("Parameters",),
    "ground.tables.check_links": ("Parameters",),
    "ground.tables.report_links": ("Parameters",),
    "ground.tables.table_schema": ("Parameters",),
    "metrics.balance.balance_table": ("Examples",),
    "metrics.balance.balance_variables": ("Parameters",),
    "metrics.balance.balanced_flags": ("Parameters",),
    "metrics.balance.plot_balance": ("Parameters", "Examples"),
    "metrics.distances.covariate_points": ("Parameters",),
    "metrics.distances.nearest_on_points": ("Parameters", "Examples"),
    "metrics.distances.optimal_pairs": ("Parameters", "Examples"),
    "metrics.effects.estimate_effect": ("Parameters", "Examples"),
    "metrics.nearest.nearest_neighbours": ("Parameters",),
    "metrics.power.negative_binomial_shape": ("Parameters",),
    "metrics.power.power_curve": ("Parameters",),
    "metrics.power.simulated_power": ("Parameters",),
    "metrics.propensity.categorical_levels": ("Parameters", "Examples"),
    "metrics.propensity.check_covariate_values": ("Parameters",),
    "metrics.propensity.design_matrix": ("Parameters",),
    "metrics.propensity.formula_variables": ("Parameters", "Examples"),
    "metrics.propensity.level_codes": ("Parameters", "Examples"),
    "metrics.propensity.linear_predictor": ("Parameters", "Examples"),
    "metrics.propensity.treatment_indicator": ("Parameters",),
    "metrics.subclass.subclass_weights": ("Parameters", "Examples"),
    "metrics.subclass.subclassify": ("Parameters",),
    "metrics.survival.cox_fit": ("Parameters", "Examples"),
    "metrics.survival.cox_robust_covariance": ("Parameters", "Examples"),
    "metrics.survival.efron_score_residuals": ("Parameters", "Examples"),
    "metrics.survival.kaplan_meier": ("Parameters", "Examples"),
    "metrics.thresholds.confident_reduction_rule": ("Parameters",),
    "metrics.thresholds.default_rules": ("Parameters", "Examples"),
    "metrics.thresholds.doncaster_rule": ("Parameters", "Examples"),
    "metrics.thresholds.peterborough": ("Parameters",),
    "metrics.thresholds.peterborough_rule": ("Parameters",),
    "metrics.thresholds.point_estimate_rule": ("Parameters",),
    "metrics.variance.abadie_imbens_variance": ("Examples",),
    "metrics.variance.cluster_variance": ("Parameters", "Examples"),
    "metrics.variance.clusters_sum_of_squares": ("Parameters", "Examples"),
    "outcomes.engines.spark_runner.local_session": ("Parameters", "Examples"),
    "outcomes.engines.spark_runner.refuse_timestamps": ("Parameters", "Examples"),
    "outcomes.engines.spark_runner.spark_sql": ("Parameters", "Examples"),
    "pricing.audit.desist_version": ("Examples",),
    "pricing.audit.file_sha256": ("Parameters", "Examples"),
    "pricing.audit.verify": ("Parameters",),
    "pricing.inputs.achievement_history": ("Parameters",),
    "pricing.inputs.cohort_pricing": ("Parameters",),
    "pricing.inputs.cohort_probabilities": ("Parameters",),
    "pricing.inputs.model_probabilities": ("Parameters", "Examples"),
    "pricing.inputs.payment_segments": ("Parameters",),
    "pricing.inputs.priced_outcomes": ("Parameters", "Examples"),
    "pricing.inputs.segment_costs": ("Parameters",),
    "pricing.inputs.segment_rates": ("Parameters",),
    "pricing.simulate.timing_from_spec": ("Parameters",),
    "studies.payment_simulation.batched_logit": ("Parameters", "Examples"),
    "studies.payment_simulation.coverage_study": ("Parameters",),
    "studies.payment_simulation.matched_effects": ("Parameters", "Examples"),
    "studies.payment_simulation.payment_probability": ("Examples",),
    "studies.screen_calibration.flag_rates": ("Parameters",),
    "studies.screen_calibration.world_flags": ("Parameters", "Examples"),
    "validation.design.check_contract": ("Parameters",),
    "validation.equality_impact.age_band": ("Parameters", "Examples"),
    "validation.funnels.normal_limit": ("Parameters", "Examples"),
    "validation.measurement.counting_findings": ("Parameters",),
    "validation.payoff.payoff_from_spec": ("Parameters",),
    "validation.screening.measurement_tables": ("Parameters", "Examples"),
    "validation.screens.common_trend": ("Parameters", "Examples"),
    "validation.screens.decile_of": ("Parameters", "Examples"),
    "validation.screens.fit_glm": ("Parameters", "Examples"),
    "validation.screens.flag_values": ("Parameters", "Examples"),
    "validation.screens.glm_coefficients": ("Parameters", "Examples"),
    "validation.screens.holm": ("Parameters",),
    "validation.screens.percentile_rank": ("Parameters", "Examples"),
    "validation.screens.records": ("Parameters", "Examples"),
    "validation.screens.satterthwaite_df": ("Parameters", "Examples"),
    "validation.screens.separate_trends": ("Parameters", "Examples"),
    "validation.screens.winsorised_phi": ("Parameters", "Examples"),
}


def _public_modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not any(part.startswith("_") for part in parts):
                found.append((".".join(parts), path))
    return found


def _missing(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """The sections a public function's docstring lacks: Parameters (if it takes any), Examples."""
    sections = {m["name"] for m in SECTION.finditer(inspect.cleandoc(ast.get_docstring(function) or ""))}
    args = function.args
    takes = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    needed = ("Parameters",) if any(a is not None for a in takes) else ()
    return tuple(s for s in (*needed, "Examples") if s not in sections)


@cache
def gaps() -> dict[str, tuple[str, ...]]:
    """Every public function of the library that lacks a section, with what it lacks."""
    out = {}
    for module, path in _public_modules():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                if _is_overload(node):  # a typing stub: the implementation after it carries the docstring
                    continue
                if missing := _missing(node):
                    out[f"{module}.{node.name}"] = missing
    return out


def _is_overload(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(d, (ast.Name, ast.Attribute)) and ast.unparse(d).endswith("overload") for d in node.decorator_list
    )


def test_public_functions_have_parameters_and_examples():
    found = gaps()
    new = {name: lacks for name, lacks in found.items() if not set(lacks) <= set(GAPS.get(name, ()))}
    assert not new, "Public functions without a numpydoc section (write it; do not add them to GAPS):\n" + "\n".join(
        f"  {name}: {', '.join(lacks)}" for name, lacks in sorted(new.items())
    )


def test_gap_list_only_shrinks():
    found = gaps()
    filled = {name: lacks for name, lacks in GAPS.items() if found.get(name) != lacks}
    assert not filled, "GAPS lists sections these functions now have (or functions that are gone): update GAPS to\n" + (
        "\n".join(f"  {name!r}: {found[name]!r}," if name in found else f"  delete {name!r}" for name in sorted(filled))
    )


def test_a_missing_section_is_found():
    """The parser tells a docstring with both sections from one with neither (a test that could not fail is not one)."""
    good, bad = ast.parse(
        'def good(x):\n    """Do.\n\n    Parameters\n    ----------\n    x : int\n\n    Examples\n    --------\n'
        '    >>> good(1)\n    """\n\ndef bad(x):\n    """Do, with x."""\n'
    ).body[:2]
    bare = ast.parse('def bare():\n    """No parameters."""\n').body[0]
    assert _missing(good) == ()
    assert _missing(bad) == ("Parameters", "Examples")
    assert _missing(bare) == ("Examples",)
