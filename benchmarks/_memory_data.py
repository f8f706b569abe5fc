"""A deterministic synthetic long-memory workload: dialogue sessions with planted facts.

Facts are names, dates, numbers and preferences; some are updated in later sessions, and the
question about an updated fact has only the latest statement as its evidence. Questions are
phrased differently from the statements, so neither lexical nor vector search is trivial.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = [
    "Turn",
    "Question",
    "Workload",
    "make_workload",
    "make_paraphrased",
    "make_near_duplicates",
    "make_multi_hop",
]

NAMES = [
    "Priya",
    "Tomasz",
    "Aiko",
    "Mateo",
    "Ingrid",
    "Kwame",
    "Sofia",
    "Dmitri",
    "Leila",
    "Oskar",
    "Nadia",
    "Rafael",
    "Yuki",
    "Esther",
    "Hamid",
    "Greta",
    "Luca",
    "Amara",
    "Bjorn",
    "Chen",
    "Dalia",
    "Emeka",
    "Farah",
    "Gustavo",
    "Hana",
    "Ivo",
    "Jana",
    "Kofi",
]
CITIES = [
    "Lisbon",
    "Oslo",
    "Nairobi",
    "Osaka",
    "Quito",
    "Tallinn",
    "Porto",
    "Hanoi",
    "Perth",
    "Zagreb",
    "Accra",
    "Bergen",
    "Cusco",
    "Dakar",
    "Gdansk",
    "Izmir",
]
FOODS = [
    "ramen",
    "paella",
    "injera",
    "pierogi",
    "falafel",
    "ceviche",
    "bibimbap",
    "goulash",
    "tagine",
    "laksa",
    "moussaka",
    "arepas",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
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
    "city": (
        "By the way, {name} moved to {value} last month.",
        "Update: {name} relocated again and now lives in {value}.",
        "Which city does {name} live in now?",
    ),
    "food": (
        "{name} told me their favourite dish is {value}.",
        "{name} changed their mind, their favourite dish is now {value}.",
        "What food does {name} like best these days?",
    ),
    "date": (
        "{name}'s wedding is planned for {value}.",
        "{name}'s wedding was moved to {value}.",
        "When is {name} getting married?",
    ),
    "number": (
        "{name}'s new apartment number is {value}.",
        "{name} switched apartments, the number is now {value}.",
        "What is the apartment number of {name}?",
    ),
}


@dataclass(frozen=True)
class Turn:
    """One dialogue turn, stored as one memory record."""

    id: str
    session: int
    text: str
    created_at: float | None = None
    """When it was said (seconds since the epoch); `None`: when it is written."""


@dataclass(frozen=True)
class Question:
    """A question and the id of the turn that answers it (the latest statement)."""

    text: str
    evidence: str
    kind: str
    updated: bool
    evidence_ids: tuple[str, ...] = ()
    """Every turn the answer needs, when more than `evidence`."""

    @property
    def needed(self) -> tuple[str, ...]:
        """The evidence turns: `evidence_ids`, or just `evidence`."""
        return self.evidence_ids or (self.evidence,)


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
        workload.questions.append(
            Question(TEMPLATES[kind][2].format(name=name), turn_id, kind, (name, kind) in updated)
        )
    return workload


# -- more workloads, each built differently ----------------------------------------------------
# Each returns a `Workload` whose questions may name several evidence turns (`evidence_ids`).

_FACTS_PARAPHRASED = [
    # (statement, question): the question shares the name and little else with the statement;
    # the first half differ by word form (stemming / sub-words can bridge), the rest by synonym.
    (
        "{name} is getting married to a pianist next spring.",
        "Who is {name}'s future spouse and when is the marriage?",
    ),
    ("{name} has been teaching chemistry at the high school.", "What subject does {name} teach, and where?"),
    (
        "{name} relocated the bakery to the harbour district.",
        "Where did {name} move the bakery's location to?",
    ),
    (
        "{name} started volunteering at the animal shelter on weekends.",
        "Which volunteer work does {name} do on weekends?",
    ),
    ("{name} has been training for the marathon in autumn.", "Is {name} running a marathon?"),
    ("{name} adopted a beagle puppy from the rescue centre.", "What kind of dog does {name} own?"),
    ("{name} is allergic to peanuts and shellfish.", "Which foods must {name} avoid eating?"),
    ("{name} bought a second-hand electric car last week.", "What vehicle did {name} purchase recently?"),
    ("{name} got promoted to head of the design team.", "What is {name}'s new job title at work?"),
    ("{name}'s grandmother turns ninety in June.", "When is the birthday of {name}'s grandma?"),
    ("{name} is learning to play the cello with a tutor.", "Which musical instrument is {name} studying?"),
    ("{name} sprained an ankle while hiking in the mountains.", "How did {name} get injured?"),
]


def make_paraphrased(people: int = 24, filler_per_fact: int = 6, seed: int = 11) -> Workload:
    """Paraphrased questions: the evidence says "adopted a beagle puppy", the question asks
    "what kind of dog does X own". Filler turns mention the same names, so the name alone
    does not find the evidence."""
    rng = random.Random(seed)
    names = [f"{n} {s}" for n in NAMES for s in ("A.", "B.")][:people]
    workload = Workload()
    facts = [(name, i) for name in names for i in rng.sample(range(len(_FACTS_PARAPHRASED)), 4)]
    rng.shuffle(facts)
    for n, (name, i) in enumerate(facts):
        for f in range(filler_per_fact):
            workload.turns.append(Turn(f"p{n}-f{f}", n, f"{rng.choice(names)} said: {rng.choice(FILLER)}"))
        turn_id = f"p{n}-e"
        statement, question = _FACTS_PARAPHRASED[i]
        workload.turns.append(Turn(turn_id, n, statement.format(name=name)))
        workload.questions.append(Question(question.format(name=name), turn_id, f"para{i}", False))
    return workload


_SUPPLIERS = [
    "Acme Logistics",
    "Borealis Freight",
    "Cobalt Parts",
    "Delta Metals",
    "Evergreen Supply",
    "Fjord Shipping",
    "Granite Tools",
    "Harbor Foods",
]


def make_near_duplicates(orders: int = 1200, seed: int = 13) -> Workload:
    """Many near-duplicates: every turn is the same template with another order number,
    supplier, status and date; the question names a supplier and a date, which only the
    evidence has together, among dozens of almost identical turns sharing one or the other."""
    rng = random.Random(seed)
    workload = Workload()
    numbers = rng.sample(range(1000, 9999), orders)
    combos = rng.sample(
        [(s, f"{d} {m}") for s in _SUPPLIERS for d in range(1, 29) for m in MONTHS[:6]], orders
    )
    for n, (number, (supplier, date)) in enumerate(zip(numbers, combos, strict=False)):
        status = rng.choice(["was paid", "was disputed", "was put on hold", "was refunded"])
        text = f"The invoice for order {number} from {supplier} {status} on {date}."
        workload.turns.append(Turn(f"o{n}", n, text))
        if n % 4 == 0:
            workload.questions.append(
                Question(f"What happened on {date} to the invoice from {supplier}?", f"o{n}", "order", False)
            )
    return workload


_TWO_PARTS = [
    # (first turn, second turn, question): the answer needs both turns; each shares part of
    # the question, and the same two templates appear for other people as distractors.
    (
        "{a}'s flight from {city} lands at {hour} on {day}.",
        "{b} offered to pick {a} up at the airport.",
        "Who is picking up {a}, and when does the flight land?",
    ),
    (
        "{a} booked a table at the {city} Grill for {day}.",
        "{b} will join {a} for dinner with the new client.",
        "Where is {a} having dinner, and who is coming along?",
    ),
    (
        "{a} is presenting the {city} budget at the board meeting on {day}.",
        "{b} prepared the slides for {a}'s talk.",
        "Who made the slides for the budget that {a} presents?",
    ),
    (
        "{a}'s car is in the garage until {day}.",
        "{b} is lending {a} a bicycle for the week.",
        "How will {a} get around while the car is repaired?",
    ),
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def make_multi_hop(filler: int = 600, seed: int = 17) -> Workload:
    """Questions whose answer needs two turns said at different times ("Priya's flight lands
    at 9:40" ... "Tomasz offered to pick Priya up"), each sharing part of the question; the
    same events happen to other people, and filler turns mention the same names."""
    rng = random.Random(seed)
    workload = Workload()
    turns: list[tuple[str, str]] = []
    questions = []
    for a in NAMES:
        for t, (first, second, question) in enumerate(_TWO_PARTS):
            if rng.random() < 0.5:
                continue
            b = rng.choice([n for n in NAMES if n != a])
            values = {
                "a": a,
                "b": b,
                "city": rng.choice(CITIES),
                "day": rng.choice(_DAYS),
                "hour": f"{rng.randint(6, 22)}:{rng.choice(['05', '20', '40'])}",
            }
            ids = (f"m-{a}-{t}-1", f"m-{a}-{t}-2")
            turns += [(ids[0], first.format(**values)), (ids[1], second.format(**values))]
            questions.append(Question(question.format(a=a), ids[0], "two-part", False, evidence_ids=ids))
    turns += [(f"m-f{i}", f"{rng.choice(NAMES)} said: {rng.choice(FILLER)}") for i in range(filler)]
    rng.shuffle(turns)
    workload.turns = [Turn(id_, i // 20, text) for i, (id_, text) in enumerate(turns)]
    workload.questions = questions
    return workload
