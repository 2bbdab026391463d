"""rasa-sdk custom actions: answer from the knowledge base, clarify, or say the bot cannot help."""
