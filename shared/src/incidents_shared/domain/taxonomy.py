"""The category taxonomy; deployments may extend it (INCIDENTS_TAXONOMY_FILE)."""

from collections.abc import Mapping

Taxonomy = Mapping[str, frozenset[str]]  # category -> allowed subcategories (empty: any)

DEFAULT_TAXONOMY: Taxonomy = {
    "hardware": frozenset({"server", "storage", "network-device", "workstation", "peripheral"}),
    "software": frozenset({"application", "operating-system", "deployment", "configuration", "license"}),
    "network": frozenset({"connectivity", "dns", "latency", "load-balancer", "vpn", "firewall"}),
    "security": frozenset({"malware", "phishing", "intrusion", "data-leak", "vulnerability", "ddos"}),
    "database": frozenset({"availability", "performance", "replication", "corruption", "capacity"}),
    "access": frozenset({"authentication", "authorization", "account-lockout", "sso"}),
    "other": frozenset(),
}


def taxonomy_problem(taxonomy: Taxonomy, category: str | None, subcategory: str | None) -> str | None:
    """Why a category/subcategory pair is not in the taxonomy, or None."""
    if category is None:
        return "a subcategory needs a category" if subcategory else None
    if category not in taxonomy:
        return f"unknown category {category!r}; known: {', '.join(sorted(taxonomy))}"
    allowed = taxonomy[category]
    if subcategory is not None and allowed and subcategory not in allowed:
        return f"unknown subcategory {subcategory!r} of {category!r}; known: {', '.join(sorted(allowed))}"
    return None
