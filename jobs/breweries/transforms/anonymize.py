"""Pseudonymization: sensitive columns replaced by a keyed hash (HMAC-SHA256, hex).

An unsalted SHA-256 of a phone number is reversible by hashing every possible number; a keyed hash
is not without the key. Equal inputs still give equal tokens, so joins and counts keep working.
HMAC is built from Spark's own sha2/concat/unhex, so it runs in the JVM with no Python UDF.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

_SHA256_BLOCK_BYTES = 64


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer padded keys of RFC 2104 for SHA-256."""
    if len(key) > _SHA256_BLOCK_BYTES:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK_BYTES, b"\x00")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256_hex(column: Column, key: bytes) -> Column:
    """HMAC-SHA256(key, UTF-8 of the value) as 64 hex characters; null stays null."""
    inner_pad, outer_pad = _hmac_pads(key)
    message = column.cast("string").cast("binary")
    inner_digest = F.unhex(F.sha2(F.concat(F.lit(inner_pad), message), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner_digest), 256)


def pseudonymize_columns(df: DataFrame, columns: Iterable[str], key: bytes) -> DataFrame:
    """``df`` with each of ``columns`` replaced by its keyed hash."""
    columns = list(columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"cannot pseudonymize {', '.join(missing)}: no such column "
            f"(the table has {', '.join(df.columns)})"
        )
    return df.withColumns({c: hmac_sha256_hex(F.col(c), key) for c in columns})
