"""Personal data in customer text (Chinese) replaced by placeholders before analytics stores it.

Exact formats (mobile, landline, ID card, bank card, e-mail) are regexes on the raw string, with the
checks that tell them from order numbers (dates, Luhn, card prefixes). Street addresses need words, so
they are found on a blank spaCy `zh` pipeline (jieba segmenter): a component gives each token an address
role, a `Matcher` finds street-level cores (road + number, estate, building/unit/room) and the core is
grown over the neighbouring place words. Overlapping spans are merged, the longest winning.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

PLACEHOLDERS: Dict[str, str] = {
    "mobile": "〔手机号〕", "landline": "〔座机〕", "id_card": "〔身份证号〕",
    "bank_card": "〔银行卡号〕", "email": "〔邮箱〕", "address": "〔地址〕",
}


@dataclass(frozen=True)
class Span:
    """One piece of personal data: its kind and where it is in the text."""

    kind: str
    start: int
    end: int
    text: str


# --- exact formats -------------------------------------------------------------------------------------
# No letter or digit right before/after: keeps SF1234567890123 or YUNDUO2026 from yielding a number.
_B, _E = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}" + _E)
# Area codes start with 0; 400/800 numbers are companies' public hotlines, not personal, so never match.
_LANDLINE = re.compile(_B + r"(?:[(（]0\d{2,3}[)）] ?|0\d{2,3}[ -]?)\d{3,4}[ -]?\d{4}" + _E)
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID18 = re.compile(_B + r"[1-8]\d{5}(?:18|19|20)\d{2}" + _DATE + r"\d{3}[\dXx]" + _E)
_ID15 = re.compile(_B + r"[1-8]\d{5}\d{2}" + _DATE + r"\d{3}" + _E)
_CARD = re.compile(_B + r"\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?" + _E)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_checksum_ok(number: str) -> bool:
    """ISO 7064 MOD 11-2 check character of an 18-character ID number."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _luhn_ok(digits: str) -> bool:
    """The Luhn check that card numbers carry and order numbers (generally) don't."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    """16-19 digits on a card network prefix that pass Luhn; UnionPay (62) even without Luhn, since some
    Chinese debit cards don't carry it. Order numbers start with the year (20xx), which no network uses."""
    if not 16 <= len(digits) <= 19:
        return False
    if digits.startswith("62"):
        return True
    issuer = digits[0] in "3456" or 2221 <= int(digits[:4]) <= 2720  # Amex/JCB, Visa, Mastercard, Maestro
    return issuer and _luhn_ok(digits)


def _exact_spans(text: str) -> List[Span]:
    """Spans of the regex-exact kinds; an 18-digit number that could be a card or an ID is decided here."""
    spans = [Span("email", m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text)]
    spans += [Span("mobile", m.start(), m.end(), m.group()) for m in _MOBILE.finditer(text)]
    spans += [Span("landline", m.start(), m.end(), m.group()) for m in _LANDLINE.finditer(text)]
    spans += [Span("id_card", m.start(), m.end(), m.group()) for m in _ID15.finditer(text)]
    for m in _ID18.finditer(text):
        # A valid checksum settles it; otherwise a Luhn-valid card number wins, else it still looks like an ID.
        kind = "bank_card" if not _id_checksum_ok(m.group()) and _is_card(m.group()) else "id_card"
        spans.append(Span(kind, m.start(), m.end(), m.group()))
    for m in _CARD.finditer(text):
        if _is_card(re.sub(r"[ -]", "", m.group())):
            spans.append(Span("bank_card", m.start(), m.end(), m.group()))
    return spans


# --- addresses ------------------------------------------------------------------------------------------
_ROAD = re.compile(r"^.*(?:路|街|大道|道|巷|胡同)$")
_ROAD_NOT = {"知道", "渠道", "味道", "频道", "通道", "轨道", "难道", "顺道", "顺路", "思路", "线路", "套路", "一道"}
_ADMIN = re.compile(r"^.+(?:省|市|自治区|特别行政区|自治州|州|盟|区|县|旗|镇|乡|街道|村|社区)$")
_ESTATE = re.compile(r"^(?:.*(?:小区|花园|公寓|大厦|广场|中心|家园|新村|新城|山庄|公馆|大楼|写字楼)|.*[苑城园府庭湾])$")
_STRONG_ESTATE = r"(?:小区|花园|公寓|家园|新村|苑)$"  # names a home on its own: 阳光花园小区
_NUM = re.compile(r"^(?:[A-Za-z]?\d{1,5}[A-Za-z]?|[A-Za-z]|[一二三四五六七八九十百零两]{1,4})$")
_NUMUNIT = re.compile(r"^(?:\d{1,5}|[A-Za-z]|[一二三四五六七八九十]{1,3})(?:号楼|号院|号|栋|幢|座|单元|室|层|楼|期)$")
_SEG = re.compile(r"^[\d一二三四五六七八九十]+段$")
_HAO = {"号", "号院", "弄", "巷", "支弄"}
_BLDG = {"号楼", "栋", "幢", "座", "单元", "室", "层", "楼", "房", "号房", "户", "期", "号铺"}
_JOIN = {"-", "附", "之"}
# Nouns that often stand right before an address but are not part of it (POS tags cover verbs etc.).
_NOT_NAME = {"地址", "收货", "收货地址", "收件", "收件人", "寄件", "住址", "新地址", "家", "公司", "单位", "电话"}
_NOT_NAME_POS = ("v", "r", "p", "u", "c", "y", "e", "f", "q", "x", "w")
_LEFT = {"ADMIN", "PLACE", "NAMEPART", "ESTATE", "ROAD", "SEG"}
_RIGHT = {"NUM", "HAO", "BLDG", "NUMUNIT", "ROOM", "JOIN", "ESTATE", "NAMEPART", "PLACE", "ADMIN", "SEG"}


