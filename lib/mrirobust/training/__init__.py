"""Training by concern: `checkpoints` (names, hashes, atomic save, checks), `datasets` (masked
slices), `loop` (the supervised epoch loop and DDP helpers), `recipes` (per method: optimiser,
loss, epochs or λ search) and `adversarial` (Huang & Liang's min-max loops). `mrirobust.zoo`
joins them with the model registry."""
