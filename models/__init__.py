"""Public contracts: workflow inputs, update arguments, query results, policy, and database tables."""
