"""Addresses without a road and number as customers write them (towers, estates with blocks, campuses and
dorms, villages, industrial parks, company floors, with spaces, commas or typos), the place words that are
no one's address, and the masker's address recall on the development part of the labelled set."""

from __future__ import annotations

import pytest

from analytics.masking import find_personal_data, mask
from evaluation.pii_set import load, score


def addresses(text: str) -> list[str]:
    return [span.text for span in find_personal_data(text) if span.kind == "address"]


@pytest.mark.parametrize(
    "text, expected",
    [
        # office towers: T3 1508, B座2201, 12F
        ("快递送到望京SOHO T2 0906", "望京SOHO T2 0906"),
        ("送到金地中心B座1606，前台签收", "金地中心B座1606"),
        ("放前台吧 银泰中心 T1 20F", "银泰中心 T1 20F"),
        ("寄到公司：国贸三期写字楼38层", "国贸三期写字楼38层"),
        # a room number after a space
        ("地址 锦绣江南 7栋 1单元 602", "锦绣江南 7栋 1单元 602"),
        ("天津市南开区鑫茂科技园 C3座 1102", "天津市南开区鑫茂科技园 C3座 1102"),
        # campuses and dorms
        ("寄到浙江大学紫金港校区碧峰5舍", "浙江大学紫金港校区碧峰5舍"),
        ("发货到广州番禺区大学城华南师范大学西五宿舍", "广州番禺区大学城华南师范大学西五宿舍"),
        # villages and village committees
        ("送到河北邢台市宁晋县换马店镇东马村委会", "河北邢台市宁晋县换马店镇东马村委会"),
        ("湖北黄冈蕲春县漕河镇，王家湾村二组", "湖北黄冈蕲春县漕河镇，王家湾村二组"),
        # industrial parks and company floors
        ("寄到宁波杭州湾新区滨海工业园区12号厂房", "宁波杭州湾新区滨海工业园区12号厂房"),
        # estates: names jieba splits into particles, two estate words, gates, commas, typos
        ("帮我寄到幸福里小区的驿站", "幸福里小区"),
        ("顺丰寄到碧水湾小区西门", "碧水湾小区西门"),
        ("北京市，朝阳区，望京西园四区，411楼", "北京市，朝阳区，望京西园四区，411楼"),
        ("绿地世纪城3栋1单源902", "绿地世纪城3栋1单源902"),
        ("送到華潤城花園6棟1單元802", "華潤城花園6棟1單元802"),
        # building-unit-room with dashes, a room with a letter, a road's west part before its number
        ("地址：唐山路南区新华小区7-2-302", "唐山路南区新华小区7-2-302"),
        ("香蜜湖 东海花园 2期 9栋 21C", "香蜜湖 东海花园 2期 9栋 21C"),
        ("惠州仲恺高新区和畅六路西8号", "惠州仲恺高新区和畅六路西8号"),
    ],
)
def test_roadless_addresses_are_masked_whole(text: str, expected: str) -> None:
    assert addresses(text) == [expected]
    assert expected not in mask(text)


@pytest.mark.parametrize(
    "text",
    [
        "发北京吗？几天到",
        "你们是上海仓发货还是广州仓",
        "京东物流园区那边显示已经揽收了",
        "我打了3楼客服电话没人接",
        "第2期活动什么时候开始",
        "A座B座两个颜色都要",
        "学院2楼的快递点在哪",
        "第3单元的练习册缺页了",
        "这个书架是5层的还是6层的",
        "耳机T1 2023款有货吗",
        "送到我们小区门口的菜鸟驿站就行",
        "我在北京，朝阳区能送吗",
        "5门冰箱有现货吗",
        "付款后寄到农村大概要几天",  # jieba reads 后寄到 as one word, once taken for a place's name
    ],
)
def test_place_words_that_are_no_ones_address_are_kept(text: str) -> None:
    assert find_personal_data(text) == []


def test_the_development_set_addresses_are_found_with_recall_099() -> None:
    tallies, mistakes = score(load("development"), find_personal_data)
    address = tallies["address"]
    assert address.labelled >= 120 and address.recall >= 0.99, [m for m in mistakes if m[1] == "address"]
