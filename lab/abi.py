"""The emptcp ABI constants, read from bpf/include/emptcp/abi.h when this module is imported.

abi.h is the single source of the slots, operators, counters, event types and flags shared by the
BPF programs and user space; the Python side never keeps a copy that could drift. Every
`#define EMPTCP_*` and enum member `EMPTCP_* = …` whose value is an integer expression (literals,
`u` suffixes, earlier EMPTCP_* names, + - << >> | &) is available in VALUES, and the families the
tests and benchmarks use are grouped by name below (`EMPTCP_ACT_SET_RECV_WIN` -> ACT_SLOTS["set_recv_win"]).
Struct layouts are not parsed: the modules that unpack records declare them and
tests/packet/test_objects.py checks their sizes against the C compiler's.
"""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

HEADER = Path(__file__).resolve().parents[1] / "bpf" / "include" / "emptcp" / "abi.h"

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.LShift: operator.lshift,
        ast.RShift: operator.rshift, ast.BitOr: operator.or_, ast.BitAnd: operator.and_}


def _eval(expr: str, known: dict[str, int]) -> int | None:
    """Value of a constant integer expression of the header, None when it is not one."""
    expr = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expr.strip())

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in known:
            return known[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError(expr)

    try:
        return ev(ast.parse(expr, mode="eval").body)
    except (SyntaxError, ValueError):
        return None


def parse(text: str) -> dict[str, int]:
    """Every integer EMPTCP_* constant of a header text, by its C name, in header order."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    values: dict[str, int] = {}
    for m in re.finditer(r"^\s*#define\s+(EMPTCP_\w+)[ \t]+([^\n]+)$"
                         r"|\benum\s+\w+\s*\{([^}]*)\}", text, flags=re.M):
        if m.group(1):
            v = _eval(m.group(2), values)
            if v is not None:
                values[m.group(1)] = v
            continue
        nxt = 0
        for member in m.group(3).split(","):
            name, _, expr = member.partition("=")
            name = name.strip()
            if not name:
                continue
            v = _eval(expr, values) if expr.strip() else nxt
            if v is None:
                raise ValueError(f"abi.h: enum member {name} = {expr.strip()} is not an integer")
            values[name] = v
            nxt = v + 1
    return values


def family(prefix: str, *, skip: tuple[str, ...] = ()) -> dict[str, int]:
    """The constants named EMPTCP_<prefix>_<NAME>, as {name lowercased: value}."""
    out = {}
    for name, v in VALUES.items():
        if name.startswith(f"EMPTCP_{prefix}_"):
            short = name[len(f"EMPTCP_{prefix}_"):].lower()
            if short not in skip:
                out[short] = v
    return out


VALUES = parse(HEADER.read_text())

ABI_VERSION = VALUES["EMPTCP_ABI_VERSION"]
EVENT_VERSION = VALUES["EMPTCP_EVENT_VERSION"]
MAX_SELECTORS = VALUES["EMPTCP_MAX_SELECTORS"]
MAX_ACTORS = VALUES["EMPTCP_MAX_ACTORS"]
FIRST_MODULE_SLOT = VALUES["EMPTCP_FIRST_MODULE_SLOT"]
CHAIN_SLOTS = VALUES["EMPTCP_CHAIN_SLOTS"]
SEL_F_PREFILTER = VALUES["EMPTCP_SEL_F_PREFILTER"]
PREFILTER_BITS_LOG = VALUES["EMPTCP_PREFILTER_BITS_LOG"]
OPT_MAX = VALUES["EMPTCP_OPT_MAX"]

SEL_SLOTS = family("SEL", skip=("f_prefilter",))          # {"tcp": 1, "tcp2": 2, "tcp4": 3}
ACT_SLOTS = family("ACT")                                 # {"set_recv_win": 1, ...}
OP = family("OP")                                         # {"or": 0, "and": 1}
CNT = family("CNT", skip=("max",))                        # counter indices by name
CNT_MAX = VALUES["EMPTCP_CNT_MAX"]
EV = family("EV")                                         # event types by name
RECORD = family("RECORD")                                 # record actor flags: pkt, flow, rtt
HOOK = family("HOOK")                                     # {"xdp": 0, "tc": 1}


def kernel_name(hook: str, short: str) -> str:
    """A hook's map or program as the kernel names it: emptcp_x_<short> on xdp, emptcp_t_<short>
    on tc, at most 15 characters (docs/architecture.md, "Kernel object names")."""
    return f"emptcp_{'x' if hook == 'xdp' else 't'}_{short}"
