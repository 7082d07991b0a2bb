"""The base of every error caused by what the user gave (files, formulations, species, parameters):
commands catch it, print its message (which names the problem and the fix) and exit with status 2."""


class InputError(ValueError):
    """Bad input: the message says what is wrong and how to fix it."""
