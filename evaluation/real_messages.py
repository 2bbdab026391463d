"""Real customer messages for measuring the bot: JD.com sessions read from ../shared, labels kept here.

The sessions (`../shared/datasets/jddc_dev/sessions.jsonl`, or `SHOP_JDDC_SESSIONS`) are
read at bench and test time and never copied into the project. The project keeps only
the labels (`evaluation/real_labels/`): for a session id and a turn index, the
behaviour our shop's bot should show. Which turns are labelled, and which sessions are
held out, follow fixed rules of the session id, so nobody chooses them by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import yaml

from core.settings import project_path, settings
from knowledge import load_knowledge_base

ROOT = Path(__file__).resolve().parent.parent
SESSIONS_FILE = Path("datasets") / "jddc_dev" / "sessions.jsonl"
# ../shared beside the project root; a clone elsewhere (CI's) finds the workplace's copy
SHARED_DIRS = (ROOT.parent / "shared", Path("/work/shared"))
LABEL_DIR = ROOT / "evaluation" / "real_labels"
# development sessions (read while building the bot) and held-out sessions (only ever measured)
DEV_LABELS = LABEL_DIR / "jddc_dev.yml"
HELD_OUT_LABELS = LABEL_DIR / "jddc_held_out.yml"
# turns that look like escalations, beyond the selected ones (evaluation/escalation_candidates.py)
DEV_ESCALATION_LABELS = LABEL_DIR / "jddc_dev_escalation.yml"
HELD_OUT_ESCALATION_LABELS = LABEL_DIR / "jddc_held_out_escalation.yml"
# a session's share of the id space that is held out: 4 in 10 sessions
HELD_OUT_TENTHS = 4

# what the bot should do with a message; `answer:<key>` and `escalate:<reason>` carry a detail
BEHAVIOURS = (
    "answer", "order", "product", "bargain", "escalate", "chitchat", "card", "clarify", "out_of_scope",
)
ESCALATION_REASONS = ("request_human", "complaint", "sensitive_topic")


class LabelError(ValueError):
    """A label file problem, naming the entry."""


def sessions_path() -> Path:
    """Where the real sessions are read from: SHOP_JDDC_SESSIONS, else ../shared (or /work/shared)."""
    if os.environ.get("SHOP_JDDC_SESSIONS"):
        return Path(os.environ["SHOP_JDDC_SESSIONS"])
    candidates = [directory / SESSIONS_FILE for directory in SHARED_DIRS]
    return next((path for path in candidates if path.exists()), candidates[0])


@dataclass(frozen=True)
class Turn:
    """One turn of a session: who spoke and what (JD's placeholders such as [订单x] kept)."""

    speaker: str
    text: str


@dataclass(frozen=True)
class Session:
    """A real customer-service session."""

    id: str
    turns: Tuple[Turn, ...]

    def customer_turns(self) -> List[int]:
        """Indices of the customer's turns."""
        return [i for i, turn in enumerate(self.turns) if turn.speaker == "customer"]

    def previous_customer_turn(self, index: int) -> Optional[int]:
        """The customer's turn before `index`, if any."""
        earlier = [i for i in self.customer_turns() if i < index]
        return earlier[-1] if earlier else None


@lru_cache(maxsize=2)
def _load(path: str) -> Dict[str, Session]:
    sessions = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                raw = json.loads(line)
                turns = tuple(Turn(t["from"], t["text"]) for t in raw["turns"])
                sessions[raw["session"]] = Session(raw["session"], turns)
    return sessions


def load_sessions(path: Optional[Path] = None) -> Dict[str, Session]:
    """Every session by id; raises FileNotFoundError with the setting to change."""
    path = path or sessions_path()
    if not path.exists():
        raise FileNotFoundError(
            f"real sessions not found at {path}: set SHOP_JDDC_SESSIONS to the jddc_dev sessions.jsonl"
        )
    return _load(str(path))


def _hash(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)


def is_held_out(session_id: str) -> bool:
    """Held-out sessions are never used to tune anything (4 in 10, by the id's hash)."""
    return _hash(session_id) % 10 < HELD_OUT_TENTHS


def selected_turns(session: Session) -> List[int]:
    """The turns labelled in a session: the customer's first, and one later turn picked by hash."""
    turns = session.customer_turns()
    if not turns:
        return []
    picked = [turns[0]]
    if len(turns) > 1:
        later = turns[1:]
        picked.append(later[_hash(session.id + "/later") % len(later)])
    return picked


def sessions_in_order(sessions: Dict[str, Session], held_out: bool) -> List[Session]:
    """The sessions of one side, in the fixed order labelling follows (by hash)."""
    side = [s for s in sessions.values() if is_held_out(s.id) == held_out]
    return sorted(side, key=lambda s: _hash(s.id + "/order"))


# -- turning JD's placeholders into text a customer would type ------------------------------------
_PLACEHOLDER = re.compile(r"\[(订单|金额|日期|时间|电话|地址|姓名|链接|数字|站点|组织机构|邮箱|身份证号)x\]")
_ADDRESSES = ("北京市朝阳区建国路88号", "上海市浦东新区张江路100号3栋", "广州市天河区体育西路191号")
_NAMES = ("王先生", "李女士", "张伟", "刘芳")


def realise(text: str, seed: str) -> str:
    """The message with each placeholder replaced by a realistic value, the same for the same seed."""
    rng = random.Random(seed)

    def value(match: re.Match) -> str:
        kind = match.group(1)
        if kind == "订单":
            return "2026" + "".join(rng.choice("0123456789") for _ in range(12))
        if kind == "金额":
            return f"{rng.randint(19, 2999)}.00"
        if kind == "日期":
            return f"2026-11-{rng.randint(1, 28):02d}"
        if kind == "时间":
            return f"{rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        if kind == "电话":
            return "13" + "".join(rng.choice("0123456789") for _ in range(9))
        if kind == "地址":
            return rng.choice(_ADDRESSES)
        if kind == "姓名":
            return rng.choice(_NAMES)
        if kind == "链接":
            return f"https://item.yunduo.example.com/{rng.randint(10**9, 10**10)}.html"
        if kind == "数字":
            return str(rng.choice((1, 2, 3, 5, 7, 10, 15, 20, 30, 100, 128, 299)))
        if kind == "站点":
            return ""
        if kind == "组织机构":
            return "星辰科技有限公司"
        if kind == "邮箱":
            return "customer@example.com"
        return "110101199003071234"  # 身份证号

    return _PLACEHOLDER.sub(value, text)


# -- labels ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expectation:
    """One acceptable behaviour: `answer` with a key, `escalate` with a reason, or a bare behaviour."""

    behaviour: str
    detail: Optional[str] = None

    def __str__(self) -> str:
        return f"{self.behaviour}:{self.detail}" if self.detail else self.behaviour


def parse_expectations(text: str, where: str) -> Tuple[Expectation, ...]:
    """`answer:refund_progress|order` -> two expectations; names the entry when malformed."""
    result = []
    for part in str(text).split("|"):
        behaviour, _, detail = part.strip().partition(":")
        if behaviour not in BEHAVIOURS:
            raise LabelError(f"{where}: unknown behaviour {behaviour!r}; expected one of {BEHAVIOURS}")
        if behaviour == "answer" and not detail:
            raise LabelError(f"{where}: 'answer' needs a knowledge-base key, e.g. answer:refund_progress")
        if behaviour == "escalate" and detail not in ESCALATION_REASONS:
            raise LabelError(f"{where}: 'escalate' needs one of {ESCALATION_REASONS}, got {detail!r}")
        result.append(Expectation(behaviour, detail or None))
    return tuple(result)


@dataclass(frozen=True)
class LabelledMessage:
    """A real customer message, what the bot should do with it, and the customer's message before it."""

    session: str
    turn: int
    text: str
    expected: Tuple[Expectation, ...]
    context: Optional[str]
    held_out: bool
    kind: str = ""

    @property
    def key(self) -> str:
        return f"{self.session[:12]}/{self.turn}"

    def accepts(self, behaviour: str, detail: Optional[str] = None) -> bool:
        """Whether the bot doing `behaviour` (with its key or reason) is one of the expected behaviours."""
        for expectation in self.expected:
            if expectation.behaviour != behaviour:
                continue
            if expectation.detail is None or detail is None or expectation.detail == detail:
                return True
        return False

    def expected_keys(self) -> List[str]:
        """The knowledge-base entries that would answer it."""
        return [e.detail for e in self.expected if e.behaviour == "answer" and e.detail]

    def expects(self, behaviour: str) -> bool:
        return any(e.behaviour == behaviour for e in self.expected)


def read_label_file(path: Path) -> List[dict]:
    """The raw label entries, checked for shape."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("labels")
    if not isinstance(entries, list):
        raise LabelError(f"{path}: expected a top-level list named 'labels'")
    return entries


def labelled_messages(
    path: Path, sessions: Optional[Dict[str, Session]] = None, kb_keys: Optional[Sequence[str]] = None,
) -> List[LabelledMessage]:
    """Every labelled message of one file with its text from the sessions, checked against the knowledge base.

    A file of held-out labels may name held-out sessions only, a development file development ones.
    """
    held_out_file = path.name in (HELD_OUT_LABELS.name, HELD_OUT_ESCALATION_LABELS.name)
    sessions = sessions if sessions is not None else load_sessions()
    by_prefix = {sid[:12]: s for sid, s in sessions.items()}
    result, seen = [], set()
    for number, raw in enumerate(read_label_file(path), start=1):
        where = f"{path.name} entry {number} ({raw.get('session')}/{raw.get('turn')})"
        session = by_prefix.get(str(raw.get("session", ""))[:12])
        if session is None:
            raise LabelError(f"{where}: no session with that id in {sessions_path()}")
        if is_held_out(session.id) != held_out_file:
            side = "held-out" if is_held_out(session.id) else "development"
            raise LabelError(f"{where}: a {side} session does not belong in {path.name}")
        turn = raw.get("turn")
        if not isinstance(turn, int) or not 0 <= turn < len(session.turns):
            raise LabelError(f"{where}: turn must be an index into the session's {len(session.turns)} turns")
        if session.turns[turn].speaker != "customer":
            raise LabelError(f"{where}: turn {turn} is the agent's, label customer turns only")
        if (session.id, turn) in seen:
            raise LabelError(f"{where}: labelled twice")
        seen.add((session.id, turn))
        expected = parse_expectations(raw.get("expect", ""), where)
        for expectation in expected:
            if kb_keys is not None and expectation.behaviour == "answer" and expectation.detail not in kb_keys:
                raise LabelError(f"{where}: no knowledge-base entry {expectation.detail!r} (data/kb)")
        previous = session.previous_customer_turn(turn)
        seed = f"{session.id}/{turn}"
        result.append(
            LabelledMessage(
                session=session.id, turn=turn, text=realise(session.turns[turn].text, seed),
                expected=expected,
                context=realise(session.turns[previous].text, f"{session.id}/{previous}") if previous is not None
                else None,
                held_out=is_held_out(session.id), kind=str(raw.get("kind") or ""),
            )
        )
    return result


def worksheet(
    held_out: bool, count: int, sessions: Optional[Dict[str, Session]] = None, start: int = 0,
) -> Iterator[str]:
    """Lines for a person labelling: each selected turn with the session up to it (printed, never stored),
    for `count` sessions of that side from the `start`-th in order."""
    sessions = sessions if sessions is not None else load_sessions()
    for session in sessions_in_order(sessions, held_out)[start: start + count]:
        for index in selected_turns(session):
            yield f"## session: {session.id[:12]}  turn: {index}"
            for i, turn in enumerate(session.turns[: index + 1]):
                marker = ">>" if i == index else "  "
                yield f"{marker} [{i}] {turn.speaker[0]}: {turn.text}"


def load_sets(kb_keys: Optional[Sequence[str]] = None) -> Tuple[List[LabelledMessage], List[LabelledMessage]]:
    """The development and held-out labelled messages, checked against the knowledge base's keys."""
    if kb_keys is None:
        kb_keys = [entry.key for entry in load_knowledge_base(project_path(settings()["knowledge_base"]["path"]))]
    return labelled_messages(DEV_LABELS, kb_keys=kb_keys), labelled_messages(HELD_OUT_LABELS, kb_keys=kb_keys)


def conversation(message: LabelledMessage) -> List[str]:
    """What the customer sends: the previous message of the session as context, then the labelled one."""
    return [message.context, message.text] if message.context else [message.text]
