r"""Our solver against what a user would pick instead, side by side in one run.

    python benchmarks/bench_baselines.py --quick          # < 2 minutes
    python benchmarks/bench_baselines.py                  # full table + scaling figure
    python benchmarks/bench_baselines.py --write-docs     # also rewrite docs/benchmarks.md

Every method starts from the same random point of the same problem, in this process, and
is timed until its objective is within 1e-8 and 1e-12 of the optimum f* (the theorem's
closed form, evaluated to 30 digits and enclosed by the certificate's rigorous bounds):

* ``authors``  -- the authors' released code, run unchanged except for the device (see
  :func:`load_dang_module`); only Dang et al. released a UFM script (deep-linear MSE);
  the column is skipped with a message when the code is absent (``--authors-dir``,
  fetched by ``benchmarks/fetch_authors.sh``);
* ``recipe``   -- a lean implementation of the papers' recipe: full-batch heavy-ball SGD,
  lr 0.1, momentum 0.9, at most 30,000 steps, hand-written gradients
  (:func:`value_and_grad`), one or two torch threads, whichever is faster here;
* ``gd-tuned`` / ``adam-tuned`` -- heavy-ball GD (momentum 0.9) and Adam with the learning
  rate picked by a short pilot run of every rate in a grid; the pilots count in the time;
* ``scipy``    -- scipy.optimize L-BFGS-B on the flattened problem with exact gradients;
* ``ours``     -- ncproofs' solver as the theorems call it (batched L-BFGS + Newton-CG
  polish; class-mean features for deep CE, H eliminated in closed form for deep MSE).

All baselines optimize the full problem (one feature column per sample), as a user would.
Time-to-gap is the first time a method's own objective evaluation is within the gap (ours
checks every 25 L-BFGS iterations, so its times are upper bounds); "-" = not reached
within the budget, and a ratio ">=" uses the baseline's time at the budget (a lower
bound on the true ratio).  Peak memory is the peak resident-set growth while the method
ran, sampled every 2 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import resource
import sys
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# numpy/scipy BLAS on one thread: the vectors here are small, and OpenBLAS threads
# spin-waiting against torch's on a shared 2-core machine slow every method down
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ncproofs.solve.deep import deep_objective, random_init, solve_deep  # noqa: E402
from ncproofs.theorems.base import get_theorem  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GAPS = (1e-8, 1e-12)
RECIPE_LR, RECIPE_MOMENTUM, RECIPE_STEPS = 0.1, 0.9, 30_000
GD_LRS = (0.1, 0.3, 1.0, 3.0, 10.0)
ADAM_LRS = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
DANG_COMMIT = "1869cb1f4d8ebd4716ecaed0a772b0eb0c7a42b4"
DOCS_BEGIN = "<!-- bench_baselines:begin -->"
DOCS_END = "<!-- bench_baselines:end -->"


# --------------------------------------------------------------------------- problems


@dataclass
class Problem:
    """One benchmark problem: a theorem's parameters plus everything the methods need."""

    label: str
    theorem: str
    params: dict[str, Any]
    init_scale: float | None = None  # None: fan-in scaling; 0.1: Dang et al.'s N(0, 0.1^2)
    dang: str | None = None  # "balanced" / "imbalanced": Dang et al.'s script applies
    f_star: float = field(init=False)
    status: str = field(init=False)
    cert_gap: float | None = field(init=False)

    def __post_init__(self) -> None:
        theorem = get_theorem(self.theorem)
        self.spec = theorem.spec(self.params)
        closed = theorem.closed_form(self.spec)
        cert = theorem.certify(self.spec, closed)
        self.f_star = float(closed.objective.evalf(30))
        self.status, self.cert_gap = cert.status, cert.gap
        if cert.lower_bound is not None and cert.upper_bound is not None:
            # the closed form must lie in the rigorous enclosure, else nothing here means much
            assert cert.lower_bound - 1e-15 <= self.f_star <= cert.upper_bound + 1e-15
        self.loss = "ce" if "ce" in self.theorem else "mse"
        self.counts = tuple(int(c) for c in self.spec.n)
        self.L = int(getattr(self.spec, "L", 1))
        self.d = int(self.spec.d)
        self.K = len(self.counts)
        self.lam_W, self.lam_H = float(self.spec.lam_W), float(self.spec.lam_H)
        self.objective = deep_objective(self.loss, self.counts, [self.lam_W] * self.L,
                                        self.lam_H)
        self.targets = torch.nn.functional.one_hot(self.objective.labels, self.K).T.to(
            torch.float64)

    @property
    def N(self) -> int:
        return sum(self.counts)

    def init(self, seed: int) -> dict[str, torch.Tensor]:
        """One start (batch dimension 1): W1..WL and H with one column per sample."""
        shapes = {f"W{l}": (self.d, self.d) for l in range(1, self.L)}
        shapes[f"W{self.L}"] = (self.K, self.d)
        shapes["H"] = (self.d, self.N)
        return random_init(shapes, 1, seed, torch.device("cpu"), self.init_scale)


