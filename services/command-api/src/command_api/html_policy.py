"""The Content-Security-Policy of the API's small script-free pages (page links, the status page)."""

import base64
import hashlib


def inline_style_csp(style: str) -> str:
    """Allow nothing but this one inline stylesheet (by its hash) and forms posting to this origin."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
