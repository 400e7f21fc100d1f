"""The short answer: the value of a cited sentence that answers the question, when it is sure.

A question asking who / when / where / how many / how much / how long / what score… asks for
a value of one kind (bot.expect); a sentence states values (bot.values: "1,5 triệu đồng",
"554 tình nguyện viên", "Phút 75", "Vàng Văn Phúc"). The short answer is the one value of the
asked kind, of the unit or thing asked about ("how many megapixels" is answered by "16 MP",
not by "8 GB"; "how many volunteers" by "554 tình nguyện viên", not "100%"), tied to what the
question names: among several, the one whose clause holds more of the question's words
("… 1,5 triệu bảng Anh cho hai ngôi nhà ở Luton" for the houses in Luton). It is shown only
when one value clearly answers; otherwise the quote stands alone. A reader of either language
can use it: for an English question its number and unit are written the English way
("1.5 million dong", "the 75th minute"), never another value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot.anchors import anchors
from bot.expect import Expectation, expectation, fit
from bot.lexicon import STOPWORDS
from bot.names import Name, _given, _modifier, _named_by, asked_jobs, asked_roles, asks_for_human
from bot.tables import read_table
from bot.text import fold, lexical_tokens, normalize, words
from bot.values import Mention, mentions, names_table, units

# The kinds a short answer is given for, in the order they are listed.
KINDS = ("person", "place", "date", "time", "minute", "duration", "quantity", "money", "percent", "measure", "age", "score")
MAX_NAMES = 3  # "Sergei Lavrov and Antony Blinken": more is a list, not an answer
PEERS = 0.75  # people named as near the question's words as this share of the best answer with it
# Where a clause of a sentence ends: a value is about the words of its own clause.
# "1,5" is a number; "và" joins subjects ("Lavrov và Blinken") as often as clauses, so it splits none.
_CLAUSE = re.compile(r"(?<!\d),|,(?!\d)|[;:()\[\]]|\s[-–]\s|\s(?:nhưng|còn)\s")


@dataclass(frozen=True)
class Span:
    kind: str
    text: str  # rendered for the reader's language
    quote: str  # the words of the sentence it was taken from


@dataclass(frozen=True)
class Short:
    text: str = ""
    quote: str = ""  # the source words, " … "-joined when several spans
    cited: int = 0  # the [n] of the sentence it came from (0: none)

    def __bool__(self) -> bool:
        return bool(self.text)


# -- which mentions answer which kind ------------------------------------------------------------

NUMERIC = {"count", "money", "percent", "measure", "duration", "age"}


# -- the clause around a value ----------------------------------------------------------------------


def _clauses(sentence: str) -> list[tuple[int, int]]:
    bounds = [0] + [x for m in _CLAUSE.finditer(sentence) for x in (m.start(), m.end())] + [len(sentence)]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]


@dataclass(frozen=True)
class Terms:
    """The question's words a clause may share with it, with their weights (`ANCHOR`, `CONTENT`):
    `exact` compared as written, lower case with diacritics ("phạt", a fine, is not "phát" of
    "phát triển"), `folded` compared folded (names, and every word of a question typed without
    diacritics, which cannot tell them apart)."""

    exact: dict[str, float]
    folded: dict[str, float]

    def items(self):
        return [*self.exact.items(), *self.folded.items()]

    def only(self, weight: float) -> Terms:
        return Terms({t: w for t, w in self.exact.items() if w == weight}, {t: w for t, w in self.folded.items() if w == weight})


def _terms(exp: Expectation, glossed: tuple = ()) -> Terms:
    """The question's words a clause may share with it, weighted: names and numbers `ANCHOR`, other
    words `CONTENT`. An English question's words count through their Vietnamese words as written
    (bot.glossary); a Vietnamese question's through its own, with diacritics where it was typed so."""
    from bot.anchors import exonyms
    from bot.glossary import vietnamese_phrases

    exact: dict[str, float] = {}
    folded: dict[str, float] = {}
    question = exp.question
    plain = fold(question) == question.lower()  # English, or Vietnamese typed without diacritics
    english = plain and not _vietnamese(question)
    for t in (lexical_tokens(question) if plain else words(question)):
        if fold(t) not in STOPWORDS and len(t) > 1:
            (folded if plain else exact)[t] = CONTENT
    if english:
        for word in vietnamese_phrases(tuple(lexical_tokens(question)), folded=False):
            for phrase in word:
                for syllable in phrase:
                    if fold(syllable) not in STOPWORDS:
                        exact.setdefault(syllable, CONTENT)
    for a in anchors(question):
        for t in a:
            folded[t] = ANCHOR
        for spelling in exonyms().get(" ".join(a), []):  # "Russia" is "Nga" in the articles
            for t in spelling.split():
                folded[t] = ANCHOR
    return Terms(exact, folded)


