"""Where the real sanctions lists are: ``RISKLOOP_SANCTIONS_DATA``, else the team's
``../shared/data/sanctions`` beside the checkout, else the gzipped copies in
``examples/sanctions`` decompressed once into the temp directory (a clean CI checkout has
only those)."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "sanctions"
BUNDLED = ROOT / "examples" / "sanctions"
FILES = (
    "ofac_sdn.csv",
    "ofac_alt.csv",
    "ofac_add.csv",
    "ofac_sdn_comments.csv",
    "un_consolidated.xml",
)


def sanctions_dir() -> Path:
    given = os.environ.get("RISKLOOP_SANCTIONS_DATA")
    if given:
        return Path(given)
    if all((SHARED / f).is_file() for f in FILES):
        return SHARED
    packed = [BUNDLED / f"{f}.gz" for f in FILES]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in packed)).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"riskloop-sanctions-{digest}"
    if not all((target / f).is_file() for f in FILES):
        staging = Path(tempfile.mkdtemp(prefix="riskloop-sanctions-"))
        for f, p in zip(FILES, packed, strict=True):
            with gzip.open(p, "rb") as src, (staging / f).open("wb") as out:
                shutil.copyfileobj(src, out)
        try:
            staging.rename(target)  # atomic: concurrent test processes race safely
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process won
    return target
