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

#: The test files that take longest (wall clock with --durations=0 on a busy machine, 2026-12-04; the Spark group,
#: longer still, goes before them). They go to the workers first, so that no long file starts last and leaves the
#: other workers idle while it runs.
LONGEST_FIRST = (
    "report/test_designer_browser.py",
    "appraisal/test_appraisal.py",
    "pricing/test_settlement_engines.py",
    "test_examples.py",
    "report/test_workbook.py",
    "cli/test_text.py",
    "pricing/test_ratecard_example.py",
    "validation/test_providers.py",
    "studies/test_payment_simulation.py",
    "cli/test_report.py",
    "cli/test_fuzz.py",
    "outcomes/test_reoffending.py",
    "cli/test_subprocess.py",
    "cli/test_e2e.py",
    "test_docstrings.py",
    "test_architecture.py",
    "ground/test_mapping_examples.py",
    "cohorts/test_synthetic.py",
    "validation/test_gaming.py",
    "pricing/test_settlement_properties.py",
    "pricing/test_ratecard.py",
    "report/test_supply_chain.py",
    "cli/test_contracts.py",
    "report/test_browser.py",
    "report/test_words.py",
    "validation/test_finding_order.py",
    "outcomes/test_scoring_reference.py",
    "cohorts/test_linkage.py",
)


#: The xdist group of every test on the Spark engine, whichever file it is in.
SPARK = "spark"


def on_spark(item) -> bool:
    """The test starts or uses the Spark session: marked ``spark`` (the ``engine`` fixture's Spark case included)."""
    return item.get_closest_marker("spark") is not None or "spark_session" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """Longest first, and one xdist group per test file but one for every Spark test (``--dist loadgroup``).

    A group runs on one worker: a file's module fixtures are built once, as under ``--dist loadfile``, and the Spark
    tests share one session (a JVM started and warmed once, not once per file). xdist keeps this order with
    ``--no-loadscope-reorder`` (else it sends the groups with most tests first)."""
    rank = {name: i for i, name in enumerate((SPARK, *LONGEST_FIRST))}
    tests = Path(__file__).resolve().parent

    def group(item) -> str:
        path = Path(item.path).resolve()
        if on_spark(item):
            return SPARK
        return path.relative_to(tests).as_posix() if path.is_relative_to(tests) else str(path)

    for item in items:
        item.add_marker(pytest.mark.xdist_group(group(item)))
    items.sort(key=lambda item: rank.get(group(item), len(rank)))  # stable: the order within a group is kept


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
