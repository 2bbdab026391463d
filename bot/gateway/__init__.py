"""The chat gateway: owns customers' connections, stores conversations, relays messages to the bot."""
