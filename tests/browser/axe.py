"""axe-core, vendored from the npm registry (see vendor/README.md), run inside a page.

The site's Content-Security-Policy forbids inline scripts, and a script tag added by the test
is one; the contexts that run axe are made with ``bypass_csp=True`` rather than weakening the
policy. ``inject`` adds axe to every page a context opens (it is parsed as the page loads, so
no second round trip), ``audit`` adds it to a page that lacks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
# The impacts that fail a test. Moderate and minor findings are printed, not failed.
BLOCKING = ("serious", "critical")


def inject(context: Any) -> None:
    """Load axe into every page ``context`` opens from now on."""
    context.add_init_script(path=str(AXE_JS))


# The rules whose verdict depends on the layout: all that a second viewport has to re-run.
LAYOUT_RULES = ["color-contrast", "scrollable-region-focusable", "target-size", "region"]


def audit(page: Any, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """Run axe (every rule, or only ``rules``) on the page as it stands; most severe first."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if rules is not None:
        options["runOnly"] = {"type": "rule", "values": rules}
    result = page.evaluate("options => axe.run(document, options)", options)
    order = {"critical": 0, "serious": 1, "moderate": 2, "minor": 3}
    return sorted(result["violations"], key=lambda v: order.get(v["impact"] or "minor", 4))


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]


def report(violations: list[dict[str, Any]], where: str) -> str:
    """The violations as a readable list: rule, impact, help page, and each element."""
    lines = [f"axe found {len(violations)} violation(s) on {where}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines.append(f"      {v['helpUrl']}")
        for node in v["nodes"][:8]:
            target = " ".join(str(t) for t in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"      - {target}: {summary}")
            lines.append(f"        {node['html'][:160]}")
        if len(v["nodes"]) > 8:
            lines.append(f"      … and {len(v['nodes']) - 8} more element(s)")
    return "\n".join(lines)
