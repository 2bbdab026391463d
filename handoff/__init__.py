"""The human handoff queue: tickets, agents, and handing back to the bot (not built yet)."""
