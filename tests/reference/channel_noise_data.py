"""Make the curves of docs/channel-noise.md and analysis/channel_noise.ipynb: data/channel_noise/*.csv.

`runs_GROUP.csv` (one row per replica: spike count, ISI power sums, subthreshold V mean and variance
with standard errors) and `psd_GROUP.csv` (its subthreshold V power spectral density) for the groups
`exact`, `stepped` and `channelsim`.

Spontaneous spikes and subthreshold voltage of the stochastic HH patch (experiments/stochastic_patch.toml
at several areas) from the exact event-driven reference (`tests.reference.gillespie_hh.gillespie`), from
channelsim (agent and population tracking, several dt, ion shot noise on or off) and from fixed-step
rules of the reference (the peers' first-order rule and the variants that take it apart), and the
open-count autocorrelation under voltage clamp. Every run is an independent replica of 20 s (seed
1, 2, ...); rows are appended as runs finish, and runs already in the file are skipped, so the command
can be stopped and restarted.

Run from the project folder (hours on one core; run it in the background):

    python -m tests.reference.channel_noise_data runs --group exact
    python -m tests.reference.channel_noise_data runs --group stepped
    python -m tests.reference.channel_noise_data runs --group channelsim
    python -m tests.reference.channel_noise_data clamp
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.reference import gillespie_hh as ref
from tests.reference.spike_statistics import SpikeStatistics, VoltageStatistics

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "channel_noise"
CHUNK_S = 20.0  # simulated seconds per replica
SAMPLE_DT = 1e-4  # V and open counts sampled every 0.1 ms
PSD_MAX_HZ = 2000.0
#: Fixed-step variants of the reference: (rule, order, gate_voltage, update).
STEPPED = {
    "first_order": ("first_order", "gate_first", "start", "euler"),  # the peers' scripts
    "exact_gate_first": ("exact", "gate_first", "start", "euler"),  # the peers' step with exact gating
    "exact_current_first": ("exact", "current_first", "start", "exponential"),  # channelsim's step, no shot noise
    "exact_current_first_vbar": ("exact", "current_first", "mean", "exponential"),  # ... gating at V_bar
    "exact_current_first_end": ("exact", "current_first", "end", "exponential"),  # ... gating at the end V
}
RUN_COLUMNS = ["area_um2", "method", "dt_us", "seed", "duration_s", "spikes", "isi_n", "isi_s1", "isi_s2",
               "isi_s3", "isi_s4", "v_samples", "v_mean", "v_var", "v_mean_se", "v_var_se", "psd_segments",
               "work", "wall_s"]


@dataclass(frozen=True)
class Job:
    """One replica: a method at an area and a time step (0 for the exact reference)."""

    area_um2: float
    method: str
    dt_us: float
    seed: int

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The job as its first four columns in runs_GROUP.csv."""
        return (f"{self.area_um2:g}", self.method, f"{self.dt_us:g}", str(self.seed))


def channelsim_config(area_um2: float, dt_us: float, tracking: str, duration_s: float, flux_noise: bool = True):
    """Return experiments/stochastic_patch.toml at another area.

    The leak is one channel of 0.3 mS/cm^2 x area: the experiment's 0.15 /um^2 of 20 pS would round
    to a whole number of channels at small areas.
    """
    from channelsim import load_config

    config = load_config(ROOT / "experiments" / "stochastic_patch.toml")
    return config.updated({
        "cell.area": f"{area_um2:g} um^2", "run.duration": f"{duration_s:g} s", "run.dt": f"{dt_us:g} us",
        "run.record_every": f"{SAMPLE_DT * 1e3:g} ms", "run.flux_noise": flux_noise,
        "channels.cl_leak.density": None, "channels.cl_leak.count": 1,
        "channels.cl_leak.conductance": f"{ref.Patch().leak_S_per_m2 * area_um2:.10g} pS",  # S/m^2 x um^2 = pS
        **{f"channels.{kind}.tracking": tracking for kind in ("hh_na", "hh_k", "cl_leak")},
    })


