"""More ``threadline`` subcommands, one module per topic (case, export, neo4j …).

Each module defines the click command of its own name (``export.py`` → ``threadline
export``) and lists it in ``COMMANDS``; ``threadline.cli`` loads the module when the
command is asked for. Keep each command a docstring with an example and a few
library calls.
"""
