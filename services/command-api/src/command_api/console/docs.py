"""GET /docs: Swagger UI from this origin's own assets (swagger-ui-dist, built into static/vendor), no CDN."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from command_api.console.web import STATIC_URL, templates

router = APIRouter(include_in_schema=False)
DOCS_HEADERS = {
    # Swagger UI sets styles from its script; scripts are ours only, the schema is fetched from this origin.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
        " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    context = {"static": STATIC_URL, "openapi_url": request.app.openapi_url, "title": request.app.title}
    return templates.TemplateResponse(request, "docs.html", context, headers=DOCS_HEADERS)
