"""The tokens file and INCIDENTS_TOKEN_HASHES: named principals, refused entries (docs/decisions/0089)."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from command_api.auth import Principal, TokenRegistry
from command_api.principals import (
    NamedToken,
    TokenConfigError,
    check_unique,
    load_principals,
    parse_token_hashes,
    parse_tokens_file,
    token_hash,
)
from command_api.settings import ApiSettings
from devstack import tokens as devstack_tokens
from incidents_shared.domain.enums import Role
from incidents_shared.settings import describe_errors

ALERTS, GRAFANA = "alertmanager-secret-token", "grafana-secret-token"


def named_file(**entries: tuple[str, str]) -> str:
    return json.dumps({name: {"role": role, "token": token} for name, (role, token) in entries.items()})


def test_each_named_entry_is_its_own_principal() -> None:
    text = named_file(alertmanager=("integration", ALERTS), grafana=("integration", GRAFANA))
    registry = TokenRegistry({e.digest: Principal(e.name, e.role) for e in parse_tokens_file(text)})
    alerts, grafana = registry.authenticate(ALERTS), registry.authenticate(GRAFANA)
    assert alerts is not None and grafana is not None
    assert (alerts.id, grafana.id) == ("alertmanager", "grafana")
    assert alerts.actor().id != grafana.actor().id and alerts.role is grafana.role is Role.INTEGRATION


def test_the_old_role_shape_is_read_as_dev_role_principals() -> None:
    entries = parse_tokens_file(json.dumps({"responder": "r-token", "admin": "a-token"}))
    assert [(e.name, e.role) for e in entries] == [("dev-responder", Role.RESPONDER), ("dev-admin", Role.ADMIN)]
    assert entries[0].digest == token_hash("r-token")


def test_hash_entries_are_named_and_lower_cased() -> None:
    digest = token_hash(ALERTS).upper()
    (entry,) = parse_token_hashes(f" alertmanager:integration:{digest} ,")
    assert (entry.name, entry.role, entry.digest) == ("alertmanager", Role.INTEGRATION, token_hash(ALERTS))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("svc:integration:abc123", "entry svc: the hash must be 64 hex digits"),
        (f"svc:integration:{'g' * 64}", "entry svc: the hash must be 64 hex digits"),
        (f"svc:wizard:{'a' * 64}", "entry svc: unknown role 'wizard'"),
        ("no-colons-here", "entry #1: must be <name>:<role>:<sha256 hex>"),
        (f"a:admin:{'a' * 64},b:admin:{'b' * 64}:x", "entry #2: must be"),
        (f"-bad:admin:{'a' * 64}", "entry #1: the name must be"),
        (f"svc:admin:{'a' * 64},svc:auditor:{'b' * 64}", "principal 'svc' is also defined by"),
        (f"one:admin:{'a' * 64},two:auditor:{'A' * 64}", "principal 'two' has the same token as 'one'"),
    ],
)
def test_a_wrong_hash_entry_is_refused_naming_it(value: str, message: str) -> None:
    with pytest.raises(TokenConfigError, match=message) as caught:
        load_principals(None, value)
    assert "a" * 64 not in str(caught.value) and "abc123" not in str(caught.value)


@pytest.mark.parametrize(
    ("loaded", "message"),
    [
        ({"wizard": "t"}, "entry 'wizard': unknown role 'wizard'"),
        ({"svc": {"role": "wizard", "token": "t"}}, "entry 'svc': unknown role 'wizard'"),
        ({"svc": {"role": "admin"}}, "entry 'svc': must be"),
        ({"svc": {"role": "admin", "token": 3}}, "entry 'svc': must be"),
        ({"svc": {"role": "admin", "token": "  "}}, "entry 'svc': the token is empty"),
        ({"bad name": {"role": "admin", "token": "t"}}, "entry 'bad name': the name must be"),
        ({"a": {"role": "admin", "token": "same"}, "b": {"role": "auditor", "token": "same"}}, "'b' has the same"),
        ({"dev-admin": {"role": "admin", "token": "x1"}, "admin": "x2"}, "'dev-admin' is also defined"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_a_wrong_tokens_file_entry_is_refused_naming_it(loaded: object, message: str) -> None:
    with pytest.raises(TokenConfigError, match=message) as caught:
        parse_and_check(json.dumps(loaded))
    assert "same" not in str(caught.value).replace("the same token", "")


def test_a_token_file_and_a_hash_entry_may_not_share_a_name_or_token(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(named_file(alertmanager=("integration", ALERTS)))
    with pytest.raises(TokenConfigError, match="principal 'alertmanager' is also defined by"):
        load_principals(path, f"alertmanager:integration:{token_hash(GRAFANA)}")
    with pytest.raises(TokenConfigError, match="principal 'other' has the same token as 'alertmanager'"):
        load_principals(path, f"other:integration:{token_hash(ALERTS)}")


def test_not_json_is_refused_without_echoing_the_file() -> None:
    with pytest.raises(TokenConfigError, match="not JSON") as caught:
        parse_tokens_file('{"svc": {"role": "admin", "token": "sekrit-token"', "tokens.json")
    assert "sekrit" not in str(caught.value)


def test_the_api_settings_refuse_a_wrong_entry_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENTS_TOKENS_FILE", raising=False)
    monkeypatch.setenv("INCIDENTS_TOKEN_HASHES", f"ok:admin:{'a' * 64},pager:integration:deadbeef")
    with pytest.raises(ValidationError) as caught:
        ApiSettings()
    message = describe_errors(ApiSettings, caught.value)
    assert "INCIDENTS_TOKEN_HASHES entry pager: the hash must be 64 hex digits" in message
    assert "deadbeef" not in message and "a" * 64 not in message


def test_the_devstack_writes_named_principals_and_rewrites_an_old_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    assert devstack_tokens.ensure_tokens(path)
    written = json.loads(path.read_text())
    assert {name: e["role"] for name, e in written.items()} == {f"dev-{r}": r for r in devstack_tokens.TOKEN_ROLES}
    assert [e.name for e in parse_and_check(path.read_text())] == list(written)
    assert path.stat().st_mode & 0o777 == 0o600 and not devstack_tokens.ensure_tokens(path)
    path.write_text(json.dumps({"responder": "kept-token"}))
    assert devstack_tokens.ensure_tokens(path)
    assert json.loads(path.read_text()) == {"dev-responder": {"role": "responder", "token": "kept-token"}}


def test_the_role_view_prefers_the_dev_role_principal() -> None:
    loaded = {
        "grafana": {"role": "integration", "token": "g"},
        "dev-integration": {"role": "integration", "token": "i"},
        "alertmanager": {"role": "integration", "token": "a"},
        "ops": {"role": "auditor", "token": "o"},
    }
    assert devstack_tokens.role_view(loaded) == {"integration": "i", "auditor": "o"}
    assert devstack_tokens.role_view({"admin": "old"}) == {"admin": "old"}


def parse_and_check(text: str) -> list[NamedToken]:
    entries = parse_tokens_file(text, "tokens.json")
    check_unique(entries)
    return entries
