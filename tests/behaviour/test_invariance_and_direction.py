"""Invariance and directional expectations of the default model, on sentences written for these tests.

Invariance: what the actors do decides the stance, not which countries they are, nor the numbers and dates.
Direction: adding evidence for a label (a killing, a signed agreement, a trade figure, casualties) must raise
that label's probability by a clear margin, not merely leave it where it was.
"""

from __future__ import annotations

import pytest

from service.model.bundle import Bundle
from tests.behaviour.conftest import known_failure, labels, probability

COUNTRY_TEMPLATES = [
    "{a} and {b} signed a transit treaty.",
    "{a} accused {b} of shelling villages along their border.",
    "The foreign ministers of {a} and {b} met in Geneva on Monday.",
    "{a} and {b} agreed to hold joint naval exercises next year.",
    "{a} offered to mediate in the water dispute between {b} and its neighbours.",
    "Trade between {a} and {b} grew by a third last year.",
    "{a} expelled two diplomats from {b}, accusing them of spying.",
]
COUNTRY_PAIRS = [
    ("India", "Nepal"),
    ("Chile", "Peru"),
    ("Kenya", "Uganda"),
    ("Vietnam", "Laos"),
    ("Norway", "Sweden"),
    ("Morocco", "Algeria"),
    ("Ghana", "Togo"),
    ("Poland", "Lithuania"),
    ("Brazil", "Argentina"),
    ("Pakistan", "Afghanistan"),
]

NUMBER_TEMPLATES = [
    "Militants killed {n} soldiers near the border on {day}.",
    "Exports to the neighbouring country rose {n} percent in the year to {day}.",
    "The two ministers will meet in the capital on {day} to sign {n} agreements.",
    "The ministry summoned the ambassador on {day} after {n} fishing boats were seized.",
    "The bank approved a loan of {n} million dollars for the railway on {day}.",
    "About {n} pilgrims crossed the border on {day} to visit the shrine.",
]
NUMBERS_AND_DAYS = [("3", "Monday"), ("12", "Friday"), ("40", "March 3"), ("250", "12 October 2024"), ("7", "the 21st")]

# Templates whose stance the default model does not keep yet (what changes).
KNOWN_INVARIANCE_FAILURES = {
    "{a} and {b} signed a transit treaty.": "about half of the 20 pairs answer economic, the others cooperative",
    "The two ministers will meet in the capital on {day} to sign {n} agreements.": "250 agreements answer economic",
}


def invariance_cases(templates: list[str]) -> list[object]:
    return [pytest.param(template, marks=known_failure(KNOWN_INVARIANCE_FAILURES, template)) for template in templates]


MIN_SHIFT = 0.1
# Cases whose evidence the default model does not weigh (what it does instead).
KNOWN_DIRECTION_FAILURES = {"cooperative-4": "the sentence without the evidence is already 0.96 cooperative"}
# Per (head, label): the sentence without the evidence, and the evidence added just before its full stop.
DIRECTIONAL: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("stance", "threat"): [
        ("Rebels crossed the river on Monday", " and killed 12 soldiers"),
        ("The convoy reached the border town at dawn", ", where gunmen killed 12 soldiers"),
        ("The two delegations met in the capital", " as militants killed 12 soldiers in the north"),
        ("Officials visited the frontier post on Tuesday", ", a day after an attack killed 12 soldiers"),
        ("The army said the valley was calm", " until insurgents killed 12 soldiers"),
        ("Trade across the border resumed on Friday", ", hours after a bomb killed 12 soldiers"),
    ],
    ("stance", "cooperative"): [
        ("The two ministers met in Hanoi on Friday", " and signed a cooperation agreement"),
        ("The defence chiefs held talks in Rabat", " and signed a cooperation agreement"),
        ("The presidents spoke by telephone", " and later signed a cooperation agreement"),
        ("Delegations from both countries arrived in Geneva", " and signed a cooperation agreement"),
        ("The prime minister returned from Tokyo", " after she signed a cooperation agreement"),
        ("The police chiefs met at the border", " and signed a cooperation agreement"),
    ],
    ("stance", "economic"): [
        ("The prime minister visited Seoul last week", ", and trade rose 20 percent"),
        ("Relations between the two neighbours have improved", ", and trade rose 20 percent"),
        ("The border crossing reopened in May", " and trade rose 20 percent"),
        ("The two leaders met for the third time this year", " as trade rose 20 percent"),
        ("The new ambassador presented her credentials", ", and trade rose 20 percent"),
        ("The ferry service between the islands resumed", " and trade rose 20 percent"),
    ],
    ("sentiment", "negative"): [
        ("Troops entered the village on Tuesday", ", killing 30 civilians and wounding 50"),
        ("A bus carrying pilgrims crossed the border", " and overturned, killing 14 passengers"),
        ("The ministers arrived at the airport", ", where fighting left 20 people dead"),
        ("The storm reached the coast overnight", ", killing 9 people"),
        ("The ministers met in the capital on Monday", ", hours after a bombing killed 25 people"),
        ("Navy ships patrolled the strait", ", where a clash left six sailors dead"),
    ],
}


@pytest.mark.parametrize("template", invariance_cases(COUNTRY_TEMPLATES))
def test_swapping_country_names_keeps_the_stance(default_model: Bundle, template: str) -> None:
    pairs = COUNTRY_PAIRS + [(b, a) for a, b in COUNTRY_PAIRS]
    sentences = [template.format(a=a, b=b) for a, b in pairs]
    found = dict(zip(sentences, labels(default_model, "stance", sentences), strict=True))
    assert len(set(found.values())) == 1, found


@pytest.mark.parametrize("template", invariance_cases(NUMBER_TEMPLATES))
def test_changing_numbers_and_dates_keeps_the_stance(default_model: Bundle, template: str) -> None:
    sentences = [template.format(n=n, day=day) for n, day in NUMBERS_AND_DAYS]
    found = dict(zip(sentences, labels(default_model, "stance", sentences), strict=True))
    assert len(set(found.values())) == 1, found


def test_a_number_with_a_thousands_separator_keeps_the_stance(default_model: Bundle) -> None:
    template = NUMBER_TEMPLATES[0]
    sentences = [template.format(n="12", day="Monday"), template.format(n="1,500", day="Monday")]
    assert len(set(labels(default_model, "stance", sentences))) == 1


@pytest.mark.parametrize(
    ("head", "label", "stem", "evidence"),
    [
        pytest.param(
            head,
            label,
            stem,
            evidence,
            id=f"{label}-{number}",
            marks=known_failure(KNOWN_DIRECTION_FAILURES, f"{label}-{number}"),
        )
        for (head, label), cases in DIRECTIONAL.items()
        for number, (stem, evidence) in enumerate(cases, start=1)
    ],
)
def test_adding_evidence_raises_the_label(
    default_model: Bundle, head: str, label: str, stem: str, evidence: str
) -> None:
    before = probability(default_model, head, label, f"{stem}.")
    after = probability(default_model, head, label, f"{stem}{evidence}.")
    assert after - before >= MIN_SHIFT, (before, after)
