"""Zhao 2023 sizes: the authors' values at paper scale, and what each smaller scale changes.

`shape` is the paper configuration (real CMRxRecon shapes: kx 512, 10 coils, ky 204 / 168, no
truth; the full oversampled readout; every code path) with every loop cut to one step, and the
networks cut where one paper-size training step is too slow for a 2-core CPU. Costs measured
here, one training step on a 9 x 10 x 512 x 204 T1 series (2 cores shared with other jobs, load
~7, so upper bounds): VN-UNet 10 x 64/4 with sens 64/4 ~230 s and ~10-20 GB; RVN one unrolled
step of ConvGRU 128 x 4 260 s and 3.5 GB peak (x 10 steps); mapper 256/1 143 s, 2.4 GB;
VN-UNet 10 steps with U-Net and sens widths 16, 8, 4: 184, 140, 83 s (6.2, 5.0, 3.9 GB); 2 x 4/4:
48 s, 2.4 GB. The k-space work of each unrolled step (coil
combination, FFTs, data consistency on 90 coil-frames of 512 x 204) does not shrink with the
channel widths, so `shape` also cuts the unrolled steps from 10 to 2 (time and memory of the
k-space part grow linearly with the steps: the paper figures scale by 5). The shape run
(run.json, load ~6 on the 2 cores): one training step of RVN 45 s, VN-relax T1 52 s, VN-relax T2
19 s, mapper 1-5 s; one PGD step 35 s (images) / 43 s (map, through the T1 fit); the four runs
train 145 s, tables 262 s, robustness 357 s, data tour 69 s; peak RSS 2.8 GB.
"""

from mrirobust.config import Profile

TRAIN = Profile(
    "zhao2023.train",
    seed_key="seed",
    paper=dict(
        seed=0,  # initialisation, sample order, per-sample acceleration
        steps=10,  # unrolled steps of VN-UNet and RVN (paper: 10 for both)
        chans=64,  # VN-UNet U-Net filters (authors' t1_04_fat.yaml)
        pools=4,
        gru_hidden=128,  # RVN ConvGRU hidden channels (authors' t1_04_large_aug.yaml)
        gru_layers=4,
        sens_chans=64,  # coil-map refinement U-Net
        sens_pools=4,
        mapper_chans=256,  # mapping network U-Net filters, one pool (paper)
        mapper_pools=1,
        mapper_epochs=200,  # paper: 200 epochs, unsupervised on fully sampled frames
        mapper_lr=1e-4,
        epochs=30,  # paper: 400 (~8 h per model on one GPU, estimated); see docs/papers/zhao2023.md
        lr=1e-3,
        loss_weights=[0.2, 0.8, 0.01, 0.1],  # eq. 13: L1, SSIM, l_relax, map L1
        accelerations=[4, 8, 10],  # one model for all, R drawn per sample and epoch
        flip_probability=0.4,  # vertical / horizontal flips, each (authors; no affine, no noise)
        readout_crop=False,  # models see the central half of the oversampled readout
        max_slices=0,  # training slices per modality (0: every TrainingSet slice)
        # real data: the ValidationSet withholds its ground truth, so the last 20 TrainingSet
        # patients are held out for evaluation; the synthetic ValidationSet has a FullSample
        holdout_patients=20,
    ),
    cpu=dict(
        steps=4,
        chans=16,
        pools=2,
        gru_hidden=16,
        gru_layers=2,
        sens_chans=8,
        sens_pools=2,
        mapper_chans=32,
        mapper_epochs=15,
        mapper_lr=1e-3,
        # one step at 80 x 96, 10 coils, 1 thread: T1 VN 0.32 s on the idle 2-core machine
        # (0.58-0.70 s loaded), RVN 0.9 s, VN-relax 1.0 s, T2 VN-relax 0.6 s loaded; 42 slices x
        # 6 epochs ~ 7 min idle, ~13 min loaded, for the four models. A trial of 12 epochs on
        # 12 slices lifted VN only 0.5 dB above zero-filled (T1, R4): undertrained at this
        # budget, which the stored verdicts report.
        epochs=6,
        readout_crop=True,
        holdout_patients=0,
    ),
    smoke=dict(
        steps=2,
        chans=4,
        pools=1,
        gru_hidden=4,
        gru_layers=1,
        sens_chans=4,
        sens_pools=1,
        mapper_chans=8,
        mapper_epochs=3,
        mapper_lr=1e-3,
        epochs=1,
        readout_crop=True,
        max_slices=4,
        holdout_patients=0,
    ),
    # one step of each model on the first slice of the first TrainingSet patient; the other
    # patient (another ky) is held out for evaluation. Structure kept (pools, per-coil sens net,
    # ConvGRU layers, mapper pools), widths and unrolled steps cut (module docstring)
    shape=dict(
        steps=2,
        chans=4,
        gru_hidden=4,
        sens_chans=4,
        mapper_chans=8,
        mapper_epochs=1,
        epochs=1,
        max_slices=1,
        holdout_patients=1,
    ),
    # one GPU-day (docs/gpu_scale.md): one epoch of the ~550 training slices per model (cpu
    # takes ~250 steps), the mapper 50 epochs
    gpu=dict(epochs=1, mapper_epochs=50),
)

