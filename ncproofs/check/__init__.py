"""An independent checker for ncproofs proof files (``ncproofs check FILE.json``).

It imports nothing from the rest of the package except the exact-number parser
(:mod:`ncproofs.exact`): the standard library (``fractions``, ``json``, ``ast``) and
python-flint only.  What it checks, and with which arithmetic: docs/checking.md.
"""
