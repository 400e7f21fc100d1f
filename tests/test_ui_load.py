"""Twenty people chatting at once: the UI's /chat endpoint under concurrent sessions.

Each session is its own gradio_client over loopback and asks two questions
about different articles, in turn. Nothing may fail, no answer may come from
another session's question, and each session's second question must reach the
bot with that session's first exchange, and only it, as its history. The
latencies are printed, not asserted (speed belongs in bench/).
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
from test_ui import RecordingBot, client, start

SESSIONS = 20
ALL_DONE_WITHIN_S = 100  # bounded: a hung server fails the test instead of stalling the suite
ANSWER_WITHIN_S = 60
# Questions each answered from one article (extractive, hybrid, k=5).
QUESTIONS = [
    (
        "Where did the two Russian S-400 units travel to, and where will they be sent by rail?",
        "000_06e006c2fbeffc65.txt",
    ),
    ("When does the Neptune Strike exercise begin and how long is it planned to last?", "000_06e006c2fbeffc65.txt"),
    ("On what date did Putin phone Finland's president, and what did they discuss?", "001_5ac6cdcd54be8f5d.txt"),
    (
        "Under the framework deal the UK and Ukraine signed in November, what does each side get?",
        "001_5ac6cdcd54be8f5d.txt",
    ),
    (
        "Buổi gặp giữa hai vị trưởng ngành ngoại giao Nga – Mỹ ở Thụy Sĩ diễn ra trong bao lâu?",
        "002_5e381044bb73209e.txt",
    ),
    ("According to Lavrov, is Putin open to meeting Biden?", "002_5e381044bb73209e.txt"),
    (
        "Khi được hỏi về khả năng triển khai quân sự tới Cuba, ông Ryabkov nói mọi việc phụ thuộc vào điều gì?",
        "003_b2fc1e8a5747e8a2.txt",
    ),
    ("Cố vấn an ninh của Nhà Trắng nói tình báo cho thấy Moskva đang dàn dựng điều gì?", "003_b2fc1e8a5747e8a2.txt"),
    (
        "What did NATO Secretary General Jens Stoltenberg concede after the NATO-Russia Council meeting?",
        "004_bb64801ae19f6d5c.txt",
    ),
    ("Who is the Rasmussen Global policy group named after?", "004_bb64801ae19f6d5c.txt"),
]
CITED = re.compile(r"^\[\d+\] (\S+) \(chars \d+-\d+\)$", re.M)


def plan(session: int) -> list[tuple[str, str]]:
    """Two questions about different articles, so a crossed answer or history would show."""
    return [QUESTIONS[session % len(QUESTIONS)], QUESTIONS[(session + 3) % len(QUESTIONS)]]


@pytest.fixture(scope="module")
def served(shared_bot):
    app = start(RecordingBot(shared_bot))
    yield app
    app.app.close()


def chat(url: str, session: int) -> list[tuple[str, str, str, float]]:
    """One person's conversation: (question, expected file, answer, seconds) per turn."""
    c = client(url)
    turns = []
    for question, expected in plan(session):
        started = time.perf_counter()
        answer = c.submit(question, api_name="/chat").result(timeout=ANSWER_WITHIN_S)
        turns.append((question, expected, answer, time.perf_counter() - started))
    return turns


def test_twenty_concurrent_sessions_keep_their_answers_and_histories(served, capsys):
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        futures = [pool.submit(chat, served.url, s) for s in range(SESSIONS)]
        done, pending = wait(futures, timeout=ALL_DONE_WITHIN_S)
        for f in pending:
            f.cancel()
    assert not pending, f"{len(pending)} sessions did not finish within {ALL_DONE_WITHIN_S}s"
    conversations = [f.result() for f in futures]  # re-raises any session's error
    wall = time.perf_counter() - started

    latencies = []
    for turns in conversations:
        for question, expected, answer, seconds in turns:
            cited = set(CITED.findall(answer))
            assert cited == {expected}, f"{question!r} got an answer citing {cited}:\n{answer}"
            latencies.append(seconds)

    # Each session's second question came with its own first exchange; first questions with none.
    asked = Counter((call["question"], tuple(q for q, _ in call["history"])) for call in served.bot.calls)
    expected_calls = Counter()
    for s in range(SESSIONS):
        (q1, _), (q2, _) = plan(s)
        expected_calls[(q1, ())] += 1
        expected_calls[(q2, (q1,))] += 1
    assert asked == expected_calls
    first_answers = {turns[0][0]: turns[0][2] for turns in conversations}
    for call in served.bot.calls:
        for q, a in call["history"]:
            assert first_answers[q].startswith(a)  # the history holds the answer that session was given

    cuts = statistics.quantiles(latencies, n=20)
    with capsys.disabled():
        print(
            f"\nUI load: {SESSIONS} sessions x 2 questions in {wall:.1f}s; per answer "
            f"p50 {statistics.median(latencies):.2f}s, p95 {cuts[18]:.2f}s, max {max(latencies):.2f}s"
        )
