"""English beside a quoted Vietnamese sentence: machine translation by the configured model, on request.

Only with a language model (the one answering, or found by autodetection): the
quotes stay the evidence, the translation is a reading aid and is always labelled
as machine-translated. One request per sentence (small local models translate one
sentence better than a numbered list), each bounded by the model's timeouts;
translations are kept per model for the life of the process.
"""

from __future__ import annotations

import threading

from bot.lang import detect_language
from bot.prompts import prompt_table


class TranslationError(RuntimeError):
    """The model could not translate; the message says why, in one line."""


class Translator:
    def __init__(self, base_url: str, model: str, api_key: str | None, timeout_s: float = 30.0) -> None:
        from openai import OpenAI

        self.model = model
        self._client = OpenAI(base_url=base_url, api_key=api_key or "no-key", timeout=timeout_s, max_retries=1)
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return self.model

    def english(self, sentence: str) -> str:
        """The sentence in English ("" for one that is not Vietnamese: nothing to translate)."""
        sentence = " ".join(sentence.split())
        if not sentence or detect_language(sentence) != "vi":
            return ""
        with self._lock:
            if sentence in self._cache:
                return self._cache[sentence]
        prompt = prompt_table("translate")
        try:
            reply = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": prompt["system"]},
                          {"role": "user", "content": prompt["user"].format(quote=sentence)}],
                temperature=0,
                max_tokens=400,
            )
        except Exception as exc:  # noqa: BLE001 - the client raises many kinds; one line for the reader
            raise TranslationError(f"the model could not translate ({type(exc).__name__})") from None
        text = " ".join((reply.choices[0].message.content or "").split()) if reply.choices else ""
        if not text:
            raise TranslationError("the model returned no translation")
        with self._lock:
            self._cache[sentence] = text
        return text

    def quotes(self, quotes: list[str]) -> dict[str, str]:
        """{quote: its English} for the Vietnamese ones among `quotes`."""
        out = {}
        for quote in dict.fromkeys(quotes):
            english = self.english(quote)
            if english:
                out[quote] = english
        return out


def translator_for(bot) -> Translator | None:
    """A translator on the model the Bot answers with; None without one."""
    llm = getattr(bot, "_llm", None)
    if llm is None or not getattr(llm, "base_url", None):
        return None
    # The answerer keeps its key private; a local server's is generated per start (bot.local_server).
    key = getattr(llm, "_key", None)
    return Translator(llm.base_url, llm.model, key, timeout_s=max(10.0, float(getattr(llm, "total_s", 30.0))))
