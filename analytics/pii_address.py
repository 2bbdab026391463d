"""Street addresses in customer messages (folded text, see analytics/pii_formats.py `fold`).

Addresses need words, so they are found on a blank spaCy `zh` pipeline (jieba segmenter): a component
gives each token an address role, a `Matcher` finds street-level cores (road + number, estate + number,
building/unit/room) and the core is grown over the neighbouring place words. A chain of place words
down to a town, village, community or campus (玄武镇王庄村, 长安镇乌沙社区, 中山大学东校区) is an address
without a road or number; a district or city alone (我在北京朝阳区) is not. Office towers (望京SOHO T3 1508),
dorms and workshops (西三宿舍, 8号厂房), an estate's gate (小区东门) and a room number after a space
(2单元 801) are read too; a comma goes on with the address when a unit or village follows it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Callable, List, Optional, Tuple

Found = Tuple[str, int, int]

_ROAD = re.compile(r"^.*(?:路|街|大道|道|巷|胡同)$")
_ROAD_NOT = {"知道", "渠道", "味道", "频道", "通道", "轨道", "难道", "顺道", "顺路", "思路", "线路", "套路", "一道"}
_ADMIN = re.compile(r"^.+(?:省|市|自治区|特别行政区|自治州|州|盟|区|县|旗|镇|乡|街道|村|社区)$")
# campuses, parks and institutes are estates (a building number may follow), checked before _ADMIN (园区)
_ESTATE = re.compile(
    r"^(?:.*(?:小区|花园|公寓|大厦|广场|中心|家园|新村|新城|山庄|公馆|大楼|写字楼|园区|工业区|大学|学院)"
    r"|.*[苑城园府庭湾]|.{2,}院)$"  # 农科院, not 医院
)
_STRONG_ESTATE = r"(?:小区|花园|公寓|家园|新村|苑)$"  # names a home on its own: 阳光花园小区
_NUM = re.compile(r"^(?:[A-Za-z]?\d{1,5}[A-Za-z]?|[A-Za-z]|[一二三四五六七八九十百零两]{1,4})$")
_NUMUNIT = re.compile(
    r"^(?:(?:\d{1,5}|[A-Za-z]|[一二三四五六七八九十]{1,3})(?:号楼|号院|号|栋|幢|座|单元|室|层|楼|期|区|组|舍|门)"
    r"|\d{1,3}f)$"  # 12f: a floor, as office towers write it
)
# a tower of an office complex: 望京SOHO T3 1508, 银泰中心 T2 3506 (folded to lower case)
_TOWER = re.compile(r"^t\d{1,2}$")
# what a room number sits in, so that it may follow after a space: 2单元 801, C2座 1805, T3 1508
_ROOM_HOLDER = re.compile(r"(?:栋|幢|座|单元|号楼|门|舍|^t\d{1,2})$")
_ROOM_NUMBER = re.compile(r"^\d{1,5}[a-z]?$")
# a number followed by one of these is an amount, not a room: 12栋 300元
_AMOUNT = re.compile(r"^[元块件个米克斤瓶盒套台次天年月日点分秒岁毛角款版型]")
_SEG = re.compile(r"^(?:[\d一二三四五六七八九十]+|[东西南北中])段$")
_HAO = {"号", "号院", "弄", "巷", "支弄"}
_BLDG = {"号楼", "栋", "幢", "座", "单元", "室", "层", "楼", "房", "号房", "户", "期", "号铺", "区", "组", "塔",
         "舍", "门", "单源", "单圆", "懂"}  # 7舍 (a dorm), 2门 (an entrance); 单源, 懂: typos of 单元, 栋
# words that end an address but cannot start one: a dorm, a workshop, an estate's gate (碧水湾小区东门)
_TAIL = {
    "宿舍", "寝室", "宿舍楼", "厂房", "车间", "门口", "大门", "正门", "侧门", "后门", "东门", "西门", "南门", "北门",
}
_DORM = {"宿舍", "寝室", "宿舍楼", "厂房"}
# a lone 镇 or 村 after its name (玄武|镇): jieba splits unknown town names off their level
_ADMIN_WORDS = {"街道", "镇", "乡", "村", "县", "屯", "村委会", "村委", "居委会", "村组", "本部"}
# the levels below a district: a chain of place words down to one of these is an address on its own
_LOCAL = re.compile(r"(?:镇|乡|街道|村|社区|校区|屯|嘎查|村委会|村委|居委会|村组)$")
_JOIN = {"-", "附", "之"}
# Nouns that often stand right before an address but are not part of it (POS tags cover verbs etc.).
_NOT_NAME = {"地址", "收货", "收货地址", "收件", "收件人", "寄件", "住址", "新地址", "家", "公司", "单位", "电话"}
_NOT_NAME_POS = ("v", "r", "p", "u", "c", "y", "e", "f", "q", "x", "w")
# one-character words that never sit inside a place's name (the 地 of 金地广场 and the 里 of 幸福里小区 may)
_NOT_NAME_CHAR = set("的了在到是我你他她它和与或就也都去来送寄发放住往给把被从个这那哪吗呢吧啊哦嗯要请本该此各每家")
_SEP = {",", "、", "，"}
_LEFT = {"ADMIN", "PLACE", "NAMEPART", "ESTATE", "ROAD", "SEG", "NUMUNIT"}
_BUILDING_START = {"ESTATE", "NUM", "NUMUNIT", "TAIL", "TOWER"}
_RIGHT = {
    "NUM", "HAO", "BLDG", "NUMUNIT", "ROOM", "JOIN", "ESTATE", "NAMEPART", "PLACE", "ADMIN", "SEG", "TAIL", "TOWER",
}


def _role(word: str, pos: Optional[str]) -> str:
    """A token's address role from its own text (context comes later)."""
    if word in _HAO:
        return "HAO"
    if len(word) > 1 and word.endswith("到"):
        return "OTHER"  # 后寄到|农村: jieba glues a verb ending in 到 into one word
    if word in _ADMIN_WORDS:
        return "ADMIN"
    if word in _BLDG:
        return "BLDG"
    if word in _TAIL:
        return "TAIL"
    if word in _JOIN:
        return "JOIN"
    if _NUMUNIT.match(word):
        return "NUMUNIT"
    if _NUM.match(word):
        return "NUM"
    if _SEG.match(word):
        return "SEG"
    if _ROAD.match(word) and word not in _ROAD_NOT and pos not in ("v", "d", "r"):
        return "ROAD"
    if _ESTATE.match(word) and pos != "v":
        return "ESTATE"
    if _ADMIN.match(word):
        return "ADMIN"
    if word in _NOT_NAME or not re.match(r"^[\u4e00-\u9fffA-Za-z]{1,6}$", word):
        return "OTHER"
    if pos is not None and pos.startswith(_NOT_NAME_POS) and pos != "vn":
        return "VERB" if pos == "v" else "OTHER"
    return "PLACE" if pos == "ns" else "NAME"


