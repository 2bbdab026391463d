"""What a customer's message is made of, before anyone classifies it: pasted cards and links, a chat page's
own texts, greetings and acknowledgements around a question, and the question itself."""

from customer_text.shape import MessageShape, read_message

__all__ = ["MessageShape", "read_message"]
