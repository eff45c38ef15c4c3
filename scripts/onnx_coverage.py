"""Print which ONNX node tests of the mapped ops the importer covers, and why the others are
not covered (the table in docs/onnx_ops.md is this script's output):

    PYTHONPATH=. python scripts/onnx_coverage.py [--markdown]

Exit status 1 when a test listed in layergraph.onnx.coverage.COVERED does not pass, or a
test outside it passes, mismatches or errs (the list and the code disagree)."""
from __future__ import annotations

import sys
from collections import defaultdict

from layergraph.onnx.coverage import COVERED, MAPPED_OPS, classify, node_cases


def main(markdown: bool) -> int:
    rows = defaultdict(list)
    bad = []
    for case in node_cases():
        op = case.model.graph.node[0].op_type
        status, why = classify(case)
        rows[op].append((case.name, status, why))
        if (status == "covered") != (case.name in COVERED) or status in ("mismatch", "error"):
            bad.append((case.name, status, why))
    total = sum(len(r) for r in rows.values())
    n_cov = sum(1 for r in rows.values() for _, s, _ in r if s == "covered")
    if markdown:
        print(f"{n_cov} of {total} single-node tests of the {len(MAPPED_OPS)} mapped ops are covered.\n")
        print("| op | covered | not covered (reason) |\n|---|---|---|")
        for op in MAPPED_OPS:
            cov = [n for n, s, _ in rows.get(op, []) if s == "covered"]
            nc = [f"`{n}`: {w}" for n, s, w in rows.get(op, []) if s != "covered"]
            print(f"| {op} | {', '.join(f'`{n}`' for n in cov) or '-'} | {'<br>'.join(nc) or '-'} |")
    else:
        for op in MAPPED_OPS:
            for name, status, why in rows.get(op, []):
                print(f"{op:22s} {status:12s} {name}" + (f"  -- {why}" if why else ""))
        print(f"\n{n_cov} of {total} covered; ops mapped: {', '.join(MAPPED_OPS)}")
    for name, status, why in bad:
        print(f"DISAGREES: {name}: {status} {why}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main("--markdown" in sys.argv))
