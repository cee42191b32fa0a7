r"""What a bound rests on and where it comes from: the typed assumptions (lemmas and
reductions) and the source labels that certificates carry.

Every lemma below is a proven statement that does *not* imply the minimizer's structure
under test; each is stated and proved (or cited) in docs/certificates.md.  A
``reduction`` is a statement that implies the structure (typically a paper's main
theorem); a lower bound resting on one makes the certificate ``conditional``
(:func:`ncproofs.certify.certificate.decide`).  One place for the wording, so that the
docs table and every theorem say the same thing.
"""

from __future__ import annotations

from .certificate import LEMMA, REDUCTION, Assumption

# ---------------------------------------------------------------- lemmas (proved, cited)

_JENSEN_REF = ("Jensen's inequality (S. Boyd, L. Vandenberghe, Convex Optimization, 2004, "
               "Sec. 3.1.8); docs/certificates.md, lemma L1")


def jensen(loss: str) -> Assumption:
    """L1: a loss convex in the logits is minimized, for fixed weights, by class means."""
    return Assumption(
        f"{loss} is convex in the logits, so replacing the features of each class (label "
        "set) by their mean does not increase the objective (Jensen)", LEMMA, _JENSEN_REF)


def jensen_fixed_weights(loss: str) -> Assumption:
    """L1 for a deep linear network: for fixed weights the logits are linear in h."""
    return Assumption(
        f"{loss} is convex in the features for fixed linear weights, so class-mean "
        "features are optimal (Jensen)", LEMMA, _JENSEN_REF)


FACTORIZATION = Assumption(
    "factorization inequality lam_W/2|W|^2 + lam_H/2|H D|^2 >= sqrt(lam_W lam_H)|W H D|_* "
    "for every inner width d (AM-GM and |AB|_* <= |A|_F |B|_F), with equality at the "
    "balanced factorization when d >= rank", LEMMA,
    "B. Recht, M. Fazel, P. Parrilo, SIAM Review 52 (2010), Lemma 5.1; N. Srebro, "
    "J. Rennie, T. Jaakkola, Maximum-Margin Matrix Factorization, NIPS 2004; "
    "docs/certificates.md, lemma L2")

DEPTH_FACTORIZATION = Assumption(
    "depth-L factorization inequality: for M = W_L ... W_1 G (any inner widths), "
    "sum_l lam_l/2 |W_l|^2 + lam_H/2 |G|^2 >= ((L+1)/2)(lam_H prod_l lam_l)^(1/(L+1)) "
    "sum_i sigma_i(M)^(2/(L+1)), with equality for the balanced factorization when the "
    "width is >= rank M (AM-GM plus Hoelder's inequality for Schatten quasi-norms)", LEMMA,
    "F. Shang, Y. Liu, J. Cheng, Unified scalable equivalent formulations for Schatten "
    "quasi-norms (2016); H. Dang et al., ICML 2023 (arXiv 2301.00437), "
    "Sec. 3 and appendix; docs/certificates.md, lemma L3")

VON_NEUMANN = Assumption(
    "von Neumann's trace inequality <A, B> <= sum_i sigma_i(A) sigma_i(B), hence "
    "|A - B|_F^2 >= sum_i (sigma_i(A) - sigma_i(B))^2 (singular values sorted)", LEMMA,
    "J. von Neumann, Tomsk Univ. Rev. 1 (1937); L. Mirsky, Monatsh. Math. 79 (1975); "
    "docs/certificates.md, lemma L4")

WEAK_DUALITY = Assumption(
    "weak (Fenchel) duality: a dual-feasible point bounds the convex relaxation from "
    "below; CE(z, k) = max_{p in simplex} <p - e_k, z> + Ent(p)", LEMMA,
    "Boyd & Vandenberghe 2004, Sec. 5.2.2; VSDP: C. Jansson, D. Chaykin, C. Keil, SIAM "
    "J. Optim. 18 (2007); docs/certificates.md, lemma L5")

CENTRED_BIAS = Assumption(
    "free bias: the optimal unregularized bias absorbs the mean logit, and right-"
    "multiplying by the centring projector I - 11^T/K does not increase singular values",
    LEMMA, "docs/certificates.md, lemma L6 (|XP|_S <= |X|_S |P|_2 = |X|_S)")

GRAM_RELAXATION = Assumption(
    "on the sphere the logits are tau times a block of the PSD Gram matrix of the unit "
    "rows of W and the features (unit diagonal); dropping rank <= d enlarges the "
    "feasible set (valid for every d), and class features may be averaged in the Gram "
    "matrix (permutation invariance + convexity of CE in the logits)", LEMMA,
    "docs/certificates.md, lemma L7; ncproofs.certify.gram")