def _vietnamese(question: str) -> bool:
    from bot.lang import detect_language

    return detect_language(question) == "vi"


# The weights of a question's names and numbers, and of its other words, near a value: the
# names say which sentence (bot.answer.extractive checks it holds them all), the other words
# which of its values ("… 87 dấu chân đã được tìm thấy" for "how many footprints were found").
ANCHOR, CONTENT = 1.0, 1.5
UNIT_TIE = 0.1  # the tie of a value in the very unit or noun asked, with no other question word near it


def tied(sentence: str, start: int, end: int, terms: Terms, others: tuple[tuple[int, int], ...] = ()) -> bool:
    """Is the value at sentence[start:end] about what the question asks? Where the sentence holds
    any of the question's words besides its names, one must be near the value ("… 70% so với năm
    2019" is not the year of the asked event); otherwise one of its names must be."""
    content = terms.only(CONTENT)
    if context(sentence, 0, 0, content, ((start, end), *others), whole=True):
        return context(sentence, start, end, content, others) > 0
    return context(sentence, start, end, terms, others) > 0


def _matches(token: str, terms: Terms) -> list[tuple[str, float]]:
    """The question's terms this one token of a sentence holds, as (key, weight)."""
    out = [(f"={t}", terms.exact[t]) for t in words(token) if t in terms.exact]
    out += [(f"~{t}", terms.folded[t]) for t in lexical_tokens(token) if t in terms.folded]
    return out


def context(
    sentence: str,
    start: int,
    end: int,
    terms: Terms,
    others: tuple[tuple[int, int], ...] = (),
    whole: bool = False,
) -> float:
    """The weight of the question's words around sentence[start:end], nearer words weighing more:
    what ties a value to what the question asks about. Its clause's words count (its own and the
    other candidate values' words aside: `others`); a value alone in its clause ("Phút 33, Dzeko
    đã…", "Ngày 21/1, …") is about the clause after it; with no question word in its clause, half
    of those in the clauses on either side count (an appositive: "…, cựu lãnh đạo NATO X")."""
    clauses = [(0, len(sentence))] if whole else _clauses(sentence)
    skip = [(start, end), *others]

    def weight(a: int, b: int) -> float:
        total, seen = 0.0, set()
        for m in re.finditer(r"\w+(?:[/.\-]\w+)*", sentence[a:b]):
            at = a + m.start()
            if any(s <= at < e for s, e in skip):
                continue
            distance = 0 if whole else len(sentence[min(at, start) : max(at, end)].split()) - 1
            for key, w in _matches(m.group(0), terms):
                if key not in seen:
                    seen.add(key)
                    total += w / (1 + distance / 4)
        return total

    for k, (a, b) in enumerate(clauses):
        if not (whole or a <= start < b or (start < a < end)):
            continue
        own = [t for t in lexical_tokens(sentence[a:start] + " " + sentence[end:b]) if t not in STOPWORDS]
        if not own and k + 1 < len(clauses):
            k, b = k + 1, clauses[k + 1][1]
        mine = weight(a, b)
        if mine:
            return mine
        return 0.5 * sum(weight(*clauses[x]) for x in (k - 1, k + 1) if 0 <= x < len(clauses) and clauses[x] != (a, b))
    return 0.0


