"""manage.py persistence_check: the persistence invariants (operations.invariants)."""

import json
import sys

from django.core.management.base import BaseCommand

from operations.invariants import run_invariants


class Command(BaseCommand):
    help = "Check the persistence invariants; print each with ok/violation and counts; exit 1 on a violation."

    def add_arguments(self, parser):
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, as_json: bool = False, **options):
        report = run_invariants()
        if as_json:
            self.stdout.write(_dumps(report.as_dict()))
        else:
            width = max(len(r.name) for r in report.results)
            for r in report.results:
                status = self.style.SUCCESS("ok") if r.ok else self.style.ERROR("VIOLATION")
                line = f"{r.name.ljust(width)}  {status}  {r.violations} of {r.checked}"
                if r.examples:
                    line += f"  e.g. {', '.join(r.examples)}"
                self.stdout.write(line)
            verdict = "all invariants hold" if report.ok else "INVARIANTS VIOLATED"
            self.stdout.write(f"persistence_check: {verdict} ({report.seconds:.2f}s)")
        if not report.ok:
            sys.exit(1)


def _dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
