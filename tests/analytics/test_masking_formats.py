"""The formats the masker must read (full-width, Chinese numerals, odd grouping, spaced IDs, traditional
characters, road-less addresses, names after cue words, QQ, WeChat, passports, plates), the shop's numbers
it must leave alone, and its recall and precision on the development part of the labelled set."""

from __future__ import annotations

import pytest

from analytics.masking import PLACEHOLDERS, find_personal_data, mask
from evaluation.pii_set import load, score


def found(text: str) -> list[tuple[str, str]]:
    return [(span.kind, span.text) for span in find_personal_data(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # full-width digits (NFKC), also mixed with half-width
        ("手机：１３９１２３４５６７８", [("mobile", "１３９１２３４５６７８")]),
        ("打我手机呀 15９ 0123 ４５67", [("mobile", "15９ 0123 ４５67")]),
        # Chinese numerals, read-out forms (幺) and capital numerals
        ("电话是一三八一二三四五六七八", [("mobile", "一三八一二三四五六七八")]),
        ("手机号幺五九二八三七四六五零", [("mobile", "幺五九二八三七四六五零")]),
        ("壹叁捌零零壹叁捌零零零是我号码", [("mobile", "壹叁捌零零壹叁捌零零零")]),
        ("号码幺三八，幺二三四，五六七八", [("mobile", "幺三八，幺二三四，五六七八")]),
        # odd grouping and country codes
        ("新号1381234 5678", [("mobile", "1381234 5678")]),
        ("号码13 8123 45678", [("mobile", "13 8123 45678")]),
        ("电话：1 3 8 1 2 3 4 5 6 7 8", [("mobile", "1 3 8 1 2 3 4 5 6 7 8")]),
        ("手机138.0013.8000", [("mobile", "138.0013.8000")]),
        ("麻烦打(+86) 136 1111 2222", [("mobile", "(+86) 136 1111 2222")]),
        ("0086-13612345678", [("mobile", "0086-13612345678")]),
        ("电话 +86-139-0000-1234", [("mobile", "+86-139-0000-1234")]),
        ("打不通打15911112222或者13300001111", [("mobile", "15911112222"), ("mobile", "13300001111")]),
        ("座机号码：021 5432 8765", [("landline", "021 5432 8765")]),
        ("公司座机(010)62758890转8021", [("landline", "(010)62758890")]),
        # spaced and full-width ID numbers
        ("身份证号码4403 0119 9001 0112 34", [("id_card", "4403 0119 9001 0112 34")]),
        ("我的身份证440301 19900101 1234", [("id_card", "440301 19900101 1234")]),
        ("海关要身份证：330106-19880512-2273", [("id_card", "330106-19880512-2273")]),
        ("实名用的１１０１０５１９４９１２３１００２Ｘ", [("id_card", "１１０１０５１９４９１２３１００２Ｘ")]),
        # bank cards: UnionPay without Luhn, any 16-19 digits after 卡号
        ("卡号：６２２７００１２３４５６７８９０１２", [("bank_card", "６２２７００１２３４５６７８９０１２")]),
        # traditional characters
        ("電話13712344321，請聯繫我", [("mobile", "13712344321")]),
        ("聯繫人黃志明", [("name", "黃志明")]),
        ("地址：台北市信義區松仁路100號", [("address", "台北市信義區松仁路100號")]),
        ("車牌滬A88888", [("plate", "滬A88888")]),
        # addresses without a road and number
        ("地址：北京市朝阳区望京SOHO塔2", [("address", "北京市朝阳区望京SOHO塔2")]),
        ("送翠湖小区5栋2单元", [("address", "翠湖小区5栋2单元")]),
        ("河南省周口市鹿邑县玄武镇王庄村", [("address", "河南省周口市鹿邑县玄武镇王庄村")]),
        ("东莞市长安镇乌沙社区", [("address", "东莞市长安镇乌沙社区")]),
        ("我家恒大绿洲二期6号楼3单元402", [("address", "恒大绿洲二期6号楼3单元402")]),
        ("上海市徐汇区漕溪北路 595 号 3 楼前台", [("address", "上海市徐汇区漕溪北路 595 号 3 楼")]),
        # names after cue words
        ("我叫王小明", [("name", "王小明")]),
        ("收件人：李娜，电话13912345678", [("name", "李娜"), ("mobile", "13912345678")]),
        ("联系人张伟", [("name", "张伟")]),
        ("姓名：刘洋", [("name", "刘洋")]),
        ("收货人赵敏", [("name", "赵敏")]),
        ("签收人周杰", [("name", "周杰")]),
        ("收件人姓名：欧阳娜娜", [("name", "欧阳娜娜")]),
        ("我老公叫蒋文杰，他去拿", [("name", "蒋文杰")]),
        ("让沈佳宜签收就行", [("name", "沈佳宜")]),
        ("李四，15800002222", [("name", "李四"), ("mobile", "15800002222")]),
        # QQ, WeChat, passports and permits, licence plates
        ("QQ：123456789", [("qq", "123456789")]),
        ("加我扣扣1029384756", [("qq", "1029384756")]),
        ("微信号Lily-Wang-2020", [("wechat", "Lily-Wang-2020")]),
        ("加微信wxid_8f7d6s5a4q", [("wechat", "wxid_8f7d6s5a4q")]),
        ("我微信13812345678", [("wechat", "13812345678")]),
        ("护照号码E12345678", [("passport", "E12345678")]),
        ("港澳通行证号码CA1234567", [("passport", "CA1234567")]),
        ("车牌号京A12345", [("plate", "京A12345")]),
        ("车牌沪AD12345", [("plate", "沪AD12345")]),
        ("车牌是苏E12345D", [("plate", "苏E12345D")]),
        ("送到车上，粤B·6T8K2", [("plate", "粤B·6T8K2")]),
    ],
)
def test_formats_are_found_with_their_kind_and_exact_text(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号2026120112345678怎么还没发货",  # the shop's order numbers: 16 digits starting with the year
        "订单2026120112345678",
        "2026120112345678",
        "我有两个订单 2026112011112222 2026112033334444",
        "交易单号4200001234202612010000123456",
        "订单号：２０２６１１３０１２３４５６９９，麻烦查一下",
        "售后服务单号A20261201000123处理到哪一步了",
        "iPhone 15 Pro 256G 多少钱",
        "RTX4060和RTX4070差多少钱",
        "型号 G12 和 G15 区别",
        "顺丰单号SF1234567890123一直没更新",
        "中通快递78912345678901",
        "商品编号 10086123456 的颜色",
        "价格从1299降到999了，能退差价吗",
        "下单时间2026-11-28 20:31:07",
        "我的会员卡号是VIP0012345吗？不是吧",
        "我是2026-11-24 14:30下的单",
        "这个是京东自营吗",
        "我在北京朝阳区，能当天到吗",
        "第5栋还是第6栋仓库",
        "号码已经给过了，谢谢",
        "王先生您好，麻烦尽快发货",
        "我是会员，有优惠吗",
    ],
)
def test_shop_numbers_and_look_alikes_are_kept(text: str) -> None:
    assert found(text) == []
    assert mask(text) == text


def test_a_phone_next_to_an_order_number_is_masked_and_the_order_number_kept() -> None:
    assert mask("订单号2026120112345678 13812345678") == "订单号2026120112345678 〔手机号〕"


def test_every_kind_has_a_placeholder() -> None:
    text = "我叫张晓，QQ12345678，微信wx_abc123，护照E12345678，车牌京N8P8F8，电话13222223333"
    assert mask(text) == "我叫〔姓名〕，QQ〔QQ号〕，微信〔微信号〕，护照〔证件号〕，车牌〔车牌号〕，电话〔手机号〕"
    assert {span.kind for span in find_personal_data(text)} <= set(PLACEHOLDERS)


def test_the_development_set_is_masked_with_recall_099_and_precision_095() -> None:
    tallies, mistakes = score(load("development"), find_personal_data)
    overall = tallies["all"]
    assert overall.labelled >= 200 and overall.recall >= 0.99, mistakes
    assert overall.precision >= 0.95, mistakes