def value_and_grad(problem: Problem, params: list[torch.Tensor]) -> tuple[float,
                                                                           list[torch.Tensor]]:
    r"""f and its exact gradient for params [W_1, ..., W_L, H], by hand (no autograd).

    Forward X_0 = H, X_l = W_l X_{l-1}, Z = X_L; f = (1/N) sum_i loss(z_i, y_i)
    + lam_W/2 sum_l |W_l|^2 + lam_H/2 |H|^2.  With G = dloss/dZ ((Z - Y)/N for MSE,
    (softmax(Z) - Y)/N for CE), backward: dW_l = G_l X_{l-1}^T + lam_W W_l,
    G_{l-1} = W_l^T G_l, dH = G_0 + lam_H H."""
    *weights, H = params
    xs = [H]
    for W in weights:
        xs.append(W @ xs[-1])
    Z, Y, N = xs[-1], problem.targets, problem.N
    if problem.loss == "mse":
        R = Z - Y
        data = 0.5 * float((R * R).sum()) / N
        G = R / N
    else:
        logp = torch.log_softmax(Z, dim=0)
        data = -float((logp * Y).sum()) / N
        G = (torch.exp(logp) - Y) / N
    reg = 0.5 * problem.lam_W * sum(float((W * W).sum()) for W in weights)
    reg += 0.5 * problem.lam_H * float((H * H).sum())
    grads: list[torch.Tensor] = [torch.empty(0)] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        grads[l] = G @ xs[l].T + problem.lam_W * weights[l]
        G = weights[l].T @ G
    return data + reg, grads + [G + problem.lam_H * H]


def unbatched(init: dict[str, torch.Tensor], L: int) -> list[torch.Tensor]:
    return [init[f"W{l}"][0].clone() for l in range(1, L + 1)] + [init["H"][0].clone()]


# --------------------------------------------------------------------------- measurement


class Budget(Exception):
    """Raised inside a method to stop it (target reached or budget spent)."""


class Trace:
    """Times at which the objective first came within each gap of f*."""

    def __init__(self, f_star: float, max_seconds: float, max_steps: int | None = None):
        self.f_star, self.max_seconds, self.max_steps = f_star, max_seconds, max_steps
        self.start = time.perf_counter()
        self.hit: dict[float, float | None] = dict.fromkeys(GAPS)
        self.hit_steps: dict[float, int | None] = dict.fromkeys(GAPS)
        self.gap, self.steps, self.evals = math.inf, 0, 0

    def record(self, value: float, steps: int | None = None) -> bool:
        """Log one objective value; True when the method should stop."""
        now = time.perf_counter() - self.start
        self.evals += 1
        if steps is not None:
            self.steps = steps
        self.gap = value - self.f_star
        for gap, seen in self.hit.items():
            if seen is None and self.gap <= gap:
                self.hit[gap], self.hit_steps[gap] = now, self.steps
        return (self.hit[min(GAPS)] is not None or not math.isfinite(value)
                or now > self.max_seconds
                or (self.max_steps is not None and self.steps >= self.max_steps))

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


