"""A working skeleton of a paper package: copy this folder to start a fifth paper (the README's
"Adding a paper" lists every step). Its toy paper, id `template`, measures how white noise in
the measurements lowers a reconstruction's SSIM.

The contract every paper package follows:
- `profile.py`: its settings, one `config.Profile` per concern, named `<paper>.<section>`
  (paper values first, then what each smaller scale changes; `python -m mrirobust profile`
  prints them);
- `experiments.py`: functions `(models, data, settings) -> table`, one row per scored unit
  (here a slice), which the notebook stores (`tables.save_table`);
- `claims.py`: the paper's findings as `claims.Claim`s, each declaring its case keys, and one
  function checking every claim on every case of the stored tables;
- `figures.py`: functions that read the stored files only and save each figure with the data
  caption (`plots.caption`, `plots.savefig`);
- `notebooks/`: the notebooks (a real paper keeps them in notebooks/<paper>/) and their run
  entries for notebooks/manifest.yaml.
"""
