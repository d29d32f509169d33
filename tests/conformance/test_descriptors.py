"""Our proto/ declarations hold against the official pulumirpc descriptors.

pgentra writes its own .proto files (a subset of Pulumi's). Every message, enum and service
they declare is compiled here with grpc_tools.protoc and compared, item by item, with the
descriptors shipped in the pinned `pulumi` wheel: an independent source that no one here wrote.
Declaring fewer fields, messages or methods is allowed; declaring anything differently is not.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from pulumi.runtime.proto import (
    alias_pb2,
    engine_pb2,
    errors_pb2,
    plugin_pb2,
    provider_pb2,
    resource_pb2,
    status_pb2,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO_ROOT / "proto"
OUR_PROTO_FILES = [
    "pulumi/provider.proto",
    "pulumi/engine.proto",
    "pulumi/resource.proto",
    "pulumi/plugin.proto",
    "pulumi/alias.proto",
    "google/rpc/status.proto",
]
OFFICIAL_MODULES = [provider_pb2, plugin_pb2, engine_pb2, resource_pb2, alias_pb2, errors_pb2, status_pb2]

Field = descriptor_pb2.FieldDescriptorProto


# ---------------------------------------------------------------------------------------------
# Loading both sides
# ---------------------------------------------------------------------------------------------


def _well_known_types_include() -> str:
    return str(resources.files("grpc_tools") / "_proto")


@lru_cache(maxsize=None)
def our_descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """Compiles proto/ with grpc_tools.protoc into a FileDescriptorSet (with imports)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pgentra.fds"
        cmd = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_DIR}",
            f"--proto_path={_well_known_types_include()}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            *OUR_PROTO_FILES,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
        if proc.returncode != 0:
            raise RuntimeError(
                f"protoc failed on proto/ (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
            )
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
    return fds


def _index_file(fdp: descriptor_pb2.FileDescriptorProto, messages: dict, enums: dict, services: dict):
    prefix = f".{fdp.package}" if fdp.package else ""

    def walk_message(msg: descriptor_pb2.DescriptorProto, scope: str):
        full = f"{scope}.{msg.name}"
        messages[full] = msg
        for nested in msg.nested_type:
            walk_message(nested, full)
        for enum in msg.enum_type:
            enums[f"{full}.{enum.name}"] = enum

    for msg in fdp.message_type:
        walk_message(msg, prefix)
    for enum in fdp.enum_type:
        enums[f"{prefix}.{enum.name}"] = enum
    for svc in fdp.service:
        services[f"{prefix}.{svc.name}"] = svc


@lru_cache(maxsize=None)
def ours() -> tuple[dict, dict, dict]:
    """Messages, enums and services declared in OUR files (not their imports), by full name."""
    messages: dict = {}
    enums: dict = {}
    services: dict = {}
    fds = our_descriptor_set()
    names = {f.name for f in fds.file}
    missing = set(OUR_PROTO_FILES) - names
    assert not missing, f"protoc output lacks {missing}"
    for fdp in fds.file:
        if fdp.name in OUR_PROTO_FILES:
            _index_file(fdp, messages, enums, services)
    return messages, enums, services


@lru_cache(maxsize=None)
def official() -> tuple[dict, dict, dict]:
    """Messages, enums and services of the pinned wheel's descriptors, by full name."""
    messages: dict = {}
    enums: dict = {}
    services: dict = {}
    for module in OFFICIAL_MODULES:
        fdp = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(fdp)
        _index_file(fdp, messages, enums, services)
    return messages, enums, services


# ---------------------------------------------------------------------------------------------
# The comparison (pure functions, so that a test can prove they detect a mismatch)
# ---------------------------------------------------------------------------------------------


def _oneof_of(msg: descriptor_pb2.DescriptorProto, field: Field) -> str | None:
    if field.HasField("oneof_index"):
        return msg.oneof_decl[field.oneof_index].name
    return None


def _field_facts(msg: descriptor_pb2.DescriptorProto, field: Field) -> dict:
    return {
        "number": field.number,
        "name": field.name,
        "type": Field.Type.Name(field.type),
        "type_name": field.type_name,
        "label": Field.Label.Name(field.label),
        "proto3_optional": field.proto3_optional,
        "oneof": _oneof_of(msg, field),
    }


def compare_message(
    full_name: str, mine: descriptor_pb2.DescriptorProto, theirs: descriptor_pb2.DescriptorProto | None
) -> list[str]:
    """Mismatches between our message and the official one (an empty list = conforms)."""
    if theirs is None:
        return [f"{full_name}: no such message in the official descriptors"]
    problems = []
    if mine.options.map_entry != theirs.options.map_entry:
        problems.append(
            f"{full_name}: map_entry {mine.options.map_entry} != official {theirs.options.map_entry}"
        )
    by_number = {f.number: f for f in theirs.field}
    by_name = {f.name: f for f in theirs.field}
    for field in mine.field:
        other = by_number.get(field.number)
        if other is None:
            hint = ""
            if field.name in by_name:
                hint = f" (official has {field.name!r} as number {by_name[field.name].number})"
            problems.append(f"{full_name}.{field.name}: field number {field.number} not in official{hint}")
            continue
        a = _field_facts(mine, field)
        b = _field_facts(theirs, other)
        for key in a:
            if a[key] != b[key]:
                problems.append(
                    f"{full_name}.{field.name} (#{field.number}): {key} {a[key]!r} != official {b[key]!r}"
                )
    return problems


