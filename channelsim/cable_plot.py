"""The figure of a cable run: the impulse in space and time, V at several positions, its arrival times.

Panels: the membrane potential of every compartment over time (a space-time image, the
electrode's position marked); V against time at five positions along the cable; and each
compartment's first spike time against its position, with the least-squares line whose slope
is the conduction velocity (`channelsim.conduction`). Lines carry gids ("arrival", "fit") for
tests and notebooks.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from channelsim.conduction import arrival_times, conduction_velocity, propagation


def cable_figure(ds: xr.Dataset, title_and_footer=None):
    """Draw the figure of a cable run (a `matplotlib.figure.Figure`; the caller closes it)."""
    import matplotlib.pyplot as plt

    t_ms = ds.time.values * 1e3
    x_mm = ds.position.values * 1e3
    v_mV = ds.membrane_potential.values * 1e3
    fig, axes = plt.subplots(3, 1, figsize=(10, 11), gridspec_kw={"height_ratios": [3, 2.2, 2.2]})
    fig.set_layout_engine("constrained", rect=(0, 0.03, 1, 0.97))

    image = axes[0].pcolormesh(t_ms, x_mm, v_mV.T, shading="nearest", cmap="viridis", rasterized=True)
    fig.colorbar(image, ax=axes[0], label="membrane potential (mV)")
    site = float(x_mm[int(ds.electrode_compartment)])
    axes[0].axhline(site, color="w", lw=0.8, ls=":", label=f"electrode ({site:g} mm)")
    axes[0].set(xlabel="time (ms)", ylabel="position along the axon (mm)",
                title="membrane potential of every compartment")
    axes[0].legend(loc="upper right", fontsize=8)

    picks = np.unique(np.linspace(0, len(x_mm) - 1, 5).round().astype(int))
    if (ds.node.values == 0).any():  # on a myelinated axon, the nodes nearest those positions
        nodes = np.flatnonzero(ds.node.values == 1)
        picks = np.unique(nodes[np.abs(nodes[:, None] - picks[None, :]).argmin(axis=0)])
    for c in picks:
        axes[1].plot(t_ms, v_mV[:, c], lw=1.1, label=f"{x_mm[c]:.3g} mm")
    axes[1].set(xlabel="time (ms)", ylabel="V (mV)", title="membrane potential at five positions")
    axes[1].legend(fontsize=8, ncol=5, loc="upper right")

    arrival = arrival_times(ds).values * 1e3
    reached = np.isfinite(arrival)
    axes[2].plot(x_mm[reached], arrival[reached], ".", ms=3, gid="arrival", label="first spike (0 mV crossing)")
    velocity = conduction_velocity(ds)
    if np.isfinite(velocity):
        fitted = reached & (ds.node.values == 1)
        line = np.polyfit(x_mm[fitted], arrival[fitted], 1)
        axes[2].plot(x_mm, np.polyval(line, x_mm), "k--", lw=0.8, gid="fit",
                     label=f"conduction velocity {velocity:.3g} m/s ({velocity / 0.3048:.3g} ft/s)")
    result = propagation(ds)
    if result.failed:
        axes[2].axvline(result.reached_m[1] * 1e3, color="r", lw=0.8, label="propagation failed here")
    axes[2].set(xlabel="position along the axon (mm)", ylabel="arrival time (ms)",
                title="arrival of the impulse")
    axes[2].legend(fontsize=8, loc="upper left")
    if title_and_footer is not None:
        title_and_footer(fig)
    return fig
