"""Sinks: callables taking one Result; they never see the engine."""
