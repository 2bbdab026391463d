"""The customer chat protocol: parsing and checking client frames (docs/chat-protocol.md).

Everything a client sends passes through here before anything else sees it.
Refusals are `ProtocolError`s carrying a code and a Chinese text for the customer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from bot.gateway import json_input

# what the widget may say about the page and the visit; who the customer is comes only from the signed
# `identity` of a hello (bot/gateway/identity.py), never from these
METADATA_KEYS = ("page_url", "page_title", "product_id", "order_number", "name")
_IDENTITY_KEYS = ("customer_id", "tier")
METADATA_VALUE_LIMIT = 200
CLIENT_ID_LIMIT = 64
PAYLOAD_LIMIT = 1000

# C0 and C1 control characters except tab and newline, plus zero-width and
# bidirectional-override characters that can disguise text
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

TEXTS = {
    "invalid_json": "消息格式不正确，请刷新页面后再试。",
    "unknown_type": "无法识别的消息类型。",
    "not_started": "连接尚未建立，请稍后再发。",
    "empty": "不能发送空消息。",
    "too_long": "消息太长了：最多 {limit} 个字，请分几次发送。",
    "bad_field": "消息内容不完整，请刷新页面后再试。",
    "rate_limited": "您发送得太快了，请 {seconds} 秒后再发。我们会逐条回复您。",
    "too_many_conversations": "当前网络发起的咨询过于频繁，请 {seconds} 秒后再试。",
    "too_many_left_messages": "留言提交得太频繁了，请 {seconds} 秒后再试。",
    "unknown_session": "之前的对话已失效，已为您开始新的对话。",
    "bad_resume_token": "之前的对话已失效，已为您开始新的对话。",
    "bad_origin": "此网站未获准接入在线客服。",
    "bad_phone": "请输入正确的 11 位手机号，方便客服联系您。",
    "bad_rating": "请选择 1 到 5 星。",
    "no_ticket": "当前没有进行中的人工服务。",
}


# the handoff frames a customer may send, over the socket or POST /chat/api/frames
CONTROL_TYPES = ("cancel_handoff", "rating", "leave_message")


class ProtocolError(Exception):
    """A refused frame: `code` for programs, `text` for the customer."""

    def __init__(self, code: str, client_id: Optional[str] = None, **values: Any) -> None:
        self.code = code
        self.client_id = client_id
        self.values = values
        self.text = TEXTS[code].format(**values)
        super().__init__(f"{code}: {self.text}")

    def to_frame(self) -> Dict[str, Any]:
        """The `error` frame sent back to the client."""
        frame: Dict[str, Any] = {"type": "error", "code": self.code, "text": self.text}
        if self.client_id:
            frame["client_id"] = self.client_id
        if "seconds" in self.values:
            frame["retry_after"] = self.values["seconds"]
        if "detail" in self.values:  # for the developer: what exactly was wrong (json_input.py)
            frame["detail"] = self.values["detail"]
        return frame


@dataclass
class Hello:
    """Start or resume a conversation."""

    session_id: Optional[str]
    last_seq: int
    metadata: Dict[str, str] = field(default_factory=dict)
    # the shop's signed claim of who is logged in (customer_id, tier, expires_at, signature), unchecked
    identity: Optional[Dict[str, Any]] = None
    # a customer id or tier came as plain metadata (ignored: only a signed claim counts)
    unsigned_claim: bool = False
    # the secret the gateway gave this browser for `session_id` (resume_tokens.py): without it, or with a
    # wrong one, a new conversation starts
    resume_token: Optional[str] = None


@dataclass
class CustomerMessage:
    """A customer message that passed every check."""

    client_id: str
    text: str
    payload: Optional[str]
    metadata: Dict[str, str] = field(default_factory=dict)


def parse_frame(raw: Any) -> Dict[str, Any]:
    """A JSON object with a string `type`, or ProtocolError(invalid_json) saying why in its `detail`."""
    try:
        frame = json_input.loads(raw)
    except json_input.JsonInputError as error:
        raise ProtocolError("invalid_json", detail=str(error)) from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ProtocolError("invalid_json")
    return frame


def clean_text(text: Any, max_length: int, client_id: Optional[str] = None) -> str:
    """Customer text without control characters, normalised line ends and trimmed; refuses empty or too long."""
    if not isinstance(text, str):
        raise ProtocolError("bad_field", client_id)
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text).strip()
    if not text:
        raise ProtocolError("empty", client_id)
    if len(text) > max_length:
        raise ProtocolError("too_long", client_id, limit=max_length)
    return text


def clean_metadata(value: Any) -> Dict[str, str]:
    """The known shop metadata keys as short strings; anything else is dropped."""
    if not isinstance(value, dict):
        return {}
    cleaned = {}
    for key in METADATA_KEYS:
        item = value.get(key)
        if isinstance(item, str | int) and not isinstance(item, bool):
            text = _INVISIBLE.sub("", str(item)).strip()[:METADATA_VALUE_LIMIT]
            if text:
                cleaned[key] = text
    return cleaned


def parse_hello(frame: Dict[str, Any]) -> Hello:
    """A `hello` frame: optional session id, last seq shown, metadata, the signed identity."""
    session_id = frame.get("session_id")
    if session_id is not None and (not isinstance(session_id, str) or not _CLIENT_ID.match(session_id)):
        raise ProtocolError("bad_field")
    last_seq = frame.get("last_seq", 0)
    if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
        raise ProtocolError("bad_field")
    identity = frame.get("identity")
    if identity is not None and not isinstance(identity, dict):
        raise ProtocolError("bad_field")
    resume_token = frame.get("resume_token")
    # tokens are URL-safe base64 of 43 characters: the client id's alphabet and length limit fit them
    if resume_token is not None and (not isinstance(resume_token, str) or not _CLIENT_ID.match(resume_token)):
        raise ProtocolError("bad_field")
    metadata = frame.get("metadata")
    unsigned = isinstance(metadata, dict) and any(metadata.get(key) not in (None, "") for key in _IDENTITY_KEYS)
    return Hello(session_id or None, last_seq, clean_metadata(metadata), identity or None, unsigned, resume_token)


def parse_message(frame: Dict[str, Any], max_length: int) -> CustomerMessage:
    """A `message` frame: client id, text (checked), optional button payload and metadata."""
    client_id = frame.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise ProtocolError("bad_field")
    text = clean_text(frame.get("text"), max_length, client_id)
    payload = frame.get("payload")
    if payload is not None and (not isinstance(payload, str) or len(payload) > PAYLOAD_LIMIT):
        raise ProtocolError("bad_field", client_id)
    return CustomerMessage(client_id, text, payload or None, clean_metadata(frame.get("metadata")))


def text_for_bot(text: str) -> str:
    """Typed text as Rasa must read it: a leading '/' would be taken as an intent command, so it becomes '／'."""
    return "／" + text[1:] if text.startswith("/") else text