# -- choosing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    kind: str
    mentions: tuple[Mention, ...]  # one, or several listed together ("499,9 … và 559,9 triệu đồng")
    fit: int
    context: float
    sure: bool


def _cued(sentence: str, m: Mention, cues: tuple[tuple[str, ...], ...]) -> bool:
    """Does a word the question measured by ("phạt", "giá", "lãi suất") stand in the value's clause or
    the clauses beside it?"""
    clauses = _clauses(sentence)
    k = next((i for i, (a, b) in enumerate(clauses) if a <= m.start < b), 0)
    a, b = clauses[max(0, k - 1)][0], clauses[min(len(clauses) - 1, k + 1)][1]
    written = f" {' '.join(words(sentence[a:b]))} "
    folded = f" {' '.join(lexical_tokens(sentence[a:b]))} "
    # A cue with diacritics is compared as written ("phạt" is not "phát"); one without, folded.
    return any(f" {' '.join(c)} " in (folded if fold(" ".join(c)) == " ".join(c) else written) for c in cues)


def _coordinated(sentence: str, a: Mention, b: Mention) -> bool:
    """Two values listed together ("499,9 triệu đồng và 559,9 triệu đồng", "X, Y")."""
    between = sentence[a.end : b.start].strip().lower()
    return between in {"và", ",", "hoặc", "-", "–", "và hơn"} and a.kind == b.kind


def choose(exp: Expectation, sentence: str, kind: str, terms: Terms) -> Choice | None:
    """The value of `kind` in this sentence that answers, and whether it is the clear one."""
    if kind == "person":
        return _person(exp, sentence, terms)
    fitting = [(fit(m, kind, exp), m) for m in mentions(sentence)]
    fitting = [(f, m) for f, m in fitting if f >= 0]
    if kind in {"money", "percent"} and exp.cues:
        # "How much was the owner fined?": an amount near "phạt", not a house's price.
        fitting = [(min(f, 0) if not _cued(sentence, m, exp.cues) else f, m) for f, m in fitting]
    spans = tuple((m.start, m.end) for _, m in fitting)
    scored = [(f, context(sentence, m.start, m.end, terms, spans), m) for f, m in fitting]
    # A value of the very unit or thing asked ("554 tình nguyện viên" for "how many volunteers")
    # is tied to the question by its own words, when none of the question's other words is near.
    scored = [
        (f, c if tied(sentence, m.start, m.end, terms, spans) else UNIT_TIE if f == 2 and not c else 0.0, m)
        for f, c, m in scored
    ]
    if not scored:
        return None
    scored.sort(key=lambda x: (-x[0], -x[1], x[2].start))
    if kind == "measure" and len(exp.dimensions) > 1:
        # "How much power and torque…": the best value of each dimension asked, listed together.
        per: dict[str, tuple] = {}
        for x in scored:
            if x[0] == 2:
                per.setdefault(x[2].dimension, x)
        if len(per) > 1:
            picked = sorted(per.values(), key=lambda x: x[2].start)
            ctx = min(x[1] for x in picked)
            return Choice(kind, tuple(x[2] for x in picked), 2, ctx, ctx > 0)
    best_fit, best_ctx, best = scored[0]
    rivals = [x for x in scored[1:] if x[0] == best_fit and x[2].text != best.text]
    group = [best]
    for _, _, m in sorted(rivals, key=lambda x: x[2].start):
        if _coordinated(sentence, group[-1], m):
            group.append(m)
    rivals = [x for x in rivals if x[2] not in group]
    clear = not rivals or best_ctx > max(x[1] for x in rivals)
    # Sure only when its clause shares something with the question: a value in a clause about
    # something else ("… bằng 70% so với năm 2019") is another fact's.
    return Choice(kind, tuple(sorted(group, key=lambda m: m.start)), best_fit, best_ctx, clear and best_fit >= 1 and best_ctx > 0)


