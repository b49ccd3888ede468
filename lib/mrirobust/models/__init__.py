"""Reconstruction methods behind one interface: `recon(masked_kspace, mask) -> image`."""
