"""`make bench`: every benchmark in turn; figures go to stdout (copied into docs/benchmarks.md)."""

from __future__ import annotations

import platform

from bench import (
    access_matrix,
    escalation_rules,
    fuzz,
    gateway_speed,
    handoff_speed,
    login_flood,
    masking_quality,
    masking_speed,
    open_loop,
    order_latency,
    real_messages,
    scaled_load,
    search_quality,
    self_service,
    server_speed,
    shop_nlu,
    smp2017,
    sql_per_turn,
)


def main() -> None:
    """Runs the benchmarks from cheapest to most expensive."""
    import os

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    search_quality.main()
    real_messages.main([])
    self_service.main([])
    escalation_rules.main([])
    fuzz.main([])
    access_matrix.main()
    shop_nlu.main()
    server_speed.main()
    gateway_speed.main()
    open_loop.main([])
    scaled_load.main([])
    sql_per_turn.main()
    handoff_speed.main()
    login_flood.main([])
    order_latency.main([])
    masking_quality.main([])
    masking_speed.main()
    smp2017.main()


if __name__ == "__main__":
    main()
