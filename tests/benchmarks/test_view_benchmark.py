"""What watching costs: the live view's simulation speed against the same run unwatched, same process.

The unwatched side advances a `MembranePatch` as `channelsim run` does; the watched side is what
the page does in a loop: `LivePatch.step` (sized by the last redraw) then both figures drawn to
PNG and the redraw timed. The ratio of simulated seconds per wall second, watched / unwatched,
is the number the live view promises to keep at 0.8 or more (`DRAW_SHARE`). Interleaved, median
of 3. Run with `pytest tests/benchmarks/test_view_benchmark.py -s`.
"""

from __future__ import annotations

import io
import statistics
import time

import pytest

from channelsim.config import load_config
from channelsim.model.patch import MembranePatch
from channelsim.view.live import DRAW_SHARE, LivePatch, membrane_figure, trace_figure

WALL_SECONDS = 6.0


def _config(agents: int):
    return load_config("experiments/stochastic_patch.toml").updated({
        "run.duration": "100 s", "channels.hh_na.count": agents, "channels.hh_k.count": agents * 3 // 10})


def _unwatched(config) -> float:
    patch = MembranePatch(config, seed=1)
    patch.advance(patch.config.run.steps_per_record)  # compile, warm
    started, t0 = time.perf_counter(), patch.simulated_time
    # as `channelsim run` does: kernel calls sized to ~0.25 s, until the time is up
    patch.advance(patch.total_steps, stop=lambda: time.perf_counter() - started >= WALL_SECONDS)
    return (patch.simulated_time - t0) / (time.perf_counter() - started)


def _watched(config) -> float:
    live = LivePatch(config, seed=1)

    def step_and_draw():
        live.step()
        for name, draw in (("membrane", membrane_figure), ("trace", trace_figure)):
            drawn = time.perf_counter()
            draw(live).savefig(io.BytesIO(), format="png", dpi=72)
            live.draw_seconds[name] = time.perf_counter() - drawn

    for _ in range(3):  # the step size settles on the drawing time
        step_and_draw()
    started, t0 = time.perf_counter(), live.simulated_time
    while time.perf_counter() - started < WALL_SECONDS:
        step_and_draw()
    return (live.simulated_time - t0) / (time.perf_counter() - started)


@pytest.mark.parametrize("agents", [6_000, 60_000])
def test_watching_keeps_most_of_the_speed(agents):
    config = _config(agents)
    ratios = []
    for _ in range(3):
        unwatched, watched = _unwatched(config), _watched(config)
        ratios.append(watched / unwatched)
    ratio = statistics.median(ratios)
    print(f"\n{agents:,} Na+ agents: watched / unwatched simulation speed = {ratio:.2f} "
          f"(target >= {1 - DRAW_SHARE:.2f}; runs {', '.join(f'{r:.2f}' for r in ratios)})")
