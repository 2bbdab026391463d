"""The bot's reading of a message and the knowledge-base button payload (core/reading.py): one owner of both."""

from __future__ import annotations

from actions.conversation import faq_button
from bot.gateway.bot_relay import entries_shown
from bot.gateway.rasa_client import BotReply, parse_answer
from core.reading import faq_key_of_payload, faq_payload, reading_from_parse, with_entries_shown


def test_a_faq_payload_names_its_entry_and_reads_back():
    payload = faq_payload("refund_arrival_time")
    assert payload == '/faq{"faq_key":"refund_arrival_time"}'
    assert faq_key_of_payload(payload) == "refund_arrival_time"
    assert faq_key_of_payload("/handoff") is None and faq_key_of_payload('/faq{"faq_key":') is None
    assert faq_key_of_payload(None) is None


def test_the_actions_buttons_use_the_one_payload():
    assert faq_button("invoice", "怎么开发票？")["payload"] == faq_payload("invoice")


def test_a_reading_names_the_entry_and_keeps_other_entities():
    parse = {
        "intent": {"name": "faq", "confidence": 0.9349},
        "entities": [{"entity": "order_number", "value": "2024061812345678", "start": 3}],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/refund_arrival_time"}}},
        "intent_ranking": [{"name": "faq", "confidence": 0.93}],
    }
    reading = reading_from_parse(parse)
    assert reading == {
        "intent": "faq/refund_arrival_time", "confidence": 0.935, "faq_key": "refund_arrival_time",
        "entities": [{"entity": "order_number", "value": "2024061812345678"}], "kb_shown": [],
    }
    picked = reading_from_parse({"intent": {"name": "faq", "confidence": 1.0},
                                 "entities": [{"entity": "faq_key", "value": "invoice"}]})
    assert picked["intent"] == "faq/invoice" and picked["entities"] == []
    assert reading_from_parse({"intent": {"name": "greet", "confidence": 0.8}})["intent"] == "greet"


def test_the_entries_shown_are_the_answered_one_and_the_offered_ones_once_each():
    replies = [
        BotReply("退款会原路退回……", buttons=[
            {"title": "怎么查询退款进度？", "payload": faq_payload("refund_progress")},
        ]),
        BotReply("", analytics={"event": "bot_answer", "kb_key": "refund_arrival_time"}),
        BotReply("您是想问？", buttons=[
            {"title": "怎么查询退款进度？", "payload": faq_payload("refund_progress")},
            {"title": "转人工", "payload": "/handoff"},
            {"title": "退款多久到账？", "payload": faq_payload("refund_arrival_time")},
        ]),
    ]
    shown = entries_shown(replies)
    reading = with_entries_shown({"intent": "faq/refund_arrival_time"}, shown)
    assert reading["kb_shown"] == ["refund_arrival_time", "refund_progress"]


def test_the_gateway_channels_answer_is_parsed_and_a_bad_reading_dropped():
    answer = parse_answer({"messages": [{"text": "您好"}], "reading": {"intent": "greet", "confidence": 0.9}})
    assert [r.text for r in answer.replies] == ["您好"] and answer.reading["intent"] == "greet"
    assert parse_answer({"messages": [{"text": "您好"}], "reading": "greet"}).reading is None
    assert parse_answer([{"text": "REST shape"}]).replies == []
