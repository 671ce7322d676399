"""The environment a whole local run needs, set through monkeypatch (shared by the integration tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

KEY = "pipeline-test-key"


def pipeline_env(monkeypatch: pytest.MonkeyPatch, root: Path, api_url: str, **extra: str) -> None:
    """Storage under ``root``, the API at ``api_url``, a test key, fast retries; ``extra`` wins."""
    env = {
        "BREWERIES_STORAGE_ROOT": str(root),
        "BREWERIES_API_URL": api_url,
        "BREWERIES_PSEUDONYMIZATION_KEY": KEY,
        "BREWERIES_STAGE_RETRY_BACKOFF_SECONDS": "0.01",
        "BREWERIES_HTTP_BACKOFF_SECONDS": "0.01",
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
