"""End to end: the real Rasa server and action server on loopback, talking through Rasa's REST channel."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest

from bot.run import Service, write_endpoints
from knowledge import load_knowledge_base
from tests.conftest import RASA, ROOT, rasa_env

STARTUP_SECONDS = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def rest_url(full_model, tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    actions_port, rasa_port = free_port(), free_port()
    endpoints = write_endpoints(f"http://127.0.0.1:{actions_port}/webhook", work)
    services = [
        Service(
            "action server",
            [RASA, "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            f"http://127.0.0.1:{actions_port}/health",
        ),
        Service(
            "Rasa server",
            [
                RASA, "run", "--model", str(full_model), "--endpoints", str(endpoints),
                "--credentials", str(ROOT / "credentials.yml"),
                "--interface", "127.0.0.1", "--port", str(rasa_port),
            ],
            f"http://127.0.0.1:{rasa_port}/",
        ),
    ]
    for service in services:
        service.start(rasa_env())
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not all(s.is_ready() for s in services):
            for service in services:
                assert service.process.poll() is None, f"{service.name} exited during start-up"
            assert time.monotonic() < deadline, "servers did not start in time"
            time.sleep(1)
        yield f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
    finally:
        for service in services:
            service.stop()


def say(url: str, sender: str, message: str) -> list:
    body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(ROOT / "data" / "kb")


@pytest.mark.slow
def test_a_faq_question_gets_its_knowledge_base_answer(rest_url, kb):
    entry = kb.get("refund_arrival_time") or next(e for e in kb if e.category == "refund")
    replies = say(rest_url, "e2e-faq", entry.paraphrases[0])
    assert replies[0]["text"] == entry.answer


@pytest.mark.slow
def test_an_order_number_shapes_the_answer(rest_url, kb):
    replies = say(rest_url, "e2e-order", "帮我查下订单2024061812345678到哪了")
    assert any("2024061812345678" in r.get("text", "") for r in replies)


@pytest.mark.slow
def test_a_suggestion_button_payload_answers_that_entry(rest_url, kb):
    entry = next(iter(kb))
    replies = say(rest_url, "e2e-button", '/faq{"faq_key":"%s"}' % entry.key)
    assert replies[0]["text"] == entry.answer


@pytest.mark.slow
def test_gibberish_gets_an_honest_answer_with_the_hotline(rest_url):
    replies = say(rest_url, "e2e-fail", "qwerty asdf zxcv")
    texts = " ".join(r.get("text", "") for r in replies)
    assert "抱歉" in texts and "400-820-6688" in texts
    assert not any(r.get("buttons") for r in replies)


@pytest.mark.slow
def test_a_request_for_a_person_gets_the_human_channels(rest_url):
    replies = say(rest_url, "e2e-human", "转人工")
    assert "400-820-6688" in " ".join(r.get("text", "") for r in replies)
