"""Errors the query handlers raise; the web maps them to 400 and 404 naming the parameter."""


class BadQuery(ValueError):
    """A query parameter that breaks a rule (400); the message is 'parameter: rule'."""

    def __init__(self, parameter: str, rule: str) -> None:
        super().__init__(f"{parameter}: {rule}")
        self.parameter = parameter
        self.rule = rule


class NotKept(LookupError):
    """A moment before the oldest kept point of history (404); the message says so."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class NotFound(LookupError):
    """A city or target a query names that is not in the ranking (404); the message says so."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
