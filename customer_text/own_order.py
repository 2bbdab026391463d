"""Signs that a message is about the customer's own order, not a general policy question.

"这单能早点发吗", "我昨天拍的怎么还没发货", "少发了一件": each needs one order looked at, and
a policy answer or three "您是想问" buttons do not help. The signs are kinds of wording:
  - a possessive or pointing word before an order word (我的订单, 这单, 我买的, 我的快递);
  - a number the shop or courier gave (订单号, 服务单, 运单号; a typed or pasted order number is
    found by the message's shape, customer_text/cards.py, and the gate counts it too);
  - what happened to one parcel (还没收到, 没显示物流, 少发, 发错, 破损, 拒收), when it comes
    (什么时候能到), or what to do with it (催一下, 帮我取消, 麻烦你退一下款).
When the reading is unsure, such a message goes to the order route: the bot asks which order.
"""

from __future__ import annotations

import re
import unicodedata
from typing import List

_OWNER = r"(?:我|俺|我们|我家|咱)"
_POINT = r"(?:这|那|此|该)(?:个|笔|一)?"
_ORDER_NOUN = r"(?:订单|单子|快递|包裹|货|件|东西|商品|退款|退货|换货|售后|物流|发票)"
_BOUGHT = r"(?:买|拍|下单|下的单|订|购买|购|收|退|换)"
_WHEN = r"(?:刚|刚刚|昨天|前天|今天|上周|上个月|之前|早上|晚上|前几天|\d+号|\d+月\d+[号日]?)?"

PATTERNS = (
    # 我的订单, 我这个订单, 我家的快递
    re.compile(_OWNER + r"(?:的|这|那)?(?:个|笔)?" + _ORDER_NOUN),
    # 这个订单, 这单, 那笔订单
    re.compile(_POINT + r"(?:订单|单子|单|快递|包裹)"),
    # 我昨天拍的, 我刚买了, 我下单的
    re.compile(_OWNER + _WHEN + _BOUGHT + r"(?:的|了)"),
    re.compile(_OWNER + _WHEN + r"(?:下的单|下了单|拍下)"),
    # numbers given for one order or parcel
    re.compile(r"订单号|订单编号|服务单|售后单|退款单|快递单号|运单号|物流单号"),
    # what happened to one parcel
    re.compile(r"(?:没|未|还没|没有|一直没|怎么没|咋没|还不)(?:有)?(?:收到|到货|到|发货|发|送到|送|派送|显示|更新|退|到账|动)"),
    re.compile(r"少(?:了|发|给|寄|一)|漏发|发错|错发|缺(?:了|件|少)|破损|碎了|拒收|签收了.{0,6}没"),
    re.compile(r"催(?:一下|下|单|发货|件)|(?:尽快|抓紧|赶紧)(?:给)?(?:发|配送|送|安排)|加急|快点(?:给)?(?:发|送)"),
    # when one parcel comes: 什么时候能到, 几号送达
    re.compile(r"(?:什么时候|啥时候|几号|哪天|多久)(?:能|可以|会|才|呢)?(?:到|送到|送达|到货|送货|送|发货|发)"),
    # asking for something to be done to it: 麻烦你退一下款, 帮我取消
    re.compile(r"(?:帮我|给我|麻烦你?|帮忙)(?:把|给)?.{0,2}(?:退|取消|改|修改|换|查|催|处理|安排|备注)"),
)
# the words of a product link are not the customer's
LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


def own_order_signs(text: str) -> List[str]:
    """The parts of `text` that point at one order of the customer's (empty: none)."""
    folded = LINK.sub(" ", unicodedata.normalize("NFKC", text))
    return [m.group(0) for pattern in PATTERNS for m in pattern.finditer(folded)]
