"""benchmarks/bench_baselines.py: every method's code path on one tiny problem.

The expected optimum is the theorem's closed form, enclosed by its rigorous certificate
(an independent route from every solver here); the hand-written gradient is checked
against torch autograd on ncproofs' objective.  No timing is asserted.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_baselines",
                                                  ROOT / "benchmarks" / "bench_baselines.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_baselines"] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()

TINY_CE = {"K": 3, "n": 4, "d": 3, "lam_W": "5e-2", "lam_H": "5e-2", "bias": "false"}


@pytest.mark.parametrize("theorem,params,loss", [
    ("ufm-ce", TINY_CE, "ce"),
    ("deep-linear-mse", {"K": 3, "n": "3,2,2", "d": 4, "lam_W": "1e-2", "lam_H": "1e-2",
                         "L": 3}, "mse"),
])
def test_hand_written_gradient_matches_autograd(theorem, params, loss):
    problem = bench.Problem("t", theorem, params)
    init = problem.init(seed=3)
    flat = bench.unbatched(init, problem.L)
    value, grads = bench.value_and_grad(problem, flat)
    leaves = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    reference = problem.objective(leaves).sum()  # ncproofs' own objective, autograd
    reference.backward()
    assert problem.loss == loss
    assert value == pytest.approx(float(reference.detach()), rel=1e-13)
    names = [f"W{l}" for l in range(1, problem.L + 1)] + ["H"]
    for name, g in zip(names, grads):
        assert torch.allclose(g, leaves[name].grad[0], rtol=1e-11, atol=1e-14), name


def test_every_method_reaches_the_gap_on_a_tiny_problem():
    problem = bench.Problem("tiny ufm-ce", "ufm-ce", TINY_CE)
    # the closed form lies inside the certificate's rigorous enclosure (checked in Problem)
    assert problem.cert_gap is not None and problem.cert_gap < 1e-12
    row = bench.measure(problem, seed=0, budget_s=8.0, pilot_steps=100,
                        authors_dir=Path("/nonexistent"))
    assert "skipped" in row.results["authors"]  # no authors' code for ufm-ce
    for name in ("recipe", "gd-tuned", "adam-tuned", "scipy", "ours"):
        r = row.results[name]
        assert r["hit"][1e-8] is not None, (name, r)
        assert -1e-12 <= r["gap"] <= 1e-8, (name, r["gap"])  # never below the optimum
        assert r["steps"] > 0 and math.isfinite(r["MB"])
    text = bench.table([row]) + bench.goal_summary([row])
    assert "ours" in text and "scipy" in text


# A stand-in with the structure of Dang et al.'s synthetic script (a SyntheticModel with
# H of shape N x hidden and a Sequential of bias-free Linear layers; a main(args) with a
# CUDA device string and an SGD loop), written here so the hook code is tested without
# their code.  It hard-codes "cuda" like theirs: the loader must move it to the CPU.
STAND_IN = '''
import torch, torch.nn as nn, torch.nn.functional as F, torch.optim as optim
NUM_CLASS_SAMPLES = [4, 4, 4]
NUM_SAMPLES = sum(NUM_CLASS_SAMPLES)
class SyntheticModel(nn.Module):
    def __init__(self, hidden, num_classes, depth_linear, NUM_SAMPLES, fc_bias,
                 weight_decay, feature_decay):
        super().__init__()
        self.weight_decay, self.feature_decay = weight_decay, feature_decay
        self.H = nn.Parameter(torch.normal(0, 0.1, size=(NUM_SAMPLES, hidden)))
        layers = [nn.Linear(hidden, hidden, bias=False) for _ in range(depth_linear - 1)]
        self.fc = nn.Sequential(*layers, nn.Linear(hidden, num_classes, bias=fc_bias))
    def forward(self, Y):
        out = self.fc(self.H)
        loss = torch.norm(out - Y, p="fro") ** 2 / (2 * NUM_SAMPLES)
        loss += self.weight_decay / 2 * sum(torch.sum(m.weight ** 2) for m in self.fc)
        loss += self.feature_decay / 2 * torch.sum(self.H ** 2)
        return out, loss, []
def main(args):
    model = SyntheticModel(args.hidden, args.num_classes, args.depth_linear, NUM_SAMPLES,
                           args.bias, args.weight_decay, args.feature_decay).to("cuda")
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    targets = torch.repeat_interleave(torch.arange(3), 4).to("cuda")
    Y = F.one_hot(targets).to("cuda").to(torch.float)
    for _ in range(args.num_iteration):
        optimizer.zero_grad()
        _, loss, _ = model(Y)
        loss.backward()
        optimizer.step()
'''


def test_authors_hook_runs_a_dang_style_script_on_the_cpu(tmp_path):
    (tmp_path / "dang").mkdir()
    (tmp_path / "dang" / "synthetic_experiment_balanced.py").write_text(
        textwrap.dedent(STAND_IN))
    module = bench.load_dang_module(tmp_path, "balanced")
    assert module is not None and bench.load_dang_module(tmp_path, "imbalanced") is None
    problem = bench.Problem("tiny deep", "deep-linear-mse",
                            {"K": 3, "n": 4, "d": 3, "lam_W": "1e-2", "lam_H": "1e-2", "L": 1},
                            dang="balanced")
    row = bench.measure(problem, seed=0, budget_s=8.0, pilot_steps=50, authors_dir=tmp_path,
                        methods=("authors", "ours"))
    authors, ours = row.results["authors"], row.results["ours"]
    assert authors["hit"][1e-8] is not None, authors
    assert -1e-12 <= authors["gap"] <= 1e-8 and authors["steps"] > 10
    assert ours["hit"][1e-12] is not None and ours["gap"] >= -1e-12
