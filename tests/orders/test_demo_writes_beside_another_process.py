"""The embedded demo order system changes an order while another connection (the gateway, in another process)
is writing the same SQLite file: it waits for the lock instead of failing with "database is locked"."""

from __future__ import annotations

import time

from core.db import create_database_engine, upgrade_schema
from orders.demo_system import DemoOrderSystem
from tests.another_writer import writing_meanwhile

WAITING = "2026120398765432"  # 王女士's order waiting to be sent (data/demo/orders.yml)


def test_a_change_waits_for_another_writer_instead_of_failing(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = create_database_engine(url)
    upgrade_schema(engine)
    demo = DemoOrderSystem(engine)
    demo.order_now(WAITING)  # seeded
    began = time.monotonic()
    with writing_meanwhile(url, "UPDATE demo_orders SET updated_at = updated_at WHERE order_number = :n",
                           {"n": WAITING}):
        changed = demo.urge_shipment_now(WAITING, "urge-beside-a-writer")
    assert changed.shipment_urged_at is not None
    assert time.monotonic() - began >= 0.3, "it waited for the other writer"
    engine.dispose()
