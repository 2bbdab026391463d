"""Personal data with a fixed format, found on folded text (see `fold`): phones, ID, bank-card, QQ,
passport and licence-plate numbers, e-mail addresses and WeChat ids.

Numbers are read as runs of digits with the separators customers put in them (138 1234 5678,
138-1234-5678, 1 3 8 ...), Chinese numerals read as digits (一三八, 幺五九); a run is classified whole,
or else by its longest groups that classify, so two numbers written side by side are found apart. The
shop's own numbers (order, service and product numbers, customer_text/cards.py) are never personal.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Set, Tuple

from customer_text.cards import find_cards
from knowledge.text import normalize_chars

Found = Tuple[str, int, int]  # kind, start, end

# Chinese numerals as digits, one character each (offsets stay); 幺 and 洞 are how numbers are read out
_NUMERAL_CHARS = "零〇洞一幺壹二两贰三叁四肆五伍六陆七柒八捌九玖"
_NUMERALS = str.maketrans(_NUMERAL_CHARS, "00011122233445566778899")
# a digit run: digits with at most two separators between neighbours; an ID may end in x
_RUN = re.compile(r"\d(?:[ \-.,、/]{0,2}\d)*(?:[ \-]?x(?![a-z]))?")
_GROUP = re.compile(r"\d+x?|x")
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID18 = re.compile(r"[1-8]\d{5}(?:18|19|20)\d{2}" + _DATE + r"\d{3}[\dx]")
_ID15 = re.compile(r"[1-8]\d{5}\d{2}" + _DATE + r"\d{3}")
_MOBILE = re.compile(r"(?:0{0,2}86)?(1[3-9]\d{9})")
# area codes: 010, 02x, then 0 and three digits; 400/800 numbers are companies' hotlines, never matched
_LANDLINE = re.compile(r"0(?:10|2\d|[3-9]\d{2})\d{7,8}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_NOT_ALNUM_BEFORE, _NOT_ALNUM_AFTER = r"(?<![0-9a-z])", r"(?![0-9a-z])"
# cues are read on folded text: lower case, simplified, half-width
_CUE_TAIL = r"\s*(?:号码|号|账号|帐号|id)?\s*(?:是|为|:)?\s*"
_QQ = re.compile(r"(?:qq|扣扣|企鹅号?|q号)" + _CUE_TAIL + r"([1-9]\d{4,10})(?!\d)")
_WECHAT = re.compile(
    r"(?:微信|威信|薇信|卫星|weixin|wechat|vx|wx|v信|加v|加我v)" + _CUE_TAIL + r"([a-z][-_a-z0-9]{5,19}|1[3-9]\d{9})"
    + _NOT_ALNUM_AFTER
)
_WXID = re.compile(_NOT_ALNUM_BEFORE + r"wxid_[a-z0-9]{6,20}" + _NOT_ALNUM_AFTER)
_PASSPORT_CUED = re.compile(
    r"(?:护照|通行证|passport|台胞证|回乡证|旅行证)" + _CUE_TAIL + r"([a-z]{0,2}\d{7,9})" + _NOT_ALNUM_AFTER
)
# Chinese passports without a cue: E and eight digits, E, a letter and seven, or the old G and eight
_PASSPORT = re.compile(_NOT_ALNUM_BEFORE + r"(?:e[a-hj-np-z]?\d{7}\d?|g\d{8})" + _NOT_ALNUM_AFTER)
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][a-hj-np-z] ?[·•・.]? ?"
    r"(?=[a-hj-np-z0-9]{0,5}\d)[a-hj-np-z0-9]{5,6}(?:挂|学|警)?" + _NOT_ALNUM_AFTER
)
_EMAIL = re.compile(r"(?<![a-z0-9._%+-])[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
# a 16-19 digit number right after these is a card even without a network's prefix or Luhn
_CARD_CUE = re.compile(r"(?:卡|卡号|账号|帐号|card)\s*(?:号|号码)?\s*(?:是|为|:)?\s*$")


def fold(text: str) -> str:
    """Each character folded on its own (offsets stay): half-width (NFKC), simplified, lower case."""
    return normalize_chars(text)


def _id_checksum_ok(number: str) -> bool:
    """ISO 7064 MOD 11-2 check character of an 18-character ID number."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10x98765432"[total % 11] == number[17]


