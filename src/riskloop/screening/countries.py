"""Country names as the lists write them -> ISO 3166-1 alpha-2 (or None: unknowns are dropped).

OFAC writes "Korea, North" and "Burma", the UN "Iran (Islamic Republic of)", FollowTheMoney
lower-case codes. pycountry knows the official and common names; the table below holds the
list spellings it does not, and Kosovo (``XK``, user-assigned but what every list uses).
"""

from __future__ import annotations

from functools import lru_cache

import pycountry
from anyascii import anyascii

_ALIASES = {
    "bahamas, the": "BS",
    "brunei": "BN",
    "burma": "MM",
    "cape verde": "CV",
    "china, hong kong special administrative region": "HK",
    "congo, democratic republic of the": "CD",
    "congo, republic of the": "CG",
    "cote d ivoire": "CI",
    "cote d'ivoire": "CI",
    "democratic republic of the congo": "CD",
    "east timor": "TL",
    "gambia, the": "GM",
    "iran (islamic republic of)": "IR",
    "ivory coast": "CI",
    "korea, north": "KP",
    "korea, south": "KR",
    "kosovo": "XK",
    "macau": "MO",
    "macedonia": "MK",
    "macedonia, the former yugoslav republic of": "MK",
    "north korea": "KP",
    "palestinian": "PS",
    "possibly palestinian": "PS",
    "region: crimea": "UA",
    "region: gaza": "PS",
    "region: northern mali": "ML",
    "republic of the congo": "CG",
    "russia": "RU",
    "south korea": "KR",
    "state of palestine": "PS",
    "the gambia": "GM",
    "turkey": "TR",
    "uk": "GB",
    "usa": "US",
    "west bank": "PS",
    "xk": "XK",
}

# Places the lists name that are no current country: dropped without a fuzzy search.
_NOT_COUNTRIES = frozenset(
    {
        "czechoslovakia",
        "former soviet union",
        "netherlands antilles",
        "region: kafia kingi",
        "soviet union",
        "stateless",
        "undetermined",
        "unknown",
        "ussr",
        "yugoslavia",
    }
)


@lru_cache(maxsize=4096)
def country_code(text: str, *, codes: bool = True) -> str | None:
    """The alpha-2 code of a country name (or, with ``codes``, an alpha-2/alpha-3 code), or
    None when it is not one. The UN writes "na" for "not available", so its parser passes
    ``codes=False``.

    >>> [country_code(n) for n in ("Korea, North", "Iran (Islamic Republic of)", "ru")]
    ['KP', 'IR', 'RU']
    >>> country_code("na", codes=False) is None
    True
    """
    raw = " ".join(text.split())
    if not raw or raw.startswith("-0-"):
        return None
    key = anyascii(raw).casefold().strip(" .")
    if key in _ALIASES:
        return _ALIASES[key]
    if key in _NOT_COUNTRIES:
        return None
    if len(key) <= 3 and not (codes and key.isalpha()):
        return None
    try:
        return str(pycountry.countries.lookup(raw).alpha_2)
    except LookupError:
        pass
    if len(key) < 4:
        return None
    # search_fuzzy also matches subdivisions ("Kosovo" -> Serbia, "General" -> Chile):
    # take its answer only when the text is part of that country's own name.
    try:
        found = pycountry.countries.search_fuzzy(raw)
    except LookupError:
        return None
    if len(found) != 1:
        return None
    country = found[0]
    names = (
        getattr(country, "name", ""),
        getattr(country, "official_name", ""),
        getattr(country, "common_name", ""),
    )
    if any(key in anyascii(n).casefold() for n in names if n):
        return str(country.alpha_2)
    return None
