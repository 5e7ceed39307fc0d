"""The domain modules import in one direction: lines (lookup, lock, status, notices) below auth, billing
and family; auth does not import billing, so auth → billing → family → auth is no longer a circle."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "mts_portal" / "core"


def imports(module: str) -> set[str]:
    tree = ast.parse((CORE / f"{module}.py").read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mts_portal.core"):
            if node.module == "mts_portal.core":
                out.update(a.name for a in node.names)
            else:
                out.add(node.module.rsplit(".", 1)[-1])
    return out


def test_auth_stands_below_billing_and_family():
    assert "billing" not in imports("auth") and "family" not in imports("auth")
    assert {"billing", "family", "auth"}.isdisjoint(imports("lines"))
    assert "lines" in imports("auth") and "lines" in imports("billing")
