"""``ncproofs metrics FILE.npz [--json]``: neural-collapse metrics of saved features.

The npz holds ``H`` (N x D features, samples as rows), ``y`` (N integer labels in 0..K-1)
and optionally ``W`` (K x D classifier) and ``b`` (K bias). Problems with the file are
reported in one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import zipfile

import numpy as np

from ncproofs.metrics import METRIC_KEYS, conventions, nc_metrics

__all__ = ["add_arguments", "run"]


class _FileError(Exception):
    """A problem with the input file, reported without a traceback."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the ``metrics`` subcommand."""
    parser.add_argument("file", metavar="FILE.npz", help="npz with H (N x D), y (N), opt. W, b")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--target",
        default="etf",
        help="NC2 target: etf, orthogonal, or the name of a K x K array in the npz",
    )
    parser.add_argument("-K", type=int, default=None, help="number of classes (default: inferred)")
    parser.add_argument(
        "--center-means",
        choices=("auto", "yes", "no"),
        default="auto",
        help="centre class means at the global mean for NC2_M/NC3 (auto: only for etf)",
    )


def _load(path: str, target: str) -> tuple[dict[str, np.ndarray], str | np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise _FileError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise _FileError(f"{path}: not a readable .npz file ({e})") from None
    missing = [k for k in ("H", "y") if k not in data]
    if missing:
        raise _FileError(
            f"{path}: missing key(s) {', '.join(missing)} (found: {', '.join(data) or 'none'})"
        )
    tgt: str | np.ndarray = target
    if target not in ("etf", "orthogonal"):
        if target not in data:
            raise _FileError(f"--target: {target!r} is neither etf/orthogonal nor a key of {path}")
        tgt = data[target]
    for key in ("H", "W", "b"):
        if key in data and data[key].dtype.kind not in "fiu":
            raise _FileError(f"{key}: expected real numbers, got dtype {data[key].dtype}")
    if "W" in data and data["W"].ndim == 2 and data["H"].ndim == 2:
        if data["W"].shape[1] != data["H"].shape[1]:
            raise _FileError(
                f"W: shape {data['W'].shape} does not match H with {data['H'].shape[1]} columns"
            )
    for key in ("H", "W", "b"):
        if key in data and not np.all(np.isfinite(data[key])):
            raise _FileError(f"{key}: contains NaN or inf")
    return data, tgt


def _fmt(v: float) -> str:
    return "nan" if math.isnan(v) else f"{v:.6g}"


def run(args: argparse.Namespace) -> int:
    """Compute and print the metrics; 0 on success, 2 on a bad file or bad arguments."""
    center = {"auto": None, "yes": True, "no": False}[getattr(args, "center_means", "auto")]
    target_name = getattr(args, "target", "etf")
    try:
        data, target = _load(args.file, target_name)
        m = nc_metrics(
            data["H"],
            data["y"],
            data.get("W"),
            data.get("b"),
            K=getattr(args, "K", None),
            target=target,
            center_means=center,
        )
    except (_FileError, ValueError, TypeError) as e:
        print(f"ncproofs metrics: error: {e}", file=sys.stderr)
        return 2
    H = data["H"]
    K = int(data["W"].shape[0]) if "W" in data else int(np.max(data["y"])) + 1
    if getattr(args, "K", None) is not None:
        K = args.K
    conv = conventions(target, center)
    if isinstance(target, np.ndarray):
        conv["NC2_target"] = f"explicit Gram matrix from key {target_name!r}"
    if args.json:
        out: dict[str, object] = {
            k: (None if math.isnan(v) else (str(v) if math.isinf(v) else v)) for k, v in m.items()
        }
        out.update(N=int(H.shape[0]), D=int(H.shape[1]), K=K, conventions=conv)
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.file}: N={H.shape[0]} D={H.shape[1]} K={K} target={conv['NC2_target']}")
        for k in METRIC_KEYS:
            print(f"  {k:9s} {_fmt(m[k])}")
        if "W" not in data:
            print("  (no W in the file: NC2_W, NC3, NC4 and bias need the classifier)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m ncproofs.metrics_cli``)."""
    parser = argparse.ArgumentParser(prog="ncproofs metrics", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
