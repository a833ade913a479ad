"""Gate: a policy of rules judged on an evaluation or a stored run, for CI."""
