"""Personal data in customer messages is masked for analytics; shop facts (orders, prices, hotline) are kept."""

from __future__ import annotations

import threading

import pytest

from analytics.masking import Span, find_personal_data, mask


def kinds(text: str) -> list[str]:
    return [span.kind for span in find_personal_data(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我的电话是13912345678请联系", "我的电话是〔手机号〕请联系"),
        ("手机 138 0013 8000，白天都在", "手机 〔手机号〕，白天都在"),
        ("号码138-0013-8000，谢谢", "号码〔手机号〕，谢谢"),
        ("打 +86 138 0013 8000 找王先生", "打 〔手机号〕 找王先生"),
        ("国外朋友代收，+8613800138000", "国外朋友代收，〔手机号〕"),
        ("联系电话8613800138000", "联系电话〔手机号〕"),
        ("家里座机010-12345678，白天有人", "家里座机〔座机〕，白天有人"),
        ("公司电话(021)87654321转前台", "公司电话〔座机〕转前台"),
        ("打0755-8888 6666找我", "打〔座机〕找我"),
        ("实名认证用的身份证11010519491231002X", "实名认证用的身份证〔身份证号〕"),
        ("身份证号：440301199001011234，请核对", "身份证号：〔身份证号〕，请核对"),
        ("退款到卡号6222 0212 3456 7890 123就行", "退款到卡号〔银行卡号〕就行"),
        ("我的卡是6217-0000-1234-5678", "我的卡是〔银行卡号〕"),
        ("邮箱wang.li@example.com，发票发这里", "邮箱〔邮箱〕，发票发这里"),
        ("发票寄到12345@qq.com谢谢", "发票寄到〔邮箱〕谢谢"),
        ("我的邮箱是 someone+tag@163.com 。", "我的邮箱是 〔邮箱〕 。"),
        ("收货地址：北京市朝阳区建国路88号SOHO现代城5号楼1203室，尽快发货", "收货地址：〔地址〕，尽快发货"),
        ("寄到广东省深圳市南山区科技园南区粤海街道高新南七道15号", "寄到〔地址〕"),
        ("改成上海浦东新区张江路500弄3号602吧", "改成〔地址〕吧"),
        ("地址是杭州市西湖区文三路 259 号，电话13512345678", "地址是〔地址〕，电话〔手机号〕"),
        ("我住在阳光花园小区3栋2单元501室，放门口就好", "我住在〔地址〕，放门口就好"),
        (
            "新地址：江苏省苏州市工业园区星湖街328号创意产业园2期B1栋302室，收件人王丽 13912345678",
            "新地址：〔地址〕，收件人〔姓名〕 〔手机号〕",
        ),
    ],
)
def test_personal_data_is_replaced_and_the_rest_kept(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("订单2024061812345678还没发货，我的手机13800138000", ["mobile"]),
        ("麻烦寄到北京朝阳区建国路88号院3号楼2单元1201", ["address"]),
        ("送到南京市鼓楼区中山北路30号", ["address"]),
        ("成都市武侯区人民南路四段12号附1号", ["address"]),
        ("广州天河区体育西路191号中石化大厦B座12层", ["address"]),
        ("重庆渝中区解放碑八一路177号", ["address"]),
        ("西安市雁塔区小寨东路126号百隆广场A座2103", ["address"]),
        ("上海市徐汇区漕溪北路 595 号 3 楼 前台", ["address"]),
        ("我住在阳光花园小区，快递放门口", ["address"]),
        ("老身份证440301900101123还能用吗", ["id_card"]),
        # Date valid, checksum wrong (a typo?): still looks like an ID, so it is masked.
        ("身份证440301199001011235", ["id_card"]),
        ("Visa卡4111 1111 1111 1111可以退吗", ["bank_card"]),
        ("银行卡6222021234567890128", ["bank_card"]),
        ("邮箱wang.li@example.com 电话010-12345678 手机138 0013 8000", ["email", "landline", "mobile"]),
    ],
)
def test_kinds_found(text: str, expected: list[str]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号2024061812345678怎么还没发货？",
        "订单2025010112345678和2024061812345678一起发吗",
        "iPhone 15 Pro Max 256G 现在¥599？不是要1299元吗",
        "双11打3.5折吗，买3件有优惠吗",
        "我是2026-11-24 14:30下的单",
        "2026年11月24日下单的，11月11日之前能到吗",
        "我想知道3号能不能到",
        "11月3号送到公司可以吗",
        "你们的客服热线400-820-6688打不通",
        "800-820-8820也打不通",
        "优惠券YUNDUO2026用不了",
        "顺丰单号SF1234567890123查不到",
        "好评率98%，退款比例是100%吗",
        "我在北京，发货要几天？",
        "我在北京朝阳区，能当天到吗",
        "上海到杭州几天能到",
        "退货地址是哪里",
        "我们小区能送吗",
        "我家在3楼，能送上楼吗",
        "流水号123456202613451234",  # 18 digits, month 13: not an ID
        "充电宝20000毫安，3C认证吗",
    ],
)
def test_shop_facts_and_plain_questions_stay(text: str) -> None:
    assert find_personal_data(text) == []
    assert mask(text) == text


def test_order_numbers_are_kept_even_when_they_pass_luhn() -> None:
    # 2024061812345676 passes Luhn; no card network issues numbers starting with a year.
    assert mask("订单2024061812345676") == "订单2024061812345676"


def test_spans_point_into_the_original_text() -> None:
    text = "王先生，手机13912345678，地址杭州市西湖区文三路 259 号"
    spans = find_personal_data(text)
    assert spans == [
        Span("mobile", 6, 17, "13912345678"),
        Span("address", 20, text.index("号") + 1, "杭州市西湖区文三路 259 号"),
    ]
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_empty_and_plain_text() -> None:
    assert mask("") == ""
    assert mask("你好，在吗？\n") == "你好，在吗？\n"


def test_masking_from_several_threads_gives_the_same_answer() -> None:
    text = "寄到上海浦东新区张江路500弄3号602，电话13800138000"
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(mask(text))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["寄到〔地址〕，电话〔手机号〕"] * 8
