"""GraphQL at ``/graphql``: a read-only graph over decisions, their events and entities,
cases, labels, rules, lists and models, with field-level authorisation (see
docs/graphql.md)."""

from riskloop.entrypoints.http.graphql.limits import MAX_DEPTH, MAX_NODES
from riskloop.entrypoints.http.graphql.pagination import MAX_PAGE
from riskloop.entrypoints.http.graphql.schema import PERMISSIONS, router, schema

__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_PAGE", "PERMISSIONS", "router", "schema"]
