"""Adverse-action principal reasons: what a declined applicant is told.

Rules of the genre (ECOA / Regulation B style): at most four reasons, specific ("too many
recent delinquencies", not "internal score"), and taken from the factors the model actually
scored for this applicant, in order of how much each pushed the decision towards decline.
Factors that helped the applicant are never reasons; two factors that read the same are one
reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from riskloop.scoring.port import Contribution

MAX_REASONS = 4


def principal_reasons(
    contributions: Sequence[Contribution],
    statements: Mapping[str, str],
    *,
    limit: int = MAX_REASONS,
) -> tuple[str, ...]:
    """Statements for the features that raised the risk most. ``statements`` maps a feature
    to its applicant-facing sentence; a feature without one is named plainly rather than
    left out, so a reason is never hidden because its text is missing."""
    out: list[str] = []
    for c in sorted(contributions, key=lambda c: (-c.value, c.feature)):
        if c.value <= 0 or len(out) >= min(limit, MAX_REASONS):
            break
        text = statements.get(c.feature) or c.feature.replace("_", " ").capitalize()
        if text not in out:
            out.append(text)
    return tuple(out)
