"""``/models``: the model registry, and ``/models/{name}/{version}``: one version with its
figures, lineage and model card.

A card is Markdown that quotes text others wrote (feature descriptions, parameters), so it
is rendered the way ``training.card`` renders its HTML file: ``&`` and ``<`` escaped first
so no tag survives, images inlined as data URIs, and links kept only when they go to http(s)
or a fragment.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from markupsafe import Markup

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.web.forms import Fields
from riskloop.entrypoints.web.render import page
from riskloop.errors import NotFound, RiskloopError, StorageError

PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/models"): "models:read",
    ("GET", "/models/{name}/{version}"): "models:read",
}

_IMAGE = re.compile(r"!\[[^\]]*\]\(([A-Za-z0-9_.-]+\.png)\)")
_HREF = re.compile(r'href="(?!https?://|#)[^"]*"')


def card_html(markdown_text: str, images: dict[str, bytes]) -> Markup:
    """A model card's Markdown as HTML safe to put in a page.

    >>> str(card_html("# Card\\n<script>x</script> [a](javascript:x)", {}))
    '<h1>Card</h1>\\n<p>&lt;script&gt;x&lt;/script&gt; <a>a</a></p>'
    """
    text = markdown_text.replace("&", "&amp;").replace("<", "&lt;")
    try:
        import markdown  # the ``ml`` extra, which made the card in the first place
    except ImportError:  # pragma: no cover - a server without it shows the text as it is
        return Markup(f"<pre>{text}</pre>")  # noqa: S704 - escaped above
    for name, data in images.items():
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        text = text.replace(f"]({name})", f"]({uri})")
    body = markdown.markdown(text, extensions=["tables"], output_format="html")
    return Markup(_HREF.sub("", body).replace("<a >", "<a>"))  # noqa: S704 - escaped above


def add_routes(api: APIRouter, rl: Riskloop) -> None:
    models = rl.models

    @api.get("/models", include_in_schema=False)
    async def registry(request: Request) -> Response:
        def load() -> dict[str, Any]:
            return {"models": models.overview(), "serving": models.slots.serving()}

        return page(request, "models.html", await run_in_threadpool(load))

    @api.get("/models/{name}/{version}", include_in_schema=False)
    async def version_page(request: Request, name: str, version: str) -> Response:
        fields = Fields({"version": version})
        number = fields.integer("version", 1, 1_000_000, default=0)
        fields.done()

        def load() -> dict[str, Any]:
            found = models.registry.version(name[:64], number)
            card: Markup | None = None
            try:
                text = models.card(found.name, found.version, "md").decode()
            except (NotFound, StorageError, OSError):
                text = None  # registered without a card (an imported model)
            if text is not None:
                images: dict[str, bytes] = {}
                for file in set(_IMAGE.findall(text)):
                    try:
                        images[file] = models.registry.file(found, file)
                    except (RiskloopError, OSError):
                        continue  # the card still reads without the plot
                card = card_html(text, images)
            aliases = sorted(
                alias
                for (n, alias), v in models.registry.aliases().items()
                if n == found.name and v == found.version
            )
            history = [c.as_dict() for c in models.registry.history(found.name)][-20:]
            return {"v": found, "card": card, "aliases": aliases, "history": history}

        return page(request, "model.html", await run_in_threadpool(load))