def _person(exp: Expectation, sentence: str, terms: Terms) -> Choice | None:
    """Who: the people (or, unless a person is asked, organisations) the sentence names as actors,
    that the question does not name; sure when one is tied to the question's words more than the rest.

    A name after "của" (of) or "theo" (according to) is a modifier or a source, not the actor
    (bot.names: unless titled with the role asked for); people come before organisations.
    """
    text = normalize(sentence)
    question_tokens, phrases = _given(exp.question)
    human = asks_for_human(exp.question)
    roles = asked_roles(exp.question)
    found: list[Mention] = []
    acronyms = names_table().get("common_acronyms", frozenset())
    for m in mentions(text):
        if m.kind not in {"person", "name", "org"} or (m.kind == "org" and human):
            continue
        if any(c.isdigit() for c in m.text) or m.text.lower() in acronyms:
            continue  # "Covid-19", "Mi 11": a disease or a product; "BTC", "CLB": common nouns
        tokens = tuple(fold(t) for t in m.text.split())
        if all(t in question_tokens for t in tokens) or any(" ".join(p) in " ".join(tokens) for p in phrases):
            continue  # the question's own names
        if _named_by(_as_name(m), question_tokens, phrases) or _modifier(text, _as_name(m), roles):
            continue
        found.append(m)
    if not found:
        return None
    jobs = _job_spellings(exp.question)
    if jobs:
        # "Who was the referee?": the one named with the job ("trọng tài X"), not anyone named.
        holders = [m for m in found if _holds_job(text, m, jobs)]
        if not holders:
            return Choice("person", (found[0],), 0, 0.0, False)
        found = holders
    rank = {"person": 3, "name": 2, "org": 1}
    # "Who met in Geneva?": both sides answer, whichever clause names each.
    both = _reciprocal(exp.question)
    spans = tuple((m.start, m.end) for m in found)
    scored = sorted(
        (
            (rank[m.kind], 1.0 if both else context(text, m.start, m.end, terms, spans) * tied(text, m.start, m.end, terms, spans), m)
            for m in found
        ),
        key=lambda x: (-x[0], -x[1], x[2].start),
    )
    best_rank, best_ctx, best = scored[0]
    group = [best]
    for r, ctx, m in sorted(scored[1:], key=lambda x: x[2].start):
        if r == best_rank and ctx >= PEERS * best_ctx and len(group) < MAX_NAMES:
            group.append(m)  # "Sergei Lavrov và Antony Blinken": named alike, tied about alike
    rivals = [x for x in scored[1:] if x[2] not in group and x[0] == best_rank]
    clear = not rivals or best_ctx > max(x[1] for x in rivals)
    return Choice("person", tuple(sorted(group, key=lambda m: m.start)), 2, best_ctx, clear and best_ctx > 0)


def _job_spellings(question: str) -> tuple[tuple[str, ...], ...]:
    """The job the question asks a person by, as the articles write it (folded syllables)."""
    from bot.glossary import vietnamese_phrases

    out = []
    for job in asked_jobs(question):
        out.append(tuple(job.split()))
        out.extend(p for word in vietnamese_phrases(tuple(job.split())) for p in word)
    return tuple(dict.fromkeys(out))


def _holds_job(text: str, m: Mention, jobs: tuple[tuple[str, ...], ...]) -> bool:
    """Is the name given with the job: in the few words before it ("thủ môn Tuyên Quang", "HLV
    Nguyễn Đức Thắng") or right after it ("Mirante, thủ thành …")?"""
    before = " ".join(lexical_tokens(text[max(0, m.start - 40) : m.start]))
    after = " ".join(lexical_tokens(text[m.end : m.end + 30]))
    return any(f" {' '.join(j)} " in f" {before} " or after.startswith(" ".join(j)) for j in jobs)


@cache
def _reciprocal_words() -> tuple[str, ...]:
    return tuple(read_table("question_words.tsv").get("reciprocal", []))


