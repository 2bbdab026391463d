"""The supervisor's CSV export with customer text a spreadsheet would run: every such cell starts with a
quote (OWASP's rule, analytics/csv_cells.py)."""

from __future__ import annotations

import csv
import io

from bot.gateway.keys import RELAY
from tests.gateway.conftest import open_conversation, receive_until
from tests.gateway.test_handoff import add_agent, log_in

FORMULAS = ['=HYPERLINK("http://x","y")', "=1+2", "@SUM(1+1)", "+1+2", "-1+2"]


async def test_customer_formulas_reach_the_export_as_text(client):
    add_agent(client, "boss", "张主管", role="supervisor")
    ws, _ = await open_conversation(client)
    for number, text in enumerate(FORMULAS):
        await ws.send_json({"type": "message", "client_id": f"f{number}", "text": text})
        await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    await client.server.app[RELAY].recorder.drain()
    export = await client.get("/dashboard/api/export.csv", headers=await log_in(client, "boss"))
    assert export.status == 200
    table = list(csv.reader(io.StringIO((await export.read()).decode("utf-8-sig"))))
    text = table[0].index("text")
    written = [row[text] for row in table[1:] if row[text]]
    for formula in FORMULAS:
        assert "'" + formula in written, (formula, written)
    cells = [cell for row in table[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [cell for cell in cells if cell.startswith("-") and not cell.lstrip("-").replace(".", "").isdigit()]
