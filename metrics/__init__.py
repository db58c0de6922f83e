"""metrics: compared with whom. Propensity, matching, balance, effects, power and
payment thresholds."""
