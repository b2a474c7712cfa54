"""In every Python `make mutate` starts (this directory is on its PYTHONPATH): during mutmut's stats
run, record which mutated functions this process calls (see mutate_hits.py for why and who reads it)."""

import os


def _record_hits_to_file() -> None:
    from pathlib import Path

    try:
        from mutmut.mutation import trampoline
    except ImportError:
        return
    path = Path(os.environ["PROBER_MUTATE_HITS"]) / f"{os.getpid()}.hits"
    seen: set[str] = set()

    def record(name: str, caller: str | None = None) -> None:
        # Replaces mutmut's recorder: its state would die with this process (often by os._exit).
        if name not in seen:
            seen.add(name)
            with path.open("a") as hits:  # one short append per name: the reader sees whole lines
                hits.write(name + "\n")

    trampoline.record_trampoline_hit = record  # type: ignore[assignment]


# Only children of the stats run: the test processes themselves record through mutmut.
if os.environ.get("MUTANT_UNDER_TEST") == "stats" and os.environ.get("PROBER_MUTATE_HITS"):
    _record_hits_to_file()
