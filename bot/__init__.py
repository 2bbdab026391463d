"""The running product: settings, process supervision, and the terminal chat client."""
