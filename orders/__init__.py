"""The shop's order system, behind one interface (`port.OrderSystem`): orders, items, payment, shipment and
tracking, after-sales. Two implementations: the embedded demo (`demo_system.py`, SQL tables seeded with the
demo customers' orders) and a client of the shop's REST API (`shop_api.py`, docs/shop-order-api.md)."""
