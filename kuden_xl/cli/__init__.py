"""The ``kuden-xl`` command line: each command parses, calls one job, prints the outcome.

Exit status: 0 done (skipped rows are data), 2 could not run (bad input or settings, or the run
stopped: gateway unreachable, ledger unwritable), 3 finished but some selected rows are UNKNOWN or
GATEWAY_ERROR (reconciliation's included), 130 interrupted by Ctrl+C or SIGTERM (what was sent
is in the ledger). A ``KudenError`` is printed as one line, never a traceback; output cut short
by its reader (``| head``) is not an error.

This package's face is the click group ``cli`` (every command added to it) and ``main``, the
console entry point; the commands live in one module per family.
"""

from __future__ import annotations

import click

from . import excel_addin, practice, report, settings, workbook


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kuden_xl")
def cli() -> None:
    """kuden-xl: ワークシートの行に SMS を送り、結果をブックに記録します。

    Send SMS to the rows of an Excel worksheet; the workbook is the record.
    """


for _command in (
    workbook.check,
    workbook.send,
    workbook.status,
    practice.demo,
    practice.sandbox,
    settings.ledger,
    excel_addin.addin,
    report.report_command,
    settings.config,
    settings.credentials,
    settings.connection,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="kuden-xl")
