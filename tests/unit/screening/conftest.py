"""The real lists (``tests/support/sanctions.py`` says where), parsed and indexed once per
test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskloop.screening import Index, ListEntry, load_ofac, load_un
from tests.support.sanctions import sanctions_dir


def _data() -> Path:
    data = sanctions_dir()
    if not (data / "ofac_sdn.csv").is_file():
        raise RuntimeError(f"the sanctions lists are missing from {data}")
    return data


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
