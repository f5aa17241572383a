"""Reading a policy file: YAML with line numbers kept, `${VAR}` expansion, validation, errors that point at lines."""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, SequenceNode

from incidents_shared.domain.escalation.policy import Loc, Policy, reference_problems

# For development from a checkout; deployments set INCIDENTS_POLICY_FILE.
DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[3] / "examples" / "policies" / "default.yaml"
_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the line of each problem."""


def load_policy_file(path: Path, env: Mapping[str, str]) -> Policy:
    """Read, expand and validate one policy file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror}") from exc
    return parse_policy(text, str(path), env)


def parse_policy(text: str, source: str, env: Mapping[str, str]) -> Policy:
    """Validate a policy document; `${NAME}` / `${NAME:-default}` in strings come from `env`."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{source}:{line}: not valid YAML: {exc.problem}") from exc
    if node is None or not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a YAML mapping with id, version and priorities")
    problems: list[str] = []
    data = _expand(data, env, (), node, source, problems)
    if problems:
        raise PolicyError("\n".join(problems))
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        lines = [_where(source, node, tuple(e["loc"])) + f": {e['msg']}" for e in exc.errors()]
        raise PolicyError("\n".join(lines)) from exc
    if refs := [_where(source, node, loc) + f": {msg}" for loc, msg in reference_problems(policy)]:
        raise PolicyError("\n".join(refs))
    return policy


def _expand(value: Any, env: Mapping[str, str], loc: Loc, root: Node, source: str, problems: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, env, (*loc, k), root, source, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, (*loc, i), root, source, problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is None:
            problems.append(_where(source, root, loc) + f": environment variable {name} is not set")
            return ""
        return default

    return _VAR.sub(substitute, value)


def _where(source: str, root: Node, loc: Loc) -> str:
    """`file line N (a.b.c)`: the deepest node of `loc` that exists in the document."""
    node = root
    for index, part in enumerate(loc):
        key_error = index + 1 < len(loc) and loc[index + 1] == "[key]"  # pydantic's loc of a bad mapping key
        child = _child(node, part, key=key_error)
        if child is None:
            break
        node = child
    path = ".".join(str(p) for p in loc) or "<document>"
    return f"{source} line {node.start_mark.line + 1} ({path})"


def _child(node: Node, part: str | int, *, key: bool = False) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if str(key_node.value) == str(part):
                return key_node if key else value  # type: ignore[no-any-return]
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None
