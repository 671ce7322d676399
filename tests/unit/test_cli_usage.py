"""What the command says about itself: its help for a new user, and usage errors of the command used."""

from __future__ import annotations

import pytest

from breweries.cli import main
from breweries.errors import SettingsError
from breweries.pipeline import STAGE_NAMES


def test_help_starts_with_what_the_tool_is_and_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    first = " ".join(out.split("\n\n")[1].split())  # the paragraph after the usage line
    assert first.startswith("Runs the Open Brewery DB medallion pipeline")
    assert " -> ".join(STAGE_NAMES) in first and "Kubernetes" in first and "breweries demo" in first
    assert "parsing and dispatch" not in out
    assert all(f"\n    {command} " in out for command in ("run", "demo", "status", "sql"))


def test_an_unknown_flag_after_a_command_shows_that_commands_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--storag-root", "X"])
    assert exit_info.value.code == SettingsError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("usage: breweries run ") and "--storage-root STORAGE_ROOT" in err
    assert err.splitlines()[-1] == "breweries run: error: unrecognized arguments: --storag-root X"
