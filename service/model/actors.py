"""Actors named in a text: states (ISO 3166-1 alpha-3 ids) and international organisations, with offsets.

The names (service/model/actor_names/names.json, made by `make actor-names` from countryinfo plus data/actors/)
are found by an Aho-Corasick automaton (ahocorasick-rs): case-sensitive, on whole words, leftmost first and the
longest name there, then the search goes on after it, so "Papua New Guinea" wins over "Guinea" and "Nigeria" over
"Niger". A name that is also a person's or a US state's ("Chad", "Jordan", "Georgia", "Washington") counts only
where its neighbours do not make it one.

The automaton finds names as plain substrings. When each one it finds starts and ends at a word edge, those are
the mentions; otherwise, as for "UN" inside "UNESCO" (3 % of news sentences), every occurrence of every name is
listed and the same rule applied to those at word edges. Most sentences name no actor and cost one pass.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ahocorasick_rs import AhoCorasick, MatchKind

NAMES_DIR = Path(__file__).resolve().parent / "actor_names"

Mention = dict[str, Any]  # {"id", "name", "type", "text", "start", "end"}: built once, given as it is

# Capitalised words that stand before a state's name without making it a surname ("In Jordan", "Visiting Chad").
LEAD_WORDS = frozenset(
    "A About Across After Against Along Also Among An And As At Before Beyond Both But By Does Even For From How If "
    "In Inside Into Like Meanwhile Neighbouring Neighboring Nor Of On Once Only Or Outside Over Since So Than That "
    "The Then Through To Under Unlike Until Visiting When Where While Why With Within Yet Landlocked Tiny Western "
    "Eastern Northern Southern Central Did Will Can Should Has Had Is Was".split()
)
_WORD_BEFORE = re.compile(r"([A-Z][\w'.-]*)(,?)\s+$")
_WORD_AFTER = re.compile(r"\s+(?=[A-Z][a-z]|state\b)")
_STATE_OF = re.compile(r"state of\s+$")
_CONTEXT = 40  # characters looked at around an ambiguous name


@dataclass(frozen=True)
class ActorTable:
    """Every actor's display name and type, and the actor every name stands for ("" for a non-actor name)."""

    actors: dict[str, tuple[str, str]]
    names: dict[str, str]
    ambiguous: frozenset[str]


def read_table(folder: Path = NAMES_DIR) -> ActorTable:
    raw = json.loads((folder / "names.json").read_text(encoding="utf-8"))
    return ActorTable(
        actors={actor: (name, kind) for actor, (name, kind) in raw["actors"].items()},
        names=raw["names"],
        ambiguous=frozenset(raw["ambiguous"]),
    )


class ActorMatcher:
    """Finds the actor mentions of a text, most often in one pass of an Aho-Corasick automaton."""

    def __init__(self, table: ActorTable) -> None:
        self.table = table
        self._names = list(table.names)
        self._first = AhoCorasick(self._names, matchkind=MatchKind.LeftmostLongest)
        self._every = AhoCorasick(self._names)  # every occurrence, overlapping ones too
        # One mention dict per (name, actor) would be shared between answers; offsets differ, so the fixed part is
        # kept and copied into each mention.
        self._fixed = {
            name: {"id": actor, "name": table.actors[actor][0], "type": table.actors[actor][1], "text": name}
            for name, actor in table.names.items()
            if actor
        }

    def find(self, text: str) -> list[Mention]:
        """Every mention in `text`, in order, with offsets into `text`."""
        mentions = []
        ambiguous = self.table.ambiguous
        for name, start, end in self._names_in(text):
            fixed = self._fixed.get(name)
            if fixed is None or (name in ambiguous and not self._stands_for_actor(text, start, end)):
                continue
            mentions.append({**fixed, "start": start, "end": end})
        return mentions

    def _names_in(self, text: str) -> list[tuple[str, int, int]]:
        """(name, start, end) of each name at word edges in `text`: the leftmost, the longest there, then on after
        it. A name starts and ends at a word edge: "Niger" is not found in "Nigeria", nor "Oman" in "Romania"."""
        found = []
        for number, start, end in self._first.find_matches_as_indexes(text):
            if not _at_word_edges(text, start, end):
                return self._names_at_word_edges(text)
            found.append((self._names[number], start, end))
        return found

    def _names_at_word_edges(self, text: str) -> list[tuple[str, int, int]]:
        """As `_names_in`, from every occurrence of every name (the automaton's first pass stops at a name inside
        a word, which may hide a name at word edges that starts within it)."""
        found: list[tuple[str, int, int]] = []
        for start, end, name in self._occurrences(text):
            if start >= (found[-1][2] if found else 0):
                found.append((name, start, end))
        return found

    def _occurrences(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, name) of every name at word edges, by start, the longest first."""
        every = self._every.find_matches_as_indexes(text, overlapping=True)
        found = [(start, end, self._names[number]) for number, start, end in every if _at_word_edges(text, start, end)]
        return sorted(found, key=lambda occurrence: (occurrence[0], -occurrence[1]))

    def _stands_for_actor(self, text: str, start: int, end: int) -> bool:
        """False where an ambiguous name is a person's ("Chad Smith", "Michael Jordan") or a US state's ("Atlanta,
        Georgia", "the state of Georgia", "Washington state"), unless the neighbouring word is itself an actor."""
        after = _WORD_AFTER.match(text, end)
        if after is not None and not self._actor_at(text, after.end()):
            return False
        before = text[max(0, start - _CONTEXT) : start]
        if _STATE_OF.search(before):
            return False
        word = _WORD_BEFORE.search(before)
        return word is None or word.group(1) in LEAD_WORDS or self._actor_at(text, start - len(word.group(0)))

    def _actor_at(self, text: str, position: int) -> bool:
        """Whether the longest name at word edges that starts at `position` stands for an actor."""
        longest = next((name for start, _, name in self._occurrences(text) if start == position), None)
        return longest is not None and bool(self.table.names.get(longest))


def _at_word_edges(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] has no word character (`re`'s \\w: alphanumeric, or the underscore) on either side."""
    return not (start and _is_word(text[start - 1])) and not (end < len(text) and _is_word(text[end]))


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"


@cache
def default_matcher() -> ActorMatcher:
    """The matcher of the shipped names table, built once per process (on first use)."""
    return ActorMatcher(read_table())


def actors_per_span(mentions: list[Mention], starts: Sequence[int]) -> list[list[Mention]]:
    """The mentions of a text grouped by the span they start in, given the spans' start offsets in order."""
    if len(starts) == 1 and all(mention["start"] >= starts[0] for mention in mentions):
        return [mentions]  # one sentence, the commonest case: all the text's mentions
    grouped: list[list[Mention]] = [[] for _ in starts]
    for mention in mentions:
        index = bisect_right(starts, mention["start"]) - 1
        if index >= 0:
            grouped[index].append(mention)
    return grouped
