"""Sinks, which never see the engine: jsonl and summary take Results, the others records (dicts).

junit, annotations, stepsummary and report/ have `record(dict)` and `close(sweep_line)`, so a sweep can
feed them live and `prober report` from a results file (prober.cli.report.replay).
"""
