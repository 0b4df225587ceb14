"""How much one query may ask for, checked before anything runs.

A page holds at most ``MAX_PAGE`` nodes, but pages nest: 200 decisions, each with its
customer's 200 decisions, are 40,200 nodes and 200 entity scans from one request. So
besides the depth, alias and token limits, the nodes a query can return (the product of
``first`` down each path of connections, summed) must stay within ``MAX_NODES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
)
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from riskloop.entrypoints.http.graphql.errors import SafeErrors
from riskloop.entrypoints.http.graphql.pagination import MAX_PAGE

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_NODES = 10_000


def _clamp(first: Any) -> int:
    """A page's size as counted: a bad one (refused when it runs) must not make room for
    another page by counting negative."""
    return min(max(first, 0), MAX_PAGE) if type(first) is int else MAX_PAGE


class _Count:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables

    def first(self, field: FieldNode, default: Any) -> int:
        for arg in field.arguments or ():
            if arg.name.value != "first":
                continue
            if isinstance(arg.value, IntValueNode):
                return _clamp(int(arg.value.value))
            if isinstance(arg.value, VariableNode):
                value = self.variables.get(arg.value.name.value)
                return _clamp(value)
            return MAX_PAGE  # not an Int: execution refuses it anyway
        return _clamp(default)

    def nodes(self, selections: SelectionSetNode | None, parent: Any, seen: frozenset[str]) -> int:
        if selections is None or not isinstance(parent, GraphQLObjectType):
            return 0
        total = 0
        for s in selections.selections:
            if isinstance(s, FieldNode) and s.name.value in parent.fields:
                definition = parent.fields[s.name.value]
                below = self.nodes(s.selection_set, get_named_type(definition.type), seen)
                paged = definition.args.get("first")
                if paged is not None:  # a connection: each of its nodes has what is below
                    below = self.first(s, paged.default_value) * (1 + below)
                total += below
            elif isinstance(s, InlineFragmentNode):
                cond = s.type_condition
                inner = self.schema.get_type(cond.name.value) if cond is not None else parent
                total += self.nodes(s.selection_set, inner, seen)
            elif isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                fragment = self.fragments.get(s.name.value)
                if fragment is not None:
                    inner = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.nodes(fragment.selection_set, inner, seen | {s.name.value})
        return total


class NodeBudget(SchemaExtension):
    """Refuses, before execution, a query whose pages could hold more than ``MAX_NODES``."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        operation = get_operation_ast(document, ctx.operation_name) if document else None
        if document is not None and operation is not None:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            schema = (
                ctx.schema._schema
            )  # graphql-core's schema, as strawberry's own extensions read it
            count = _Count(schema, fragments, ctx.variables or {})
            asked = count.nodes(operation.selection_set, schema.query_type, frozenset())
            if asked > MAX_NODES:
                # A result set here is what execution returns: nothing runs.
                ctx.result = GraphQLExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"first: these pages could hold {asked} nodes, more than "
                            f"{MAX_NODES}; ask for smaller pages",
                            extensions={"code": "BAD_USER_INPUT", "argument": "first"},
                        )
                    ],
                )
        yield


def limits() -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """The schema's extensions, one instance per operation."""
    return [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        NodeBudget,
        SafeErrors,
    ]
