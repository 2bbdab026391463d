"""People's names in customer messages (folded text, see analytics/pii_formats.py `fold`).

A name is found where a customer says whose it is: after 我叫, 收件人, 联系人, 姓名, 签收人 and the like,
before 签收/收 (让李丽签收, 杨丽收), or at the head of a pasted "name phone address" block, right before a
phone number or after an address. It must start with a common surname and is two to three characters
(four with a two-character surname); a surname with 先生/女士 names nobody and is left alone.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Tuple

Found = Tuple[str, int, int]

_COMPOUND = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 独孤 南宫 西门 百里 呼延 轩辕 钟离 "
    "澹台 公冶 太史 申屠 闻人"
).split()
_SINGLE = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛"
    "樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉"
    "骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏"
    "宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班"
    "储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门"
    "云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於"
    "呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)
# words that end a name: what follows it in a sentence (电话, 本人, 签收, 先生 ...)
_AFTER = (
    "电话 手机 联系 地址 本人 签收 代收 收件 收货 收 先生 女士 小姐 老师 师傅 同学 身份 订单 的 在 已 要 想 说 "
    "买 下 不 了 啊 呀 吗 呢 吧 哦 他 她 去 拿 上 帮 来 家 和 跟 还 是 会员 卡 qq 微信 邮箱 号 谢谢 麻烦 请 就 也 都 "
    "有 到 给 打 发 寄 送 改 写 填 用 问 取 电 手"
).split()
# words jieba tags as names that customers write as words
_NOT_NAMES = {"谢谢", "多谢", "麻烦", "方便", "明天", "晚上", "白天", "在家", "尽快"}
_CJK = r"[\u4e00-\u9fff]"
_CUE = (
    r"(?:我叫|名叫|叫做|名字叫|名字是|名字|我的名字是|姓名|真实姓名|收件人姓名|收件人|收货人|联系人|寄件人|签收人|"
    r"提货人|取件人|户名|开户名|持卡人|申请人|我是|本人是|"
    r"(?:我|他|她|老婆|老公|爱人|媳妇|妈妈|妈|爸爸|爸|儿子|女儿|朋友|同事|家人|姐姐|哥哥|弟弟|妹妹)(?:的名字)?叫|"
    r"[,，;]叫)"
)
# what may stand between a cue and the name
_CUE_GAP = r"(?:\s*(?:改成|改为|写成|写|换成|填|是|为|:)\s*)*"
_CUED = re.compile(_CUE + _CUE_GAP + rf"({_CJK}{{2,5}})")
# 让李丽签收, 给王芳代收, 杨丽收 (after an address or a comma)
_RECEIVES = re.compile(rf"(?:让|给|由|请|交给)({_CJK}{{2,4}}?)(?:签收|代收|收货|来取|去取)")
_SIGNED = re.compile(rf"(?:^|[,，;；\s])({_CJK}{{2,4}}?)收(?:$|[,，。;；!！\s])")
# a bare name at a block's head: alone between separators, right before a phone or after an address
_BARE = re.compile(rf"(?:^|(?<=[\s,，;；/、:]))({_CJK}{{2,4}})(?=[\s,，;；/、]*(?:\+|\d|$))")


def _surname_length(word: str) -> int:
    """1 or 2 when the word starts with a common surname, else 0."""
    if word[:2] in _COMPOUND:
        return 2
    return 1 if word[:1] in _SINGLE else 0


def _trim(word: str) -> str:
    """The name at the head of `word`: cut before the first word that follows a name in a sentence."""
    surname = _surname_length(word)
    if not surname:
        return ""
    longest = 4 if surname == 2 else 3
    word = word[:longest]
    for i in range(surname + 1, len(word)):
        if any(word.startswith(after, i) for after in _AFTER):
            word = word[:i]
            break
    if len(word) <= surname or word[surname:] in ("先生", "女士", "小姐", "总", "老师", "师傅"):
        return ""
    return word


def _common_word(word: str) -> bool:
    """A dictionary word that is not a person's name (谢谢, 麻烦, 白天); jieba's tag nr is a name."""
    import jieba.posseg

    if word in _NOT_NAMES:
        return True
    tag = jieba.posseg.dt.word_tag_tab.get(word)
    return tag is not None and not tag.startswith("nr")


def find_names(folded: str, anchors: Iterable[Tuple[int, int]] = ()) -> List[Found]:
    """Names in folded text as ("name", start, end). `anchors` are the spans of phones and addresses found
    already: a bare name counts only right before or after one of them."""
    found: List[Found] = []
    for pattern in (_CUED, _RECEIVES, _SIGNED):
        for m in pattern.finditer(folded):
            name = _trim(m.group(1))
            if name:
                found.append(("name", m.start(1), m.start(1) + len(name)))
    anchors = list(anchors)
    for m in _BARE.finditer(folded):
        word = m.group(1)
        name = _trim(word)
        if name != word or _common_word(word) or any(s < m.end(1) and m.start(1) < e for s, e in anchors):
            continue  # a bare name is the whole word between separators, and not a word such as 谢谢
        gap_after = re.match(r"[\s,，;；/、]*", folded[m.end(1):]).end() + m.end(1)
        before = folded[: m.start(1)].rstrip(" ,，;；/、:\n")
        if any(s == gap_after for s, _ in anchors) or any(e == len(before) for _, e in anchors):
            found.append(("name", m.start(1), m.end(1)))
    return found
