"""Shared test set-up: a non-interactive plotting backend, hypothesis derandomized
so that the same code gives the same test results on every run (CI included), and
one Spark session for the tests on the Spark engine (proven reoffending, settlement)."""

import os
import shutil
from pathlib import Path

import pytest

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
    "outcomes/test_reoffending.py",
    "test_examples.py",
    "pricing/test_settlement_engines.py",
    "cli/test_report.py",
    "report/test_workbook.py",
    "appraisal/test_appraisal.py",
    "report/test_sections.py",
    "studies/test_payment_simulation.py",
    "report/test_browser.py",
    "report/test_designer_browser.py",
    "validation/test_gaming.py",
    "validation/test_providers.py",
    "pricing/test_ratecard.py",
    "pricing/test_pseudonyms.py",
    "pricing/test_ratecard_example.py",
    "validation/test_equality.py",
    "report/test_words.py",
    "pricing/test_settlement_reference.py",
    "outcomes/test_scoring_reference.py",
    "cli/test_text.py",
    "pricing/test_settlement_properties.py",
    "cli/test_fuzz.py",
    "test_architecture.py",
    "cli/test_e2e.py",
    "cohorts/test_synthetic.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    tests = Path(__file__).resolve().parent

    def place(item) -> int:
        path = Path(item.path).resolve()
        return rank.get(path.relative_to(tests).as_posix(), len(rank)) if path.is_relative_to(tests) else len(rank)

    items.sort(key=place)  # stable: the order within a file is kept


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session for the run: one core, one shuffle partition, no UI (the data are tiny)."""
    pyspark = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (Debian: apt-get install default-jdk-headless)")
    session = (
        pyspark.SparkSession.builder.master("local[1]")
        .appName("desist-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
