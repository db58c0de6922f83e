"""Shared test set-up: a non-interactive plotting backend, hypothesis derandomized
so that the same code gives the same test results on every run (CI included), and
one Spark session for the tests on the Spark engine (proven reoffending, settlement)."""

import os
import re
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


#: A test on the Spark engine says so in its name or parameters ("test_csv_on_spark", "[spark-parquet]"): the
#: controller, which schedules by test id alone, sends every such test to one worker (see SparkOnOneWorker).
SPARK_ID = re.compile(r"(?:^|[\[\-_])spark(?:$|[\]\-_])")


def on_spark(item) -> bool:
    """The test starts or uses the Spark session: marked ``spark`` (the ``engine`` fixture's Spark case included)."""
    return item.get_closest_marker("spark") is not None or "spark_session" in getattr(item, "fixturenames", ())


def spark_id(nodeid: str) -> bool:
    """The test's name or parameters (after the file's path) say ``spark``."""
    return SPARK_ID.search(nodeid.split("::", 1)[-1]) is not None


def pytest_collection_modifyitems(config, items):
    """Longest first (the Spark tests, then LONGEST_FIRST), each file's tests in their order; every Spark test
    named so (the scheduler finds them by name)."""
    named = [item.nodeid for item in items if on_spark(item) != spark_id(item.nodeid)]
    if named:
        raise pytest.UsageError(
            "a test on Spark (marked spark or using spark_session) must say spark in its name, and no other "
            f"(tests/conftest.py sends the Spark tests to one worker by name): {', '.join(named)}"
        )
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    tests = Path(__file__).resolve().parent

    def place(item) -> int:
        if on_spark(item):
            return -1
        path = Path(item.path).resolve()
        return rank.get(path.relative_to(tests).as_posix(), len(rank)) if path.is_relative_to(tests) else len(rank)

    items.sort(key=place)  # stable: the order within a file is kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadfile``, the Spark tests of every file on one worker (one session, its JVM started and
    warmed once, not once per file), each other file on one worker (module fixtures built once); in the order
    collected, longest first (``--no-loadscope-reorder``: else xdist sends the files with most tests first).
    ``--dist loadgroup`` would do this by marks, but xdist 3.8 cannot set the group on pytest 9's test ids."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SparkOnOneWorker(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "spark" if spark_id(nodeid) else super()._split_scope(nodeid)

    return SparkOnOneWorker(config, log)


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
