"""The version, written once: pyproject.toml reads it from here (``dynamic = ["version"]``).

A literal rather than ``importlib.metadata``: reading the installed metadata costs tens of
milliseconds at every start (it imports the email package), which ``newsdedup extract``
in a shell loop pays per page.
"""

__version__ = "0.2.0"
