"""Errors that end a command with a message saying what went wrong and what to do.

Commands run their work inside :func:`elyte.cli.app.exit_on_failure`, which logs the message and
exits with status 2 for an :class:`InputError` and 1 for an :class:`MDError`.
"""


class InputError(ValueError):
    """Bad input (files, formulations, species, parameters): the message says what is wrong and how to fix it."""


class MDError(RuntimeError):
    """An MD stage that cannot go on (blow-up, NaN): names the stage, the step and the last checkpoint."""
