"""Start-up time of the command line against `python -c "import torch"` (issue 14, item 6).

    python benchmarks/bench_startup.py [--repeat 5]

Goal: `ncproofs list`, `--help` and `--version` import neither torch nor cvxpy and take
less time than importing torch alone; the baseline is measured in the same run, on the
same machine, and the ratios (median command / median baseline) are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "import torch (baseline)": [sys.executable, "-c", "import torch"],
    "ncproofs --version": [sys.executable, "-m", "ncproofs.cli", "--version"],
    "ncproofs --help": [sys.executable, "-m", "ncproofs.cli", "--help"],
    "ncproofs list": [sys.executable, "-m", "ncproofs.cli", "list"],
    "ncproofs verify ufm-ce --help": [sys.executable, "-m", "ncproofs.cli", "verify", "ufm-ce",
                                      "--help"],
}


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):  # interleaved, so load changes hit every command alike
        for name, argv in COMMANDS.items():
            times[name].append(wall(argv))
    base = statistics.median(times["import torch (baseline)"])
    print(f"{'command':32s} {'median s':>9s} {'ratio':>6s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:32s} {median:9.2f} {median / base:6.2f}")


if __name__ == "__main__":
    main()
