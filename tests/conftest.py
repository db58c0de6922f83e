"""Shared test set-up: a non-interactive plotting backend, and hypothesis derandomized
so that the same code gives the same test results on every run (CI included)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from hypothesis import settings  # noqa: E402

settings.register_profile("desist", derandomize=True, deadline=None)
settings.load_profile("desist")
