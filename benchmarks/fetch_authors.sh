#!/usr/bin/env bash
# Fetch the authors' released code for benchmarks/bench_baselines.py into
# benchmarks/_authors/ (ignored by git: their code is never part of this repository).
#
#   benchmarks/fetch_authors.sh                    # clone from GitHub
#   DANG_SOURCE=/path/to/mirror benchmarks/fetch_authors.sh   # clone from a local mirror
#
# Only Dang et al. (ICML 2023) released a script for an unconstrained-features model.
# Zhu et al. (NeurIPS 2021, github.com/tding1/Neural-Collapse, commit 04ef5860) and
# Zhou et al. (ICML 2022, github.com/jinxinzhou/neural-collapse-MSE, commit 47624073)
# released network training on MNIST/CIFAR10 only, so there is nothing of theirs to run
# on the UFM problems.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${NCPROOFS_AUTHORS_DIR:-$here/_authors}"
dang_source="${DANG_SOURCE:-https://github.com/Fsoft-AIC/Neural-Collapse-in-Deep-Linear-Networks}"
dang_commit=1869cb1f4d8ebd4716ecaed0a772b0eb0c7a42b4
mkdir -p "$dest"
if [ ! -d "$dest/dang" ]; then
    git clone --quiet "$dang_source" "$dest/dang"
fi
git -C "$dest/dang" checkout --quiet "$dang_commit"
echo "Dang et al. at $(git -C "$dest/dang" rev-parse HEAD) in $dest/dang"
