"""A deterministic synthetic long-memory workload: dialogue sessions with planted facts.

Facts are names, dates, numbers and preferences; some are updated in later sessions, and the
question about an updated fact has only the latest statement as its evidence. Questions are
phrased differently from the statements, so neither lexical nor vector search is trivial.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Turn", "Question", "Workload", "make_workload"]

NAMES = ["Priya", "Tomasz", "Aiko", "Mateo", "Ingrid", "Kwame", "Sofia", "Dmitri", "Leila",
         "Oskar", "Nadia", "Rafael", "Yuki", "Esther", "Hamid", "Greta", "Luca", "Amara",
         "Bjorn", "Chen", "Dalia", "Emeka", "Farah", "Gustavo", "Hana", "Ivo", "Jana", "Kofi"]
CITIES = ["Lisbon", "Oslo", "Nairobi", "Osaka", "Quito", "Tallinn", "Porto", "Hanoi", "Perth",
          "Zagreb", "Accra", "Bergen", "Cusco", "Dakar", "Gdansk", "Izmir"]
FOODS = ["ramen", "paella", "injera", "pierogi", "falafel", "ceviche", "bibimbap", "goulash",
         "tagine", "laksa", "moussaka", "arepas"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
FILLER = [
    "I spent the afternoon reorganizing the shelves in the garage.",
    "The weather was grey again, so we stayed in and watched a documentary.",
    "Work has been busy with the quarterly planning meetings.",
    "We tried a new board game last night and it took hours to learn.",
    "My neighbour keeps asking about the broken fence between our gardens.",
    "I finally finished reading that long novel about the lighthouse keeper.",
    "The train was delayed twice this week, which made me late for standup.",
    "I have been thinking about taking a pottery class in the spring.",
    "The kids built a cardboard castle that now takes up the whole living room.",
    "Our team lunch moved to Thursdays because of the new schedule.",
]
TEMPLATES = {
    "city": ("By the way, {name} moved to {value} last month.",
             "Update: {name} relocated again and now lives in {value}.",
             "Which city does {name} live in now?"),
    "food": ("{name} told me their favourite dish is {value}.",
             "{name} changed their mind, their favourite dish is now {value}.",
             "What food does {name} like best these days?"),
    "date": ("{name}'s wedding is planned for {value}.",
             "{name}'s wedding was moved to {value}.",
             "When is {name} getting married?"),
    "number": ("{name}'s new apartment number is {value}.",
               "{name} switched apartments, the number is now {value}.",
               "What is the apartment number of {name}?"),
}


@dataclass(frozen=True)
class Turn:
    """One dialogue turn, stored as one memory record."""

    id: str
    session: int
    text: str


@dataclass(frozen=True)
class Question:
    """A question and the id of the turn that answers it (the latest statement)."""

    text: str
    evidence: str
    kind: str
    updated: bool


@dataclass
class Workload:
    """Turns in chronological order and questions with known evidence."""

    turns: list[Turn] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


def _value(kind: str, rng: random.Random) -> str:
    if kind == "city":
        return rng.choice(CITIES)
    if kind == "food":
        return rng.choice(FOODS)
    if kind == "date":
        return f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2025, 2028)}"
    return str(rng.randint(100, 9999))


def make_workload(sessions: int = 60, turns_per_session: int = 20, seed: int = 7) -> Workload:
    """Generate the workload; the same arguments always give the same turns and questions."""
    rng = random.Random(seed)
    workload = Workload()
    planted: dict[tuple[str, str], str] = {}  # (name, kind) -> turn id of the latest statement
    updated: set[tuple[str, str]] = set()
    for session in range(sessions):
        for position in range(turns_per_session):
            turn_id = f"s{session}-t{position}"
            if rng.random() < 0.25:
                name, kind = rng.choice(NAMES), rng.choice(list(TEMPLATES))
                key = (name, kind)
                template = TEMPLATES[kind][1 if key in planted else 0]
                if key in planted:
                    updated.add(key)
                text = template.format(name=name, value=_value(kind, rng))
                planted[key] = turn_id
            else:
                text = f"{rng.choice(NAMES)} said: {rng.choice(FILLER)}"
            workload.turns.append(Turn(turn_id, session, text))
    for (name, kind), turn_id in sorted(planted.items()):
        workload.questions.append(Question(TEMPLATES[kind][2].format(name=name), turn_id, kind,
                                           (name, kind) in updated))
    return workload
