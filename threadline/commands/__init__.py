"""More ``threadline`` subcommands, one module per topic (case, export, neo4j …).

Each module defines click commands and lists them in ``COMMANDS``; ``threadline.cli``
adds them to the group. Keep each command a docstring with an example and a few
library calls.
"""
