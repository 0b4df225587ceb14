"""A worker process for the Redis parity test: feeds its share of a prepared stream to a
feature engine over Redis and writes what it got, with the stream order Redis assigned.

Usage: python -m tests.support.redis_worker STREAM.jsonl OUT.jsonl PREFIX WORKERS INDEX
"""

from __future__ import annotations

import sys
from datetime import datetime

import orjson

from riskloop.adapters.redis_features import RedisState
from riskloop.domain.labels import Label
from riskloop.features import EventInput, FeatureEngine, load_feature_set


def main(stream: str, out: str, prefix: str, workers: int, index: int) -> None:
    engine = FeatureEngine(
        load_feature_set(), RedisState.connect("redis://127.0.0.1:6379/0", prefix=prefix)
    )
    with open(stream, "rb") as src, open(out, "wb") as dst:
        for i, line in enumerate(src):
            if i % workers != index:
                continue
            item = orjson.loads(line)
            if item["kind"] == "label":
                order = engine.apply_label(
                    Label(
                        item["event_id"], item["fraud"], datetime.fromisoformat(item["at"]), "test"
                    )
                )
                dst.write(orjson.dumps({"order": order, **item}) + b"\n")
            else:
                r = engine.process(
                    EventInput(item["event_id"], item["event_type"], item["ts"], item["data"])
                )
                dst.write(
                    orjson.dumps(
                        {
                            "order": r.order,
                            "kind": "event",
                            "event_id": r.event_id,
                            "duplicate": r.duplicate,
                            "values": r.values,
                        }
                    )
                    + b"\n"
                )
    engine.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
