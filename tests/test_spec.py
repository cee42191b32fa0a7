"""Spec validation: every bad input raises SpecError naming the parameter and range."""

from fractions import Fraction

import pytest

from ncproofs.spec import SpecError, UFMSpec

GOOD = {"K": 4, "n": 3, "d": 5, "lam_W": "3e-3", "lam_H": "7e-3"}


def test_decimal_strings_are_exact_rationals():
    spec = UFMSpec.from_params(GOOD)
    assert spec.lam_W == Fraction(3, 1000)
    assert spec.n == (3, 3, 3, 3) and spec.balanced and spec.N == 12


def test_float_input_reads_as_typed():
    spec = UFMSpec(K=2, n=1, d=1, lam_W=0.1, lam_H=1e-3)
    assert spec.lam_W == Fraction(1, 10)


def test_imbalanced_list():
    spec = UFMSpec.from_params({**GOOD, "n": "6,3,1,2"})
    assert spec.n == (6, 3, 1, 2) and not spec.balanced and spec.N == 12
    with pytest.raises(SpecError, match="balanced"):
        _ = spec.n_balanced


@pytest.mark.parametrize(
    "change, pattern",
    [
        ({"K": 1}, r"K must be >= 2"),
        ({"K": "2.5"}, r"K must be an integer"),
        ({"n": 0}, r"n must be >= 1"),
        ({"n": "3,3"}, r"n must be one int or a list of K = 4 ints"),
        ({"d": 0}, r"d must be >= 1"),
        ({"lam_W": "-1e-3"}, r"lam_W must be > 0"),
        ({"lam_H": "abc"}, r"lam_H must be a number"),
        ({"lam_H": "nan"}, r"lam_H must be a finite number"),
        ({"lam_b": -1}, r"lam_b must be >= 0"),
        ({"bias": "maybe"}, r"bias must be true or false"),
        ({"bias": "false", "lam_b": "1e-2"}, r"lam_b must be 0 when bias=false"),
        ({"foo": 1}, r"unknown parameter 'foo'; allowed: K, n, d"),
    ],
)
def test_bad_input(change, pattern):
    with pytest.raises(SpecError, match=pattern):
        UFMSpec.from_params({**GOOD, **change})


def test_missing_parameter():
    params = dict(GOOD)
    del params["d"]
    with pytest.raises(SpecError, match="missing parameter d"):
        UFMSpec.from_params(params)
    with pytest.raises(SpecError, match=r"missing parameters d \(.*\); lam_H \("):
        UFMSpec.from_params({k: v for k, v in GOOD.items() if k not in ("d", "lam_H")})


def test_immutable():
    spec = UFMSpec.from_params(GOOD)
    with pytest.raises(AttributeError):
        spec.K = 5  # type: ignore[misc]


# --------------------------------------------------------------------------- per-theorem specs


def test_every_theorem_lists_each_parameter_once_with_a_range():
    """`ncproofs list -v` rows (Spec.describe): each name once, no "any value" range, a
    choice's options printed once (in the range column, not again in the doc)."""
    from ncproofs.theorems.base import load_all

    for theorem in load_all().values():
        rows = theorem.spec_type.describe()
        names = [name for name, _, _ in rows]
        assert len(names) == len(set(names)), theorem.id
        for name, rng, doc in rows:
            assert rng and rng != "any value", (theorem.id, name)
            # a field that only takes one value is not a parameter ("fixed", not listed)
            assert not any(w in doc for w in ("must be", "unused", "ignored")), (theorem.id, name)
            if " | " in rng:
                assert rng not in doc, (theorem.id, name)


def test_non_ufm_specs_do_not_carry_ufm_fields():
    from ncproofs.spec import MarginCodeSpec, Relu2Spec, SphereSpec, UFMSpec

    for spec_type in (SphereSpec, MarginCodeSpec, Relu2Spec):
        assert not issubclass(spec_type, UFMSpec)
        fields = {name for name, _, _ in spec_type.describe()}
        assert not fields & {"lam_W", "lam_H", "lam_b"}, spec_type


def test_relu2_old_names_are_aliases():
    from ncproofs.spec import Relu2Spec

    old = Relu2Spec.from_params({"n": 4, "lam_W": "2", "d": 3, "K": 2, "lam_H": 0})
    new = Relu2Spec.from_params({"n": 4, "beta": "2", "width": 3})
    assert old == new and new.beta == Fraction(2) and new.width == 3
    assert Relu2Spec.from_params({"n": 4, "beta": 1, "m": 5}).width == 5
    with pytest.raises(SpecError, match=r"lam_W \(beta\) must be > 0"):
        Relu2Spec.from_params({"n": 4, "lam_W": "0"})
    with pytest.raises(SpecError, match=r"K must be 2"):
        Relu2Spec.from_params({"n": 4, "beta": 1, "K": 3})
    with pytest.raises(SpecError, match=r"data must be one of iris, whitened, rank-one"):
        Relu2Spec.from_params({"n": 4, "beta": 1, "data": "mnist"})


@pytest.mark.parametrize("name, value, ok", [
    ("lam_W", "0", True), ("lam_H", "0.0", True), ("bias", "false", True),
    ("lam_W", "1e-3", False), ("lam_b", "1", False), ("bias", "true", False),
])
def test_sphere_accepts_ufm_names_only_at_their_fixed_value(name, value, ok):
    from ncproofs.spec import SphereSpec

    params = {"K": 4, "n": 2, "d": 3, "tau": 2, name: value}
    if ok:
        assert SphereSpec.from_params(params) == SphereSpec(K=4, n=2, d=3, tau=2)
    else:
        with pytest.raises(SpecError, match=rf"^{name} must be"):
            SphereSpec.from_params(params)


def test_multilabel_m_range_enforced_and_listed():
    from ncproofs.theorems.multilabel_ce import MultiLabelSpec

    rows = {name: rng for name, rng, _ in MultiLabelSpec.describe()}
    assert rows["m"] == ">= 1 and <= K - 1" and rows["n"] == "int >= 1 or m ints"
    base = {"K": 4, "n": 1, "d": 3, "lam_W": 1, "lam_H": 1}
    for bad in (0, 4):
        with pytest.raises(SpecError, match=r"^m must be"):
            MultiLabelSpec.from_params({**base, "m": bad})


@pytest.mark.parametrize("theorem_id", ["dufm-binary", "eufm-relu", "ufm-mse-imbalanced",
                                        "dufm-lowrank"])
def test_bias_free_theorems_accept_only_bias_false(theorem_id):
    from ncproofs.theorems.base import get_theorem

    spec_type = get_theorem(theorem_id).spec_type
    assert "bias" not in {name for name, _, _ in spec_type.describe()}
    base = {"K": 2, "n": 2, "d": 2, "lam_W": "0.02", "lam_H": "0.02", "L": 3, "lam_W1": "0.02"}
    known = {f for f, _, _ in spec_type.describe()}
    base = {k: v for k, v in base.items() if k in known}
    assert spec_type.from_params({**base, "bias": "false", "lam_b": "0"}).bias is False
    with pytest.raises(SpecError, match=r"^bias must be false"):
        spec_type.from_params({**base, "bias": "true"})
    with pytest.raises(SpecError, match=r"^lam_b must be 0"):
        spec_type.from_params({**base, "lam_b": "1e-2"})
    # built directly (not from params), the fixed value is enforced by the same rule
    valid = spec_type.from_params(base)
    with pytest.raises(SpecError, match=r"^bias must be false"):
        valid.replace(bias=True)
