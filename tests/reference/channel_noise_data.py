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
import contextlib
import csv
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

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
    # channelsim_<tracking>[_mean_flux | _fine_grid]
    from channelsim import simulate

    tracking = job.method.split("_")[1]
    config = channelsim_config(job.area_um2, job.dt_us, tracking, duration_s, not job.method.endswith("mean_flux"))
    with fine_grid(job.method.endswith("fine_grid")):
        ds = simulate(config, seed=job.seed)
    return ds.spike_time.values, ds.membrane_potential.values, duration_s, round(duration_s / (job.dt_us * 1e-6))


@contextlib.contextmanager
def fine_grid(active: bool = True, factor: int = 10):
    """Build channelsim's transition tables on a grid `factor` times finer than 0.1 mV (same range).

    The grid is a constant of channelsim.model.tables (and of the patch, which hands it to the kernel
    as data); replacing it for one run measures what the 0.1 mV grid and its linear interpolation
    contribute.
    """
    if not active:
        yield
        return
    from channelsim.model import patch, tables

    values = {"V_STEP": tables.V_STEP / factor, "V_POINTS": (tables.V_POINTS - 1) * factor + 1}
    with mock.patch.multiple(tables, **values), mock.patch.multiple(patch, **values):
        yield


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
    exact_replicas = {**replicas, 100.0: 40}  # the reference everything is measured against
    out = []
    if group == "exact":
        for area, n in exact_replicas.items():
            out += [Job(area, "exact", 0.0, seed) for seed in range(1, n + 1)]
    elif group == "stepped":
        for area, n in replicas.items():
            out += [Job(area, "first_order", dt, seed) for dt in (10.0, 2.5) for seed in range(1, n + 1)]
        for method in STEPPED:  # at 100 um^2: 10 replicas at 10 and 2.5 us, 5 at 20, 5 and 1.25 us
            dts = {"first_order": (10.0, 2.5, 20.0, 5.0, 1.25), "exact_current_first": (10.0, 2.5, 20.0, 5.0, 1.25),
                   "exact_gate_first": (10.0, 2.5)}.get(method, (10.0,))
            for dt in dts:
                n = 10 if dt in (10.0, 2.5) else 5
                out += [Job(100.0, method, dt, seed) for seed in range(1, n + 1)]
    elif group == "channelsim":  # 100 um^2 first: the W2 patch of the issue
        out += [Job(100.0, "channelsim_population", 10.0, seed) for seed in range(1, 11)]
        out += [Job(100.0, "channelsim_agent", 10.0, seed) for seed in range(1, 11)]
        out += [Job(100.0, "channelsim_population_mean_flux", 10.0, seed) for seed in range(1, 11)]
        out += [Job(100.0, "channelsim_population", 2.5, seed) for seed in range(1, 11)]
        out += [Job(100.0, "channelsim_population_fine_grid", 10.0, seed) for seed in range(1, 11)]
        out += [Job(100.0, "channelsim_population", dt, seed) for dt in (20.0, 5.0) for seed in range(1, 6)]
        out += [Job(100.0, "channelsim_agent", 2.5, seed) for seed in range(1, 6)]
        out += [Job(100.0, "channelsim_population_mean_flux", 2.5, seed) for seed in range(1, 6)]
        out += [Job(100.0, "channelsim_population", 1.25, seed) for seed in range(1, 6)]
        out += [Job(100.0, "channelsim_population", 10.0, seed) for seed in range(11, 31)]  # the case
        out += [Job(100.0, "channelsim_agent", 10.0, seed) for seed in range(11, 21)]
        for area in (1.0, 10.0, 30.0):
            out += [Job(area, f"channelsim_{tracking}", dt, seed) for tracking in ("population", "agent")
                    for dt in (10.0, 2.5) for seed in range(1, 6)]
    else:
        raise ValueError(group)
    return list(dict.fromkeys(out))  # each replica once, in order


