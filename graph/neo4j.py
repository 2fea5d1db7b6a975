"""Talk to a Neo4j server: the only module that imports the ``neo4j`` driver.

Everything that leaves this module is plain Python (dicts, lists, ints); every
failure the driver raises on purpose becomes a :class:`~graph.errors.BackendError`
whose message is one sentence naming the URI, what failed and how to fix it. The
password lives only in :class:`Neo4jSettings` (hidden from its repr) and in the
driver; it is scrubbed from every message this module produces.

Every statement is parameterized: user data (names, subjects, bodies) only ever
travels as parameters, never as Cypher text.

>>> settings = Neo4jSettings.from_env()  # doctest: +SKIP
>>> with connect(settings) as neo:  # doctest: +SKIP
...     neo.read("MATCH (p:Person) RETURN count(p) AS people")
[{'people': 12}]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, LiteralString, cast

import neo4j
from neo4j.exceptions import AuthError, ConfigurationError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from .errors import BackendError

__all__ = ["Neo4jSettings", "Neo4jConnection", "connect", "view_graph", "DEFAULT_URI", "PASSWORD_ENV", "BOLT_SCHEMES"]

DEFAULT_URI = "bolt://127.0.0.1:7687"
PASSWORD_ENV = "NEO4J_PASSWORD"
#: URI schemes of the Bolt protocol (the driver's preview HTTP support is not used).
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
START_HINT = 'start it (for the bundled test server: eval "$(tools/neo4j/neo4j.sh start)") or point NEO4J_URI / --uri at a running Neo4j 5'


@dataclass(frozen=True)
class Neo4jSettings:
    """Where the server is and how to log in. The password never shows in a repr.

    ``password_env`` is the name of the environment variable the password came
    from, so that error messages can say which variable to fix.
    """

    uri: str = DEFAULT_URI
    user: str = "neo4j"
    password: str = field(default="", repr=False)
    database: str | None = None
    password_env: str = PASSWORD_ENV

    @classmethod
    def from_env(
        cls,
        *,
        uri: str | None = None,
        user: str | None = None,
        password_env: str = PASSWORD_ENV,
        database: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Neo4jSettings:
        """Settings from explicit values, else ``NEO4J_URI`` / ``NEO4J_USER`` / ``$password_env``."""
        env = os.environ if environ is None else environ
        return cls(
            uri=uri or env.get("NEO4J_URI") or DEFAULT_URI,
            user=user or env.get("NEO4J_USER") or "neo4j",
            password=env.get(password_env, ""),
            database=database or env.get("NEO4J_DATABASE") or None,
            password_env=password_env,
        )


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


class Neo4jConnection:
    """An open, verified connection to one Neo4j database. Use :func:`connect`."""

    def __init__(self, settings: Neo4jSettings) -> None:
        self.settings = settings
        if not settings.password:
            raise BackendError(
                f"No password for Neo4j at {settings.uri}: set the environment variable {settings.password_env} (it is never taken on the command line)."
            )
        scheme = settings.uri.partition("://")[0].lower() if "://" in settings.uri else ""
        if scheme not in BOLT_SCHEMES:
            raise self.error(ValueError(f"the scheme must be one of {', '.join(BOLT_SCHEMES)}"), "reading the URI")
        try:
            self._driver = neo4j.GraphDatabase.driver(
                settings.uri,
                auth=(settings.user, settings.password),
                connection_timeout=10.0,
                max_transaction_retry_time=15.0,
                notifications_min_severity="OFF",
            )
        except (ConfigurationError, ValueError) as exc:
            raise self.error(exc, "reading the URI") from None
        try:
            self._driver.verify_connectivity()
        except (Neo4jError, DriverError, OSError) as exc:
            self._driver.close()
            raise self.error(exc, "connecting") from None

    # -- errors ----------------------------------------------------------------

    def error(self, exc: BaseException, doing: str) -> BackendError:
        """Turn a driver exception into one sentence with the URI and a fix (password scrubbed)."""
        s = self.settings
        if isinstance(exc, AuthError):
            text = (
                f"Neo4j at {s.uri} refused the login of user {s.user!r} ({_reason(exc)}); "
                f"put the right password in the environment variable {s.password_env} (and the user in NEO4J_USER) and try again."
            )
        elif isinstance(exc, ServiceUnavailable | SessionExpired | OSError) and doing == "connecting":
            text = f"Neo4j at {s.uri} is not reachable ({_reason(exc)}); {START_HINT}."
        elif isinstance(exc, ServiceUnavailable | SessionExpired | OSError):
            text = (
                f"Neo4j at {s.uri} went away while {doing} ({_reason(exc)}); everything written so far is kept: "
                "once the server is back, run the same command again and it completes the push."
            )
        elif isinstance(exc, ConfigurationError | ValueError):
            text = f"{s.uri!r} is not a usable Neo4j URI ({_reason(exc)}); use bolt://HOST:7687 or neo4j://HOST:7687 in NEO4J_URI or --uri."
        else:
            text = f"Neo4j at {s.uri} failed while {doing}: {_reason(exc)}."
        return BackendError(_scrub(text, s.password))

    # -- queries -----------------------------------------------------------------

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run a read query and return its records as dicts."""
        try:
            records, _, _ = self._driver.execute_query(cast(LiteralString, query), params, database_=self.settings.database, routing_=neo4j.RoutingControl.READ)
        except (Neo4jError, DriverError, OSError) as exc:
            raise self.error(exc, "reading") from None
        return [record.data() for record in records]

    def values(self, query: str, **params: Any) -> Iterator[Any]:
        """Run a read query returning one column and yield its values as they arrive.

        For results too big to hold at once (every copy's key, on a big store): the driver
        fetches them a batch at a time, and nothing keeps the records read.
        """
        try:
            with self._driver.session(database=self.settings.database, default_access_mode=neo4j.READ_ACCESS) as session:
                for record in session.run(cast(LiteralString, query), params):
                    yield record[0]
        except (Neo4jError, DriverError, OSError) as exc:
            raise self.error(exc, "reading") from None

    def write(self, query: str, *, autocommit: bool = False, **params: Any) -> dict[str, int]:
        """Run one write statement in its own transaction; return its change counters.

        ``autocommit=True`` runs it as an implicit transaction, which
        ``CALL { … } IN TRANSACTIONS`` needs.
        """
        try:
            if autocommit:
                with self._driver.session(database=self.settings.database) as session:
                    counters = session.run(cast(LiteralString, query), params).consume().counters
            else:
                _, summary, _ = self._driver.execute_query(cast(LiteralString, query), params, database_=self.settings.database)
                counters = summary.counters
        except (Neo4jError, DriverError, OSError) as exc:
            raise self.error(exc, "writing") from None
        return _counters(counters)

    def write_rows(
        self,
        query: str,
        rows: Iterable[dict[str, Any]],
        *,
        batch_size: int = 1000,
        naive: bool = False,
        on_batch: Callable[[int, dict[str, int]], None] | None = None,
        doing: str = "writing",
    ) -> dict[str, int]:
        """Run ``query`` (which reads ``UNWIND $rows AS row``) over ``rows`` in batches.

        Each batch is one managed write transaction, retried by the driver on
        transient errors. With ``naive=True`` every row is its own auto-commit
        statement: the slow way, kept for the benchmark. ``on_batch`` gets the
        number of rows written and the batch's counters. Returns summed counters.
        """
        total: dict[str, int] = {}
        text = cast(LiteralString, query)

        def work(tx: neo4j.ManagedTransaction, batch: list[dict[str, Any]]) -> dict[str, int]:
            return _counters(tx.run(text, rows=batch).consume().counters)

        try:
            with self._driver.session(database=self.settings.database) as session:
                for batch in _chunks(rows, 1 if naive else batch_size):
                    if naive:
                        counters = _counters(session.run(text, rows=batch).consume().counters)
                    else:
                        counters = session.execute_write(work, batch)
                    for name, value in counters.items():
                        total[name] = total.get(name, 0) + value
                    if on_batch:
                        on_batch(len(batch), counters)
        except (Neo4jError, DriverError, OSError) as exc:
            raise self.error(exc, doing) from None
        return total

    def close(self) -> None:
        """Close the driver and its connections."""
        self._driver.close()

    def __enter__(self) -> Neo4jConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _counters(counters: Any) -> dict[str, int]:
    names = ("nodes_created", "nodes_deleted", "relationships_created", "relationships_deleted", "properties_set")
    return {name: getattr(counters, name) for name in names}


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def connect(settings: Neo4jSettings | None = None) -> Neo4jConnection:
    """Open and verify a connection (settings from the environment when None).

    Raises :class:`~graph.errors.BackendError` with a one-sentence explanation when
    the URI is malformed, the server is down, or the login is refused.
    """
    return Neo4jConnection(settings or Neo4jSettings.from_env())


def view_graph(view: Any) -> Any:
    """The graph for a :class:`graph.View` from the Neo4j server named in the environment.

    The one-call seam for ``threadline app --neo4j``; see :func:`graph.backends.get_backend`
    for the full interface (ego networks, paths, cascades, curves).
    """
    from .neo4j_backend import Neo4jBackend

    backend = Neo4jBackend.from_env()
    try:
        return backend.graph(view)
    finally:
        backend.close()
