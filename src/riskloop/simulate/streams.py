"""The simulator's random streams: one for each part (the world, each customer's life, the
fraud, the outcomes), derived from the seed and the part's name.

A string seed is hashed with SHA-512 by ``random.Random`` itself, so the streams are the same
in every process and on every platform, and a change to one part leaves the others alone.
These streams are for reproducible simulation, never for anything secret.

>>> stream(7, "world").random() == stream(7, "world").random()
True
>>> stream(7, "world").random() == stream(8, "world").random()
False
"""

from __future__ import annotations

from random import Random


def stream(seed: int, *names: str) -> Random:
    return Random(":".join(("riskloop.simulate", str(seed), *names)))  # noqa: S311
