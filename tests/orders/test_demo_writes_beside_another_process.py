"""The embedded demo order system changes an order while another connection (the gateway, in another process)
is writing the same SQLite file: it waits for the lock instead of failing with "database is locked"."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from core.db import create_database_engine, upgrade_schema
from orders.demo_system import DemoOrderSystem

WAITING = "2026120398765432"  # 王女士's order waiting to be sent (data/demo/orders.yml)


def test_a_change_waits_for_another_writer_instead_of_failing(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = create_database_engine(url)
    upgrade_schema(engine)
    demo = DemoOrderSystem(engine)
    demo.order_now(WAITING)  # seeded
    other = create_database_engine(url)  # another process's connection to the same file
    started, release = threading.Event(), threading.Event()

    def write_for_a_while() -> None:
        with other.begin() as connection:
            connection.execute(text("UPDATE demo_orders SET updated_at = updated_at WHERE order_number = :n"),
                               {"n": WAITING})
            started.set()
            release.wait(5)

    writer = threading.Thread(target=write_for_a_while)
    writer.start()
    started.wait(5)
    threading.Timer(0.5, release.set).start()
    began = time.monotonic()
    changed = demo.urge_shipment_now(WAITING, "urge-beside-a-writer")
    writer.join(5)
    assert changed.shipment_urged_at is not None
    assert time.monotonic() - began >= 0.3, "it waited for the other writer"
    other.dispose()
    engine.dispose()
