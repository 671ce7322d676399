"""What the Open Brewery DB API returns: its fields and the values it documents."""

from __future__ import annotations

# The 16 fields of a brewery, in the order the API returns them. `state` and `street` are
# deprecated copies of state_province and address_1.
API_FIELDS: tuple[str, ...] = (
    "id", "name", "brewery_type", "address_1", "address_2", "address_3", "city",
    "state_province", "postal_code", "country", "longitude", "latitude", "phone",
    "website_url", "state", "street",
)  # fmt: skip

# What each field holds, as silver keeps it: the comment of its column in the tables.
FIELD_DESCRIPTIONS: dict[str, str] = {
    "id": "Open Brewery DB id (a UUID), unique within a snapshot date",
    "name": "brewery name, trimmed",
    "brewery_type": "micro, nano, regional, brewpub, large, planning, bar, contract, proprietor, closed, ...",
    "address_1": "street address, first line",
    "address_2": "street address, second line",
    "address_3": "street address, third line",
    "city": "city",
    "state_province": "state or province",
    "postal_code": "postal code, as text (leading zeros kept)",
    "country": "country (partition)",
    "longitude": "longitude in degrees (WGS 84), null when unknown or out of range",
    "latitude": "latitude in degrees (WGS 84), null when unknown or out of range",
    "phone": "phone number as the API gives it (free text)",
    "website_url": "website URL",
    "state": "state or province (partition; the API's state_province)",
    "street": "the API's deprecated copy of address_1",
}

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
