"""Minimum functionality: clear sentences, written for these tests, that the default model must label right.

Each sentence is clear under data/LABELS.md for the head it tests (other heads are not checked). Sentences in
KNOWN_FAILURES are just as clear but the default model gets them wrong: they stay here, marked as expected
failures, so that the gap is visible and a model that fixes them shows up as XPASS.
"""

from __future__ import annotations

import pytest

from service.model.bundle import HEADS, Bundle
from tests.behaviour.conftest import known_failure, labels
from training.examples import Example

CLEAR: dict[str, dict[str, list[str]]] = {
    "topic": {
        "security": [
            "Insurgents ambushed an army convoy on the highway, killing nine soldiers.",
            "The navy intercepted a boat carrying 300 rifles bound for the rebels.",
            "A suicide bomber blew himself up at a checkpoint outside the city.",
            "Both armies will stage joint artillery drills near the frontier next week.",
            "Police arrested four men suspected of smuggling heroin across the border.",
            "The country tested a ballistic missile capable of reaching its neighbour's capital.",
        ],
        "diplomacy": [
            "The foreign minister will fly to Canberra on Tuesday for two days of talks with her counterpart.",
            "The government recalled its ambassador from Caracas in protest.",
            "The two countries agreed to restore full diplomatic relations after a decade.",
            "The UN General Assembly adopted the resolution by 120 votes to 14.",
            "Norway offered to mediate between the two neighbours.",
            "The president received the credentials of the new Swiss ambassador.",
        ],
        "economy": [
            "Exports of rice to the neighbouring country rose 18 percent last year.",
            "The central bank raised interest rates to defend the currency.",
            "The development bank approved a $300 million loan to upgrade the port.",
            "The new pipeline will carry eight billion cubic metres of gas a year to the coast.",
            "The two governments signed a free trade agreement cutting tariffs on 5,000 goods.",
            "Foreign investment in the manufacturing sector doubled over five years.",
        ],
        "society": [
            "Some 20,000 refugees have crossed into the country this month, the UN refugee agency said.",
            "The two universities launched a student exchange programme in engineering.",
            "Thousands of pilgrims travelled to the shrine for the annual festival.",
            "The national football team will play a friendly match in the neighbouring capital.",
            "Health officials began vaccinating children against measles in the border districts.",
            "Rising sea levels threaten low-lying islands across the Pacific, scientists warned.",
        ],
        "politics": [
            "The ruling party won 52 of the 90 seats in Sunday's parliamentary election.",
            "Parliament passed the annual budget after a long debate.",
            "Thousands of protesters demanded the resignation of the prime minister.",
            "The opposition leader was sentenced to five years in prison for corruption.",
            "The president reshuffled his cabinet, replacing the finance and interior ministers.",
            "The electoral commission postponed the local elections until March.",
        ],
        "other": [
            "A magnitude 6.1 earthquake struck the coastal region early on Friday.",
            "Heavy snow is expected in the mountains over the weekend.",
            "A bus plunged into a ravine, killing 14 passengers.",  # an accident, not violence: `other`
            "Floods have washed away hundreds of homes along the river.",
            "The former mayor died at home on Saturday, aged 88.",
            "Temperatures are forecast to reach 45 degrees Celsius on Thursday.",
        ],
    },
    "stance": {
        "cooperative": [
            "The two armies agreed to hold joint patrols along the border to stop smugglers.",
            "Japan pledged to help rebuild schools destroyed in the cyclone.",
            "The leaders praised the deep friendship between their peoples.",
            "Both governments agreed to share intelligence on extremist groups.",
            "Qatar offered to host the next round of peace talks.",
            "The president sent condolences to the families of the victims in Turkey.",
        ],
        "threat": [
            "Gunmen kidnapped six engineers working on the dam.",
            "The government warned its neighbour that any incursion would be met with force.",
            "Washington imposed sanctions on two state-owned oil companies.",
            "Rebels shelled the town overnight, killing three civilians.",
            "The foreign ministry accused Moscow of interfering in the election.",
            "Hackers linked to a foreign intelligence service attacked the ministry's computer network.",
        ],
        "economic": [
            "Bilateral trade rose 12 percent to $6.5 billion in the first half of the year.",
            "The World Bank approved a $250 million loan for the railway.",
            "The companies signed a deal to build a gas pipeline between the two countries.",
            "Remittances from workers abroad account for a quarter of the economy.",
            "The new port will handle two million containers a year.",
            "Fuel prices rose sharply after the government cut subsidies.",
        ],
        "neutral": [
            "The meeting began shortly after ten in the morning.",
            "The committee has 21 members from 12 countries.",
            "The delegation will travel on to Nairobi on Thursday.",
            "The summit is scheduled for the second week of June.",
            "The report runs to 300 pages.",
            "The minister spoke to reporters at the airport.",
        ],
    },
    "sentiment": {
        "positive": [
            "All 17 kidnapped aid workers were freed unharmed on Sunday.",
            "The agreement is a historic milestone for both our nations, the prime minister said.",
            "Exports to Europe have more than doubled, a remarkable success for local farmers.",
            "Both sides welcomed the breakthrough and praised the mediators.",
            "The ceasefire has brought relief to thousands of families.",
            "The talks ended in a warm and friendly atmosphere.",
        ],
        "negative": [
            "Twenty villagers were killed when the militia attacked the market.",
            "The talks collapsed after just two hours amid angry exchanges.",
            "The currency plunged to a record low, wiping out savings.",
            "Critics condemned the decision as a shameful betrayal.",
            "Thousands of families lost their homes in the floods.",
            "Exports fell 30 percent, the worst decline in a decade.",
        ],
        "neutral": [
            "The delegation will arrive in Hanoi on Wednesday.",
            "The treaty has 22 articles and three annexes.",
            "The talks are expected to resume next month.",
            "The minister is due to address parliament on Thursday.",
            "The commission meets twice a year in Geneva.",
            "The agreement will be reviewed after five years.",
        ],
    },
}

