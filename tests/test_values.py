"""The values a sentence states (bot/values.py) and the short answer chosen among them (bot/short.py),
on sentences shaped like the news the bot was not written for: prices, specs, sport, health."""

from __future__ import annotations

import pytest

from bot.expect import expectation
from bot.short import short_answer
from bot.values import mentions


def kinds(sentence: str) -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in mentions(sentence)]


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("Huawei Band 6 được bán ra tại Việt Nam với giá 1,5 triệu đồng.", ("money", "1,5 triệu đồng")),
        ("Pin có dung lượng 3.885mAh, sạc nhanh 33W.", ("measure", "3.885mAh")),
        ("Vắc xin cần được bảo quản ở nhiệt độ 2-8 độ C.", ("measure", "2-8 độ C")),
        ("Cuối năm ngoái, ước tính 83% hộ gia đình đã bị giảm thu nhập.", ("percent", "83%")),
        ("Khách gọi điện hủy gần 20 phòng.", ("count", "gần 20 phòng")),
        ("Trận đấu kéo dài 3 giờ 38 phút.", ("duration", "3 giờ 38 phút")),
        ("Phút 75, Pogba đánh đầu ghi bàn.", ("minute", "Phút 75")),
        ("Xe bị phát hiện tại km230 cao tốc.", ("measure", "km230")),
        ("Giá xăng tăng 432 đồng/lít.", ("money", "432 đồng/lít")),
        ("Màn hình 8,1-inch, độ phân giải cao.", ("measure", "8,1-inch")),
        ("Suzuki Ertiga được giảm giá từ 50 triệu đến hơn 60 triệu đồng.", ("money", "50 triệu đến hơn 60 triệu đồng")),
        ("Tổng vốn huy động hơn 81 tỷ đồng.Huyện Cần Giờ đạt chuẩn.", ("money", "hơn 81 tỷ đồng")),  # a glued sentence
        ("Rupert Grint sinh ngày 24 tháng 8 năm 1988.", ("date", "ngày 24 tháng 8 năm 1988")),
        ("6h sáng 30/4, Bộ Y tế thông tin nước ta có 4 ca mắc mới.", ("date", "6h sáng 30/4")),
    ],
)
def test_values_are_read_whole_with_their_units(sentence, expected):
    assert expected in kinds(sentence)


def test_a_number_in_a_name_is_no_value_and_a_qualifier_needs_its_diacritics():
    found = kinds("Xiaomi Mi 11 Lite có RAM 8 GB; anh chi 1,5 triệu bảng Anh.")
    assert ("name", "Xiaomi Mi 11 Lite") in found and ("measure", "8 GB") in found
    assert ("money", "1,5 triệu bảng Anh") in found  # "chi" (spent) is no "chỉ" (only)


@pytest.mark.parametrize(
    "sentence, name, kind",
    [
        ("Ông Vàng Văn Phúc, quản lý một khách sạn trên đường Ngũ Chỉ Sơn.", "Vàng Văn Phúc", "person"),
        ("Ông Vàng Văn Phúc, quản lý một khách sạn trên đường Ngũ Chỉ Sơn.", "Ngũ Chỉ Sơn", "place"),
        ("Ngày 14/1, Ngoại trưởng Nga Sergey Lavrov đưa ra lập trường cứng rắn.", "Sergey Lavrov", "person"),
        ("Ngày 14/1, Ngoại trưởng Nga Sergey Lavrov đưa ra lập trường cứng rắn.", "Nga", "placename"),
        ("Nhóm được đặt tên theo cựu lãnh đạo NATO Anders Fogh Rasmussen.", "NATO", "org"),
        ("Vắc xin do Công ty Nanogen phát triển.", "Công ty Nanogen", "org"),
        ("PGS.TS Mai Duy Tôn là Giám đốc Trung tâm Đột quỵ.", "Mai Duy Tôn", "person"),  # a surname, not a place
    ],
)
def test_names_are_told_apart_by_the_words_before_them(sentence, name, kind):
    assert (kind, name) in kinds(sentence)


def test_words_that_only_look_like_names_are_not_names():
    names = [m.text for m in mentions("Sau khi Căn cước công dân được cấp, Bộ trưởng Quốc phòng Mỹ Lloyd Austin phát biểu.")]
    assert "Sau" not in names and "Căn" not in names and "Quốc" not in names and "Lloyd Austin" in names


