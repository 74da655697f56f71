"""Public contracts and nothing else: workflow inputs, update arguments, signals, query results, the
policy, search attributes and the refusal errors. No I/O, no keys, no tables: those are edge/,
adapters/ and activities/ (tests/test_layering.py keeps it so)."""
