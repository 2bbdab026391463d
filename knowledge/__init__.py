"""The shop's FAQ knowledge base: entries, loading and validation, search."""

from knowledge.entry import AnswerVariant, FaqEntry, KnowledgeBase
from knowledge.errors import KnowledgeBaseError, Problem
from knowledge.loader import load_knowledge_base

__all__ = [
    "AnswerVariant",
    "FaqEntry",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Problem",
    "load_knowledge_base",
]
