from bot.lang import detect_language
from bot.text import fold, lexical_tokens, normalize, sentences, words


def test_fold_strips_vietnamese_marks_and_d_stroke():
    assert fold("Đàm phán ở Geneva ngày 21/1") == "dam phan o geneva ngay 21/1"


def test_normalize_composes_and_drops_invisible_characters():
    decomposed = "Nga\u0300y 21/1"  # "Ngày" written with a combining grave accent
    assert normalize(decomposed) == "Ngày 21/1"
    assert normalize("Gen\u200beva\u202e") == "Geneva"
    assert normalize("a\x00b") == "a b"


def test_dates_and_codes_stay_whole_and_dash_dates_match_slash_dates():
    assert "21/1" in words("ngày 21/1, S-400")
    assert "s-400" in words("ngày 21/1, S-400")
    assert words("Ngày 14-12")[-1] == words("ngày 14/12")[-1] == "14/12"


def test_lexical_tokens_match_with_and_without_diacritics():
    typed = set(lexical_tokens("ai gap nhau o geneva"))
    text = set(lexical_tokens("Ai gặp nhau ở Geneva?"))
    assert typed == text
    assert {"21/1", "21", "1"} <= set(lexical_tokens("ngày 21/1"))


def test_sentences_keep_exact_offsets():
    text = "Ngày 21/1, ông Lavrov gặp ông Blinken. USS Harry S.Truman tham gia.\nẢnh: AFP"
    spans = sentences(text, offset=100)
    assert [s.text for s in spans] == [
        "Ngày 21/1, ông Lavrov gặp ông Blinken.",
        "USS Harry S.Truman tham gia.",
        "Ảnh: AFP",
    ]
    for span in spans:
        assert text[span.start - 100 : span.end - 100] == span.text


def test_sentences_split_before_quotes_and_digits():
    spans = sentences("Ông nói: “Không.” 2 đơn vị đã tới. “Tất cả phụ thuộc vào Mỹ”, ông nói.")
    assert len(spans) == 3


def test_a_dash_after_an_ellipsis_goes_on_with_the_sentence_unless_a_new_one_follows():
    going_on = "Chuyến hàng gồm cả vũ khí, đạn dược... - đã hạ cánh xuống Kiev. Chuyến hàng thể hiện cam kết."
    assert [s.text for s in sentences(going_on)] == [
        "Chuyến hàng gồm cả vũ khí, đạn dược... - đã hạ cánh xuống Kiev.",
        "Chuyến hàng thể hiện cam kết.",
    ]
    assert len(sentences("Ông nói vậy. - Tôi không đồng ý, bà đáp.")) == 2  # a dash before a new sentence


def test_detect_language():
    assert detect_language("who met in Geneva on 21/1") == "en"
    assert detect_language("ai gặp nhau ở Geneva ngày 21/1?") == "vi"
    assert detect_language("ai gap nhau o geneva ngay 21/1") == "vi"
    assert detect_language("What did Lavrov say?") == "en"


def test_syllable_pairs_stay_within_a_clause():
    from bot.text import lexical_terms, lexical_tokens

    text = "Tàu sân bay của Hoa Kỳ, ngày 21.1; tới Đại Tây Dương.\nTây Du Ký"
    tokens, pairs = lexical_terms(text)
    assert tokens == lexical_tokens(text)  # one tokeniser: the same syllables either way
    assert pairs == ["tau san", "san bay", "bay cua", "cua hoa", "hoa ky", "ngay 21/1", "toi dai", "dai tay",
                     "tay duong", "tay du", "du ky"]  # none across ",", ";", "." or a line end
    assert lexical_terms("ai gap nhau o geneva")[1] == lexical_terms("Ai gặp nhau ở Geneva")[1]