@contextlib.contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Peak resident-set growth (MB) over the block, sampled every 2 ms by a thread."""
    out = {"MB": 0.0}
    base = rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], rss_bytes())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], rss_bytes())
        out["MB"] = (peak[0] - base) / 2**20


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fastest_threads(problem: Problem, params: list[torch.Tensor], evals: int = 60) -> int:
    """1 or 2 torch threads, whichever evaluates value_and_grad faster on this machine
    now (an environment setting like the device, so this probe is not timed)."""
    best, best_t = 1, math.inf
    for n in (1, 2):
        with threads(n):
            value_and_grad(problem, params)
            t0 = time.perf_counter()
            for _ in range(evals):
                value_and_grad(problem, params)
            t = time.perf_counter() - t0
        if t < best_t:
            best, best_t = n, t
    return best


# --------------------------------------------------------------------------- methods


def heavy_ball(problem: Problem, params: list[torch.Tensor], trace: Trace, lr: float,
               momentum: float = RECIPE_MOMENTUM) -> None:
    """torch.optim.SGD (heavy ball, no dampening) on hand-written gradients."""
    _first_order(problem, params, trace, torch.optim.SGD(params, lr=lr, momentum=momentum))


def adam(problem: Problem, params: list[torch.Tensor], trace: Trace, lr: float) -> None:
    _first_order(problem, params, trace, torch.optim.Adam(params, lr=lr))


def _first_order(problem, params, trace, opt) -> None:
    step = 0
    while True:
        value, grads = value_and_grad(problem, params)
        if trace.record(value, step):
            return
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        step += 1


def run_recipe(problem: Problem, start: list[torch.Tensor], trace: Trace) -> dict:
    heavy_ball(problem, [p.clone() for p in start], trace, RECIPE_LR)
    return {"note": f"lr {RECIPE_LR}"}


def run_tuned(problem: Problem, start: list[torch.Tensor], trace: Trace, method: str,
              pilot_steps: int) -> dict:
    """Pick the learning rate whose pilot run (``pilot_steps`` steps, at most a tenth of
    the budget each) ends lowest, then run it from the start; the pilots are inside
    ``trace``'s clock (their steps are not counted in the iterations)."""
    step_fn, grid = (heavy_ball, GD_LRS) if method == "gd" else (adam, ADAM_LRS)
    scores = {}
    for lr in grid:
        pilot = Trace(problem.f_star, trace.max_seconds / 10, pilot_steps)
        step_fn(problem, [p.clone() for p in start], pilot, lr)
        scores[lr] = pilot.gap if math.isfinite(pilot.gap) else math.inf
    best = min(scores, key=scores.get)
    trace.max_seconds += trace.seconds  # the run itself gets the full budget
    step_fn(problem, [p.clone() for p in start], trace, best)
    return {"note": f"lr {best:g} of {len(grid)}"}


def run_scipy(problem: Problem, start: list[torch.Tensor], trace: Trace) -> dict:
    """scipy.optimize.minimize(method="L-BFGS-B") with exact gradients, default memory 10;
    ftol = gtol = 0 so that only the target gap or a failed line search stops it."""
    from scipy.optimize import minimize

    shapes = [p.shape for p in start]
    sizes = [p.numel() for p in start]

    def unflatten(x: np.ndarray) -> list[torch.Tensor]:
        flat = torch.from_numpy(x)
        return [c.view(s) for c, s in zip(torch.split(flat, sizes), shapes)]

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grads = value_and_grad(problem, unflatten(x))
        return value, torch.cat([g.reshape(-1) for g in grads]).numpy()

    count = {"it": 0}

    def callback(intermediate_result) -> None:
        count["it"] += 1
        if trace.record(float(intermediate_result.fun), count["it"]):
            raise StopIteration

    x0 = torch.cat([p.reshape(-1) for p in start]).numpy().copy()
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", callback=callback,
                   options={"maxiter": 10**7, "maxfun": 10**7, "ftol": 0.0, "gtol": 0.0})
    trace.record(float(res.fun), count["it"])
    return {"note": f"{res.nfev} evals"}


