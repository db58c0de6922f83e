# Reference values for tests/validation/test_funnels.py: Spiegelhalter (2005)
# Appendix A.1.1 interpolated exact limits, computed with R's own quantile
# and distribution functions (independent of scipy).
# Run: Rscript tests/results/make_validation_funnel.R > tests/results/validation_funnel.txt
interp_binom <- function(p, n, p0) {
  r <- qbinom(p, n, p0)                 # smallest r with P(R <= r) >= p
  a <- (pbinom(r, n, p0) - p) / (pbinom(r, n, p0) - pbinom(r - 1, n, p0))
  (r - a) / n
}
interp_pois <- function(p, E, target = 1) {
  r <- qpois(p, target * E)
  a <- (ppois(r, target * E) - p) / (ppois(r, target * E) - ppois(r - 1, target * E))
  (r - a) / E
}
cases_b <- list(c(0.975, 100, 0.3), c(0.025, 100, 0.3), c(0.999, 100, 0.3), c(0.001, 100, 0.3),
                c(0.999, 20, 0.1), c(0.975, 1000, 0.45), c(0.025, 1000, 0.45))
for (cs in cases_b) cat(sprintf("binom p=%s n=%s p0=%s limit=%.15g\n", cs[1], cs[2], cs[3], interp_binom(cs[1], cs[2], cs[3])))
cases_p <- list(c(0.999, 50), c(0.001, 50), c(0.975, 4.2), c(0.025, 200))
for (cs in cases_p) cat(sprintf("pois p=%s E=%s limit=%.15g\n", cs[1], cs[2], interp_pois(cs[1], cs[2])))
