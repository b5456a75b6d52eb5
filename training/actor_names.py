"""Build the actor names table the runtime matches (`make actor-names`): states from countryinfo, news usage and
organisations from data/actors/.

countryinfo (MIT) gives each state's ISO 3166-1 alpha-3 code, name, other spellings, capital and demonym; this
module picks the spellings news uses, gives every name to one state, and adds data/actors/news_names.tsv (variants,
exclusions, ambiguous names, non-actor names) and data/actors/organisations.tsv. The table and a manifest naming
source, licence, versions and command are written to service/model/actor_names/, so the runtime needs no package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from service.model.actors import NAMES_DIR
from service.model.paths import DATA_DIR

ACTORS_DATA = DATA_DIR / "actors"
COMMAND = "make actor-names (python -m training.actor_names)"
# The order in which kinds of name claim a spelling that several states share ("Chinese": China, Hong Kong, Macau):
# a state's own name first, then its other spellings, demonyms and capital; within a kind the larger population.
CLAIM_ORDER = ("name", "spelling", "demonym", "capital")


@dataclass
class Table:
    actors: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    ambiguous: list[str] = field(default_factory=list)

    def claim(self, name: str, actor: str) -> None:
        self.names.setdefault(name, actor)


def usable(name: str) -> bool:
    """A spelling news writes: not an inverted index form ("Iran, Islamic Republic of"), a code or a stray space."""
    return len(name) >= 4 and "," not in name and name == name.strip() and any(char.islower() for char in name)


def plural(demonym: str) -> str | None:
    """ "Iranian" → "Iranians", "Pakistani" → "Pakistanis"; none for "Chinese", "Swiss", "British"."""
    return None if demonym.endswith(("s", "sh", "ch", "e")) else demonym + "s"


def country_claims(countries: list[dict[str, Any]]) -> list[tuple[int, int, str, str]]:
    """(kind rank, -population, name, alpha-3) for every usable name of every state in the source."""
    claims: list[tuple[int, int, str, str]] = []
    for country in countries:
        code = (country.get("ISO") or {}).get("alpha3")
        if not code:
            continue
        population = -(country.get("population") or 0)
        capitals = country.get("capital") or []
        demonyms = [part.strip() for part in (country.get("demonym") or "").split(",") if part.strip()]
        kinds = {
            "name": [country["name"]],
            "spelling": country.get("altSpellings") or [],
            "demonym": [*demonyms, *filter(None, map(plural, demonyms))],
            "capital": capitals if isinstance(capitals, list) else [capitals],
        }
        for kind, names in kinds.items():
            claims.extend((CLAIM_ORDER.index(kind), population, name, code) for name in names if name and usable(name))
    return sorted(claims)


def read_tsv(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def build(countries: list[dict[str, Any]], news: list[list[str]], organisations: list[list[str]]) -> Table:
    table = Table()
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for actor, kind, name in news:
        by_kind.setdefault(kind, []).append((actor, name))
    excluded = {name for _, name in by_kind.get("exclude", [])}
    withdrawn = {actor for actor, _ in by_kind.get("withdrawn", [])}
    countries = [country for country in countries if (country.get("ISO") or {}).get("alpha3") not in withdrawn]
    for country in sorted(countries, key=lambda country: -(country.get("population") or 0)):
        code = (country.get("ISO") or {}).get("alpha3")
        if code and code not in table.actors:
            table.actors[code] = [country["name"], "country"]
    for actor, name in by_kind.get("state", []):
        table.actors[actor] = [name, "country"]
    for actor, name in by_kind.get("name", []):
        table.actors[actor][0] = name
    for _, name in by_kind.get("block", []):
        table.claim(name, "")
    for actor, name in by_kind.get("variant", []):
        table.claim(name, actor)
    for actor, name, variants in organisations:  # before the states: "Brussels" in news is mostly the EU
        table.actors[actor] = [name, "organisation"]
        for variant in [name, *variants.split("|")]:
            table.claim(variant, actor)
    for _, _, name, code in country_claims(countries):
        if name not in excluded:
            table.claim(name, code)
    table.ambiguous = sorted(name for _, name in by_kind.get("ambiguous", []))
    return table


def load_countryinfo() -> list[dict[str, Any]]:
    from countryinfo import CountryInfo  # the [names] extra, for this build only

    return [dict(country) for country in CountryInfo.all().values()]


def write(table: Table, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    body = json.dumps(
        {"actors": table.actors, "names": dict(sorted(table.names.items())), "ambiguous": table.ambiguous},
        ensure_ascii=False,
        indent=0,
        sort_keys=True,
    )
    (out / "names.json").write_text(body + "\n", encoding="utf-8")
    inputs = [ACTORS_DATA / "news_names.tsv", ACTORS_DATA / "organisations.tsv"]
    manifest = {
        "source_package": f"countryinfo=={metadata.version('countryinfo')}",
        "source_licence": "MIT",
        "source_fields": "ISO.alpha3, name, altSpellings, demonym, capital, population (to settle shared names)",
        "additions": {path.name: _sha256(path) for path in inputs},
        "command": COMMAND,
        "states": sum(kind == "country" for _, kind in table.actors.values()),
        "organisations": sum(kind == "organisation" for _, kind in table.actors.values()),
        "names": sum(bool(actor) for actor in table.names.values()),
        "files": {"names.json": {"sha256": _sha256(out / "names.json")}},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=NAMES_DIR, help="folder of names.json (default: %(default)s)")
    args = parser.parse_args(argv)
    news = read_tsv(ACTORS_DATA / "news_names.tsv")
    organisations = read_tsv(ACTORS_DATA / "organisations.tsv")
    manifest = write(build(load_countryinfo(), news, organisations), args.out)
    print(json.dumps({key: manifest[key] for key in ("states", "organisations", "names")}))


if __name__ == "__main__":
    main()