@pytest.mark.parametrize(
    "question, sentence, lang, short",
    [
        # the unit asked, not another number of the sentence
        ("How many megapixels is the front camera?", "Camera trước 16 MP, RAM 8 GB, pin 4.250 mAh.", "en", "16 MP"),
        ("What is the battery capacity of the phone?", "Camera trước 16 MP, RAM 8 GB, pin 4.250 mAh.", "en", "4,250 mAh"),
        ("Màn hình làm tươi ở tốc độ bao nhiêu?", "Màn hình hỗ trợ tần số quét 90 Hz, RAM 8 GB.", "vi", "90 Hz"),
        # the counted thing asked, in the asker's words
        ("How many volunteers took part?", "Thử nghiệm trên 554 tình nguyện viên tại 2 địa điểm.", "en", "554 volunteers"),
        ("Bao nhiêu phòng bị hủy?", "Chỉ trong một đêm, khách gọi điện hủy gần 20 phòng.", "vi", "gần 20 phòng"),
        # the amount tied to what the question names
        (
            "Rupert Grint đã bỏ ra bao nhiêu tiền để sở hữu hai căn nhà ở Luton?",
            "Một ngôi nhà trị giá 500.000 bảng Anh ở Hitchin; anh chi 1,5 triệu bảng Anh cho hai ngôi nhà ở Luton.",
            "vi",
            "1,5 triệu bảng Anh",
        ),
        ("How much does the band cost in Vietnam?", "Huawei Band 6 được bán ra tại Việt Nam với giá 1,5 triệu đồng.", "en", "1.5 million dong"),
        ("pogba ghi ban o phut thu may", "Phút 75, Pogba đánh đầu ghi bàn nâng tỷ số lên 4-2.", "vi", "Phút 75"),
        ("Who was the goalkeeper who replaced Pau Lopez?", "Cú sút khiến thủ thành Mirante (vào thay Pau Lopez) vất vả cản phá.", "en", "Mirante"),
    ],
)
def test_the_short_answer_is_the_value_asked_for(question, sentence, lang, short):
    assert short_answer(question, [sentence], lang).text == short


@pytest.mark.parametrize(
    "question, sentence",
    [
        # a fine asked, a house's price given
        ("How much was the owner fined?", "Rupert bỏ ra 4,5 triệu bảng Anh mua ngôi nhà này."),
        # a referee asked, a coach named
        ("Who was the referee of the match?", "Đây cũng là trận mà HLV Nguyễn Đức Thắng tăng cường cầu thủ nhập tịch."),
        # the question's own figure is no answer
        ("Doanh thu 400 tỷ đồng của phim tương ứng với bao nhiêu vé?", "Doanh thu của phim đã lên đến con số 400 tỷ đồng."),
        # the value's clause is about something else
        ("Hoạt động nào bị hoãn vào năm nào?", "Sa Pa sẽ đón 65.000 lượt khách, bằng 70% so với năm 2019."),
    ],
)
def test_no_short_answer_when_no_value_clearly_answers(question, sentence):
    assert not short_answer(question, [sentence], "en" if question[0].isascii() else "vi")


@pytest.mark.parametrize(
    "question, kinds_, dimensions",
    [
        ("How deep was the snow?", {"measure"}, {"length"}),
        ("huawei band 6 ban o viet nam gia bao nhieu", {"money"}, {"money"}),
        ("What is the battery capacity of the phone in mAh?", {"measure"}, {"charge"}),
        ("Tổ CSGT phát hiện xe tại km bao nhiêu?", {"measure"}, {"length"}),
        ("Cơ quan chức năng nhận tin nhắn vào lúc mấy giờ?", {"time"}, set()),
        ("nadal thang set quyet dinh voi ti so bao nhieu", {"score"}, set()),
        ("Hoạt động xác lập kỷ lục Việt Nam nào bị hoãn?", set(), set()),  # "Việt Nam nào" is no "năm nào"
        ("How many infrastructure works has the district invested in?", {"quantity"}, set()),  # a count, not money
    ],
)
def test_what_a_question_measures(question, kinds_, dimensions):
    exp = expectation(question)
    assert exp.kinds == kinds_ and exp.dimensions == dimensions