def run_ours(problem: Problem, init: dict[str, torch.Tensor], trace: Trace) -> dict:
    """The solver as the theorems call it (solve_ufm for the plain models is solve_deep
    with L = 1): class-mean features for CE, H eliminated in closed form for MSE.  It
    starts from the same weights; its features start at the class means of the same H
    (CE) or are eliminated (MSE)."""

    def log(values: torch.Tensor) -> bool:
        trace.record(float(values.min()))
        # run to the solver's own stopping rule, within the budget like everyone else
        return trace.seconds > trace.max_seconds

    labels = problem.objective.labels
    means = torch.stack([init["H"][..., labels == k].mean(dim=-1) for k in range(problem.K)],
                        dim=-1)
    res = solve_deep(problem.loss, problem.counts, problem.d, [problem.lam_W] * problem.L,
                     problem.lam_H, starts=1, device="cpu", init={**init, "H": means},
                     stop_when=log)
    trace.record(float(res.values.min()), res.result.iterations)
    return {"note": f"{res.result.iterations} it, {res.features}"}


# --------------------------------------------------------------------------- authors' code


def default_authors_dir() -> Path:
    return Path(os.environ.get("NCPROOFS_AUTHORS_DIR", ROOT / "benchmarks" / "_authors"))


def load_dang_module(authors_dir: Path, setting: str) -> types.ModuleType | None:
    """Dang et al.'s ``synthetic_experiment_{balanced,imbalanced}.py`` as a module, or None.

    The only change is the device: the scripts hard-code CUDA (``"cuda"`` and ``.cuda()``),
    which we replace by the CPU in the source text before executing it.  Their files stay
    untouched on disk and are never part of this repository."""
    path = authors_dir / "dang" / f"synthetic_experiment_{setting}.py"
    if not path.exists():
        return None
    source = path.read_text().replace('"cuda"', '"cpu"').replace(".cuda()", ".cpu()")
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # their `import utils`
    module = types.ModuleType(f"dang_{setting}")
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def run_dang(module: types.ModuleType, problem: Problem, init: dict[str, torch.Tensor],
             trace: Trace) -> dict:
    """Their ``main(args)`` with lr 0.1 and momentum 0.9 as released, bias-free, 30,000
    iterations at most.  Two hooks, neither inside their code: a subclass of their
    ``SyntheticModel`` copies our initial point into the model after their own
    initialization (their H is N x d, our transpose) and logs every loss their
    ``forward`` computes; torch's default dtype is float64 during the run (their
    scripts use float32, which cannot resolve a 1e-12 gap).  Their script shuffles the
    labels with its own seed, so our initial features meet the labels in another order."""
    original = module.SyntheticModel
    steps = {"n": 0}

    class Logged(original):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            with torch.no_grad():
                self.H.copy_(init["H"][0].T)
                for l, layer in enumerate(self.fc, start=1):
                    layer.weight.copy_(init[f"W{l}"][0])

        def forward(self, Y):
            out, loss, feats = super().forward(Y)
            if self.training:
                steps["n"] += 1
            if trace.record(float(loss.detach()), steps["n"]):
                raise Budget
            return out, loss, feats

    args = argparse.Namespace(num_classes=problem.K, hidden=problem.d,
                              weight_decay=problem.lam_W, feature_decay=problem.lam_H,
                              depth_linear=problem.L, num_iteration=RECIPE_STEPS,
                              lr=RECIPE_LR, seed=2, bias=False, GOF=False)
    module.SyntheticModel = Logged
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            module.main(args)
    except Budget:
        pass
    finally:
        module.SyntheticModel = original
        torch.set_default_dtype(previous)
    return {"note": f"{steps['n']} it"}


# --------------------------------------------------------------------------- driver


METHODS = ("authors", "recipe", "gd-tuned", "adam-tuned", "scipy", "ours")


@dataclass
class Row:
    problem: Problem
    results: dict[str, dict[str, Any]]


