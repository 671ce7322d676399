"""What the Open Brewery DB API returns: its fields and the values it documents."""

from __future__ import annotations

# The 16 fields of a brewery, in the order the API returns them. `state` and `street` are
# deprecated copies of state_province and address_1.
API_FIELDS: tuple[str, ...] = (
    "id", "name", "brewery_type", "address_1", "address_2", "address_3", "city",
    "state_province", "postal_code", "country", "longitude", "latitude", "phone",
    "website_url", "state", "street",
)  # fmt: skip

# Fields the list endpoint can sort by (`sort=name:desc`).
SORTABLE_FIELDS = frozenset(
    {"id", "name", "brewery_type", "city", "state_province", "postal_code", "country"}
)

BREWERY_TYPES = frozenset(
    {
        "micro", "nano", "regional", "brewpub", "large", "planning", "bar", "contract",
        "proprietor", "closed", "taproom", "cidery", "beergarden", "location", "unknown",
    }
)  # fmt: skip
