"""The ``supervision`` command: one module per area, wired together here.

Top-level commands first, then the sub-commands, in the order ``--help`` lists them.
"""

from __future__ import annotations

import typer

from supervision.cli import accounts, decisions, demo, escrow, lists, registry, rules, serve

app = typer.Typer(
    help="Supervision of off-campus training institutions (校外培训监管).", no_args_is_help=True
)

app.command()(serve.migrate)
app.command()(serve.serve)
app.command("demo-data")(demo.demo_data)
app.command("import")(registry.import_)
app.command()(registry.export)
app.command()(serve.scheduler)

app.add_typer(accounts.app, name="users")
app.add_typer(lists.app, name="lists")
app.add_typer(decisions.app, name="decisions")
app.add_typer(escrow.keys_app, name="keys")
app.add_typer(escrow.escrow_app, name="escrow")
app.add_typer(rules.app, name="rules")
app.add_typer(rules.calendar_app, name="calendar")


def main() -> None:
    app()
