"""The live view's page: Mesa's SolaraViz with channelsim's membrane, trace, readout and controls.

Started by ``channelsim view CONFIG``, which passes the config, seed and settings in the
environment (`CONFIG_ENV`, `SEED_ENV`, `OVERRIDES_ENV`, `SAVE_ENV`) and runs ``solara run`` on this module.
Every control acts through `MembranePatch.act`, i.e. as a protocol entry at the present time, so
the session can be saved as a config that replays it.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import solara
import tomli_w
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from channelsim.config import load_config
from channelsim.constants import IONS
from channelsim.errors import ConfigError
from channelsim.view import CONFIG_ENV, OVERRIDES_ENV, SAVE_ENV, SEED_ENV
from channelsim.view.live import LivePatch, cable_figure, membrane_figure, trace_figure


@solara.component
def Membrane(model: LivePatch):  # noqa: N802 (a Solara component)
    """Draw every channel and pump (or a sample of them) at its place, by kind and state."""
    update_counter.get()
    _timed_image(model, "membrane", membrane_figure)


@solara.component
def Trace(model: LivePatch):  # noqa: N802
    """Draw the membrane potential so far, with the reversal potentials of each moment."""
    update_counter.get()
    _timed_image(model, "trace", trace_figure)


def _timed_image(model: LivePatch, name: str, draw) -> None:
    """Show a figure as a PNG, and tell the model how long it took (it sizes its steps by that)."""
    started = time.perf_counter()
    buffer = io.BytesIO()
    draw(model).savefig(buffer, format="png", dpi=72)
    model.draw_seconds[name] = time.perf_counter() - started
    solara.Image(buffer.getvalue())


@solara.component
def Cable(model: LivePatch):  # noqa: N802
    """Draw a cable's membrane potential along it, as the impulse travels."""
    update_counter.get()
    _timed_image(model, "cable", cable_figure)


@solara.component
def Readout(model: LivePatch):  # noqa: N802
    """Time, potential, ions on each side and the charge that crossed, beside C dV / e."""
    update_counter.get()
    membrane, electrode, from_capacitance = model.charge_moved()
    now = model.current_row().rows
    inside_mM, outside_mM = now["concentration_inside"][0], now["concentration_outside"][0]  # mol/m^3 = mM
    with solara.Card("Now"):
        solara.Markdown(f"**t = {model.simulated_time * 1e3:.2f} ms**, **V = {model.voltage * 1e3:.2f} mV**")
        rows = "\n".join(f"| {ion} | {count:,} | {inside_mM[i]:.4g} | {outside_mM[i]:.4g} |"
                         for i, (ion, count) in enumerate(model.ions_inside.items()))
        solara.Markdown(f"| ion | ions inside | inside (mM) | outside (mM) |\n|---|---|---|---|\n{rows}")
        electrode_text = f" and **{electrode:,.0f} e** from the electrode" if electrode else ""
        solara.Markdown(f"Since t = 0, **{membrane:,.0f} e** of net charge crossed the membrane{electrode_text}; "
                        f"C·ΔV/e = {from_capacitance:,.0f} e: these few ions set the potential.")


# The controls' values live at module level: Mesa's page remounts its components when play
# stops, which would reset state kept in the component (one page per server, so one set).
MESSAGE = solara.reactive("")
OUTSIDE_K = solara.reactive(5.0)  # mM
PULSE_PA = solara.reactive(100.0)
PULSE_MS = solara.reactive(1.0)
KIND = solara.reactive("")
CHANNELS = solara.reactive(10)


@solara.component
def Controls(model: LivePatch):  # noqa: N802
    """Interventions that act while the simulation runs, each a protocol action at the present time."""
    update_counter.get()
    message, k_out, pulse_pA, pulse_ms, kind, channels = MESSAGE, OUTSIDE_K, PULSE_PA, PULSE_MS, KIND, CHANNELS

    def act(step: dict, done: str) -> None:
        try:
            model.act(step)
        except ConfigError as error:
            message.set(f"not done: {error}")
            return
        message.set(f"{done} at t = {model.simulated_time * 1e3:.2f} ms")
        force_update()

    def save() -> None:
        path = Path(os.environ.get(SAVE_ENV, "data/view/session.toml"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(model.session_config()))
        message.set(f"saved the session as {path}: channelsim run {path} replays it")

    with solara.Card("Act on the membrane"):
        solara.InputFloat("outside K+ (mM)", value=k_out, continuous_update=True)
        solara.Button("set outside K+", on_click=lambda: act(
            {"action": "set_outside", "ion": "K", "concentration": f"{k_out.value} mM"},
            f"outside K+ set to {k_out.value} mM"))
        for population in model.pump_populations:
            blocked = float(model.blocked_fraction()[model.kind_names.index(population.kind)])
            solara.SliderFloat(f"{population.kind} pumps blocked (share)", value=blocked, min=0.0, max=1.0, step=0.05,
                               on_value=lambda share, kind=population.kind: act(
                                   {"action": "block", "target": kind, "fraction": share},
                                   f"{share:.0%} of the {kind} pumps blocked"))
        kinds = [population.kind for population in model.populations]
        if kinds:
            with solara.Row():
                solara.Select("channel kind", values=kinds, value=kind)
                solara.InputInt("channels", value=channels, continuous_update=True)
                solara.Button("open", on_click=lambda: act(
                    {"action": "open", "target": kind.value, "count": channels.value},
                    f"{channels.value} {kind.value} channels opened"))
                solara.Button("close", on_click=lambda: act(
                    {"action": "close", "target": kind.value, "count": channels.value},
                    f"{channels.value} {kind.value} channels closed"))
        for synapses in model.synapse_populations:
            solara.Button(f"presynaptic spike at {synapses.name}", on_click=lambda name=synapses.name: act(
                {"action": "presynaptic_spikes", "target": name}, f"a presynaptic spike at {name}"))
        solara.InputFloat("current pulse (pA, into the cell)", value=pulse_pA, continuous_update=True)
        solara.InputFloat("pulse duration (ms)", value=pulse_ms, continuous_update=True)
        solara.Button("inject current pulse", on_click=lambda: act(
            {"action": "current_clamp", "amplitude": f"{pulse_pA.value} pA", "duration": f"{pulse_ms.value} ms"},
            f"{pulse_pA.value} pA for {pulse_ms.value} ms injected"))
        solara.Button("save session as config", on_click=save)
        if message.value:
            solara.Text(message.value)


def _model() -> LivePatch:
    config = load_config(os.environ[CONFIG_ENV], json.loads(os.environ.get(OVERRIDES_ENV, "[]")))
    seed = os.environ.get(SEED_ENV)
    return LivePatch(config, int(seed) if seed else None)


def make_page(model: LivePatch):
    """Return the SolaraViz page of `model`: membrane and trace, readout and controls; reset rebuilds it."""
    OUTSIDE_K.set(float(model.bath_concentration[IONS.index("K")]))  # mol/m^3 = mM
    KIND.set(model.populations[0].kind if model.populations else "")
    return SolaraViz(
        model,
        components=[Membrane, Trace, *([Cable] if model.geometry is not None else []), Readout, Controls],
        model_params={"config": model.config, "seed": model.run_seed},
        play_interval=50,
        name=f"channelsim: {model.config.experiment.name}",
    )


page = make_page(_model()) if CONFIG_ENV in os.environ else None
