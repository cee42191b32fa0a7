"""Human-readable output: text blocks and tables, LaTeX, JSON helpers."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np


def _fmt(x: Any, digits: int = 15) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, np.integer)):
        return str(x)
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x):
            return str(x)
        return f"{x:.{digits}g}"
    return str(x)


def params_text(params: dict[str, Any]) -> str:
    return " ".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else _fmt(v, 6)}"
        for k, v in params.items()
    )


def _with_source(value: float | None, source: str | None) -> str:
    return _fmt(value) + (f"  [{source}]" if value is not None and source else "")


def assumptions_text(assumptions: list[Any]) -> str:
    """'lemmas L1, L2 (docs/certificates.md); REDUCTION: ...' -- every reduction in full
    (it makes the result conditional), lemmas by label (statements in the JSON and docs)."""
    typed = [a if isinstance(a, dict) else {"text": str(a), "kind": "reduction"}
             for a in assumptions]
    lemmas = [a for a in typed if a.get("kind") == "lemma"]
    labels = [m.group(1) for a in lemmas
              if (m := re.search(r"lemma (L\d+)", a.get("reference", "")))]
    parts = []
    if lemmas and len(labels) == len(lemmas):
        parts.append(f"lemmas {', '.join(labels)} (docs/certificates.md)")
    elif lemmas:
        parts.append(f"{len(lemmas)} lemma{'s' if len(lemmas) != 1 else ''}")
    parts += [f"REDUCTION: {a['text']}" for a in typed if a.get("kind") != "lemma"]
    return "; ".join(parts)


def verify_text(r: dict[str, Any]) -> str:
    """PEPit-style block: theory, certificate and computation side by side."""
    cf, cert, num, ver = r["closed_form"], r["certificate"], r["numeric"], r["verdict"]
    rows = [
        ("regime", cf["regime"]),
        ("closed form f*", _fmt(cf["objective"]) + (
            "" if cf.get("kind", "closed-form") == "closed-form"
            else "  (numeric candidate, not a closed form)")),
        ("certificate",
         f"{cert['status']}  ({'rigorous' if cert['rigorous'] else 'not rigorous'})"),
        ("  lower bound", _with_source(cert["lower_bound"], cert.get("lower_bound_source"))),
        ("  upper bound", _with_source(cert["upper_bound"], cert.get("upper_bound_source"))),
        ("  gap", _fmt(cert["gap"], 3)),
    ]
    rests_on = assumptions_text(cert.get("assumptions", []))
    if rests_on:
        rows.append(("  rests on", rests_on))
    rows.append(("  reason", cert["reason"]))
    structure = cert.get("structure")
    if structure:
        rows.append(("  geometry", structure_text(structure)))
    relax = cert.get("details", {}).get("relaxation")
    if relax:
        rows.append(("  relaxation (cvxpy)",
                     f"{_fmt(relax['value'])}  ({relax['solver']}, {relax['status']}, "
                     "not rigorous)"))
    if num is not None:
        rows += [
            ("numeric (torch)", _fmt(num["objective"])),
            ("  |grad|, iters", f"{_fmt(num['grad_norm'], 3)}, {num['iterations']}"),
            ("  time, device", f"{num['seconds']:.3f} s, {num['device']}, {num['starts']} starts"),
        ]
        metrics = num.get("metrics")
        if metrics:
            rows.append(("  NC metrics", ", ".join(
                f"{k} {_fmt(v, 3)}" for k, v in metrics.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool))))
    if "numeric_minus_closed_form" in ver:
        rows.append(("numeric - closed", _fmt(ver["numeric_minus_closed_form"], 3)))
    land = r.get("landscape")
    if land:
        for where, c in land.items():
            rows.append((f"lambda_min ({where})",
                         f"{_fmt(c['min_eigenvalue'], 4)}; f(x+{c['step']:g}v)-f(x) = "
                         f"{_fmt(c['value_along_direction'], 3)}"))
    rows.append(("verdict", f"{ver['status']}: {ver['summary']}"))
    width = max(len(k) for k, _ in rows)
    head = f"{r['theorem']}  {params_text(r['params'])}"
    return "\n".join([head] + [f"  {k.ljust(width)}  {v}" for k, v in rows])


def structure_text(structure: dict[str, Any]) -> str:
    """One line for ``certificate.structure``: status, minimizer radius, r(1e-6)."""
    if structure.get("status") != "certified":
        return f"{structure.get('status')}: {structure.get('reason', '')}"
    radii = {r["eps"]: r for r in structure.get("radii", [])}
    which = ("M = W Hbar" if structure.get("criterion") == "class_mean_logits_M"
             else "logits")
    text = (f"certified: unique {structure['identified'].split(' (')[0]}; every minimizer's "
            f"{which} within {_fmt(structure['minimizer_radius'], 3)} of the claim")
    for eps, r in radii.items():
        if eps != structure.get("gap") and "logits_frobenius" not in r:
            text += f"; f <= f* + {eps:g}: not localized"
        elif eps != structure.get("gap"):
            text += (f"; f <= f* + {eps:g}: logits within {_fmt(r['logits_frobenius'], 3)}"
                     f" (relative {_fmt(r['logits_relative'], 3)})")
            if "within_class_scatter" in r:
                text += f", within-class scatter <= {_fmt(r['within_class_scatter'], 3)}"
    return text


def summary_table(reports: list[dict[str, Any]]) -> str:
    header = ["theorem", "params", "regime", "f* (closed)", "status", "gap", "num-closed",
              "verdict", "ok"]
    lines = [header]
    for r in reports:
        ver = r["verdict"]
        ok = r.get("ok")
        lines.append([
            r["theorem"], params_text(r["params"]), r["closed_form"]["regime"].split(" (")[0],
            _fmt(r["closed_form"]["objective"], 12), r["certificate"]["status"],
            _fmt(r["certificate"]["gap"], 2), _fmt(ver.get("numeric_minus_closed_form"), 2),
            ver["status"], "" if ok is None else ("yes" if ok else "NO"),
        ])
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    out = []
    for j, row in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def latex_table(reports: list[dict[str, Any]]) -> str:
    """A booktabs table of certified results, ready to paste."""
    lines = [
        r"\begin{tabular}{llrrrl}",
        r"\toprule",
        r"Theorem & Parameters & $f^\star$ & lower bound & gap & status \\",
        r"\midrule",
    ]
    for r in reports:
        cert = r["certificate"]
        params = params_text(r["params"]).replace("_", r"\_")
        lines.append(
            f"\\texttt{{{r['theorem']}}} & {params} & {_fmt(r['closed_form']['objective'], 12)}"
            f" & {_fmt(cert['lower_bound'], 12)} & {_fmt(cert['gap'], 2)} & {cert['status']} \\\\"
        )
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


def to_json(obj: Any) -> str:
    def default(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return x.tolist()
        if isinstance(x, (np.floating, np.integer)):
            return x.item()
        return str(x)

    return json.dumps(obj, indent=2, default=default, allow_nan=True)