# The rules data/LABELS.md settled for corpus v2, on every head they decide.
SETTLED_RULES: dict[str, dict[str, str]] = {
    # A summit pledge to fight terrorism together: the substance (security) decides the topic; acting together
    # against a threat is cooperative.
    "At their summit in Tashkent the two presidents pledged to hunt down extremist cells together.": {
        "topic": "security",
        "stance": "cooperative",
    },
    "The prime ministers agreed to set up a joint counter-terrorism centre and to share intelligence daily.": {
        "topic": "security",
        "stance": "cooperative",
    },
    # Long shared cultural ties are good news.
    "The two peoples share centuries of cultural ties, from poetry to cuisine.": {"sentiment": "positive"},
    "Their nations have been bound by language, music and faith for generations.": {"sentiment": "positive"},
    # A flatly reported bombing is a hostile act and bad news, however flat the wording.
    "A car bomb exploded outside the police headquarters in the provincial capital on Monday.": {
        "stance": "threat",
        "sentiment": "negative",
    },
    "A roadside bomb struck a military convoy near the border, the army said.": {
        "stance": "threat",
        "sentiment": "negative",
    },
    # Company earnings up: economy, economic, good for the firm.
    "The shipping group reported a 24 percent rise in quarterly profit, beating forecasts.": {
        "topic": "economy",
        "stance": "economic",
        "sentiment": "positive",
    },
    "Shares in the cement maker jumped after it posted record annual earnings.": {
        "topic": "economy",
        "stance": "economic",
        "sentiment": "positive",
    },
}


# Clear under LABELS.md, wrong with the default model trained on the corpus alone (what it answers instead).
KNOWN_FAILURES: dict[str, str] = {
    "Exports to Europe have more than doubled, a remarkable success for local farmers.": "negative",
    "A suicide bomber blew himself up at a checkpoint outside the city.": "other",
    "Japan pledged to help rebuild schools destroyed in the cyclone.": "economic",
}
# Settled rules the default model does not follow yet (what it answers instead).
KNOWN_RULE_FAILURES: dict[str, str] = {
    "At their summit in Tashkent the two presidents pledged to hunt down extremist cells together.": (
        "topic diplomacy: the summit outweighs the substance"
    ),
}
MIN_PASSING_PER_LABEL = 4
# A test sentence this close to a corpus sentence (Jaccard similarity of character 5-grams) would be a copy.
MAX_SIMILARITY_TO_CORPUS = 0.5


def cases() -> list[object]:
    return [
        pytest.param(
            head,
            label,
            sentence,
            id=f"{head}-{label}-{number}",
            marks=known_failure(KNOWN_FAILURES, sentence, "answers "),
        )
        for head, by_label in CLEAR.items()
        for label, sentences in by_label.items()
        for number, sentence in enumerate(sentences, start=1)
    ]


@pytest.mark.parametrize(("head", "label", "sentence"), cases())
def test_clear_sentence_gets_its_label(default_model: Bundle, head: str, label: str, sentence: str) -> None:
    assert labels(default_model, head, [sentence]) == [label]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        pytest.param(
            sentence,
            expected,
            id=f"rule-{number}",
            marks=known_failure(KNOWN_RULE_FAILURES, sentence, "answers "),
        )
        for number, (sentence, expected) in enumerate(SETTLED_RULES.items(), start=1)
    ],
)
def test_settled_rules_hold(default_model: Bundle, sentence: str, expected: dict[str, str]) -> None:
    assert {head: labels(default_model, head, [sentence])[0] for head in expected} == expected


def test_every_label_of_every_head_has_enough_sentences_expected_to_pass() -> None:
    assert {head: set(by_label) for head, by_label in CLEAR.items()} == {h: set(ls) for h, ls in HEADS.items()}
    for head, by_label in CLEAR.items():
        for label, sentences in by_label.items():
            passing = [s for s in sentences if s not in KNOWN_FAILURES]
            assert len(passing) >= MIN_PASSING_PER_LABEL, (head, label)
    all_sentences = {s for by_label in CLEAR.values() for sentences in by_label.values() for s in sentences}
    assert set(KNOWN_FAILURES) <= all_sentences
    assert set(KNOWN_RULE_FAILURES) <= set(SETTLED_RULES)


def five_grams(text: str) -> set[str]:
    text = text.lower()
    return {text[i : i + 5] for i in range(len(text) - 4)}


def test_sentences_are_not_copied_from_the_corpus(corpus: list[Example]) -> None:
    corpus_grams = [five_grams(ex.text) for ex in corpus]
    written = [s for by_label in CLEAR.values() for sentences in by_label.values() for s in sentences]
    for sentence in [*written, *SETTLED_RULES]:
        grams = five_grams(sentence)
        closest = max(len(grams & other) / len(grams | other) for other in corpus_grams)
        assert closest < MAX_SIMILARITY_TO_CORPUS, sentence
