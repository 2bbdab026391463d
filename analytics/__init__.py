"""Analytics: the conversation event log (personal data masked), the deflection and cost figures, reports."""