def _reciprocal(question: str) -> bool:
    folded = " " + " ".join(fold(t) for t in re.findall(r"\w+", question)) + " "
    return any(f" {w} " in folded for w in _reciprocal_words())


def _as_name(m: Mention) -> Name:
    return Name(m.text, m.start, m.end, titled=m.kind == "person", acronym=m.text.isupper() and " " not in m.text)


# -- rendering --------------------------------------------------------------------------------------


@cache
def _english() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, values in {**read_table("short_words.tsv"), **read_table("number_words.tsv")}.items():
        kind, _, word = key.partition(":")
        out.setdefault(kind, {})[word] = values[0]
    return out


@cache
def _english_place() -> dict[str, str]:
    """Folded Vietnamese place spelling -> its English name (the first exonym that has it)."""
    from bot.anchors import exonyms

    out: dict[str, str] = {}
    for english, spellings in exonyms().items():
        for s in spellings:
            out.setdefault(s, english.title() if len(english) > 3 else english.upper())
    return out


def english_number(number: str) -> str:
    """A number as Vietnamese writes it, the English way: "1,5" -> "1.5", "500.000" -> "500,000"."""
    def one(n: str) -> str:
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", n):
            return n.replace(".", ",")
        if re.fullmatch(r"\d+,\d{1,2}", n) or re.fullmatch(r"\d+,\d{4,}", n):
            return n.replace(",", ".")
        return n

    return re.sub(r"\d+(?:[.,]\d+)*", lambda m: one(m.group(0)), number)


def _render_amount(m: Mention, lang: str, noun: tuple[str, ...]) -> str:
    if lang == "vi":
        return m.text
    words = _english()
    qualifier = words.get("qualifier", {}).get(m.qualifier.lower(), "") if m.qualifier else ""
    number = english_number(words.get("word", {}).get(m.number.lower(), m.number))
    number = re.sub(r"\s*(đến|tới)\s+(hơn\s+)?", " to ", number)
    multiplier = " ".join(words.get("multiplier", {}).get(w.lower(), w) for w in m.multiplier.split())
    unit = ""
    if m.kind == "count":
        unit = " ".join(noun) if noun else m.unit  # the asker's own noun, once it is the one counted
    elif m.kind == "percent":
        return " ".join(filter(None, [qualifier, number.rstrip("%") + "%"]))
    else:
        exact, folded = units()
        found = exact.get(tuple(m.unit.split())) or folded.get(tuple(fold(m.unit).split()))
        if found is not None:
            plural = not re.fullmatch(r"1", number) or multiplier
            unit = found.english[1] if plural else found.english[0]
        else:
            unit = m.unit
        if m.kind == "duration" and re.search(r"rưỡi$", m.text):
            number, unit = f"{number}.5", found.english[1] if found else unit
    return " ".join(filter(None, [qualifier, number, multiplier, unit]))


def _render_date(m: Mention, lang: str) -> str:
    if lang == "vi":
        return re.sub(r"^(ngày|hôm)\s+", "", m.text, flags=re.I)
    months = _english().get("month", {})
    text = m.text
    parts = {"sáng": "morning", "chiều": "afternoon", "tối": "evening", "đêm": "night", "trưa": "noon"}
    part = next((en for vi, en in parts.items() if re.search(rf"\b{vi}\b", text)), "")
    clock = re.search(r"\b(\d{1,2})[hg](\d{2})?\b", text)
    day = re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", text)
    long_date = re.search(r"\b(\d{1,2}) tháng (\d{1,2})(?: năm (\d{4}))?", text)
    month = re.search(r"\btháng (\d{1,2})(?:/(\d{4})| năm (\d{4}))?", text)
    year = re.search(r"\bnăm ((?:19|20)\d\d)\b", text)
    out = ""
    if day or long_date:
        d, mo, y = (day or long_date).groups()
        out = " ".join(filter(None, [d, months.get(mo.lstrip("0"), mo), y]))
    elif month:
        mo, y1, y2 = month.groups()
        out = " ".join(filter(None, [months.get(mo.lstrip("0"), mo), y1 or y2]))
        if re.match(r"(cuối|đầu|giữa)\b", text):
            out = {"cuối": "late", "đầu": "early", "giữa": "mid"}[text.split()[0].lower()] + " " + out
    elif year:
        out = year.group(1)
    if clock:
        out = " ".join(filter(None, [f"{clock.group(1)}:{clock.group(2) or '00'}", f"({part})" if part else "", out]))
    elif part and out:
        out = f"{out} ({part})"
    return out or m.text


