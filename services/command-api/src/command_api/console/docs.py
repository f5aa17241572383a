"""GET /docs (Swagger UI) and GET /redoc (ReDoc): from this origin's own assets (swagger-ui-dist and redoc's
standalone bundle, built into static/vendor by scripts/console-assets.sh), no CDN (docs/decisions/0088)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from command_api.console.web import STATIC_URL, templates

router = APIRouter(include_in_schema=False)
DOCS_HEADERS = {
    # Swagger UI and ReDoc (styled-components) set styles from their scripts; scripts are ours only, the schema is
    # fetched from this origin. ReDoc's search index runs in a worker its bundle makes from a blob: URL.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
        " connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return _page(request, "docs.html")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return _page(request, "redoc.html")


def _page(request: Request, template: str) -> HTMLResponse:
    context = {"static": STATIC_URL, "openapi_url": request.app.openapi_url, "title": request.app.title}
    return templates.TemplateResponse(request, template, context, headers=DOCS_HEADERS)