CLAMP_V = -0.040
CLAMP_LAGS_MS = (0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
CLAMP_COLUMNS = ["kind", "method", "dt_us", "lag_ms", "autocovariance", "se", "samples"]


def batch_autocovariance(x: np.ndarray, lags: np.ndarray, batches: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Autocovariance of x at `lags` (samples), and its standard error from batch estimates."""
    def acov(y):
        y = y - y.mean()
        return np.array([np.mean(y[: len(y) - lag] * y[lag:]) for lag in lags])

    parts = np.array([acov(b) for b in np.array_split(x, batches)])
    return acov(x), parts.std(axis=0, ddof=1) / np.sqrt(batches)


def discrete_autocovariance(p: np.ndarray, open_state: int, count: int, lag_steps: np.ndarray) -> np.ndarray:
    """Open-count autocovariance of `count` independent chains with one-step matrix p, at whole steps.

    N pi_o ([p^k]_oo - pi_o), with pi the stationary distribution of p itself.
    """
    values, vectors = np.linalg.eig(p.T)
    pi = np.real(vectors[:, np.argmin(abs(values - 1))])
    pi /= pi.sum()
    out = []
    for k in lag_steps:
        out.append(count * pi[open_state] * (np.linalg.matrix_power(p, int(k))[open_state, open_state]
                                            - pi[open_state]))
    return np.array(out)


def clamp_rows(duration_s: float = 20.0) -> list[dict]:
    """Open-count autocovariances under voltage clamp at CLAMP_V, 100 um^2 (6000 Na+, 1800 K+).

    The closed form (eigenvalues of the rate matrix), channelsim (agent and population, dt 10 and
    100 us, sampled every dt: 0.1 ms) and the first-order rule's exact discrete-time autocovariance.
    """
    from channelsim import simulate

    rows = []
    q = dict(zip(("hh_na", "hh_k"), ref.rate_matrices(CLAMP_V), strict=True))
    n = {"hh_na": 6000, "hh_k": 1800}
    state = {"hh_na": ref.NA_OPEN, "hh_k": ref.K_OPEN}
    lags_s = np.array(CLAMP_LAGS_MS) * 1e-3
    for kind in ("hh_na", "hh_k"):
        closed = ref.open_autocovariance(q[kind], state[kind], n[kind], lags_s)
        rows += [{"kind": kind, "method": "closed_form", "dt_us": 0, "lag_ms": f"{lag:g}", "autocovariance":
                  f"{c:.6g}", "se": 0, "samples": 0} for lag, c in zip(CLAMP_LAGS_MS, closed, strict=True)]
        for dt_us in (10.0, 100.0):
            p = ref.one_step_matrices(CLAMP_V, dt_us * 1e-6, "first_order")[0 if kind == "hh_na" else 1]
            steps = np.round(lags_s / (dt_us * 1e-6)).astype(int)
            values = discrete_autocovariance(p, state[kind], n[kind], steps)
            rows += [{"kind": kind, "method": "first_order", "dt_us": f"{dt_us:g}", "lag_ms": f"{lag:g}",
                      "autocovariance": f"{c:.6g}", "se": 0, "samples": 0}
                     for lag, c in zip(CLAMP_LAGS_MS, values, strict=True)]
    for tracking in ("population", "agent"):
        for dt_us in (10.0, 100.0):
            config = channelsim_config(100.0, dt_us, tracking, duration_s)
            config = config.model_validate(config.model_dump(mode="json") | {"protocol": [
                {"action": "voltage_clamp", "at": "0 ms", "potential": f"{CLAMP_V * 1e3:g} mV"}]})
            ds = simulate(config, seed=1)
            skip = int(round(0.05 / SAMPLE_DT))  # 50 ms from the -65 mV start
            for kind in ("hh_na", "hh_k"):
                x = ds.open_channels.sel(kind=kind).values[skip:].astype(float)
                lags = np.round(np.array(CLAMP_LAGS_MS) * 1e-3 / SAMPLE_DT).astype(int)
                values, errors = batch_autocovariance(x, lags)
                rows += [{"kind": kind, "method": f"channelsim_{tracking}", "dt_us": f"{dt_us:g}", "lag_ms": f"{lag:g}",
                          "autocovariance": f"{c:.6g}", "se": f"{e:.3g}", "samples": len(x)}
                         for lag, c, e in zip(CLAMP_LAGS_MS, values, errors, strict=True)]
    return rows


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["runs", "clamp"])
    parser.add_argument("--group", choices=["exact", "stepped", "channelsim"])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.what == "clamp":
        path = OUT / "clamp_autocovariance.csv"
        path.unlink(missing_ok=True)
        _append(path, clamp_rows(), CLAMP_COLUMNS, _header(
            path.name, f"open-count autocovariance under voltage clamp at {CLAMP_V * 1e3:g} mV, 100 um^2",
            "python -m tests.reference.channel_noise_data clamp").replace("one row per independent 20 s replica",
                                                                         "channelsim: 20 s, seed 1"))
        return
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


# -- reading the curves back ---------------------------------------------------------------------


def load_runs(groups: tuple[str, ...] = ("exact", "stepped", "channelsim")):
    """Read runs_GROUP.csv of the groups present, as one pandas DataFrame."""
    import pandas as pd

    frames = [pd.read_csv(OUT / f"runs_{g}.csv", comment="#") for g in groups if (OUT / f"runs_{g}.csv").exists()]
    return pd.concat(frames, ignore_index=True).drop_duplicates(subset=RUN_COLUMNS[:4], ignore_index=True)


def spike_statistics(runs, area_um2: float, method: str, dt_us: float = 0.0) -> SpikeStatistics:
    """Pool the replicas of one method at one area and dt into one SpikeStatistics."""
    rows = runs[(runs.area_um2 == area_um2) & (runs.method == method) & (runs.dt_us == dt_us)]
    if rows.empty:
        raise KeyError((area_um2, method, dt_us))
    return SpikeStatistics(float(rows.duration_s.sum()), int(rows.spikes.sum()),
                           tuple(float(rows[c].sum()) for c in ("isi_n", "isi_s1", "isi_s2", "isi_s3", "isi_s4")))


def voltage_variance(runs, area_um2: float, method: str, dt_us: float = 0.0) -> tuple[float, float]:
    """Pooled subthreshold variance of V (V^2) of one method and its standard error."""
    rows = runs[(runs.area_um2 == area_um2) & (runs.method == method) & (runs.dt_us == dt_us)]
    w = rows.v_samples / rows.v_samples.sum()
    mean = float((w * rows.v_mean).sum())
    variance = float((w * (rows.v_var + (rows.v_mean - mean) ** 2)).sum())
    return variance, float(np.sqrt((w**2 * rows.v_var_se**2).sum()))


def summary(runs) -> list[dict]:
    """One row per (area, method, dt): rate, mean ISI and CV with standard errors, spikes, time."""
    out = []
    for (area, method, dt), _ in runs.groupby(["area_um2", "method", "dt_us"]):
        s = spike_statistics(runs, area, method, dt)
        out.append({"area_um2": area, "method": method, "dt_us": dt, "seconds": s.duration, "spikes": s.spikes,
                    "rate": s.rate, "rate_se": s.rate_se, "isi_mean_ms": 1e3 * s.isi_mean,
                    "isi_mean_se_ms": 1e3 * s.isi_mean_se, "cv": s.cv, "cv_se": s.cv_se})
    return out