def compare_enum(
    full_name: str, mine: descriptor_pb2.EnumDescriptorProto, theirs: descriptor_pb2.EnumDescriptorProto | None
) -> list[str]:
    if theirs is None:
        return [f"{full_name}: no such enum in the official descriptors"]
    problems = []
    official_values = {v.name: v.number for v in theirs.value}
    official_names = {v.number: v.name for v in theirs.value}
    for value in mine.value:
        if value.name not in official_values:
            problems.append(
                f"{full_name}.{value.name} = {value.number}: no such value in official"
                f" (official {value.number} is {official_names.get(value.number)!r})"
            )
        elif official_values[value.name] != value.number:
            problems.append(
                f"{full_name}.{value.name}: number {value.number} != official {official_values[value.name]}"
            )
    return problems


def compare_service(
    full_name: str,
    mine: descriptor_pb2.ServiceDescriptorProto,
    theirs: descriptor_pb2.ServiceDescriptorProto | None,
) -> list[str]:
    if theirs is None:
        return [f"{full_name}: no such service in the official descriptors"]
    problems = []
    official_methods = {m.name: m for m in theirs.method}
    for method in mine.method:
        other = official_methods.get(method.name)
        if other is None:
            problems.append(f"{full_name}/{method.name}: no such method in official")
            continue
        for key in ("input_type", "output_type", "client_streaming", "server_streaming"):
            a, b = getattr(method, key), getattr(other, key)
            if a != b:
                problems.append(f"{full_name}/{method.name}: {key} {a!r} != official {b!r}")
    return problems


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def _ids(kind: int) -> list[str]:
    try:
        return sorted(ours()[kind])
    except Exception as exc:  # surface a protoc failure as a failing test, not a bare crash
        return [f"<protoc failed: {str(exc).splitlines()[0]}>"]


def test_our_protos_compile_and_declare_the_provider_service():
    messages, enums, services = ours()
    assert ".pulumirpc.ResourceProvider" in services
    assert ".pulumirpc.Engine" in services
    assert ".google.rpc.Status" in messages
    assert messages and enums


@pytest.mark.parametrize("full_name", _ids(0))
def test_message_matches_official(full_name):
    mine = ours()[0][full_name]
    problems = compare_message(full_name, mine, official()[0].get(full_name))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("full_name", _ids(1))
def test_enum_matches_official(full_name):
    mine = ours()[1][full_name]
    problems = compare_enum(full_name, mine, official()[1].get(full_name))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("full_name", _ids(2))
def test_service_matches_official(full_name):
    mine = ours()[2][full_name]
    problems = compare_service(full_name, mine, official()[2].get(full_name))
    assert not problems, "\n".join(problems)


# --- the checker can fail -------------------------------------------------------------------


def _official_message(name: str) -> descriptor_pb2.DescriptorProto:
    return copy.deepcopy(official()[0][name])


def _field(msg: descriptor_pb2.DescriptorProto, name: str) -> Field:
    return next(f for f in msg.field if f.name == name)


def _renumber(msg):
    _field(msg, "preview").number = 99


def _retype(msg):
    _field(msg, "preview").type = Field.TYPE_STRING


def _rename(msg):
    _field(msg, "preview").name = "isPreview"


def _relabel(msg):
    _field(msg, "preview").label = Field.LABEL_REPEATED


def _retarget(msg):
    _field(msg, "properties").type_name = ".google.protobuf.Value"


def _optionalize(msg):
    _field(msg, "preview").proto3_optional = True


def _invent(msg):
    msg.field.add(name="invented", number=4242, type=Field.TYPE_BOOL, label=Field.LABEL_OPTIONAL)


@pytest.mark.parametrize(
    "alter, expected",
    [
        (_renumber, "field number 99 not in official"),
        (_retype, "type 'TYPE_STRING' != official 'TYPE_BOOL'"),
        (_rename, "name 'isPreview' != official 'preview'"),
        (_relabel, "label 'LABEL_REPEATED' != official 'LABEL_OPTIONAL'"),
        (_retarget, "type_name '.google.protobuf.Value' != official '.google.protobuf.Struct'"),
        (_optionalize, "proto3_optional True != official False"),
        (_invent, "field number 4242 not in official"),
    ],
    ids=lambda v: getattr(v, "__name__", None) and v.__name__.strip("_"),
)
def test_checker_reports_an_altered_field(alter, expected):
    name = ".pulumirpc.CreateRequest"
    pristine = _official_message(name)
    assert compare_message(name, pristine, official()[0][name]) == []
    altered = _official_message(name)
    alter(altered)
    problems = compare_message(name, altered, official()[0][name])
    assert any(expected in p for p in problems), problems


def test_checker_reports_a_field_moved_out_of_its_oneof():
    name = ".pulumirpc.ParameterizeRequest"
    altered = _official_message(name)
    _field(altered, "value").ClearField("oneof_index")
    problems = compare_message(name, altered, official()[0][name])
    assert any("oneof None != official 'parameters'" in p for p in problems), problems


def test_checker_reports_an_unknown_message_enum_value_and_method():
    assert compare_message(".pulumirpc.NoSuchThing", descriptor_pb2.DescriptorProto(), None)

    kind = copy.deepcopy(official()[1][".pulumirpc.PropertyDiff.Kind"])
    next(v for v in kind.value if v.name == "UPDATE").number = 7
    problems = compare_enum(".pulumirpc.PropertyDiff.Kind", kind, official()[1][".pulumirpc.PropertyDiff.Kind"])
    assert any("UPDATE: number 7 != official 4" in p for p in problems), problems

    svc = copy.deepcopy(official()[2][".pulumirpc.ResourceProvider"])
    next(m for m in svc.method if m.name == "Check").server_streaming = True
    problems = compare_service(".pulumirpc.ResourceProvider", svc, official()[2][".pulumirpc.ResourceProvider"])
    assert any("Check: server_streaming True != official False" in p for p in problems), problems