def measure(problem: Problem, seed: int, budget_s: float, pilot_steps: int,
            authors_dir: Path, methods: tuple[str, ...] = METHODS) -> Row:
    init = problem.init(seed)
    start = unbatched(init, problem.L)
    nthreads = fastest_threads(problem, start)
    results: dict[str, dict[str, Any]] = {}
    for name in methods:
        trace = Trace(problem.f_star, budget_s,
                      RECIPE_STEPS if name in ("authors", "recipe") else None)
        if name == "authors":
            module = (load_dang_module(authors_dir, problem.dang)
                      if problem.dang is not None else None)
            if module is None:
                results[name] = {"skipped": "no released code" if problem.dang is None
                                 else f"not found under {authors_dir}/dang"}
                continue
        with peak_rss() as mem, threads(nthreads if name != "ours" else 1):
            trace.start = time.perf_counter()
            if name == "authors":
                extra = run_dang(module, problem, init, trace)
            elif name == "recipe":
                extra = run_recipe(problem, start, trace)
            elif name in ("gd-tuned", "adam-tuned"):
                extra = run_tuned(problem, start, trace, name.split("-")[0], pilot_steps)
            elif name == "scipy":
                extra = run_scipy(problem, start, trace)
            else:
                extra = run_ours(problem, init, trace)
            seconds = trace.seconds
        results[name] = {"hit": dict(trace.hit), "hit_steps": dict(trace.hit_steps),
                         "seconds": seconds, "gap": trace.gap,
                         "steps": trace.steps, "MB": mem["MB"], "threads": nthreads,
                         **extra}
    authors, recipe = results.get("authors", {}), results.get("recipe", {})
    if "hit" in authors and "hit_steps" in recipe and authors["steps"] > 0:
        # their loop is the recipe (same optimizer, lr, momentum, problem): estimate their
        # time to each gap as their seconds per iteration x the recipe's iterations
        per_step = authors["seconds"] / authors["steps"]
        authors["estimate"] = {g: None if recipe["hit_steps"][g] is None or
                               authors["hit"][g] is not None
                               else per_step * recipe["hit_steps"][g] for g in GAPS}
    return Row(problem, results)


def fmt_time(r: dict, gap: float) -> str:
    t = r["hit"][gap]
    return f"{t:.3g}" if t is not None else "-"


def ratio(base: dict, ours: dict, gap: float) -> tuple[float | None, bool]:
    """(baseline time / our time to ``gap``, exact?) -- a lower bound when the baseline
    never reached the gap (its whole run time is used); None when ours did not reach it."""
    t_ours = ours["hit"][gap]
    if t_ours is None or "skipped" in base:
        return None, False
    t_base = base["hit"][gap]
    if t_base is None:
        return base["seconds"] / t_ours, False
    return t_base / t_ours, True


def fmt_ratio(base: dict, ours: dict, gap: float) -> str:
    value, exact = ratio(base, ours, gap)
    if value is None:
        return "n/a"
    return f"{value:.3g}x" if exact else f">={value:.3g}x"


