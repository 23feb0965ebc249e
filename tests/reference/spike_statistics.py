"""Statistics of spike trains and subthreshold voltage, with their standard errors.

Used alike on channelsim's runs and on the reference's, so both are measured the same way.

Spike trains of a stationary renewal process (Cox 1962, Renewal Theory): n spikes in a time T
with interspike intervals (ISIs) of mean mu and coefficient of variation CV give the rate n / T
with standard error rate CV / sqrt(n); the ISIs are independent, so their mean has standard error
sd / sqrt(n - 1) and the CV's comes from the delta method on the first four moments.

Subthreshold voltage: the samples further than `before` ahead of a spike and `after` behind one;
the variance's standard error comes from batch means of the squared deviations, the power spectral
density (one-sided, V^2/Hz) from Welch's average of periodograms of whole subthreshold segments
(Hann window), each bin with relative standard error 1 / sqrt(segments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpikeStatistics:
    """Spike count and ISI power sums of one or more runs; pooled statistics and standard errors."""

    duration: float
    spikes: int
    isi_sums: tuple[float, float, float, float, float]  # n, sum x, x^2, x^3, x^4 (s^k)

    @classmethod
    def of(cls, spike_times: np.ndarray, duration: float) -> SpikeStatistics:
        """Summarise the spikes of one run of `duration` (s)."""
        isi = np.diff(np.asarray(spike_times, dtype=float))
        return cls(duration, len(spike_times), (float(len(isi)), *(float(np.sum(isi**k)) for k in range(1, 5))))

    def __add__(self, other: SpikeStatistics) -> SpikeStatistics:
        """Pool two runs (independent replicas of the same process)."""
        return SpikeStatistics(self.duration + other.duration, self.spikes + other.spikes,
                               tuple(a + b for a, b in zip(self.isi_sums, other.isi_sums, strict=True)))

    @property
    def rate(self) -> float:
        """Spikes per second."""
        return self.spikes / self.duration

    def _moments(self) -> tuple[float, float, float, float, float]:
        n, s1, s2, s3, s4 = self.isi_sums
        mean = s1 / n
        m2 = s2 / n - mean**2
        m3 = s3 / n - 3 * mean * s2 / n + 2 * mean**3
        m4 = s4 / n - 4 * mean * s3 / n + 6 * mean**2 * s2 / n - 3 * mean**4
        return n, mean, m2, m3, m4

    @property
    def isi_mean(self) -> float:
        """Mean ISI (s)."""
        return self._moments()[1]

    @property
    def isi_mean_se(self) -> float:
        """Standard error of the mean ISI (s)."""
        n, _, m2, _, _ = self._moments()
        return math.sqrt(m2 / (n - 1))

    @property
    def cv(self) -> float:
        """Coefficient of variation of the ISIs (sample standard deviation over mean)."""
        n, mean, m2, _, _ = self._moments()
        return math.sqrt(m2 * n / (n - 1)) / mean

    @property
    def cv_se(self) -> float:
        """Delta-method standard error of the CV from the first four sample moments."""
        n, mean, m2, m3, m4 = self._moments()
        sd = math.sqrt(m2)
        d_var, d_mean = 1.0 / (2 * sd * mean), -sd / mean**2
        variance = d_var**2 * (m4 - m2**2) + d_mean**2 * m2 + 2 * d_var * d_mean * m3
        return math.sqrt(max(variance, 0.0) / n)

    @property
    def rate_se(self) -> float:
        """Standard error of the rate of a renewal process: rate CV / sqrt(n)."""
        return self.rate * self.cv / math.sqrt(self.spikes)


def detect_spikes(v: np.ndarray, threshold: float = 0.0, rearm: float = -0.030) -> int:
    """Count upward crossings of `threshold` (V) in samples of V, re-armed below `rearm` (channelsim's rule)."""
    armed, count = bool(v[0] < threshold), 0
    for x in v:
        if armed and x >= threshold:
            count, armed = count + 1, False
        elif not armed and x < rearm:
            armed = True
    return count


def subthreshold_mask(n_samples: int, sample_dt: float, spike_times: np.ndarray, before: float = 0.005,
                      after: float = 0.030) -> np.ndarray:
    """Mark the samples more than `before` (s) ahead of every spike and `after` (s) behind it."""
    keep = np.ones(n_samples, dtype=bool)
    for t in spike_times:
        keep[max(0, int(math.floor((t - before) / sample_dt))):int(math.ceil((t + after) / sample_dt)) + 1] = False
    return keep


@dataclass(frozen=True)
class VoltageStatistics:
    """Subthreshold voltage of one or more runs: mean, variance (with standard errors) and PSD."""

    samples: int
    mean: float
    variance: float
    mean_se: float
    variance_se: float
    frequency: np.ndarray  # Hz
    spectra: np.ndarray  # (segments, frequencies) V^2/Hz, one-sided periodograms

    @classmethod
    def of(cls, v: np.ndarray, sample_dt: float, spike_times: np.ndarray, segment: int = 256,
           batches: int = 20, skip: float = 0.05) -> VoltageStatistics:
        """Summarise the subthreshold samples of V (volts, every `sample_dt` s) from `skip` (s) on."""
        keep = subthreshold_mask(len(v), sample_dt, spike_times)
        keep[:int(round(skip / sample_dt))] = False
        x = v[keep]
        mean = float(x.mean())
        squares = (x - mean) ** 2
        batch_means = np.array([b.mean() for b in np.array_split(x, batches)])
        batch_squares = np.array([b.mean() for b in np.array_split(squares, batches)])
        window = np.hanning(segment)
        norm = sample_dt / (window**2).sum()
        spectra = []
        edges = np.flatnonzero(np.diff(np.r_[0, keep.astype(np.int8), 0]))
        for first, last in zip(edges[::2], edges[1::2], strict=True):  # runs [first, last) of subthreshold samples
            for start in range(first, last - segment + 1, segment):
                piece = v[start:start + segment]
                spectrum = np.abs(np.fft.rfft((piece - piece.mean()) * window)) ** 2 * norm
                spectrum[1:-1] *= 2  # one-sided
                spectra.append(spectrum)
        frequency = np.fft.rfftfreq(segment, sample_dt)
        return cls(len(x), mean, float(squares.mean()), float(batch_means.std(ddof=1) / math.sqrt(batches)),
                   float(batch_squares.std(ddof=1) / math.sqrt(batches)), frequency,
                   np.array(spectra).reshape(len(spectra), len(frequency)))

    @staticmethod
    def pool(parts: list[VoltageStatistics]) -> VoltageStatistics:
        """Pool independent replicas: sample-weighted mean and variance about the pooled mean."""
        n = np.array([p.samples for p in parts], dtype=float)
        w = n / n.sum()
        mean = float(w @ [p.mean for p in parts])
        variance = float(w @ [p.variance + (p.mean - mean) ** 2 for p in parts])
        return VoltageStatistics(int(n.sum()), mean, variance,
                                 float(np.sqrt(w**2 @ [p.mean_se**2 for p in parts])),
                                 float(np.sqrt(w**2 @ [p.variance_se**2 for p in parts])),
                                 parts[0].frequency, np.concatenate([p.spectra for p in parts]))

    @property
    def segments(self) -> int:
        """Number of whole subthreshold segments in the spectrum."""
        return self.spectra.shape[0]

    @property
    def psd(self) -> np.ndarray:
        """Welch's estimate: the mean periodogram (V^2/Hz)."""
        return self.spectra.mean(axis=0)

    def band(self, low: float, high: float) -> tuple[float, float]:
        """Mean PSD over [low, high) Hz and its standard error, from the scatter over segments."""
        inside = (self.frequency >= low) & (self.frequency < high)
        per_segment = self.spectra[:, inside].mean(axis=1)
        return float(per_segment.mean()), float(per_segment.std(ddof=1) / math.sqrt(len(per_segment)))
