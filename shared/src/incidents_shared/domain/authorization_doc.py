"""The authorization table (domain/authorization) as the "Authorization" section of docs/SECURITY.md. Pure: a
unit test (tests/unit/test_authorization_table.py) checks that the doc is current; regenerate it with
`python -m incidents_shared.domain.authorization_doc` and paste the output over the section."""

from incidents_shared.domain import authorization as z
from incidents_shared.domain.enums import Role

BEGIN = "<!-- authorization table: generated from incidents_shared.domain.authorization; do not edit by hand -->"
END = "<!-- end of the authorization table -->"
TOKEN_ROLES = [role for role in Role if role is not Role.SYSTEM]


def _cell(grant: z.Grant, role: Role) -> str:
    if role not in grant.roles:
        return "no"
    return "own" if role in grant.own_only else "yes"


def _rows(named: dict[str, z.Grant]) -> list[str]:
    head = ["| | " + " | ".join(role.value for role in TOKEN_ROLES) + " | fields |"]
    head.append("|---" * (len(TOKEN_ROLES) + 2) + "|")
    rows = []
    for name, grant in named.items():
        fields = "; ".join(
            f"{f.field} {f.condition}: {' or '.join(sorted(r.value for r in f.roles))} (`{f.rule}`)"
            for f in grant.fields
        )
        cells = " | ".join(_cell(grant, role) for role in TOKEN_ROLES)
        rows.append(f"| {name} | {cells} | {fields} |")
    return head + rows


def authorization_markdown() -> str:
    """The section, from its heading to its end marker."""
    commands = {f"`{command.__name__}`": grant for command, grant in z.COMMANDS.items()}
    lines = [
        "## Authorization",
        "",
        "**Stops**: a principal doing or reading what its role, or the object, does not allow (issue 19, finding 3;",
        "OWASP API1 and API5; docs/decisions/0090). One table decides (`incidents_shared.domain.authorization`):",
        "`decide` checks it before anything else for every command, whichever way it came (the API, Slack, the",
        "console, a page link); the read routes check its reads. A refusal is a 403 problem whose `rule` names",
        "the rule: `role`, `own-objects-only`, or a field's rule below.",
        "",
        BEGIN,
        "",
        "*yes*: on every incident; *own*: only on the principal's own objects (for commands the incidents it",
        "opened, the incident's `reporter`; for verdicts the events it wrote); *no*: refused (403).",
        "",
        "Commands (the routes `POST /v1/incidents` and `POST /v1/incidents/{incident_id}/{action}`, the alert routes",
        "for `ReceiveAlert` and `ReceiveAlertGroup`):",
        "",
        *_rows(commands),
        "",
        "Reads:",
        "",
        *_rows({f"`{route}`": grant for route, grant in z.READS.items()}),
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(authorization_markdown())
