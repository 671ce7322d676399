"""The documents point at things that exist: every test they cite as proof is a real test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TEST_SOURCES = "\n".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py"))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_cited_test_exists(document: Path) -> None:
    text = document.read_text()
    files = set(re.findall(r"\b(test_\w+\.py)\b", text))
    names = set(re.findall(r"::(test_\w+)", text))
    missing_files = {f for f in files if not list((REPO / "tests").rglob(f))}
    missing_tests = {n for n in names if not re.search(rf"^def {n}\(", TEST_SOURCES, re.MULTILINE)}
    assert (missing_files, missing_tests) == (set(), set())


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves(document: Path) -> None:
    links = re.findall(r"\]\(((?!https?://|#)[^)#]+)", document.read_text())
    assert [link for link in links if not (document.parent / link).exists()] == []
