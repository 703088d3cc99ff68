"""The service's pages: plain files shipped in the package (``page/``), served by emobench itself, so that they work
offline and load nothing from elsewhere; a Content-Security-Policy holds them to this origin, and the scripts write
every text and label name as text, never as markup."""
from __future__ import annotations

from importlib import resources

# Everything from this origin, nothing inline, nothing framed; the pages fetch only the service's own endpoints.
HEADERS = {"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                                      "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def asset(name: str) -> str:
    """One of the package's page files, read once when the app is made (a broken install fails at start)."""
    return (resources.files("emobench.serving") / "page" / name).read_text(encoding="utf-8")


def add_page(app, page: str = "try.html", scripts: tuple[str, ...] = ("common.js", "try.js"),
             styles: tuple[str, ...] = ("page.css",)) -> None:
    """``GET /`` serves ``page``; ``GET /page/NAME`` its scripts and styles (only these names: no folder is served)."""
    from fastapi.responses import Response

    files = {name: asset(name) for name in (*scripts, *styles)}
    html = asset(page)

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return Response(html, media_type=TYPES[".html"], headers=HEADERS)

    def answer(text: str, kind: str):
        async def serve_file() -> Response:  # no parameters: FastAPI would read them from the query
            return Response(text, media_type=kind, headers=HEADERS)

        return serve_file

    for name, text in files.items():
        app.add_api_route(f"/page/{name}", answer(text, TYPES["." + name.rpartition(".")[2]]), methods=["GET"],
                          include_in_schema=False)
