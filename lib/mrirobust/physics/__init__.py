"""MRI physics on complex torch tensors.

Conventions: multi-coil k-space is complex `(B, C, H, W)` (H = readout, W = phase encoding,
the undersampled direction); a weighted series (T1/T2 mapping) is `(B, T, C, H, W)`; images are
`(..., H, W)`. The FFT is fastMRI's centred orthonormal transform.

Submodules, each re-exported here: `fft` (F, F^H, fastmri layout), `masks` (column masks, checks,
ACS), `coils` (RSS, crops, S and S^H, ESPIRiT), `transforms` (rotation), `noise` (thermal noise
level), `acquisition` (the `Acquisition` object with A, A^H and the zero-filled image),
`relaxometry` (MOLLI T1 / T2-prep signal models and voxel-wise fits).
"""

from mrirobust.physics.acquisition import *  # noqa: F403
from mrirobust.physics.coils import *  # noqa: F403
from mrirobust.physics.fft import *  # noqa: F403
from mrirobust.physics.masks import *  # noqa: F403
from mrirobust.physics.noise import *  # noqa: F403
from mrirobust.physics.relaxometry import *  # noqa: F403
from mrirobust.physics.transforms import *  # noqa: F403
