"""Morshuis et al. 2022, "Adversarial robustness of MR image reconstruction under realistic
perturbations": `profile` (settings), `experiments` (tables), `claims` (the findings checked on
them), `figures` (drawn from stored files) and `explorer` (interactive attacks)."""
