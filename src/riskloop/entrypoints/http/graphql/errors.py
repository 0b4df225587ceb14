"""What a GraphQL caller is told when something goes wrong.

Two kinds of error are the caller's to read: a bad argument (``ArgumentError``, naming the
argument) and a field the principal may not read (``PermissionDenied``, naming the
permission), besides the parser's and validator's own (syntax, unknown field, depth). Any
other failure inside a resolver is logged here with its traceback and reaches the caller as
``internal error``, without its message: a database or vault error says nothing useful to a
client and may say too much. Every message shown is masked like the logs (card numbers,
e-mail addresses), since the validator quotes what the caller sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from riskloop.vault import mask_text

log = logging.getLogger(__name__)


class ArgumentError(GraphQLError):
    """A field's argument is out of range or malformed; the message starts with its name."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(
            f"{argument}: {reason}",
            extensions={"code": "BAD_USER_INPUT", "argument": argument},
        )
        self.argument = argument


class PermissionDenied(GraphQLError):
    """Raised by the permission classes; they add the permission to its extensions."""


def shown(error: GraphQLError) -> bool:
    """Whether the caller may read the error as it is: GraphQL's own (the parser's, the
    validator's, ours), and a value the validator could not parse (it points into the
    document). Any other exception is a failure: in a resolver (it has a path) or of the
    operation (it points nowhere)."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True
    return error.path is None and bool(error.nodes)


def log_unexpected(errors: list[GraphQLError]) -> None:
    for error in errors:
        if not shown(error):
            path = ".".join(str(p) for p in error.path or ()) or "(operation)"
            log.error("graphql: %s failed", path, exc_info=error.original_error)


def _safe(error: GraphQLError) -> GraphQLError:
    if shown(error):
        message, extensions = mask_text(error.message), error.extensions
    else:
        message, extensions = "internal error", {"code": "INTERNAL_SERVER_ERROR"}
    return GraphQLError(
        message, error.nodes, error.source, error.positions, error.path, None, extensions
    )


class SafeErrors(SchemaExtension):
    """Replaces the errors of a result by what the caller may read (after they are logged:
    strawberry logs through ``Schema.process_errors`` before extensions see the result)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [_safe(e) for e in errors]