def _role(word: str, pos: Optional[str]) -> str:
    """A token's address role from its own text (context comes later)."""
    if word in _HAO:
        return "HAO"
    if word == "街道":
        return "ADMIN"
    if word in _BLDG:
        return "BLDG"
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
        for i, t in enumerate(doc):
            nxt = roles[i + 1] if i + 1 < len(doc) else "OTHER"
            if roles[i] == "NUM" and nxt not in ("HAO", "BLDG", "JOIN"):
                # A bare number right after 号/室/座 (no space) is a room: 3号602, A座2103; else not address.
                glued = i > 0 and roles[i - 1] in ("HAO", "BLDG", "NUMUNIT") and not doc[i - 1].whitespace_
                if glued and t.text.isdigit() and len(t.text) >= 2:
                    roles[i] = "ROOM"
                else:  # 八|一路 is a name; a bare Arabic number is not address
                    roles[i] = "OTHER" if t.text.isascii() else "NAME"
            if roles[i] == "JOIN" and nxt != "NUM":
                roles[i] = "OTHER"
        # A name is part of an address only when it leads into a place word: 阳光|花园, 高新|南|七道.
        for i in range(len(doc) - 2, -1, -1):
            if roles[i] in ("NAME", "PLACE") and roles[i + 1] in ("ROAD", "ESTATE", "ADMIN", "NAMEPART", "PLACE"):
                roles[i] = "NAMEPART" if roles[i] == "NAME" else "PLACE"
        for t, role in zip(doc, roles, strict=True):
            t._.pd_role = "OTHER" if role == "NAME" else role
        return doc

    unit = [{"_": {"pd_role": "NUM"}}, {"_": {"pd_role": "BLDG"}}]
    numunit = [{"_": {"pd_role": "NUMUNIT"}}]
    road = [{"_": {"pd_role": "ROAD"}}, {"_": {"pd_role": "SEG"}, "OP": "?"}]
    place = [{"_": {"pd_role": {"IN": ["ESTATE", "ADMIN", "HAO"]}}}]
    cores = [
        road + [{"_": {"pd_role": "NUM"}}, {"_": {"pd_role": "HAO"}}],  # 建国路88号, 张江路500弄
        road + [{"TEXT": {"REGEX": r"^\d+号$"}}],
        place + unit, place + numunit,  # 小区3栋, 大厦B座
        unit + unit, unit + numunit, numunit + unit, numunit + numunit,  # 3栋2单元, A座1501室
        unit + [{"_": {"pd_role": "ROOM"}}], numunit + [{"_": {"pd_role": "ROOM"}}],  # 2单元1201
        [{"_": {"pd_role": "NAMEPART"}, "OP": "+"}, {"_": {"pd_role": "ESTATE"}, "OP": "*"},
         {"_": {"pd_role": "ESTATE"}, "TEXT": {"REGEX": _STRONG_ESTATE}}],  # 阳光花园小区
    ]

    def _verb_in_name(doc, i: int) -> bool:
        """After an address, a verb-like word can start a building's name: 创意|产业园."""
        return doc[i]._.pd_role == "VERB" and i + 1 < len(doc) and doc[i + 1]._.pd_role == "ESTATE"

    @Language.factory("pd_address_finder")
    def address_finder(nlp, name):
        matcher = Matcher(nlp.vocab)
        matcher.add("ADDRESS", cores)

        def find(doc):
            found = []
            for _, start, end in matcher(doc):
                # Grow the street-level core over the province/city/district before it and the
                # building/unit/room after it; stop at punctuation, verbs, particles, other words.
                while start > 0 and doc[start - 1]._.pd_role in _LEFT:
                    start -= 1
                while end < len(doc) and (doc[end]._.pd_role in _RIGHT or _verb_in_name(doc, end)):
                    end += 1
                while end > start + 1 and doc[end - 1]._.pd_role in ("NAMEPART", "PLACE"):
                    end -= 1  # a trailing name leads nowhere: not the address's
                found.append(SpacySpan(doc, start, end, label="ADDRESS"))
            doc.spans["pd_address"] = found
            return doc

        return find

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("pd_address_roles")
    nlp.add_pipe("pd_address_finder")
    return nlp


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


def find_personal_data(text: str) -> List[Span]:
    """Personal data in `text`, non-overlapping (the longer of two overlapping spans wins), in text order."""
    if not text:
        return []
    spans = _exact_spans(text)
    # Every address core holds one of these characters; without them spaCy need not run.
    if re.search(r"[路街道巷同弄号栋幢座单元室楼层房户期区苑园寓村]", text):
        doc = _nlp()(text)  # held: the span group needs its doc alive
        for s in doc.spans["pd_address"]:
            spans.append(Span("address", s.start_char, s.end_char, s.text))
    chosen: List[Span] = []
    # Longest first; on a tie the exact kinds (listed first) win over an address.
    for span in sorted(spans, key=lambda s: s.start - s.end):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def mask(text: str) -> str:
    """`text` with each piece of personal data replaced by its placeholder, e.g. 〔手机号〕; the rest unchanged."""
    for span in reversed(find_personal_data(text)):
        text = text[: span.start] + PLACEHOLDERS[span.kind] + text[span.end :]
    return text
