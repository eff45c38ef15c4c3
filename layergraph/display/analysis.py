"""Plain-text analyzeNetwork report."""
from __future__ import annotations


def analysis_text(report) -> str:
    rows = [("#", "Name", "Type", "Activations", "Learnables")]
    for r in report.LayerInfo:
        rows.append((str(r.Index), r.Name, r.Type, r.activations_text(), r.learnables_text()))
    widths = [max(len(row[j]) for row in rows) for j in range(5)]
    out = ["  Network analysis", ""]
    for k, row in enumerate(rows):
        out.append("    " + "   ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if k == 0:
            out.append("    " + "   ".join("-" * w for w in widths))
    total = report.TotalLearnables
    out += ["", f"  Total learnables: {total}", f"  Errors: {len(report.errors)}   "
            f"Warnings: {len(report.Issues) - len(report.errors)}"]
    for issue in report.Issues:
        port = f" (port '{issue.Port}')" if issue.Port else ""
        out.append(f"    {issue.Severity}: {issue}{port}")
    return "\n".join(out) + "\n"
