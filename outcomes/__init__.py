"""outcomes: what counts as progress. Instruments, scoring, achievement rules,
proven reoffending and metric specs."""
