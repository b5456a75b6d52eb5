"""Relations: pairs of actors named in the same sentence, references to a pair, shares per head."""

from __future__ import annotations

from service.model.bundle import Bundle
from service.model.predict import classify
from service.model.relations import pair_sentences, relations


def test_pairs_of_one_sentence_are_sorted_and_counted() -> None:
    pairs = pair_sentences([["PAK", "IRN", "PAK"], ["IRN", "AFG", "PAK"], []], ["", "", ""])
    assert pairs == {("IRN", "PAK"): [0, 1], ("AFG", "IRN"): [1], ("AFG", "PAK"): [1]}


def test_a_reference_right_after_a_named_pair_counts_for_it() -> None:
    texts = [
        "Pakistan and Iran agreed to reopen crossings.",
        "Both countries also pledged to fight smuggling.",
        "The two sides will meet again in May.",
        "Prices rose.",
        "Both countries said nothing.",
    ]
    ids = [["PAK", "IRN"], [], [], [], []]
    assert pair_sentences(ids, texts) == {("IRN", "PAK"): [0, 1, 2]}


def test_no_reference_after_three_actors_or_one() -> None:
    texts = ["India, China and Nepal met.", "Both countries agreed.", "Iran spoke.", "The two nations agreed."]
    assert pair_sentences([["IND", "CHN", "NPL"], [], ["IRN"], []], texts) == {
        ("CHN", "IND"): [0],
        ("CHN", "NPL"): [0],
        ("IND", "NPL"): [0],
    }


def test_shares_are_over_the_pairs_sentences() -> None:
    labels = {"stance": ["cooperative", "threat", "cooperative"]}
    [record] = relations([["A", "B"], ["B", "A"], []], ["", "", ""], labels, {"stance": ["cooperative", "threat"]})
    assert record == {
        "actors": ["A", "B"],
        "sentences": 2,
        "indices": [0, 1],
        "stance": {"cooperative": 0.5, "threat": 0.5},
    }


def test_classify_gives_actors_per_sentence_and_relations_per_document(bundle: Bundle) -> None:
    text = (
        "Pakistan and Iran agreed on Sunday to reopen the Taftan crossing. Both countries pledged to fight "
        "smuggling. Chad Smith, a U.S. analyst, said Tehran wanted calm."
    )
    [document] = classify(bundle, [text])
    assert [[m["id"] for m in sentence.actors] for sentence in document.sentences] == [
        ["PAK", "IRN"],
        [],
        ["USA", "IRN"],
    ]
    for sentence in document.sentences:
        for mention in sentence.actors:
            assert text[mention["start"] : mention["end"]] == mention["text"]
    assert [(r["actors"], r["indices"]) for r in document.relations] == [
        (["IRN", "PAK"], [0, 1]),
        (["IRN", "USA"], [2]),
    ]
    for record in document.relations:
        for head, labels in bundle.labels.items():
            assert set(record[head]) == set(labels)
            assert abs(sum(record[head].values()) - 1) < 1e-9
