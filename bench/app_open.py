"""How long the app takes to have a run in memory: a saved run folder, and the default cold.

    python -m bench.app_open [RUN_DIR]

Each case runs in a fresh Python process (imports included, as a new app
session would pay them):

* **open a run folder**: ``socialrisk.rundir.load_run_dir`` on RUN_DIR (a
  ``socialrisk run --out RUN_DIR`` folder; made here from the embedded default
  when not given), nothing recomputed; target under 2 s;
* **default, cold**: the embedded Isle of Wight computed from its PBF with the
  app's settings (``socialrisk.ui.state.default_settings``: Monte Carlo on),
  no cache; target under 5 s (issue 12), bounded today by reading the PBF.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPEN = ("import sys; from socialrisk.rundir import load_run_dir; load_run_dir(sys.argv[1])")
COLD = ("from socialrisk.pipeline import compute, prepare\n"
        "from socialrisk.ui.state import default_settings\n"
        "s = default_settings([])\n"
        "compute(prepare(s))\n")


def _time(code: str, *args: str, repeat: int = 3) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    run_dir = sys.argv[1] if len(sys.argv) > 1 else ""
    with tempfile.TemporaryDirectory() as tmp:
        if not run_dir:
            run_dir = str(Path(tmp) / "run")
            subprocess.run([sys.executable, "-m", "socialrisk.cli", "run", "--out", run_dir,
                            "--no-download", "--no-map", "--quiet"], check=True)
        opened = _time(OPEN, run_dir, repeat=5)
        cold = _time(COLD, repeat=3)
    print(f"open a run folder : median {statistics.median(opened):.2f} s "
          f"({', '.join(f'{x:.2f}' for x in opened)}; target < 2 s)")
    print(f"default, cold     : median {statistics.median(cold):.2f} s "
          f"({', '.join(f'{x:.2f}' for x in cold)}; target < 5 s)")


if __name__ == "__main__":
    main()
