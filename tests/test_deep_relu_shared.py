"""eufm-relu (relu=true) and dufm-lowrank at L = 2 are one model: they share one model
object, one cached search and one verdict, so they can never contradict each other
(issue: eufm-relu said inconclusive at 0.49622972 where dufm-lowrank refuted the same
claim with a point of value 0.4924185864).  Independent check: the saved point is
re-evaluated with numpy."""

from __future__ import annotations

import numpy as np
import torch

from ncproofs.theorems.base import get_theorem

torch.set_num_threads(1)

LAM = "0.06548"


def test_eufm_relu_and_dufm_lowrank_agree_at_l2(tmp_path, monkeypatch):
    monkeypatch.setenv("NCPROOFS_OUT", str(tmp_path))
    dufm, eufm = get_theorem("dufm-lowrank"), get_theorem("eufm-relu")
    s1 = dufm.spec({"K": 6, "n": 1, "d": 6, "L": 2, "lam_W": LAM, "lam_H": LAM})
    s2 = eufm.spec({"K": 6, "n": 1, "d": 6, "lam_W": LAM, "lam_W1": LAM, "lam_H": LAM,
                    "relu": "true"})
    c1 = dufm.certify(s1, dufm.closed_form(s1))
    c2 = eufm.certify(s2, eufm.closed_form(s2))
    assert c1.status == c2.status == "refuted"
    assert c1.upper_bound == c2.upper_bound < 0.4962  # the DNC claim is 0.49622972...
    # the saved point, re-evaluated in numpy: f = (1/N) sum 1/2 |W2 relu(W1 h) - e_y|^2 + ...
    data = np.load(c2.details["saved_point"])
    W1, W2, H = data["W1"], data["W2"], data["H"]
    Z = W2 @ np.maximum(W1 @ H, 0)
    Y = np.eye(6)[:, data["labels"]]
    lam = float(LAM)
    f = (0.5 * ((Z - Y) ** 2).sum() / H.shape[1]
         + lam / 2 * ((W1 ** 2).sum() + (W2 ** 2).sum() + (H ** 2).sum()))
    assert abs(f - c2.upper_bound) < 1e-9 and f < 0.4962
