"""Errors the query handlers raise; the web maps them to 400 and 404 naming the parameter."""


class BadQuery(ValueError):
    """A query parameter that breaks a rule (400); the message names it."""


class NotKept(LookupError):
    """A moment before the oldest kept point of history (404); the message says so."""
