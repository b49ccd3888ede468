"""Zhao, Zhang & Tao 2023, "Relaxometry guided quantitative cardiac magnetic resonance image
reconstruction" (STACOM 2023): VN-UNet / RVN reconstruction of MOLLI T1 and T2-prep series with
a relaxometry-guided mapping network, on CMRxRecon 2023 mapping data (Tables 1-2, Fig. 2).

`profile` holds the sizes per scale, `data` the training / evaluation slices read through
`mrirobust.data.cmrxrecon`, `training` the mapper and reconstruction training, `experiments`
the challenge evaluation and the map errors, `claims` the paper's findings as checks.
"""
