# Reference numbers for tests/results/outcomes_rates.py (run: Rscript make_outcomes_rates.R).
# Wilson score intervals from prop.test without continuity correction, on the Rossi
# (1980) trial as in tests/data/rossi.csv: arrests within 52 weeks by arm.
rossi <- read.csv("../data/rossi.csv")
for (f in c(1, 0)) {
  k <- sum(rossi$arrest[rossi$fin == f]); n <- sum(rossi$fin == f)
  ci <- prop.test(k, n, correct = FALSE)$conf.int
  cat(sprintf("fin=%d k=%d n=%d ci=c(%.10f, %.10f)\n", f, k, n, ci[1], ci[2]))
}
# Frequency per 100 with a normal interval on the mean count: the arrest indicator as a count.
x <- rossi$arrest[rossi$fin == 0]
m <- mean(x); se <- sd(x) / sqrt(length(x))
cat(sprintf("fin=0 per100=%.10f ci=c(%.10f, %.10f)\n", 100 * m, 100 * (m - qnorm(0.975) * se), 100 * (m + qnorm(0.975) * se)))