PERMUTATION_AVERAGING = Assumption(
    "permutation averaging: CE is convex and invariant under relabelling classes, so over "
    "a nuclear-norm ball |Z|_* <= tau the data term is >= log(1 + (K-1) e^(-tau/(K-1))); "
    "sum sigma_i^p >= (sum sigma_i)^p for 0 < p <= 1", LEMMA,
    "docs/certificates.md, lemma L8; ncproofs.theorems.deep_linear_ce")

FROBENIUS_RELU = Assumption(
    "Frobenius bound for any ReLU network: |max(A,0)|_F <= |A|_F and |AB|_F <= |A|_F|B|_F "
    "give |Z|_F <= |H|_F prod_l |W_l|_F; AM-GM on the L+1 weight-decay terms; reverse "
    "triangle inequality |Z - Y|_F >= ||Z|_F - sqrt(N)|", LEMMA,
    "docs/certificates.md, lemma L9; ncproofs.theorems._deep_relu.frobenius_scalar")

MARGIN_LEMMAS = Assumption(
    "upper bounds on the one-vs-rest margin, each proved in ncproofs.certify.margin: Gram "
    "SDP relaxation with an exact dual (rho <= K/(K-1)), Radon partition + convexity "
    "(rho <= 1 for K >= d + 2), polygon lemma (d = 2: rho <= 1 - cos(2 pi/K))", LEMMA,
    "docs/certificates.md, lemma L10; orthoplex regime also in Alcala et al., arXiv "
    "2603.20587")

RELU2_WEAK_DUALITY = Assumption(
    "weak duality for the two-layer ReLU network: every network of any width maps to a "
    "feasible point of the convex program over all activation patterns with no larger "
    "cost (the easy direction of Pilanci & Ergen's Theorem 1), and a dual-feasible point "
    "bounds that program from below", LEMMA,
    "M. Pilanci, T. Ergen, ICML 2020, Sec. 3 and Theorem 1; docs/certificates.md, "
    "lemma L11")

FOCAL_MINORANT = Assumption(
    "convex minorant of the focal loss: FL(z, y) = h(LSE_{j != y}(z_j - z_y)) and, where "
    "E(r_c) >= 0 and D(r_c) <= 1 (checked in interval arithmetic at the candidate), h "
    "continued by its tangent beyond u_c is convex, nondecreasing and <= h, so "
    "FL >= a convex loss that equals FL at the candidate; with it Jensen, the "
    "factorization inequality and permutation averaging bound f by a convex 1-D problem",
    LEMMA, "docs/certificates.md, lemma L12; ncproofs.certify.focal")

# ---------------------------------------------------------------- reductions (the claim)

SUKENIK_BINARY = Assumption(
    "Súkeník, Mondelli & Lampert (NeurIPS 2023), Theorem 3.1: for K = 2 every global "
    "minimizer of the deep ReLU UFM is DNC (collapsed features, orthogonal nonnegative "
    "post-ReLU class means, aligned balanced layers), so the optimum equals the scalar "
    "reduction's -- the claim under test, not re-proved here", REDUCTION,
    "P. Súkeník, M. Mondelli, C. Lampert, Deep Neural Collapse Is Provably Optimal for the "
    "Deep Unconstrained Features Model, NeurIPS 2023, Theorem 3.1")

ZHOU_FOCAL = Assumption(
    "Zhou et al. (NeurIPS 2022), Theorem 3.1: every global minimizer of the focal-loss UFM "
    "with weight decay is simplex-ETF collapsed (W rows a simplex ETF, h_k proportional to "
    "w_k, constant bias), so min f = min_{a >= 0} g(a) -- the claim under test (the focal "
    "loss is not convex in the logits, so no relaxation bound is available)", REDUCTION,
    "J. Zhou et al., Are All Losses Created Equal: A Neural Collapse Perspective, NeurIPS "
    "2022, Theorem 3.1")

# ---------------------------------------------------------------- where a bound comes from

EXACT_DUAL = "exact dual point (rational, feasibility checked in exact arithmetic)"
INTERVAL_DUAL = "dual point checked in interval arithmetic"
EXACT_ROOTS = "exact root isolation of a scalar reduction (python-flint)"
INTERVAL_BRANCH_AND_BOUND = "interval branch and bound of a scalar reduction"
EXACT_LEMMA = "exact bound from a proved lemma"
EXPLICIT_POINT = "interval value of an explicit point"
SEARCH_POINT = "interval value of a point found by a random-start search"
FLOAT_SOLVER = "float solver value (not rigorous)"
