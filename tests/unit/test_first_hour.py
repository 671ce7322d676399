"""What a new user meets first: `make help`, the README and the CLI tell the same story, and
the long set-ups say what they do before they do it."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from breweries.cli import build_parser
from breweries.settings import OTHER_VARIABLES, known_variables

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def documented_make_targets() -> set[str]:
    """The targets with a `## ` description: those `make help` lists."""
    makefile = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([a-z0-9-]+):[^=\n]*## ", makefile, re.MULTILINE))


def subcommands() -> set[str]:
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(commands.choices)


def test_make_help_lists_every_documented_target() -> None:
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True)
    listed = set(re.findall(r"^  make (\S+)", shown.stdout, re.MULTILINE))
    assert listed == documented_make_targets()


def test_every_phony_target_is_documented() -> None:
    makefile = (REPO / "Makefile").read_text().replace("\\\n", " ")
    (phony,) = re.findall(r"^\.PHONY: (.*)$", makefile, re.MULTILINE)
    assert set(phony.split()) - documented_make_targets() == set()


def test_the_readme_names_every_make_target_and_no_other() -> None:
    named = set(re.findall(r"\bmake ([a-z0-9-]+)", README))
    assert (documented_make_targets() - named, named - documented_make_targets()) == (set(), set())


def test_the_readme_names_every_subcommand() -> None:
    named = set(re.findall(r"\bbreweries ([a-z][a-z-]*)", README))
    assert subcommands() - named == set()


def make_plan(target: str) -> subprocess.CompletedProcess[str]:
    """What `make TARGET` would run on a first setup: -W pretends pyproject.toml changed, so the
    Python environment, the slowest of the prerequisites, would be made again."""
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", target],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_make_cluster_up_checks_the_machine_before_building_anything() -> None:
    plan = make_plan("cluster-up")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.splitlines()[0] == "k8s/cluster-up.sh --preflight"


def test_the_first_setup_says_what_it_installs_and_shows_pips_progress() -> None:
    lines = make_plan("setup").stdout.splitlines()
    (install,) = (i for i, line in enumerate(lines) if "pip install" in line and '-e ".[test]"' in line)
    assert "--quiet" not in lines[install]
    assert any("setup: creating" in line and "packages" in line for line in lines[:install])
    assert any("connector-jars.sh" in line and "tables" in line for line in lines[install:])


def test_the_readme_configuration_table_lists_every_setting_and_no_other() -> None:
    first_cells = re.findall(r"^\| (`BREWERIES_[^|]*)\|", README, re.MULTILINE)
    documented = {name for cell in first_cells for name in re.findall(r"`(BREWERIES_[A-Z0-9_]+)`", cell)}
    settings = set(known_variables()) - set(OTHER_VARIABLES)
    assert (settings - documented, documented - settings) == (set(), set())
