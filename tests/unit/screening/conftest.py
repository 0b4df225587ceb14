"""The real lists in shared/data/sanctions, parsed and indexed once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskloop.screening import Index, ListEntry, load_ofac, load_un

DATA = Path(
    os.environ.get(
        "RISKLOOP_SANCTIONS_DATA",
        Path(__file__).resolve().parents[4] / "shared" / "data" / "sanctions",
    )
)


def _data() -> Path:
    if not (DATA / "ofac_sdn.csv").is_file():
        if os.environ.get("CI"):
            raise RuntimeError(f"the sanctions lists are missing from {DATA}")
        pytest.skip(f"no sanctions lists in {DATA}")
    return DATA


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _data()


@pytest.fixture(scope="session")
def ofac(data_dir: Path) -> list[ListEntry]:
    return load_ofac(
        data_dir / "ofac_sdn.csv",
        alt=data_dir / "ofac_alt.csv",
        add=data_dir / "ofac_add.csv",
        comments=data_dir / "ofac_sdn_comments.csv",
    )


@pytest.fixture(scope="session")
def un(data_dir: Path) -> list[ListEntry]:
    return load_un(data_dir / "un_consolidated.xml")


@pytest.fixture(scope="session")
def lists_index(ofac: list[ListEntry], un: list[ListEntry]) -> Index:
    return Index.build(ofac + un)
