"""Tirer & Bruna (2022), extended UFM: does the ReLU change the optimum?

One command:  python derivations/relu_eufm.py      (about 1 minute on 2 CPU cores)

For K in {2, 3, 4} and weight decays at fractions of the zero threshold (n = 1, d = K,
lam_W = lam_W1 = lam_H = lam), prints the certified optimum of the linear extended model
(eufm-relu, relu=false: exact root isolation + interval point), the ReLU model's status
(relu=true: conditional for K = 2 on Súkeník et al.'s reduction, otherwise a seeded search
for a lower point) and the best value a multi-start torch solve of the ReLU model reaches.
Tirer & Bruna's claim: the two optima coincide.  Then the K = 6, L = 2 case near the
threshold where a lower ReLU point exists (see dufm-lowrank).
"""

from __future__ import annotations

from fractions import Fraction

from ncproofs.certify.power_scalar import PowerScalar
from ncproofs.theorems.base import get_theorem
from ncproofs.theorems.dufm_lowrank import SEARCH_SEED


def lam_threshold(K: int) -> float:
    """(3/2) lam = C_thr(w = 1/K, m = 3) with n = 1 and equal weight decays."""
    return float(PowerScalar(Fraction(1, K), Fraction(1), 3).threshold_C()) * 2 / 3


def main() -> None:
    th = get_theorem("eufm-relu")
    print(f"{'K':>2} {'lam/thr':>7} {'linear f* (certified)':>24} {'ReLU status':>13} "
          f"{'ReLU torch best':>16} {'diff':>9}")
    for K in (2, 3, 4):
        for ratio in (0.3, 0.8, 1.2):
            lam = Fraction(lam_threshold(K) * ratio).limit_denominator(10**8)
            base = {"K": K, "n": 1, "d": K, "lam_W": lam, "lam_W1": lam, "lam_H": lam}
            lin = th.spec({**base, "relu": "false"})
            c_lin = th.certify(lin, th.closed_form(lin))
            relu = th.spec({**base, "relu": "true"})
            c_relu = th.certify(relu, th.closed_form(relu))
            num = th.solve(relu, device="cpu", starts=8, seed=0).summary["objective"]
            f = float(th.closed_form(lin).objective)
            print(f"{K:>2} {ratio:>7.2f} {f:>24.15f} {c_relu.status:>13} {num:>16.12f} "
                  f"{num - f:>9.1e}   linear: {c_lin.status}, gap {c_lin.gap:.1e}")
    lowrank = get_theorem("dufm-lowrank")
    spec = lowrank.spec({"K": 6, "n": 1, "d": 6, "L": 2, "lam_W": "0.06548",
                         "lam_H": "0.06548"})
    cert = lowrank.certify(spec, lowrank.closed_form(spec), seed=SEARCH_SEED)
    print("\nK = 6, L = 2 (= the extended model with ReLU), lam = 0.99 lam_thr:")
    print(f"  {cert.status}: {cert.reason}")
    print("Conclusion: the claim holds wherever we could certify or search (K <= 4 here); "
          "it fails near the threshold for K = 6.")


if __name__ == "__main__":
    main()
