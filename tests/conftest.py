"""Shared test set-up: a non-interactive plotting backend, and hypothesis derandomized
so that the same code gives the same test results on every run (CI included)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from hypothesis import settings  # noqa: E402

settings.register_profile("desist", derandomize=True, deadline=None)
settings.load_profile("desist")

#: The test files that take longest (a Spark session, example scripts, whole stories), measured with
#: --durations=0. They go to the workers first, so that no long file starts last and leaves the other
#: workers idle while it runs.
LONGEST_FIRST = (
    "test_outcomes_reoffending.py",
    "test_examples.py",
    "test_cli_report.py",
    "test_report_workbook.py",
    "test_appraisal.py",
    "test_report_sections.py",
    "test_power_simulation.py",
    "test_report_browser.py",
    "test_validation_gaming.py",
    "test_cli_text.py",
    "test_pricing_settlement_properties.py",
    "test_cli_fuzz.py",
    "test_architecture.py",
    "test_cli_e2e.py",
    "test_world.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order within a file is kept
