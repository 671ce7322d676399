"""Records the API should not send, served by the replay and taken through every stage.

Each one is kept (typed, normalized, flagged in the quality report) or quarantined with its reason,
and the counts add up from the source to silver, the quarantine and gold.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest
from pyspark.sql import functions as F
from tests.integration.lake_reads import published
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK
from breweries.settings import Settings
from breweries.stages.gold import GOLD
from breweries.stages.quality import QUALITY_CHECKS
from breweries.stages.silver import QUARANTINE, SILVER

pytestmark = pytest.mark.faults

RUN_DATE = "2026-04-01"
LONG_NAME = "Very Long Brewing " * 5_000  # 90,000 characters
ODD_NAME = "Brauerei \u202egnuruaB\u202c 🍺 e\u0301 \u0000 中文"


def brewery(id_: str | None, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": id_,
        "name": f"Brewery {id_}",
        "brewery_type": "micro",
        "city": "Springfield",
        "state_province": "Oregon",
        "state": "Oregon",
        "country": "United States",
        "phone": None,
        "longitude": -122.6,
        "latitude": 45.5,
    }
    return {**base, **fields}


def misbehaving_records(snapshot: list[dict]) -> list[dict]:
    missing_keys = brewery("f-missing-keys")
    del missing_keys["phone"], missing_keys["city"]
    return [
        *snapshot[:40],
        brewery(None),  # no id
        brewery(""),  # empty id
        brewery("   "),  # blank id
        brewery("f-dup", name="Dup Sparse"),  # the same id twice, different contents:
        brewery("f-dup", name="Dup Complete", phone="5035550100"),  # the more complete one wins
        brewery("f-string-coords", longitude="-122.5 ", latitude="45.25"),
        brewery("f-out-of-range", latitude=123.0),
        brewery("f-garbage-coords", longitude="east-ish", latitude="NaN"),
        brewery("f-unknown-type", brewery_type="Nano-Brewpub"),
        brewery("f-extra-fields", rating=4.5, tags=["sour", "ipa"]),
        missing_keys,
        brewery("f-long", name=LONG_NAME),
        brewery("f-odd-text", name=ODD_NAME),
        brewery("f-no-state", country="Isle of Man", state_province=None, state=None),
    ]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, spark, snapshot):
    from breweries.api.replay import ReplayServer, ReplayState

    root = tmp_path_factory.mktemp("misbehaving")
    records = misbehaving_records(snapshot)
    with pytest.MonkeyPatch.context() as monkeypatch, ReplayServer(ReplayState(records)) as replay:
        pipeline_env(monkeypatch, root, replay.url)
        assert main(["run", "--date", RUN_DATE]) == EXIT_OK  # warnings do not stop the run
    settings, day = Settings(storage_root=str(root)), date.fromisoformat(RUN_DATE)
    silver = published(spark, settings, SILVER, day)
    quarantine = published(spark, settings, QUARANTINE, day)
    gold = published(spark, settings, GOLD, day)
    report = json.loads(
        (root / "silver" / "_quality" / f"snapshot_date={RUN_DATE}" / "report.json").read_text()
    )
    report["table"] = {
        r["check"]: r.asDict() for r in published(spark, settings, QUALITY_CHECKS, day).collect()
    }
    return records, {r["id"]: r for r in silver.collect()}, quarantine.collect(), gold, report


def test_every_served_record_is_in_silver_or_quarantined_with_its_reason(outcome):
    records, silver, quarantine, _, report = outcome
    assert len(silver) + len(quarantine) == len(records)
    assert Counter(r["quarantine_reason"] for r in quarantine) == {"missing_id": 3, "duplicate_id": 1}
    assert report["source"]["bronze_records"] == len(records)
    assert (report["source"]["quarantined"], report["source"]["duplicates_removed"]) == (3, 1)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["complete_against_source"]["passed"] and checks["complete_against_source"][
        "observed"
    ] == len(silver)


def test_a_duplicate_id_keeps_its_most_complete_record(outcome):
    _, silver, quarantine, _, _ = outcome
    assert (silver["f-dup"]["name"], silver["f-dup"]["phone"]) == ("Dup Complete", "5035550100")
    (dropped,) = [r for r in quarantine if r["quarantine_reason"] == "duplicate_id"]
    assert json.loads(dropped["record"])["name"] == "Dup Sparse"


def test_values_are_typed_and_what_is_odd_is_kept_and_reported(outcome):
    _, silver, _, _, report = outcome
    assert (silver["f-string-coords"]["longitude"], silver["f-string-coords"]["latitude"]) == (-122.5, 45.25)
    assert (silver["f-garbage-coords"]["longitude"], silver["f-garbage-coords"]["latitude"]) == (None, None)
    assert silver["f-out-of-range"]["latitude"] == 123.0
    assert silver["f-unknown-type"]["brewery_type"] == "nano-brewpub"
    assert (silver["f-missing-keys"]["phone"], silver["f-missing-keys"]["city"]) == (None, None)
    assert silver["f-long"]["name"] == LONG_NAME.strip() and silver["f-odd-text"]["name"] == ODD_NAME
    checks = {c["name"]: c for c in report["checks"] if not c["passed"]}
    assert set(checks) == {"known_brewery_type", "coordinates_in_range", "schema_as_documented"}
    assert checks["known_brewery_type"]["observed"] == 1 and checks["coordinates_in_range"]["observed"] == 1
    assert checks["schema_as_documented"]["message"] == "unexpected fields: rating, tags"
    assert all(c["severity"] == "warning" for c in checks.values())
    # The checks table says what the report says, check for check and column for column.
    assert report["table"] == {
        c["name"]: {
            "check": c["name"], "severity": c["severity"], "passed": c["passed"],
            "observed": c["observed"], "expected": c["expected"], "detail": c["message"],
        }
        for c in report["checks"]
    }  # fmt: skip
    assert {name for name, row in report["table"].items() if not row["passed"]} == set(checks)
    assert report["table"]["schema_as_documented"]["detail"] == "unexpected fields: rating, tags"


def test_a_country_without_states_is_counted_under_a_null_state(outcome):
    _, silver, _, gold, _ = outcome
    assert silver["f-no-state"]["state"] is None and silver["f-no-state"]["country"] == "Isle of Man"
    isle = gold.filter(F.col("country") == "Isle of Man").collect()
    assert [(r["state"], r["brewery_type"], r["brewery_count"]) for r in isle] == [(None, "micro", 1)]
    assert gold.agg(F.sum("brewery_count")).first()[0] == len(silver)
