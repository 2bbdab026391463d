"""`make chat`: a terminal conversation with the running bot through Rasa's REST channel.

Buttons are numbered; typing a number sends that button's payload.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List

from core.settings import settings


def send(url: str, sender: str, message: str) -> List[Dict[str, Any]]:
    """Posts one message and returns the bot's replies."""
    body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


def show(replies: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    """Prints the replies; returns their buttons in the order shown."""
    buttons: List[Dict[str, str]] = []
    for reply in replies:
        if reply.get("text"):
            print(f"小云: {reply['text']}")
        handoff = (reply.get("custom") or {}).get("handoff")
        if handoff:
            # the terminal talks to Rasa directly: there is no gateway here to open a ticket
            print(f"（转人工：{handoff.get('reason')}，{handoff.get('detail')}。网页聊天窗口会在这里为客户排队转接人工客服。）")
        for button in reply.get("buttons") or []:
            buttons.append(button)
            print(f"   [{len(buttons)}] {button['title']}")
    return buttons


def main() -> int:
    """Reads lines until EOF or /quit."""
    rasa = settings()["rasa"]
    url = f"http://{rasa['host']}:{rasa['port']}/webhooks/rest/webhook"
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    print("Talking to the bot (Ctrl-D or /quit to leave; a number picks a button).")
    buttons: List[Dict[str, str]] = []
    while True:
        try:
            line = input("您: ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line in {"/quit", "/exit"}:
            return 0
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            line = buttons[int(line) - 1]["payload"]
        try:
            buttons = show(send(url, sender, line))
        except (urllib.error.URLError, OSError) as error:
            print(f"Cannot reach the bot at {url} ({error}). Is `make run` running?")


if __name__ == "__main__":
    sys.exit(main())