def _luhn_ok(digits: str) -> bool:
    """The Luhn check that card numbers carry and order numbers (generally) don't."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _is_card(digits: str, cued: bool) -> bool:
    """16-19 digits on a card network prefix that pass Luhn; UnionPay (62) even without Luhn, since some
    Chinese debit cards don't carry it; any, after 卡号. Order numbers start with the year (20xx), which
    no network uses."""
    if not 16 <= len(digits) <= 19 or not digits.isdigit():
        return False
    if digits.startswith("62") or cued:
        return True
    issuer = digits[0] in "3456" or 2221 <= int(digits[:4]) <= 2720  # Amex/JCB, Visa, Mastercard, Maestro
    return issuer and _luhn_ok(digits)


def classify_number(number: str, cued_card: bool = False) -> Optional[str]:
    """The kind of a number written without separators (x for an ID's check character), or None."""
    if _MOBILE.fullmatch(number):
        return "mobile"
    if _LANDLINE.fullmatch(number):
        return "landline"
    if _ID18.fullmatch(number):
        # a valid checksum settles it; otherwise a card number wins, else it still looks like an ID
        return "bank_card" if not _id_checksum_ok(number) and _is_card(number, False) else "id_card"
    if _ID15.fullmatch(number):
        return "id_card"
    if _is_card(number, cued_card):
        return "bank_card"
    return None


def _digit_view(folded: str) -> str:
    """Chinese numerals as digits, but only in runs long enough to be a number (7+), so 一路 stays."""
    return re.sub(
        rf"[{_NUMERAL_CHARS}](?:[{_NUMERAL_CHARS}\d ,、\-]{{5,}})[{_NUMERAL_CHARS}\d]",
        lambda m: m.group().translate(_NUMERALS), folded,
    )


def _shop_numbers(folded: str) -> Set[int]:
    """Positions of the digits of the shop's own numbers: order, service and product numbers."""
    taken: Set[int] = set()
    for card in find_cards(folded):
        for name in ("order_number", "service_number", "product_id"):
            value = card.fields.get(name)
            if not value:
                continue
            digits = re.search(r"\d{6,}", value)
            if not digits:
                continue
            start = folded.find(digits.group(), card.start, card.end)
            if start >= 0:
                taken.update(range(start, start + len(digits.group())))
    return taken


def _runs(view: str, shop: Set[int]) -> Iterator[Found]:
    """Numbers in the digit view: each run whole if it classifies, else its longest classifying groups."""
    for run in _RUN.finditer(view):
        start = run.start()
        if start > 0 and (view[start - 1].isalpha() and view[start - 1].isascii()):
            continue  # part of a code: sf1234..., vip0012345, rtx4060
        groups = [(g.start() + start, g.end() + start) for g in _GROUP.finditer(run.group())]
        # a leading + or 00 belongs to a phone's country code
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                g_start, g_end = groups[i][0], groups[j][1]
                if any(p in shop for p in range(g_start, g_end)):
                    continue
                number = "".join(view[a:b] for a, b in groups[i:j + 1])
                cued = bool(_CARD_CUE.search(view[max(0, g_start - 8):g_start]))
                kind = classify_number(number, cued)
                if kind:
                    if kind == "mobile" and g_start > 0 and view[g_start - 1] == "+":
                        g_start -= 1
                    elif kind == "mobile" and view[max(0, g_start - 2):g_start] == "(+":
                        g_start -= 2
                    yield kind, g_start, g_end
                    i = j
                    break
            i += 1


def _landlines_in_brackets(view: str) -> Iterator[Found]:
    """(010)62758890, (0755) 2654 3210: the area code in brackets, which a digit run does not cross."""
    for m in re.finditer(r"\((0\d{2,3})\) ?(\d{3,4}[ \-]?\d{4})" + r"(?!\d)", view):
        if _LANDLINE.fullmatch(m.group(1) + re.sub(r"[ \-]", "", m.group(2))):
            yield "landline", m.start(), m.end()
    for m in re.finditer(r"\(\+?86\) ?(1[3-9]\d(?:[ \-]?\d{4}){2})(?!\d)", view):
        yield "mobile", m.start(), m.end()


def find_formats(folded: str) -> List[Found]:
    """Every fixed-format piece of personal data in folded text (`fold`) as (kind, start, end); spans may
    overlap."""
    found: List[Found] = [("email", m.start(), m.end()) for m in _EMAIL.finditer(folded)]
    found += [("wechat", m.start(), m.end()) for m in _WXID.finditer(folded)]
    found += [("wechat", m.start(1), m.end(1)) for m in _WECHAT.finditer(folded)]
    found += [("passport", m.start(1), m.end(1)) for m in _PASSPORT_CUED.finditer(folded)]
    found += [("passport", m.start(), m.end()) for m in _PASSPORT.finditer(folded)]
    found += [("plate", m.start(), m.end()) for m in _PLATE.finditer(folded)]
    view = _digit_view(folded)
    found += [("qq", m.start(1), m.end(1)) for m in _QQ.finditer(view)]
    found += list(_landlines_in_brackets(view))
    found += list(_runs(view, _shop_numbers(folded)))
    return found