def table(rows: list[Row]) -> str:
    lines = ["| problem | f* (status) | method | t(1e-8) s | t(1e-12) s | final gap | "
             "iterations | peak MB | notes | ratio 1e-8 | ratio 1e-12 |",
             "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for row in rows:
        p, ours = row.problem, row.results["ours"]
        for name in METHODS:
            r = row.results.get(name)
            if r is None:
                continue
            head = (f"{p.label} | {p.f_star:.12g} ({p.status})" if name == METHODS[0]
                    else " | ")
            if "skipped" in r:
                lines.append(f"| {head} | {name} | - | - | - | - | - | skipped: "
                             f"{r['skipped']} | | |")
                continue
            ratios = ("" if name == "ours" else fmt_ratio(r, ours, GAPS[0]),
                      "" if name == "ours" else fmt_ratio(r, ours, GAPS[1]))
            if r.get("estimate") and any(v is not None for v in r["estimate"].values()):
                est = r["estimate"]
                r = {**r, "note": r["note"] + "; est. at its s/it x the recipe's iterations: "
                     + ", ".join(f"{g:.0e}: {v:.3g} s" for g, v in est.items()
                                 if v is not None)
                     + " (ratio " + ", ".join(
                         f"{v / ours['hit'][g]:.3g}x" for g, v in est.items()
                         if v is not None and ours["hit"][g]) + ")"}
            lines.append(
                f"| {head} | {name} | {fmt_time(r, GAPS[0])} | {fmt_time(r, GAPS[1])} | "
                f"{r['gap']:.1e} | {r['steps']} | {r['MB']:.1f} | {r['note']}, "
                f"{r['threads']} thr | {ratios[0]} | {ratios[1]} |")
    return "\n".join(lines)


GOALS = {"authors": 50.0, "recipe": 50.0, "gd-tuned": 10.0, "adam-tuned": 10.0,
         "scipy": 1.0}


def goal_summary(rows: list[Row]) -> str:
    """Per baseline: the worst ratio over problems at each gap, against its goal."""
    lines = ["| baseline | goal | worst ratio 1e-8 (problem) | worst ratio 1e-12 (problem) | met |",
             "|---|---:|---|---|---|"]
    for name, goal in GOALS.items():
        cells, missed, unshown = [], False, False
        for gap in GAPS:
            worst = None
            for row in rows:
                r = row.results.get(name)
                if r is None or "skipped" in r:
                    continue
                value, exact = ratio(r, row.results["ours"], gap)
                if value is None:
                    continue
                if worst is None or value < worst[0]:
                    worst = (value, exact, row.problem.label)
            if worst is None:
                cells.append("n/a")
                continue
            cells.append(f"{'' if worst[1] else '>='}{worst[0]:.3g}x ({worst[2]})")
            for row in rows:  # an exact ratio below the goal is a miss; a lower bound is not
                r = row.results.get(name)
                if r is None or "skipped" in r:
                    continue
                value, exact = ratio(r, row.results["ours"], gap)
                if value is not None and value < goal:
                    missed, unshown = missed or exact, unshown or not exact
        verdict = "NO" if missed else "not shown (lower bounds)" if unshown else "yes"
        lines.append(f"| {name} | {goal:g}x | {cells[0]} | {cells[1]} | {verdict} |")
    return "\n".join(lines)


def problems(quick: bool) -> list[Problem]:
    dang = {"K": 4, "d": 64, "lam_W": "5e-4", "lam_H": "5e-4"}
    out = [
        Problem("ufm-ce K=10", "ufm-ce",
                {"K": 10, "n": 50, "d": 10, "lam_W": "5e-4", "lam_H": "5e-4", "bias": "false"}),
        Problem("ufm-mse K=10", "ufm-mse",
                {"K": 10, "n": 50, "d": 10, "lam_W": "5e-4", "lam_H": "5e-4", "bias": "false"}),
    ]
    if not quick:
        out.insert(1, Problem("ufm-ce K=100", "ufm-ce", {"K": 100, "n": 5, "d": 100,
                                                         "lam_W": "5e-4", "lam_H": "5e-4",
                                                         "bias": "false"}))
    for L in (1, 3) if quick else (1, 3, 6):
        out.append(Problem(f"deep-linear-mse L={L} balanced", "deep-linear-mse",
                           {**dang, "n": 100, "L": L}, init_scale=0.1, dang="balanced"))
    for L in (3,) if quick else (1, 3, 6):
        out.append(Problem(f"deep-linear-mse L={L} imbalanced", "deep-linear-mse",
                           {**dang, "n": "200,100,50,50", "L": L}, init_scale=0.1,
                           dang="imbalanced"))
    out.append(Problem("deep-linear-ce L=3", "deep-linear-ce",
                       {"K": 3, "n": 50, "d": 8, "lam_W": "1e-3", "lam_H": "1e-3", "L": 3}))
    return out


# --------------------------------------------------------------------------- scaling


def scaling(baseline: str, quick: bool, seed: int, budget_s: float, pilot_steps: int,
            authors_dir: Path) -> dict[str, list[tuple[int, float | None, float | None]]]:
    """Time to 1e-8 for ours and ``baseline`` on ufm-ce: versus K (d = K, n = 2) and
    versus N (K = 10, d = 10, n = N/K)."""
    Ks = (10, 30, 100) if quick else (10, 30, 100, 300, 1000)
    Ns = (100, 1000, 10_000) if quick else (100, 1000, 10_000, 100_000)
    out: dict[str, list] = {"K": [], "N": []}
    for axis, values in (("K", Ks), ("N", Ns)):
        for v in values:
            K = v if axis == "K" else 10
            n = 2 if axis == "K" else v // 10
            p = Problem(f"ufm-ce K={K} n={n}", "ufm-ce",
                        {"K": K, "n": n, "d": K, "lam_W": "5e-4", "lam_H": "5e-4",
                         "bias": "false"})
            row = measure(p, seed, budget_s, pilot_steps, authors_dir, (baseline, "ours"))
            b, o = row.results[baseline], row.results["ours"]
            out[axis].append((v, o["hit"][GAPS[0]], b["hit"][GAPS[0]]))
            print(f"  scaling {axis}={v}: ours {fmt_time(o, GAPS[0])} s, {baseline} "
                  f"{fmt_time(b, GAPS[0])} s", flush=True)
    return out


def slope(points: list[tuple[int, float | None]]) -> float | None:
    xs = [(x, t) for x, t in points if t is not None and t > 0]
    if len(xs) < 2:
        return None
    return float(np.polyfit(np.log([x for x, _ in xs]), np.log([t for _, t in xs]), 1)[0])


def plot_scaling(curves: dict, baseline: str, path_stem: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"ours": "#0072B2", baseline: "#D55E00"}  # Okabe-Ito blue / vermillion
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, axis, xlabel in ((axes[0], "K", "K (classes), d = K, n = 2"),
                             (axes[1], "N", "N (samples), K = d = 10")):
        for name, idx, marker, style in (("ours", 1, "o", "-"), (baseline, 2, "s", "--")):
            pts = [(x, r[idx]) for x, r in zip([r[0] for r in curves[axis]], curves[axis])]
            good = [(x, t) for x, t in pts if t is not None]
            s = slope(pts)
            label = f"{name} (slope {s:.2f})" if s is not None else name
            if good:
                ax.loglog(*zip(*good), marker=marker, linestyle=style, color=colors[name],
                          label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds to gap 1e-8")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("ufm-ce: time to within 1e-8 of the certified optimum (log-log)")
    fig.tight_layout()
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for ext, kw in (("png", {"dpi": 200}), ("pdf", {})):
        path = path_stem.with_suffix(f".{ext}")
        fig.savefig(path, **kw)
        written.append(str(path))
    plt.close(fig)
    return written


def best_baseline(rows: list[Row]) -> str:
    """The baseline with the smallest total time to 1e-8 over the ufm-ce rows."""
    totals = {}
    for name in ("recipe", "gd-tuned", "adam-tuned", "scipy"):
        total = 0.0
        for row in rows:
            if row.problem.theorem != "ufm-ce":
                continue
            r = row.results[name]
            total += r["hit"][GAPS[0]] if r["hit"][GAPS[0]] is not None else 10 * r["seconds"]
        totals[name] = total
    return min(totals, key=totals.get)


def write_docs(text: str, path: Path) -> None:
    doc = path.read_text()
    if DOCS_BEGIN not in doc:
        doc = doc.rstrip() + f"\n\n{DOCS_BEGIN}\n{DOCS_END}\n"
    head, rest = doc.split(DOCS_BEGIN, 1)
    _, tail = rest.split(DOCS_END, 1)
    path.write_text(f"{head}{DOCS_BEGIN}\n{text}\n{DOCS_END}{tail}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer problems, short budgets")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per method and problem (default 1.5 quick, 15 full)")
    ap.add_argument("--authors-dir", type=Path, default=default_authors_dir(),
                    help="where fetch_authors.sh put the authors' code "
                         "(env NCPROOFS_AUTHORS_DIR; default benchmarks/_authors)")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--figure", type=Path, default=ROOT / "out" / "bench_baselines_scaling",
                    help="figure path without extension (PNG 200 dpi + PDF)")
    ap.add_argument("--write-docs", action="store_true",
                    help="write the tables between the markers in docs/benchmarks.md and the "
                         "figure to docs/figures/")
    args = ap.parse_args(argv)
    budget = args.budget if args.budget is not None else (1.5 if args.quick else 15.0)
    pilot_steps = 200 if args.quick else 1000
    t_start = time.perf_counter()
    load_before = os.getloadavg()
    dang_present = (args.authors_dir / "dang").exists()
    shown_dir = (args.authors_dir.resolve().relative_to(ROOT)
                 if args.authors_dir.resolve().is_relative_to(ROOT) else args.authors_dir)
    header = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f"{' (--quick)' if args.quick else ''}: torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} at the start; "
        f"budget {budget:g} s per method and problem (the recipe and the authors' code "
        f"also stop at {RECIPE_STEPS} steps), lr pilots {pilot_steps} steps, seed {args.seed}.",
        "Authors' code: " + (f"Dang et al. from {shown_dir / 'dang'} (commit "
                             f"{DANG_COMMIT[:12]} expected)" if dang_present else
                             f"not found under {shown_dir}; column skipped (run "
                             "benchmarks/fetch_authors.sh)") + "."]
    print("\n".join(header), flush=True)
    # first calls of torch's kernels, autograd and L-BFGS cost seconds that are no
    # method's: run every method once on a tiny problem first (the authors' code too)
    warm = Problem("warm-up", "deep-linear-mse", {"K": 4, "d": 4, "lam_W": "1e-2",
                                                  "lam_H": "1e-2", "n": 100, "L": 2},
                   dang="balanced")
    measure(warm, args.seed + 1, 0.3, 20, args.authors_dir)
    rows = []
    for p in problems(args.quick):
        print(f"- {p.label}: f* = {p.f_star:.15g} ({p.status}, gap {p.cert_gap})", flush=True)
        rows.append(measure(p, args.seed, budget, pilot_steps, args.authors_dir))
        for name, r in rows[-1].results.items():
            if "skipped" in r:
                print(f"    {name:>10}: skipped ({r['skipped']})", flush=True)
            else:
                print(f"    {name:>10}: t(1e-8) {fmt_time(r, GAPS[0]):>7} s, t(1e-12) "
                      f"{fmt_time(r, GAPS[1]):>7} s, final gap {r['gap']:.1e}, "
                      f"{r['seconds']:.2f} s, {r['note']}", flush=True)
    main_table, goals = table(rows), goal_summary(rows)
    parts = ["\n".join(header), "", main_table, "", goals]
    if not args.no_scaling:
        baseline = best_baseline(rows)
        print(f"scaling: ours vs {baseline} (fastest baseline on ufm-ce above)", flush=True)
        curves = scaling(baseline, args.quick, args.seed, budget, pilot_steps,
                         args.authors_dir)
        stem = ROOT / "docs" / "figures" / "bench_baselines_scaling" if args.write_docs \
            else args.figure
        written = plot_scaling(curves, baseline, stem)
        slopes = []
        for axis in ("K", "N"):
            pts = curves[axis]
            so, sb = slope([(x, o) for x, o, _ in pts]), slope([(x, b) for x, _, b in pts])
            slopes.append(f"time vs {axis}: ours slope "
                          f"{'n/a' if so is None else f'{so:.2f}'}, {baseline} slope "
                          f"{'n/a' if sb is None else f'{sb:.2f}'}; points "
                          + ", ".join(f"{axis}={x}: {'-' if o is None else f'{o:.3g}'} / "
                                      f"{'-' if b is None else f'{b:.3g}'} s"
                                      for x, o, b in pts))
        parts += ["", f"Scaling (ufm-ce, time to 1e-8, ours / {baseline}): "
                  + "; ".join(slopes) + f". Figure: {', '.join(Path(w).name for w in written)}."]
    load_after = os.getloadavg()
    parts += ["", f"Total {time.perf_counter() - t_start:.0f} s; load average "
              f"{load_after[0]:.2f} at the end."]
    text = "\n".join(parts)
    print("\n" + text)
    if args.write_docs:
        write_docs(text, ROOT / "docs" / "benchmarks.md")


if __name__ == "__main__":
    main()
