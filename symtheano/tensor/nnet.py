"""Placeholder until this module is written; it exports nothing yet."""

__all__ = []
