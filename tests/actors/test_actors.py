"""Actor mentions: the hard cases of the issue, offsets, the shipped names table and the labeled test set."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from benchmarks.actors import read_test_set, score
from service.model.actors import NAMES_DIR, ActorMatcher, default_matcher, read_table
from training.actor_names import build


def found(text: str) -> list[tuple[str, str]]:
    return [(mention["text"], mention["id"]) for mention in default_matcher().find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chad closed its border with Sudan.", [("Chad", "TCD"), ("Sudan", "SDN")]),
        ("Chad Morrison, a manager, said the shipment was late.", []),
        ("Jordan Reyes scored twice.", []),
        ("Visiting Jordan, the envoy met King Abdullah of Jordan.", [("Jordan", "JOR"), ("Jordan", "JOR")]),
        ("Michael Jordan said the deal was off.", []),
        ("In Amman, Jordan, the talks resumed.", [("Amman", "JOR"), ("Jordan", "JOR")]),
        ("Georgia asked the EU to speed up talks.", [("Georgia", "GEO"), ("EU", "EU")]),
        ("Voters in Atlanta, Georgia, waited for hours.", []),
        ("Officials in the state of Georgia certified the result.", []),
        ("Georgia Tech won the title.", []),
        ("Niger and Nigeria restored power supplies.", [("Niger", "NER"), ("Nigeria", "NGA")]),
        ("Nigerian and Nigerien officers met.", [("Nigerian", "NGA"), ("Nigerien", "NER")]),
        ("The Niger Delta suffers from oil spills.", []),
        ("Papua New Guinea and Guinea signed a pact.", [("Papua New Guinea", "PNG"), ("Guinea", "GIN")]),
        ("Guinea-Bissau and Equatorial Guinea met.", [("Guinea-Bissau", "GNB"), ("Equatorial Guinea", "GNQ")]),
        ("The mine in New Guinea was cut off.", []),
        ("The U.S. imposed sanctions on Iranian firms.", [("U.S.", "USA"), ("Iranian", "IRN")]),
        ("A U.S.-funded post near the border.", [("U.S.", "USA")]),
        ("Britain and France agreed to share costs.", [("Britain", "GBR"), ("France", "FRA")]),
        ("Tehran said it would retaliate.", [("Tehran", "IRN")]),
        ("Iran's envoy met Pakistani officials.", [("Iran", "IRN"), ("Pakistani", "PAK")]),
        ("Romania and Oman signed a deal.", [("Romania", "ROU"), ("Oman", "OMN")]),
        ("The Indian Ocean and Latin America were on the agenda.", []),
        ("Ella Washington, a nurse, won an award.", []),
        ("Washington and Beijing traded accusations.", [("Washington", "USA"), ("Beijing", "CHN")]),
        ("The UN Security Council and NATO met.", [("UN Security Council", "UN"), ("NATO", "NATO")]),
    ],
)
def test_hard_cases(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_mentions_carry_offsets_name_and_type() -> None:
    text = "Pakistani troops and the African Union met in Tehran."
    mentions = default_matcher().find(text)
    assert [(m["id"], m["name"], m["type"]) for m in mentions] == [
        ("PAK", "Pakistan", "country"),
        ("AU", "African Union", "organisation"),
        ("IRN", "Iran", "country"),
    ]
    for mention in mentions:
        assert list(mention) == ["id", "name", "type", "text", "start", "end"]
        assert text[mention["start"] : mention["end"]] == mention["text"]


def test_shipped_table_is_the_one_its_manifest_names() -> None:
    manifest = json.loads((NAMES_DIR / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256((NAMES_DIR / "names.json").read_bytes()).hexdigest()
    assert manifest["files"]["names.json"]["sha256"] == digest
    table = read_table()
    assert all(actor in table.actors for actor in table.names.values() if actor)
    states = [actor for actor, (_, kind) in table.actors.items() if kind == "country"]
    assert len(states) == manifest["states"] and all(len(actor) == 3 and actor.isupper() for actor in states)


def test_build_gives_a_shared_name_to_the_first_claim_and_drops_excluded_names() -> None:
    countries = [
        {"ISO": {"alpha3": "AAA"}, "name": "Aland", "demonym": "Alish", "capital": "Bigtown", "population": 10},
        {"ISO": {"alpha3": "BBB"}, "name": "Boland", "demonym": "Alish", "capital": "Smallville", "population": 99},
        {"ISO": {"alpha3": "OLD"}, "name": "Oldland", "capital": "Bigtown", "population": 1000},
    ]
    news = [["AAA", "variant", "the Alands"], ["*", "exclude", "Smallville"], ["OLD", "withdrawn", "Oldland"]]
    table = build(countries, news, [["ORG", "Org of Lands", "OL|O.L."]])
    assert table.names["Alish"] == "BBB"  # the same kind of name: the more populous state
    assert table.names["Bigtown"] == "AAA"  # the withdrawn code claims nothing
    assert "Smallville" not in table.names and "Oldland" not in table.names
    assert table.names["the Alands"] == "AAA" and table.names["O.L."] == "ORG"
    assert table.actors["ORG"] == ["Org of Lands", "organisation"]


def test_matcher_takes_the_longest_name_at_a_word_edge() -> None:
    table = read_table()
    matcher = ActorMatcher(table)
    assert [m["text"] for m in matcher.find("Republic of Chad and Chadians")] == ["Republic of Chad", "Chadians"]
    assert matcher.find("Omani Romanians") == [
        {**matcher.find("Omani")[0], "start": 0, "end": 5},
        {**matcher.find("Romanians")[0], "start": 6, "end": 15},
    ]


def test_the_automaton_finds_what_a_regular_expression_finds() -> None:
    """Every name, alone and glued to word characters, punctuation, accents and emoji on either side: the
    automaton's first pass (with its fallback) gives exactly the matches of the rule written as a regular
    expression (names longest first, so that the longest at word edges wins at each place)."""
    matcher = default_matcher()
    by_length = sorted(matcher.table.names, key=len, reverse=True)
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, by_length))})(?!\w)")
    sides = ["", " ", "x", "_", "é", "2", ".", "-", "'s", "😀", "\n", "ians", "Un"]
    names = sorted(matcher.table.names)
    texts = [f"{before}{name}{after} and {name}" for name in names for before in sides[:4] for after in sides]
    texts += [" ".join(names[i : i + 7]) for i in range(0, len(names), 5)]
    texts += ["UNESCO and the UN", "the U.S.-led UN mission", "Niger, Nigeria and Nigerien troops", "USAID in USA"]
    for text in texts:
        expected = [(match.group(), match.start(), match.end()) for match in pattern.finditer(text)]
        assert matcher._names_in(text) == expected, text


def test_test_set_is_large_and_meets_the_targets() -> None:
    examples = read_test_set()
    assert len(examples) >= 300
    counts, _ = score(default_matcher(), examples)
    for kind, target in (("country", 0.95), ("organisation", 0.9)):
        count = counts[kind]
        assert count["tp"] / (count["tp"] + count["fp"]) >= target
        assert count["tp"] / (count["tp"] + count["fn"]) >= target
