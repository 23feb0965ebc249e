"""Command line: `channelsim run | plot | info | sweep | view | validate` (reference: docs/guide.md).

Exit status 0 on success, 2 on bad input (one message naming the field and the fix), 1 on a
failure during a run, 130 when interrupted.
"""

from __future__ import annotations

import shlex
import sys
import traceback
from pathlib import Path

import click

from channelsim.constants import MAX_SEED
from channelsim.errors import ChannelsimError, ConfigError, StateOutOfRange


class _Group(click.Group):
    """Turns channelsim's input errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ChannelsimError as error:
            if ctx.params.get("debug"):
                traceback.print_exc()
            click.echo(f"error: {error}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="channelsim")
def main(debug: bool) -> None:
    """Simulate a cell membrane one ion channel at a time."""


@main.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--from", "from_run", type=click.Path(dir_okay=False, path_type=Path),
              help="Rerun a run file: its stored config and seed (instead of CONFIG).")
@click.option("--resume", "resume_run", type=click.Path(dir_okay=False, path_type=Path),
              help="Continue an interrupted or failed run file in place (instead of CONFIG).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Run file to write (default: data/runs/<experiment name>.h5).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help='Override a config value, e.g. --set outside.K="10 mM" (repeatable; KEY= removes KEY).')
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED),
              help="Random seed, 0 to 2^63 - 1 (default: run.seed of the config).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--force-large", is_flag=True,
              help="Run even when the run's estimated memory or file size exceeds what is available.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--plot", "make_plot", is_flag=True, help="Also write the figure next to the run file.")
def run(config: Path | None, from_run: Path | None, resume_run: Path | None, output: Path | None,
        overrides: tuple[str, ...], seed: int | None, force: bool, force_large: bool, quiet: bool,
        make_plot: bool) -> None:
    """Run the experiment CONFIG (a TOML file), rerun --from a run file, or --resume one."""
    from channelsim.config import load_config, load_config_text
    from channelsim.engine import default_output, resume_experiment, run_experiment
    from channelsim.recording.reader import stored_run

    if sum(x is not None for x in (config, from_run, resume_run)) != 1:
        raise ConfigError("CONFIG", "give one of a config file, --from RUN.h5 or --resume RUN.h5",
                          "e.g. channelsim run experiments/nernst_k.toml")
    command = shlex.join(["channelsim", *sys.argv[1:]])
    if resume_run is not None:
        if overrides or seed is not None or output is not None:
            raise ConfigError("--resume", "continues the run as it was", "drop --set, --seed and -o")
        path = _running(lambda: resume_experiment(resume_run, command=command, progress=not quiet,
                                                  force_large=force_large), resume_run, resume=True)
    else:
        if from_run is not None:
            text, stored_seed = stored_run(from_run)
            resolved = load_config_text(text, list(overrides), origin=str(from_run))
            seed = stored_seed if seed is None else seed
        else:
            resolved = load_config(config, list(overrides))
        from channelsim.checks import config_warnings

        for warning in config_warnings(resolved):
            click.echo(f"warning: {warning}", err=True)
        output = output or default_output(resolved)
        path = _running(lambda: run_experiment(resolved, output, seed=seed, command=command, force=force,
                                               progress=not quiet, force_large=force_large), output)
    if not quiet:
        click.echo(f"wrote {path}")
    if make_plot:
        from channelsim.plotting import plot_run

        figure = plot_run(path)
        if not quiet:
            click.echo(f"wrote {figure}")


def _running(start, path: Path, resume: bool = False) -> Path:
    """Run `start()` and turn how the run ended into a message and an exit status.

    Exit statuses: Ctrl-C or SIGTERM 130, a failure during the run 1; bad input (ChannelsimError)
    goes on to exit status 2.
    """
    from channelsim.engine import RunFailed, RunInterrupted

    try:
        return start()
    except ChannelsimError:
        raise
    except RunInterrupted as stop:
        if stop.complete:
            click.echo(f"interrupted after the run completed: {path} is complete", err=True)
        elif resume:
            click.echo(f"interrupted again: resume {path} once more to continue", err=True)
        else:
            click.echo(f"interrupted: data up to now are in {path}", err=True)
    except KeyboardInterrupt:
        click.echo(f"interrupted: {_file_state(path)}", err=True)
    except RunFailed as error:
        click.echo(f"run failed: {error}", err=True)
        sys.exit(1)
    except StateOutOfRange as error:
        click.echo(f"run failed: {error}; {_file_state(path)}", err=True)
        sys.exit(1)
    except Exception as error:  # a failure during the run: the file says status = failed
        click.echo(f"run failed: {error!r} ({_file_state(path)})", err=True)
        sys.exit(1)
    sys.exit(130)


def _file_state(path: Path) -> str:
    """Describe in words what the run file `path` holds now."""
    from channelsim.recording.reader import open_hdf5, status_of

    try:
        with open_hdf5(Path(path)) as f:
            rows = f["time"].shape[0]
            return f"{path} keeps {rows} row{'s' if rows != 1 else ''}, with status {status_of(f)}"
    except Exception:  # noqa: BLE001 - no file, or not a run file yet
        return f"nothing was written to {path}"


@main.command()
@click.argument("run_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Figure to write, a .png, .pdf, .svg or other image file (default: the run file with .png).")
def plot(run_file: Path, output: Path | None) -> None:
    """Plot a run: voltage, ions moved and open channels against time."""
    from channelsim.plotting import plot_run

    click.echo(f"wrote {plot_run(run_file, output)}")


@main.command()
@click.argument("run_file", type=click.Path(dir_okay=False, path_type=Path))
def info(run_file: Path) -> None:
    """Summarise a run file: status, experiment, duration, final state."""
    from channelsim.analysis import summary

    click.echo(summary(run_file))


@main.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grid", "grid", multiple=True, required=True, metavar="KEY=V1,V2,...",
              help='A swept setting and its values, e.g. --grid outside.K="2.5 mM,5 mM,10 mM" (repeatable: '
                   "the sweep is the cross product).")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Repeats per grid point, with independent seeds spawned from run.seed.")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes (default: the core count).")
@click.option("--scheduler", metavar="ADDRESS", help="Run on this Dask distributed scheduler instead.")
@click.option("-o", "--output", "directory", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the run files (runs/) and summary.nc.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value first.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def sweep(config: Path, grid: tuple[str, ...], seeds: int, workers: int | None, scheduler: str | None,
          directory: Path, overrides: tuple[str, ...], quiet: bool) -> None:
    """Run CONFIG over a grid of settings and seeds; rerun to finish an interrupted sweep."""
    from channelsim.config import load_config
    from channelsim.sweep import SUMMARY_NAME, parse_grid
    from channelsim.sweep import sweep as run_sweep

    summary = run_sweep(load_config(config, list(overrides)), parse_grid(grid), seeds, directory, workers=workers,
                        scheduler=scheduler, progress=not quiet)
    failed = int((summary.status != "complete").sum())
    if not quiet:
        click.echo(f"wrote {directory / SUMMARY_NAME}: {summary.attrs['runs']} runs, {failed} not complete")
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value first.")
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED), help="Random seed (default: run.seed of the config).")
@click.option("--host", default="localhost", show_default=True, help="Address to serve the page on.")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8765, show_default=True,
              help="Port of the page.")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the page's 'save session' writes its config (default: data/view/<experiment>-session.toml).")
def view(config: Path, overrides: tuple[str, ...], seed: int | None, host: str, port: int, save: Path | None) -> None:
    """Watch CONFIG run in a browser, and act on it while it runs (needs: pip install -e ".[view]")."""
    import importlib.util
    import json
    import os

    from channelsim.config import load_config
    from channelsim.view import CONFIG_ENV, OVERRIDES_ENV, SAVE_ENV, SEED_ENV

    if importlib.util.find_spec("solara") is None:
        raise click.UsageError('the live view needs its optional dependencies: pip install -e ".[view]"')
    name = load_config(config, list(overrides)).experiment.name  # a bad config stops here, with its message
    env = {**os.environ, CONFIG_ENV: str(config.resolve()), OVERRIDES_ENV: json.dumps(list(overrides)),
           SAVE_ENV: str(save or Path("data/view") / f"{name}-session.toml")}
    if seed is not None:
        env[SEED_ENV] = str(seed)
    click.echo(f"channelsim view: open http://{host}:{port} in a browser (Ctrl-C stops)")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "solara", "run", "channelsim.view.page", "--host", host,
                               "--port", str(port), "--no-open", "--production", "--log-level", "warning"], env)


@main.command()
def validate() -> None:
    """Physics self-check: short runs against closed forms (Nernst, GHK, Q = C V, pump 3:2)."""
    from channelsim.validation import validate as run_checks

    table, passed = run_checks()
    click.echo(table)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
