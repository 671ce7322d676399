"""Fixtures for the chart tests: the chart rendered once with default values, once with everything on."""

from __future__ import annotations

import pytest
from tests.chart.manifests import ALL_ON_VALUES, Manifest, render


@pytest.fixture(scope="session")
def default_manifests() -> list[Manifest]:
    return render()


@pytest.fixture(scope="session")
def all_on_manifests() -> list[Manifest]:
    return render("--values", str(ALL_ON_VALUES))
