"""Morshuis et al. 2022, "Adversarial robustness of MR image reconstruction under realistic
perturbations": `profile` (settings), `experiments` (tables and example images), `claims` (the
findings checked on the stored tables), `figures` (drawn from the stored files) and `explorer`
(interactive attacks). Import the submodules you need; this package imports none of them, so
that `mrirobust.papers` can read `profile` without a cycle through `experiments`."""
