"""Which language a question is in, to answer (and refuse) in it.

The bot speaks Vietnamese and English; a question in any other language gets
English, the language more of its readers share than Vietnamese.
"""

from __future__ import annotations

import re

from bot.text import fold, words

# Every letter Vietnamese writes beyond ASCII (an answer mostly in them is Vietnamese: bot.answer.language).
VI_LETTERS = re.compile(r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I)
# Letters only Vietnamese writes: ă đ ơ ư, and vowels with a hook above, a dot
# below or a tilde where French, Spanish or Portuguese never put one. Letters
# Vietnamese shares with them (à é ê ô ù í ó ã …) decide nothing on their own:
# "Qui s'est rencontré à Genève ?" is French.
_VI_ONLY = re.compile(r"[ăđơưảạằẳẵắặầẩẫấậẻẽẹềểễếệỉĩịỏọồổỗốộờởỡớợủũụừửữứựỳỷỹỵ]", re.I)
# Letters Vietnamese never writes: a question holding one is in a third language.
_FOREIGN = re.compile(r"[çëïüœæîûÿñöäßåøëğşł]", re.I)
# Frequent Vietnamese function words, as typed without diacritics.
_VI_WORDS = {
    "ai", "gi", "nao", "khong", "duoc", "cua", "va", "la", "co", "nhung", "voi", "trong", "nguoi",
    "sao", "bao", "nhieu", "dau", "ngay", "thang", "nam", "khi", "cho", "ve", "tai", "vi", "nhu",
    "the", "nay", "da", "se", "dang", "mot", "cac", "gap", "nhau", "noi", "o", "hoi",
}
_EN_WORDS = {
    "the", "a", "an", "of", "in", "on", "what", "who", "when", "where", "which", "why", "how", "did",
    "does", "do", "is", "are", "was", "were", "to", "and", "with", "about", "for", "by", "say", "said",
    "many", "much", "from", "at", "that", "this", "it", "they", "he", "she", "after", "before",
}
# Function words of the other languages a reader may try (French, Spanish,
# German, Italian), folded; they outvote the Vietnamese words they share ("la", "va").
_OTHER_WORDS = {
    "le", "la", "les", "des", "du", "de", "est", "qui", "que", "quoi", "ou", "pourquoi", "comment",
    "quand", "combien", "une", "un", "et", "dans", "sur", "avec", "pour", "par", "s", "l", "d", "qu",
    "el", "los", "las", "quien", "donde", "cuando", "por", "con", "es", "se",
    "der", "die", "das", "und", "ist", "wer", "wie", "wo", "wann", "mit", "von", "chi", "dove", "il",
}


def detect_language(text: str) -> str:
    """'vi' or 'en' (English also for any third language).

    A letter only Vietnamese writes decides at once; otherwise function words vote.
    """
    if _VI_ONLY.search(text):
        return "vi"
    if _FOREIGN.search(text):
        return "en"
    tokens = [fold(t) for t in words(re.sub(r"['’]", " ", text))]
    vi = sum(t in _VI_WORDS for t in tokens)
    en = sum(t in _EN_WORDS for t in tokens)
    other = sum(t in _OTHER_WORDS for t in tokens)
    # "the" is also Vietnamese "thế" folded, "la" also French; ties go to English.
    return "vi" if vi > en and vi > other else "en"