def simulate_job(job: Job, duration_s: float = CHUNK_S) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Spike times (s), V samples (V) every SAMPLE_DT, the duration and the work of one replica."""
    patch = ref.Patch(area_um2=job.area_um2)
    if job.method == "exact":
        run = ref.gillespie(patch, duration_s, job.seed, sample_dt=SAMPLE_DT)
        return run.spike_times, run.v, run.duration, run.work
    if job.method in STEPPED:
        rule, order, gate_voltage, update = STEPPED[job.method]
        run = ref.stepped(patch, duration_s, job.dt_us * 1e-6, job.seed, rule=rule, order=order,
                          gate_voltage=gate_voltage, update=update, sample_dt=SAMPLE_DT)
        return run.spike_times, run.v, run.duration, run.work
    # channelsim_<tracking>[_mean_flux]
    from channelsim import simulate

    tracking = job.method.split("_")[1]
    config = channelsim_config(job.area_um2, job.dt_us, tracking, duration_s, not job.method.endswith("mean_flux"))
    ds = simulate(config, seed=job.seed)
    return ds.spike_time.values, ds.membrane_potential.values, duration_s, round(duration_s / (job.dt_us * 1e-6))


def run_row(job: Job) -> tuple[dict, list[dict]]:
    """Simulate one job; its row of runs.csv and its rows of psd.csv."""
    start = time.perf_counter()
    spikes, v, duration, work = simulate_job(job)
    wall = time.perf_counter() - start
    s = SpikeStatistics.of(spikes, duration)
    vs = VoltageStatistics.of(v, SAMPLE_DT, spikes)
    row = dict(zip(RUN_COLUMNS[:4], job.key, strict=True)) | {
        "duration_s": f"{duration:g}", "spikes": s.spikes, "isi_n": int(s.isi_sums[0]),
        **{f"isi_s{k}": f"{s.isi_sums[k]:.10g}" for k in range(1, 5)},
        "v_samples": vs.samples, "v_mean": f"{vs.mean:.8g}", "v_var": f"{vs.variance:.8g}",
        "v_mean_se": f"{vs.mean_se:.4g}", "v_var_se": f"{vs.variance_se:.4g}", "psd_segments": vs.segments,
        "work": work, "wall_s": f"{wall:.1f}"}
    keep = (vs.frequency > 0) & (vs.frequency <= PSD_MAX_HZ)
    spectra = vs.spectra[:, keep]
    psd_rows = [dict(zip(["area_um2", "method", "dt_us", "seed"], job.key, strict=True)) | {
        "segments": vs.segments, "frequency_hz": f"{f:g}", "psd_v2_per_hz": f"{m:.6g}", "psd_sd": f"{sd:.4g}"}
        for f, m, sd in zip(vs.frequency[keep], spectra.mean(axis=0), spectra.std(axis=0, ddof=1), strict=True)
    ] if vs.segments >= 2 else []  # small patches fire too often to leave whole subthreshold segments
    return row, psd_rows


def _header(name: str, what: str, command: str) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return (f"# {name}: {what}\n# made by: {command} (from the project folder), starting at commit {commit}\n"
            "# see tests/reference/channel_noise_data.py; one row per independent 20 s replica\n")


def _append(path: Path, rows: list[dict], columns: list[str], header: str) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        if new:
            f.write(header)
        writer = csv.DictWriter(f, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def done_keys(path: Path) -> set[tuple[str, str, str, str]]:
    """Jobs already in runs.csv."""
    if not path.exists():
        return set()
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return {(r["area_um2"], r["method"], r["dt_us"], r["seed"]) for r in csv.DictReader(lines)}


def jobs(group: str) -> list[Job]:
    """List the replicas of a group, cheapest first within each area."""
    replicas = {1.0: 5, 10.0: 5, 30.0: 5, 100.0: 10}  # x 20 s
    out = []
    if group == "exact":
        for area, n in replicas.items():
            out += [Job(area, "exact", 0.0, seed) for seed in range(1, n + 1)]
    elif group == "stepped":
        for area, n in replicas.items():
            out += [Job(area, "first_order", dt, seed) for dt in (10.0, 2.5) for seed in range(1, n + 1)]
        for method in STEPPED:
            for dt in (20.0, 10.0, 5.0, 2.5, 1.25):
                n = 10 if dt >= 2.5 else 5
                out += [Job(100.0, method, dt, seed) for seed in range(1, n + 1)]
    elif group == "channelsim":
        for area, n in replicas.items():
            out += [Job(area, f"channelsim_{tracking}", dt, seed) for tracking in ("population", "agent")
                    for dt in (10.0, 2.5) for seed in range(1, n + 1)]
        for dt in (20.0, 5.0, 1.25):
            out += [Job(100.0, "channelsim_population", dt, seed) for seed in range(1, (10 if dt >= 2.5 else 5) + 1)]
        out += [Job(100.0, "channelsim_population_mean_flux", dt, seed) for dt in (10.0, 2.5) for seed in range(1, 11)]
    else:
        raise ValueError(group)
    return out


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["runs"])
    parser.add_argument("--group", choices=["exact", "stepped", "channelsim"], required=True)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    runs_csv, psd_csv = OUT / f"runs_{args.group}.csv", OUT / f"psd_{args.group}.csv"
    command = f"python -m tests.reference.channel_noise_data runs --group {args.group}"
    done = done_keys(runs_csv)
    for job in jobs(args.group):
        if job.key in done:
            continue
        row, psd_rows = run_row(job)
        _append(runs_csv, [row], RUN_COLUMNS, _header(runs_csv.name, "spike and subthreshold-V statistics per run",
                                                      command))
        _append(psd_csv, psd_rows, ["area_um2", "method", "dt_us", "seed", "segments", "frequency_hz",
                                    "psd_v2_per_hz", "psd_sd"],
                _header(psd_csv.name, "subthreshold V power spectral density per run (Welch, Hann, 25.6 ms)", command))
        print(" ".join(job.key), row["spikes"], row["wall_s"], flush=True)


if __name__ == "__main__":
    main()