def render(choice: Choice, lang: str, exp: Expectation) -> str:
    pieces = []
    for m in choice.mentions:
        if m.kind in NUMERIC:
            noun = _as_typed(exp.noun, exp.question) if lang == "en" and choice.fit == 2 and m.kind == "count" else ()
            pieces.append(_render_amount(m, lang, noun))
        elif m.kind in {"date", "time"}:
            pieces.append(_render_date(m, lang))
        elif m.kind == "minute":
            number = re.search(r"\d+(?:\+\d+)?", m.text)
            pieces.append(m.text if lang == "vi" or not number else f"minute {number.group(0)}")
        elif m.kind in {"place", "placename"} and lang == "en":
            # "Geneva (Thụy Sĩ)" -> "Geneva (Switzerland)": each name the English way
            pieces.append(re.sub(r"[^()\s][^()]*[^()\s]|[^()\s]", lambda p: _english_place().get(fold(p.group(0)), p.group(0)), m.text))
        else:
            pieces.append(m.text)
    return _join(pieces, lang)


def _as_typed(words: tuple[str, ...], question: str) -> tuple[str, ...]:
    """The question's own spelling of its (lower-cased) words: "Russian troops", not "russian troops"."""
    typed = {w.lower(): w for w in re.findall(r"[\w\-']+", question)}
    return tuple(typed.get(w, w) for w in words)


def _join(items: list[str], lang: str) -> str:
    conj = " và " if lang == "vi" else " and "
    if len(items) <= 2:
        return conj.join(items)
    return ", ".join(items[:-1]) + conj + items[-1]


# -- the answer ----------------------------------------------------------------------------------------


def spans(question: str, sentence: str, lang: str, kinds: frozenset[str] | None = None, glossed: tuple = ()) -> list[Span]:
    """The values this sentence clearly gives for what the question asks, one per kind (KINDS order)."""
    exp = expectation(question)
    asked = exp.kinds if kinds is None else kinds
    terms = _terms(exp, glossed)
    out: list[Span] = []
    for kind in KINDS:
        if kind not in asked:
            continue
        choice = choose(exp, normalize(sentence), kind, terms)
        if choice is None or not choice.sure:
            continue
        quote = " … ".join(m.text for m in choice.mentions)
        out.append(Span(kind, render(choice, lang, exp), quote))
    return out


def held(question: str, sentences: list[str], kinds: frozenset[str] | None = None, glossed: tuple = ()) -> frozenset[str]:
    """The asked-for kinds some of these sentences state a value of, about what the question asks
    (clear or not): a question they hold no such value for is one they may not answer."""
    exp = expectation(question)
    asked = (exp.kinds if kinds is None else kinds) & set(KINDS)
    terms = _terms(exp, glossed)
    out = set()
    for kind in asked:
        for sentence in sentences:
            choice = choose(exp, normalize(sentence), kind, terms)
            if choice is not None and choice.fit >= 1 and choice.context > 0:
                out.add(kind)
                break
    return frozenset(out)


def short_answer(question: str, sentences: list[str], lang: str, glossed: tuple = ()) -> Short:
    """The first cited sentence's clear value of each asked-for kind ("" when none is clear)."""
    exp = expectation(question)
    if not exp.kinds & set(KINDS):
        return Short()
    for n, sentence in enumerate(sentences, start=1):
        found = spans(question, sentence, lang, glossed=glossed)
        if found:
            text = "; ".join(s.text for s in found)
            return Short(text, " … ".join(s.quote for s in found), n)
    return Short()

