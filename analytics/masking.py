"""Personal data in customer text (Chinese) replaced by placeholders before analytics stores it.

The text is first folded character by character (full-width to half-width, traditional to simplified,
lower case; offsets stay). Fixed formats (mobile and landline phones, also in Chinese numerals or grouped
any way, ID card, bank card, e-mail, QQ, WeChat, passport and permit numbers, licence plates) are found by
analytics/pii_formats.py, with the checks that tell them from the shop's order numbers; addresses, with
or without a road and number, by analytics/pii_address.py; names after 我叫, 收件人, 联系人, 姓名 ... or in
a pasted name-phone-address block by analytics/pii_names.py. Overlapping spans are merged, the longest
winning. Quality on the labelled set: bench/masking_quality.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

from analytics.pii_address import ADDRESS_HINT, find_addresses
from analytics.pii_formats import find_formats, fold
from analytics.pii_names import find_names

PLACEHOLDERS: Dict[str, str] = {
    "mobile": "〔手机号〕", "landline": "〔座机〕", "id_card": "〔身份证号〕",
    "bank_card": "〔银行卡号〕", "email": "〔邮箱〕", "address": "〔地址〕",
    "name": "〔姓名〕", "qq": "〔QQ号〕", "wechat": "〔微信号〕", "passport": "〔证件号〕", "plate": "〔车牌号〕",
}


@dataclass(frozen=True)
class Span:
    """One piece of personal data: its kind and where it is in the text."""

    kind: str
    start: int
    end: int
    text: str


def find_personal_data(text: str) -> List[Span]:
    """Personal data in `text`, non-overlapping (the longer of two overlapping spans wins), in text order.

    Read on the text folded character by character (full-width to half-width, traditional to simplified,
    lower case), so offsets are the original text's."""
    if not text:
        return []
    folded = fold(text)
    found = find_formats(folded)
    # Every address core holds one of these characters; without them spaCy need not run.
    if ADDRESS_HINT.search(folded):
        found += find_addresses(folded)
    anchors = [(start, end) for kind, start, end in found if kind in ("mobile", "landline", "address")]
    found += find_names(folded, anchors)
    spans = [Span(kind, start, end, text[start:end]) for kind, start, end in found]
    chosen: List[Span] = []
    # Longest first; on a tie the exact kinds (listed first) win over an address or a name.
    for span in sorted(spans, key=lambda s: s.start - s.end):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def mask(text: str) -> str:
    """`text` with each piece of personal data replaced by its placeholder, e.g. 〔手机号〕; the rest unchanged."""
    for span in reversed(find_personal_data(text)):
        text = text[: span.start] + PLACEHOLDERS[span.kind] + text[span.end :]
    return text
