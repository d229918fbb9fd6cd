"""The error every command reports in one line with exit status 2: a mistake in the user's input."""


class UserError(Exception):
    """A mistake in the command line or its inputs (names, files, configs): one line, exit status 2."""
