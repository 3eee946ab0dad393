"""Statistics shared by the studies: `resampling` (every bootstrap and permutation test),
`powerlaw` (study A's fits).

Import the submodules directly (e.g. `from sahlab.stats.powerlaw import fit_power_law`);
this package file stays empty so importing one submodule never pulls in the others.
"""
