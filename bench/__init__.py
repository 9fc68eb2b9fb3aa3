"""The benchmark drivers (not tests). Run from the repository root as modules, e.g.
`python3 -m bench.run` (what scripts/bench.sh does) or `python3 -m bench.chain_cost`; they share
the root's `lab` package with the tests."""
