"""Each cluster test and benchmark has run dates of its own: a date another one already wrote is not
fresh, and the tests that need a fresh date fail on a cluster where the other ran first."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATE = re.compile(r'"(20\d\d-\d\d-\d\d)"')


def test_no_two_cluster_tests_or_benchmarks_share_a_run_date() -> None:
    users: dict[str, set[str]] = defaultdict(set)
    for path in [*sorted((REPO / "tests" / "e2e").glob("test_*.py")), REPO / "bench" / "cluster_run.py"]:
        for date in DATE.findall(path.read_text()):
            users[date].add(path.name)
    assert users, "no run dates found: the pattern no longer matches how the tests write them"
    shared = {date: sorted(files) for date, files in users.items() if len(files) > 1}
    assert shared == {}
