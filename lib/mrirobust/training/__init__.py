"""Training by concern: `checkpoints` (names, hashes, atomic save, checks), `datasets` (masked
slices), `loop` (the supervised epoch loop and DDP helpers) and `recipes` (per method: optimiser,
loss, epochs or λ search). `mrirobust.zoo` joins them with the model registry."""
