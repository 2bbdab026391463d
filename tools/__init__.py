"""Programs people run beside the product: the day simulator (more as the product grows)."""
