"""Paper-specific experiment glue: sample selection, sweeps and tidy result tables."""