def _name_char(word: str, role: str) -> bool:
    """A one-character word that may be part of a place's name though jieba tags it otherwise."""
    return (
        len(word) == 1 and role in ("OTHER", "VERB", "NAME") and "\u4e00" <= word <= "\u9fff"
        and word not in _NOT_NAME_CHAR and word not in _LEAD_VERBS
    )


def _build_nlp() -> Callable:
    """The blank zh pipeline with the address components; built once (see `_nlp`)."""
    import jieba
    import jieba.posseg
    import spacy
    from spacy.language import Language
    from spacy.matcher import Matcher
    from spacy.tokens import Span as SpacySpan
    from spacy.tokens import Token

    jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading at INFO
    pos_of = jieba.posseg.dt.word_tag_tab.get  # dictionary part of speech: keeps verbs (寄到, 送到) out of names
    if not Token.has_extension("pd_role"):
        Token.set_extension("pd_role", default="OTHER")

    @Language.component("pd_address_roles")
    def address_roles(doc):
        roles = [_role(t.text, pos_of(t.text)) for t in doc]
        size = len(doc)
        for i in range(1, size):
            if doc[i].text == "街" and roles[i - 1] == "NUM":
                roles[i] = "BLDG"  # a market's aisle: 商贸城二区H1门12街3015
        for i, t in enumerate(doc):
            nxt = roles[i + 1] if i + 1 < size else "OTHER"
            named_before = i > 0 and (roles[i - 1] in ("ESTATE", "PLACE", "NAMEPART") or doc[i - 1].text.isascii())
            if roles[i] == "NUM" and _TOWER.match(t.text) and named_before and i + 1 < size and (
                nxt == "NUMUNIT" or (doc[i + 1].text.isdigit() and 3 <= len(doc[i + 1].text) <= 5)
            ):
                roles[i] = "TOWER"  # T3 1508, T2 12F
                continue
            if t.text in ("大学", "学院") and (
                i == 0 or roles[i - 1] not in ("NAME", "PLACE", "NAMEPART", "ADMIN") or doc[i - 1].whitespace_
            ):
                roles[i] = "OTHER"  # 工业|大学 is a campus; 学院2楼 alone is no one's address
            if roles[i] == "NUM" and nxt not in ("HAO", "BLDG", "JOIN"):
                # A bare number right after 号/室/座 (no space) is a room: 3号602, A座2103; else not address.
                glued = i > 0 and roles[i - 1] in ("HAO", "BLDG", "NUMUNIT") and not doc[i - 1].whitespace_
                # after a space only a 3-5 digit number after a building or unit word: 2单元 801, T3 1508
                spaced = (
                    i > 0 and roles[i - 1] in ("BLDG", "NUMUNIT", "TOWER") and 3 <= len(t.text) <= 5
                    and _ROOM_HOLDER.search(doc[i - 1].text) is not None
                )
                amount = i + 1 < size and _AMOUNT.match(doc[i + 1].text) is not None
                tower = i > 0 and doc[i - 1].text == "塔"  # 望京SOHO塔2
                # building-unit-room written with dashes: 育才小区12-3-401
                dashed = i > 1 and roles[i - 1] == "JOIN" and doc[i - 1].text == "-" and roles[i - 2] == "NUM"
                room = _ROOM_NUMBER.match(t.text) is not None  # 1704, 18B
                if (glued or spaced or dashed) and not amount and room and (len(t.text) >= 2 or tower):
                    roles[i] = "ROOM"
                else:  # 八|一路 is a name; a bare Arabic number is not address
                    roles[i] = "OTHER" if t.text.isascii() else "NAME"
            if roles[i] == "JOIN" and nxt != "NUM":
                roles[i] = "OTHER"
            if t.text == "区" and i > 0 and roles[i - 1] in ("NAME", "PLACE"):
                roles[i] = "ADMIN"  # 姑苏|区: a district jieba split; after a letter it is a block (B区)
            if t.text in ("东", "西", "南", "北") and nxt in ("NUM", "NUMUNIT"):
                # 和畅五路|西|16号 is the road's west part; 西|十五|栋 a building's name
                roles[i] = "SEG" if i > 0 and roles[i - 1] == "ROAD" else "NAME"
            if roles[i] == "VERB" and nxt == "ROAD":
                roles[i] = "NAME"  # 解放|大道, 建设|路: a verb that names a road
        # One-character words inside a place's name (金|地|广场, 华润|置|地|大厦, 幸福|里|小区) that jieba
        # tags as particles or verbs: part of the name when a name (or the text's start) comes before them.
        for i in range(size - 2, -1, -1):
            if roles[i + 1] in ("ESTATE", "NAMEPART", "PLACE", "ADMIN") and _name_char(doc[i].text, roles[i]):
                k = i
                while k > 0 and _name_char(doc[k - 1].text, roles[k - 1]):
                    k -= 1
                before = roles[k - 1] if k > 0 else "START"
                if roles[k] == "NAME" or (
                    before in ("NAME", "NAMEPART", "PLACE", "ADMIN", "START") and not (k > 0 and doc[k - 1].whitespace_)
                ):
                    for j in range(k, i + 1):
                        roles[j] = "NAMEPART"
        # A name is part of an address only when it leads into a place word: 阳光|花园, 高新|南|七道.
        for i in range(len(doc) - 2, -1, -1):
            if roles[i] in ("NAME", "PLACE") and roles[i + 1] in ("ROAD", "ESTATE", "ADMIN", "NAMEPART", "PLACE"):
                roles[i] = "NAMEPART" if roles[i] == "NAME" else "PLACE"
            elif roles[i] == "NAME" and doc[i + 1].text == "塔":
                roles[i] = "NAMEPART"
        for t, role in zip(doc, roles, strict=True):
            t._.pd_role = role  # a NAME matches no pattern; it may lead into a building's number (find)
        doc.user_data["pd_roles"] = roles  # the finder reads the list: Token._ lookups are slow
        return doc

    unit = [{"_": {"pd_role": "NUM"}}, {"_": {"pd_role": "BLDG"}}]
    numunit = [{"_": {"pd_role": "NUMUNIT"}}]
    road = [{"_": {"pd_role": "ROAD"}}, {"_": {"pd_role": "SEG"}, "OP": "?"}]
    place = [{"_": {"pd_role": {"IN": ["ESTATE", "ADMIN", "HAO"]}}}]
    room = [{"_": {"pd_role": "ROOM"}}]
    cores = [
        road + [{"_": {"pd_role": "NUM"}}, {"_": {"pd_role": "HAO"}}],  # 建国路88号, 张江路500弄
        road + [{"TEXT": {"REGEX": r"^\d+号$"}}],
        [{"_": {"pd_role": "ESTATE"}}, {"_": {"pd_role": "NUM"}}, {"_": {"pd_role": "HAO"}}],  # 广场258号
        [{"_": {"pd_role": "NAMEPART"}}, {"TEXT": "塔"}] + room,  # 望京SOHO塔2
        place + unit, place + numunit,  # 小区3栋, 大厦B座
        unit + unit, unit + numunit, numunit + unit, numunit + numunit,  # 3栋2单元, A座1501室
        unit + room, numunit + room,  # 2单元1201
        [{"_": {"pd_role": "NAMEPART"}, "OP": "+"}, {"_": {"pd_role": "ESTATE"}, "OP": "*"},
         {"_": {"pd_role": "ESTATE"}, "TEXT": {"REGEX": _STRONG_ESTATE}}],  # 阳光花园小区
        [{"_": {"pd_role": "ESTATE"}, "LENGTH": {">=": 3}},
         {"_": {"pd_role": "ESTATE"}, "TEXT": {"REGEX": _STRONG_ESTATE}}],  # 碧水湾|小区
        [{"_": {"pd_role": "TOWER"}}, {"_": {"pd_role": {"IN": ["ROOM", "NUMUNIT"]}}}],  # T3 1508, T2 12F
        [{"_": {"pd_role": "ESTATE"}}, {"_": {"pd_role": {"IN": ["NAME", "NAMEPART", "ADMIN"]}}, "OP": "{0,2}"},
         {"_": {"pd_role": "TAIL"}, "TEXT": {"IN": sorted(_DORM)}}],  # 工业大学|西三|宿舍
    ]

    def _local_chains(doc, roles: List[str]) -> List[Tuple[int, int]]:
        """Runs of place words that reach below a district (镇, 村, 社区, 校区): addresses with no road."""
        chains, i = [], 0
        while i < len(roles):
            j = i
            while j < len(roles) and roles[j] in ("ADMIN", "PLACE", "NAMEPART", "ESTATE"):
                j += 1
            if j - i >= 2 and any(roles[k] == "ADMIN" and _LOCAL.search(doc[k].text) for k in range(i, j)):
                chains.append((i, j))
            i = j + 1 if j == i else j
        return chains

    def _list_of_units(doc, roles: List[str], start: int, end: int) -> bool:
        """A core of units of one kind is a list (A座B座, 5栋6栋), not one address."""
        units = [
            re.sub(r"^(?:\d+|[a-z]|[一二三四五六七八九十]+)", "", doc[k].text)
            for k in range(start, end) if roles[k] in ("BLDG", "NUMUNIT")
        ]
        return len(units) >= 2 and len(set(units)) == 1 and all(roles[k] != "ROOM" for k in range(start, end))

    def _comma_inside(doc, roles: List[str], at: int) -> bool:
        """A comma at `at` goes on with the same address when a building, unit or village follows it:
        望京西园三区，312楼 and 漕河镇，雷家湾村四组 (not 小区，3天能到吗)."""
        size = len(doc)
        if doc[at].text not in _SEP or at + 1 >= size or roles[at - 1] == "TAIL":
            return False
        nxt = roles[at + 1]
        if nxt in ("NUMUNIT", "TOWER"):
            return True
        if nxt == "NUM":
            return at + 2 < size and roles[at + 2] in ("BLDG", "HAO")
        local = (roles[k] == "ADMIN" and _LOCAL.search(doc[k].text) for k in range(at + 1, min(at + 4, size)))
        return nxt in ("ADMIN", "NAMEPART") and any(local)

    @Language.factory("pd_address_finder")
    def address_finder(nlp, name):
        matcher = Matcher(nlp.vocab)
        matcher.add("ADDRESS", cores)

        def find(doc):
            found, roles, size = [], doc.user_data["pd_roles"], len(doc)
            cores = [(s, e) for _, s, e in matcher(doc) if not _list_of_units(doc, roles, s, e)]
            for start, end in cores + _local_chains(doc, roles):
                # Grow the street-level core over the province/city/district before it and the
                # building/unit/room after it; stop at punctuation, verbs, particles, other words.
                # A core that starts with a building number takes the estate's name before it: 恒大|绿洲|二期6号楼.
                named = roles[start] in ("NUM", "NUMUNIT", "BLDG", "TOWER")
                while start > 0:
                    if roles[start - 1] in _LEFT or (named and roles[start - 1] == "NAME"):
                        start -= 1
                        named = named or roles[start] == "NUMUNIT"  # 国贸|三期|写字楼55层
                    elif start > 1 and doc[start - 1].text in _SEP and roles[start - 2] == "ADMIN":
                        start -= 2  # 北京市，朝阳区，望京西园三区
                    else:
                        break
                while end < size:
                    if _comma_inside(doc, roles, end):
                        end += 1
                        continue
                    # after an address, a verb-like word can start a building's name: 创意|产业园
                    if roles[end] in _RIGHT or (roles[end] == "VERB" and end + 1 < size and roles[end + 1] == "ESTATE"):
                        end += 1
                        continue
                    # names leading into a building's number: 颐和|国际|A栋
                    ahead = end
                    while ahead < size and roles[ahead] == "NAME":
                        ahead += 1
                    if ahead == end or ahead == size or roles[ahead] not in _BUILDING_START:
                        break
                    end = ahead
                while end > start + 1 and roles[end - 1] in ("NAMEPART", "PLACE"):
                    end -= 1  # a trailing name leads nowhere: not the address's
                found.append(SpacySpan(doc, start, end, label="ADDRESS"))
            doc.spans["pd_address"] = found
            return doc

        return find

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("pd_address_roles")
    nlp.add_pipe("pd_address_finder")
    return nlp


