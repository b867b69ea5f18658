"""The package's copy of the C ABI (sso._lib and the enums of sso.flow)
against include/sso.h, the header the C compiler and cbindgen agree on: a
function, argument, field or enum value that drifts fails here rather than
as a crash or a wrong answer at run time.

Prototypes and enum values are read from the header's text (cbindgen writes
one declaration per function); the structs' layouts are measured by the C
compiler (offsetof, sizeof) and compared with ctypes'."""

from __future__ import annotations

import ctypes
import re
import subprocess
import tempfile
from ctypes import POINTER, c_bool, c_char, c_char_p, c_size_t, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p
from pathlib import Path

import pytest

from sso import _lib, flow

HEADER = Path(__file__).resolve().parents[2] / "include" / "sso.h"
# Comments and preprocessor lines out: declarations are what is left.
TEXT = re.sub(r"//[^\n]*|/\*.*?\*/|^#[^\n]*", "", HEADER.read_text(), flags=re.S | re.M)
ENUMS = set(re.findall(r"typedef enum (\w+) \{", TEXT))
OPAQUE = set(re.findall(r"typedef struct (\w+) \1;", TEXT))
STRUCTS = {
    "sso_flow_settings": _lib.FlowSettings,
    "sso_key_bytes": _lib.KeyBytes,
    "sso_flow_summary": _lib.FlowSummary,
}
SCALARS: dict[str, object] = {
    "void": None,
    "bool": c_bool,
    "char": c_char,
    "uint8_t": c_uint8,
    "uint16_t": c_uint16,
    "uint32_t": c_uint32,
    "uint64_t": c_uint64,
    "size_t": c_size_t,
}


def ctypes_for(c_type: str) -> object:
    """The ctypes type the package must declare for a C type of the header."""
    stars = c_type.count("*")
    words = [w for w in c_type.replace("*", " ").split() if w not in ("const", "struct", "enum")]
    assert len(words) == 1, c_type
    base = words[0]
    if base in ENUMS:
        # Every enum of the ABI fits in 32 bits (C gives it int's size).
        scalar: object = c_uint32
    elif base in OPAQUE:
        scalar = c_void_p
        stars -= 1  # a handle is a void pointer
    elif base in STRUCTS:
        scalar = STRUCTS[base]
    else:
        scalar = SCALARS[base]
    if stars < 0:
        raise AssertionError(f"{c_type}: an opaque handle by value")
    if stars and base in ("char", "uint8_t"):
        scalar, stars = c_char_p, stars - 1  # strings and byte buffers
    for _ in range(stars):
        scalar = POINTER(scalar)  # type: ignore[arg-type]
    return scalar


def split_declaration(decl: str) -> str:
    """``const char *const *files`` -> ``const char *const *``."""
    return re.sub(r"\w+\s*$", "", decl.strip()).strip()


def header_functions() -> dict[str, tuple[object, list[object]]]:
    found = {}
    for ret, name, args in re.findall(r"([A-Za-z_][\w\s*]*?)\b(sso_\w+)\s*\(([^()]*)\)\s*;", TEXT):
        params = [] if args.strip() in ("", "void") else args.split(",")
        found[name] = (ctypes_for(ret), [ctypes_for(split_declaration(p)) for p in params])
    return found


def header_struct(name: str) -> list[tuple[str, object]]:
    body = re.search(rf"typedef struct {name} \{{(.*?)\}} {name};", TEXT, re.S)
    assert body, name
    return [(f, ctypes_for(t)) for t, f in re.findall(r"([^;{}]*?)\b(\w+)\s*;", body.group(1))]


def header_enum(name: str) -> dict[str, int]:
    body = re.search(rf"typedef enum {name} \{{(.*?)\}} {name};", TEXT, re.S)
    assert body, name
    return {k: int(v) for k, v in re.findall(r"(\w+)\s*=\s*(\d+)", body.group(1))}


def test_the_header_is_read() -> None:
    # The parsing above finds what is there (a regex that matched nothing
    # would make every comparison below vacuous).
    functions = header_functions()
    assert len(functions) >= 35 and "sso_flow_decide" in functions, sorted(functions)
    assert {"sso_result", "sso_flow_kind", "sso_log_level"} <= ENUMS
    assert {"sso_verifier", "sso_ticket", "sso_flow_config"} <= OPAQUE


@pytest.mark.parametrize("name,restype,argtypes", _lib._PROTOTYPES, ids=[p[0] for p in _lib._PROTOTYPES])
def test_every_prototype_matches_the_header(name: str, restype: object, argtypes: list[object]) -> None:
    functions = header_functions()
    assert name in functions, f"{name} is not in include/sso.h"
    want_ret, want_args = functions[name]
    assert restype == want_ret, f"{name} returns {want_ret}, _lib.py says {restype}"
    assert len(argtypes) == len(want_args), f"{name} takes {len(want_args)} arguments, _lib.py says {len(argtypes)}"
    for i, (got, want) in enumerate(zip(argtypes, want_args)):
        assert got == want, f"{name} argument {i + 1} is {want}, _lib.py says {got}"


@pytest.mark.parametrize("c_name", sorted(STRUCTS))
def test_struct_fields_match_the_header(c_name: str) -> None:
    ours = [(f[0], f[1]) for f in STRUCTS[c_name]._fields_]  # type: ignore[attr-defined]
    assert ours == header_struct(c_name)


@pytest.mark.parametrize("c_name", sorted(STRUCTS))
def test_struct_layout_matches_the_c_compiler(c_name: str) -> None:
    cls = STRUCTS[c_name]
    fields = [f[0] for f in cls._fields_]  # type: ignore[attr-defined]
    lines = [f'printf("%zu\\n", sizeof(struct {c_name}));']
    for f in fields:
        lines.append(f'printf("%zu %zu\\n", offsetof(struct {c_name}, {f}), sizeof(((struct {c_name} *)0)->{f}));')
    program = "#include <stddef.h>\n#include <stdio.h>\n#include <sso.h>\nint main(void) {\n%s\nreturn 0;\n}\n"
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "layout.c", Path(tmp) / "layout"
        src.write_text(program % "\n".join(lines))
        subprocess.run(["cc", "-std=c11", "-I", str(HEADER.parent), "-o", str(exe), str(src)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    assert int(out[0]) == ctypes.sizeof(cls), f"sizeof(struct {c_name})"
    for f, line in zip(fields, out[1:]):
        offset, size = (int(x) for x in line.split())
        assert (getattr(cls, f).offset, getattr(cls, f).size) == (offset, size), f"{c_name}.{f}"


def test_enum_values_match_the_header() -> None:
    values = {name: int(v) for enum in ENUMS for name, v in header_enum(enum).items()}
    constants = {k: v for k, v in vars(_lib).items() if k.startswith("SSO_") and isinstance(v, int)}
    assert len(constants) >= 9, constants
    for name, value in constants.items():
        assert values.get(name) == value, f"_lib.{name} = {value}, include/sso.h: {values.get(name)}"
    assert {f"SSO_FLOW_{k.name}": k.value for k in flow.Kind} == header_enum("sso_flow_kind")
    assert {f"SSO_LOG_{k.name}": k.value for k in flow.LogLevel} == header_enum("sso_log_level")
    # Ticket checks are the results below the argument errors.
    from sso import verifier

    checks = [
        v for v in values.values() if 0 < v <= verifier._LAST_CHECK_CODE and v in header_enum("sso_result").values()
    ]
    assert checks and max(checks) < values["SSO_ERR_NULL_ARGUMENT"]
