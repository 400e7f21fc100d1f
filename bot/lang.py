"""Which language a question is in, to answer (and refuse) in it."""

from __future__ import annotations

import re

from bot.text import fold, words

# Letters that only Vietnamese uses among the two languages we serve.
_VI_CHARS = re.compile(r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I)
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


def detect_language(text: str) -> str:
    """'vi' or 'en'. Diacritics decide at once; otherwise function words vote."""
    if _VI_CHARS.search(text):
        return "vi"
    tokens = [fold(t) for t in words(text)]
    vi = sum(t in _VI_WORDS for t in tokens)
    en = sum(t in _EN_WORDS for t in tokens)
    # "the" is also Vietnamese "thế" folded; ties go to English.
    return "vi" if vi > en else "en"
