"""Reading and writing the directory's YAML file.

The loader resolves plain scalars as YAML 1.2's core schema does, not PyYAML's YAML 1.1: `18:00` stays the text
"18:00" (YAML 1.1 reads it as 1080, base 60), a date-time stays text for the models to read in their own zone,
and `no`, `on`, `off` stay names. A key given twice in one mapping is an error, not silently the last one.
"""

import re
from pathlib import Path
from typing import Any

import yaml

from incidentctl.directory_doc import Directory, InvalidDirectory, Problem, parse_directory, to_document


class _CoreLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and no duplicate keys."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012 (PyYAML's own)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in this mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


_CORE_SCALARS = {
    "tag:yaml.org,2002:null": (r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    "tag:yaml.org,2002:bool": (r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    "tag:yaml.org,2002:int": (r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    "tag:yaml.org,2002:float": (
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
}


class _Dumper(yaml.SafeDumper):
    """Quotes a string that either rule set (YAML 1.1's or the core schema's) would read as something else;
    indents lists under their key, as people write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


for _tag, (_pattern, _first) in _CORE_SCALARS.items():
    _CoreLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)
    _Dumper.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _mark(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "(top level)"


def parse_yaml(text: str) -> Directory:
    """The directory a YAML text describes; InvalidDirectory naming the line or the field at fault."""
    try:
        data = yaml.load(text, Loader=_CoreLoader)  # noqa: S506 (a SafeLoader with other scalar rules)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidDirectory([Problem(_mark(exc), f"not valid YAML: {problem}")]) from None
    return parse_directory(data)


def load_file(path: Path) -> tuple[Directory, bytes]:
    """The directory in `path` and the file's bytes (they seed the idempotency keys)."""
    content = path.read_bytes()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDirectory([Problem("(top level)", f"not UTF-8 text: {exc.reason}")]) from None
    return parse_yaml(text), content


def dump_yaml(directory: Directory) -> str:
    """The YAML file of a directory, in the format `parse_yaml` reads."""
    text: str = yaml.dump(
        to_document(directory),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
    )
    return text
