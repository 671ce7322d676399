"""Keyed pseudonymization: real HMAC-SHA256, nulls kept, joins still possible, key matters."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from chispa import assert_df_equality

from breweries.transforms.anonymize import hmac_sha256_hex, pseudonymize_columns

KEY = b"test-key-not-a-secret"


def reference_hmac(value: str, key: bytes = KEY) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.fixture
def breweries(spark):
    return spark.createDataFrame(
        [
            ("a", "’t Drankorgel", "+32 496 76 40 63", "Belgium"),
            ("b", "(405) Brewing Co", "4058160490", "United States"),
            ("c", "No Phone Brewery", None, "Germany"),
        ],
        "id string, name string, phone string, country string",
    )


def test_tokens_are_the_hmac_sha256_of_the_utf8_value(spark, breweries):
    actual = pseudonymize_columns(breweries, ["name", "phone"], KEY)
    expected = spark.createDataFrame(
        [
            ("a", reference_hmac("’t Drankorgel"), reference_hmac("+32 496 76 40 63"), "Belgium"),
            ("b", reference_hmac("(405) Brewing Co"), reference_hmac("4058160490"), "United States"),
            ("c", reference_hmac("No Phone Brewery"), None, "Germany"),
        ],
        breweries.schema,
    )
    assert_df_equality(actual, expected, ignore_row_order=True)


@pytest.mark.parametrize("key", [b"", b"k", b"x" * 64, b"long key " * 20])
def test_every_key_length_matches_the_reference(spark, key):
    # RFC 2104: keys longer than the 64-byte block are hashed first, shorter ones zero-padded.
    df = spark.createDataFrame([("Thüringen",)], "v string")
    assert df.select(hmac_sha256_hex(df.v, key)).first()[0] == reference_hmac("Thüringen", key)


def test_no_raw_value_survives_and_equal_inputs_give_equal_tokens(spark, breweries):
    twice = breweries.unionByName(breweries)
    anonymized = pseudonymize_columns(twice, ["name", "phone"], KEY).collect()
    raw_values = {v for r in breweries.collect() for v in (r.name, r.phone) if v}
    assert not raw_values & {v for r in anonymized for v in (r.name, r.phone)}
    tokens_by_id: dict[str, set[str]] = {}
    for row in anonymized:
        tokens_by_id.setdefault(row.id, set()).add(row.name)
    assert all(len(tokens) == 1 for tokens in tokens_by_id.values())


def test_a_different_key_gives_different_tokens(spark, breweries):
    first = pseudonymize_columns(breweries, ["name"], KEY).orderBy("id").collect()
    second = pseudonymize_columns(breweries, ["name"], b"another-key").orderBy("id").collect()
    assert all(a.name != b.name for a, b in zip(first, second, strict=True))


def test_unknown_column_is_named_in_the_error(breweries):
    with pytest.raises(ValueError, match="cannot pseudonymize email"):
        pseudonymize_columns(breweries, ["name", "email"], KEY)
