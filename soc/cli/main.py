"""Entry point of the ``soc`` command.

Each area of the product keeps its commands in its own module under
``soc/cli/`` exposing ``register(app)``; this file only assembles them, so
that areas never edit each other's commands.
"""

from __future__ import annotations

import importlib
import sys

import typer

from soc.cli.common import state

app = typer.Typer(
    name="soc",
    help="Hai Phong SOC: collect logs, detect with Sigma and Spark, route incidents under the four-layer model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Modules under soc.cli that add commands; each exposes ``register(app: typer.Typer) -> None``.
AREAS = ("core", "connectors", "detection", "anomaly", "incidents", "sharing", "users", "demo")


@app.callback()
def _root(
    config: str = typer.Option(None, "--config", "-c", envvar="SOC_CONFIG",
                               help="Configuration file (default ./soc.toml; defaults serve without one)."),
) -> None:
    state.config_path = config


def _register() -> None:
    for area in AREAS:
        try:
            mod = importlib.import_module(f"soc.cli.{area}")
        except ModuleNotFoundError as exc:
            if exc.name and f"soc.cli.{area}".startswith(exc.name):
                continue
            raise
        mod.register(app)


_register()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
