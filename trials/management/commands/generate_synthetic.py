import time

from django.core.management.base import BaseCommand, CommandError

from trials.synthetic import synthetic_generate, synthetic_remove


class Command(BaseCommand):
    help = (
        "Add N synthetic published studies for benchmarks (accessions NCR-S0000001 ..., flagged is_synthetic, "
        "never exported unless asked), or remove them all with --remove. Deterministic: the same seed gives "
        "the same studies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--studies", type=int, default=0, help="How many studies to add after the existing synthetic ones")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default 0)")
        parser.add_argument("--remove", action="store_true", help="Delete every synthetic study and its rows, then stop")

    def handle(self, *args, studies: int, seed: int, remove: bool, **options):
        started = time.monotonic()
        if remove:
            counts = synthetic_remove()
            total = sum(counts.values())
            self.stdout.write(
                f"Removed {counts.get('trials_study', 0)} synthetic studies ({total} rows) in {time.monotonic() - started:.1f} s."
            )
            return
        if studies <= 0:
            raise CommandError("Give --studies N (N > 0), or --remove.")
        progress = (lambda line: self.stderr.write(line)) if options["verbosity"] > 1 else None
        counts = synthetic_generate(studies=studies, seed=seed, progress=progress)
        rows = ", ".join(f"{table.removeprefix('trials_')} {n}" for table, n in counts.items())
        self.stdout.write(f"Added {studies} synthetic studies in {time.monotonic() - started:.1f} s ({rows}).")
