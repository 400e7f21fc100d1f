"""Synthetic Vietnamese news articles, made from the seed articles, for benchmarks and tests.

Each article takes a seed's title and a sample of sentences from one or two
seeds, shuffles them, and swaps in other people's names, other places, dates
and numbers. Article `i` depends only on (seed, i), so a corpus of 30 is the
first 30 files of a corpus of 1000. The text reads like the seeds (same
vocabulary and length of sentences, so the same chunking and embedding cost)
but its facts are invented: it is for measuring, not for answering.

    python -m bench.corpus OUT_DIR --n 1000 [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.load import load_articles
from bot.settings import REPO_ROOT
from bot.text import sentences

if TYPE_CHECKING:
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

SEEDS = REPO_ROOT / "seeds"

# Names and places in the seeds; each article maps them to others consistently
# (so "Sergei Lavrov" and "Lavrov" become the same new person).
SURNAMES = [
    "Lavrov", "Blinken", "Putin", "Biden", "Stoltenberg", "Ryabkov", "Grushko", "Sherman", "Macron", "Johnson",
    "Kelin", "Niinsto", "Sullivan", "Austin", "Reznikov", "Kuleba", "Baerbock", "Lukyanov", "Rasmussen",
    "Pothier", "Ignatov", "Rau", "Peskov", "Zelensky", "Truss", "Scholz",
]
GIVEN = [
    "Sergei", "Sergey", "Antony", "Vladimir", "Joe", "Jens", "Wendy", "Alexander", "Emmanuel", "Boris",
    "Andrei", "Sauli", "Jake", "Lloyd", "Oleksii", "Dmytro", "Annalena", "Fyodor", "Anders", "Fabrice", "Oleg",
    "Zbigniew", "Dmitry", "Volodymyr", "Olaf", "Liz",
]
PLACES = [
    "Geneva", "Moskva", "Moscow", "Washington", "Kiev", "Brussels", "Paris", "London", "Vienna", "Belarus",
    "Cuba", "Venezuela", "Khabarovsk", "Normandy", "Donbass", "Brest", "Iran", "Kremlin",
]
NEW_PLACES = [
    "Oslo", "Helsinki", "Praha", "Warsaw", "Budapest", "Bucharest", "Sofia", "Riga", "Tallinn", "Vilnius",
    "Ankara", "Istanbul", "Tbilisi", "Baku", "Yerevan", "Astana", "Tashkent", "Roma", "Madrid", "Lisbon",
    "Berlin", "Bern", "Zurich", "Hà Nội", "Đà Nẵng", "Huế", "Singapore", "Jakarta", "Bangkok", "Tokyo",
    "Seoul", "Bắc Kinh", "New Delhi", "Canberra", "Ottawa", "Brasilia", "Cairo", "Nairobi", "Dubai", "Doha",
]
_ONSETS = ["b", "d", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "kr", "st", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "ia", "eo"]
_SUFFIXES = ["", "", "ov", "enko", "sen", "ski", "son", "ez", "ani", "escu"]

_NAME_RE = re.compile(r"\b(" + "|".join(sorted(SURNAMES + GIVEN + PLACES, key=len, reverse=True)) + r")\b")
_DATE_RE = re.compile(r"\b(\d{1,2})([/-])(\d{1,2})(?:\2(\d{4}))?\b")
_NUMBER_RE = re.compile(r"(?<![\w/.-])\d+(?:\.\d{3})*(?![\w/])")
MIN_WORDS = 6


@dataclass(frozen=True)
class Seed:
    title: str
    body: list[str]  # sentences long enough to be content, not captions


@lru_cache(maxsize=1)
def seed_sentences() -> tuple[Seed, ...]:
    out = []
    for article in load_articles([SEEDS]).articles:
        spans = sentences(article.text)
        title = spans[0].text
        body = [s.text for s in spans[1:] if len(s.text.split()) >= MIN_WORDS]
        out.append(Seed(title, body))
    return tuple(out)


def _made_up_name(rng: random.Random) -> str:
    syllables = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 3)))
    return (syllables + rng.choice(_SUFFIXES)).capitalize()


def _substitute(text: str, mapping: dict[str, str], rng: random.Random) -> str:
    def name(m: re.Match) -> str:
        key = m.group(1)
        if key not in mapping:
            mapping[key] = rng.choice(NEW_PLACES) if key in PLACES else _made_up_name(rng)
        return mapping[key]

    def date(m: re.Match) -> str:
        sep, year = m.group(2), m.group(4)
        new = f"{rng.randint(1, 28)}{sep}{rng.randint(1, 12)}"
        return new + f"{sep}{rng.randint(2015, 2025)}" if year else new

    def number(m: re.Match) -> str:
        digits = m.group(0).replace(".", "")
        if len(digits) == 4 and digits.startswith(("19", "20")):
            return str(rng.randint(2015, 2025))
        value = rng.randint(10 ** (len(digits) - 1) if len(digits) > 1 else 1, 10 ** len(digits) - 1)
        return f"{value:,}".replace(",", ".")

    text = _NAME_RE.sub(name, text)
    text = _DATE_RE.sub(date, text)
    return _NUMBER_RE.sub(number, text)


def article_text(i: int, seed: int = 7, min_sentences: int = 3, max_sentences: int = 6) -> str:
    """The text of synthetic article `i`: a title line and shuffled paragraphs."""
    rng = random.Random(f"{seed}:{i}")
    seeds = seed_sentences()
    main, other = rng.sample(seeds, 2)
    n = rng.randint(min_sentences, max_sentences)
    picked = rng.sample(main.body, min(n - 1, len(main.body))) + rng.sample(other.body, 1)
    rng.shuffle(picked)
    mapping: dict[str, str] = {}
    title = _substitute(main.title, mapping, rng)
    body = [_substitute(s, mapping, rng) for s in picked]
    paragraphs, j = [], 0
    while j < len(body):
        size = rng.randint(1, 3)
        paragraphs.append(" ".join(body[j : j + size]))
        j += size
    # The number keeps every text distinct (the loader skips duplicate texts).
    return f"{title} (bài {i + 1})\n" + "\n".join(paragraphs) + "\n"


def file_name(i: int, text: str) -> str:
    return f"{i:06d}_{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}.txt"


def write_corpus(out: Path, n: int, seed: int = 7, **lengths: int) -> list[Path]:
    """Write n articles as .txt files into `out` (created); returns their paths in order."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        text = article_text(i, seed, **lengths)
        path = out / file_name(i, text)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def article_chunks(i: int, splitter: RecursiveCharacterTextSplitter | None = None) -> list[Document]:
    """Synthetic article `i` chunked as `bot ingest` would (600 characters, 120 overlap, the bot's own splitter)."""
    from bot.chunk import chunk_article, make_splitter
    from bot.load import Article

    text = article_text(i)
    name = file_name(i, text)
    return chunk_article(Article(source=name, path=Path(name), text=text), splitter or make_splitter(600, 120))


def synthetic_chunks(count: int, start: int = 1_000_000) -> Iterator[tuple[str, str, dict]]:
    """(id, text, metadata) of `count` chunks of articles start, start + 1, ...: a large corpus without embedding it."""
    from bot.chunk import make_splitter

    splitter = make_splitter(600, 120)
    made, i = 0, start
    while made < count:
        for doc in article_chunks(i, splitter):
            if made == count:
                return
            yield doc.id, doc.page_content, doc.metadata
            made += 1
        i += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    paths = write_corpus(args.out, args.n, args.seed)
    print(f"{len(paths)} articles in {args.out}")


if __name__ == "__main__":
    main()
