"""Errors a user can act on. `UsageError` is a ValueError, so callers that expect ValueError keep working."""


class UsageError(ValueError):
    """A bad option, pattern, recipe or input file: the message says what is wrong and where."""
