"""Measuring the NLU: a held-out split of the project's data, metrics, and real Rasa training."""
