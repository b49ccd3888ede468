"""Training of the reconstruction networks; `adversarial` holds the min-max loops."""