EVALUATION = Profile(
    "zhao2023.evaluation",
    paper=dict(
        table1_acceleration=4,  # Table 1: R = 4
        accelerations=[4, 8, 10],  # Table 2
        max_patients=0,  # ValidationSet patients evaluated (0: all)
        max_slices=0,  # evaluated slices per modality (0: the central two of every patient)
        # Table 1's training-length control: RVN, VN-UNet and VN-UNet-relax (T1) trained again
        # for this many epochs and compared as Table 1 does (0: none)
        control_epochs=0,
        # Table 1's guidance control: VN-UNet-relax (T1) trained again with a mapping network
        # of these training settings (e.g. mapper_chans, mapper_epochs) and compared with
        # VN-UNet as Table 1 does ({}: none)
        control_mapper={},
    ),
    # cpu: twice the 6 epochs; from 6 to 12 the models still gain 0.9-1.5 dB PSNR. Training
    # took RVN 5.0 and VN-UNet 4.4 min (whole cpu run, two jobs at once), VN-UNet-relax 8.0
    # min beside another reproduce (its 6-epoch job: 2.6 min)
    # the guidance control's mapper: 64 filters x 60 epochs (cpu trains 32 x 15) brought its
    # myocardial T1 from 1.058 to 1.011 times the fit's (by hand at 33e74b8, 4.3 min of
    # training beside another job); VN-UNet-relax with it: 22.28 dB, with the cpu mapper 22.24,
    # VN-UNet 22.45
    cpu=dict(control_epochs=12, control_mapper=dict(mapper_chans=64, mapper_epochs=60)),
    smoke=dict(max_patients=1, control_epochs=2, control_mapper=dict(mapper_chans=16)),
    shape=dict(accelerations=[4, 10], max_patients=1, max_slices=1),  # the claims need two R
    gpu=dict(max_patients=10),  # half of the 20 held-out patients
)

ATTACK = Profile(
    "zhao2023.attack",
    paper=dict(
        seed=0,  # random start of PGD and the random-noise baseline
        modality="T1map",
        acceleration=4,
        models=["vn", "vn_relax"],  # does relaxometry guidance change map robustness?
        etas=[0.0, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025],  # per-(frame, coil) budgets
        steps=10,  # PGD iterations (Morshuis et al.)
        step_size=0.5,  # relative to the budget
        max_patients=0,  # ValidationSet patients attacked (0: all), central two slices each
        max_slices=0,  # evaluated slices attacked (0: all of those patients)
    ),
    # measured (loaded 2-core machine, 1 thread): 2 slices x 2 models x 5 budgets x 5 steps took
    # 343 s with two PGD modes, mostly the differentiable fit inside the map attack; 1 x 2 x 4 x 3
    # with three PGD modes (image, map, shift) is ~2 min
    cpu=dict(etas=[0.0, 0.005, 0.01, 0.02], steps=3, max_patients=1, max_slices=1),
    smoke=dict(etas=[0.0, 0.01], steps=2, max_patients=1, max_slices=1),
    # clean and the claims' eta; one model (vn and vn_relax share every code path here)
    shape=dict(models=["vn_relax"], etas=[0.0, 0.01], steps=1, max_patients=1, max_slices=1),
    # one GPU-day: 4 of the 7 budgets (0, the claims' 0.01 and the largest kept), 5 patients
    gpu=dict(etas=[0.0, 0.005, 0.01, 0.025], max_patients=5),
)
