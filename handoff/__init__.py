"""Human handoff: escalation rules, the persistent ticket queue, agent accounts, business hours."""
