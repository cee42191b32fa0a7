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


def test_immutable():
    spec = UFMSpec.from_params(GOOD)
    with pytest.raises(AttributeError):
        spec.K = 5  # type: ignore[misc]
