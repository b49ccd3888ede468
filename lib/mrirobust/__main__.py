"""Command line: `python -m mrirobust COMMAND ...` (data, train, reproduce, claims, readme, profile,
stanford, gpu-check).

Each command lives in its own module, which provides `configure_parser(parser)` and
`main(args) -> int`; modules are imported only when their command runs, so `--help` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

COMMANDS = {
    "data": ("mrirobust.data.command", "generate the embedded datasets of a scale"),
    "train": ("mrirobust.runner.pretrain", "train (or resume) a training job of the manifest"),
    "reproduce": ("mrirobust.runner.workflow", "run the manifest notebooks (Snakemake)"),
    "claims": ("mrirobust.claims", "print the stored claim verdicts of a scale (or the README's)"),
    "readme": ("mrirobust.readme", "refresh the generated parts of README and docs/cpu_run.md"),
    "profile": ("mrirobust.papers.profiles", "print every profile section's settings at a scale"),
    "stanford": ("mrirobust.data.stanford", "convert Stanford 3-D FSE knees (ISMRMRD) to fastMRI"),
    "gpu-check": ("mrirobust.papers.gpu_check", "time the paper path on a GPU (make gpu-check)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m mrirobust", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            importlib.import_module(module_name).configure_parser(command_parser)
    args = parser.parse_args(argv)
    return int(importlib.import_module(COMMANDS[args.command][0]).main(args) or 0)


def _exit_on_sigterm(signum, frame):
    from mrirobust import storage  # imported already by every command that writes files

    storage.stop(128 + signum)  # unwinds: atomic writers remove their temporary files


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.exit(main())
