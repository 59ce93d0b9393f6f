"""TLP 2.0 marking definitions (FIRST TLP 2.0 as published by OASIS for STIX 2.1).

The ids and contents are fixed by the OASIS TLP 2.0 extension
(``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d``); every consumer recognises them by id,
so they are reproduced here verbatim rather than generated.
"""

from __future__ import annotations

from typing import Any

TLP_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

TLP_IDS: dict[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_BY_ID = {v: k for k, v in TLP_IDS.items()}

#: Rank: a higher number is more restrictive.
TLP_RANK = {"clear": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}

# TLP 1.0 marking definitions (stix2's TLP_WHITE...), still common in feeds.
_TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}


class TLPError(ValueError):
    pass


def normalise(level: str) -> str:
    """``TLP:AMBER+STRICT``, ``amber+strict``, ``white`` -> canonical TLP 2.0 name."""
    v = level.strip().lower().removeprefix("tlp:").removeprefix("tlp ").strip()
    if v == "white":
        v = "clear"
    if v not in TLP_IDS:
        raise TLPError(f"unknown TLP level {level!r}; expected one of: {', '.join(TLP_IDS)}")
    return v


def marking_definition(level: str) -> dict[str, Any]:
    level = normalise(level)
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_IDS[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{level.upper()}",
        "extensions": {TLP_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


def level_of_refs(refs: list[str] | None) -> str | None:
    """The most restrictive TLP level among ``object_marking_refs`` (2.0 or 1.0 ids), if any."""
    best: str | None = None
    for r in refs or []:
        lvl = TLP_BY_ID.get(r) or _TLP1_IDS.get(r)
        if lvl and (best is None or TLP_RANK[lvl] > TLP_RANK[best]):
            best = lvl
    return best


def stricter(a: str, b: str) -> str:
    return a if TLP_RANK[normalise(a)] >= TLP_RANK[normalise(b)] else b