# every address core or chain holds one of these characters; without them spaCy need not run
ADDRESS_HINT = re.compile(r"[路街道巷同弄号栋幢座单元室楼层房户期区苑园寓村镇乡组校塔基地舍门屯院湾]|t\d")
_NLP: Optional[Callable] = None
_NLP_LOCK = threading.Lock()


def _nlp() -> Callable:
    """The pipeline, built once across threads on first use (loading spaCy and jieba takes seconds)."""
    global _NLP
    if _NLP is None:
        with _NLP_LOCK:
            if _NLP is None:
                _NLP = _build_nlp()
    return _NLP




# building, unit and room words a core's tokens may have missed, after spaces (595 号 3 楼)
_MORE_UNITS = re.compile(
    r"(?:\s*(?:[a-z]?\d{1,5}[a-z]?|[一二三四五六七八九十]{1,3})\s*(?:号楼|号院|号|栋|幢|座|单元|室|层|楼|期|区|组))+"
    r"(?:\s*\d{2,5}(?![\d.]))?"
)


# one-character verbs jieba sometimes glues to the name after them
_LEAD_VERBS = set("送寄发到放住")


def find_addresses(folded: str) -> List[Found]:
    """Addresses in folded text as ("address", start, end)."""
    doc = _nlp()(folded)  # held: the span group needs its doc alive
    found = []
    for span in doc.spans["pd_address"]:
        start, end = span.start_char, span.end_char
        if folded[start] in _LEAD_VERBS and len(span[0].text) > 2:
            start += 1  # jieba glued the verb to the estate's name: 送翠湖|小区
        more = _MORE_UNITS.match(folded, end)
        found.append(("address", start, more.end() if more else end))
    return found
