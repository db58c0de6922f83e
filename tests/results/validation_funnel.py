"""Interpolated exact funnel limits (Spiegelhalter 2005, Appendix A.1.1) from R.

Produced by ``Rscript tests/results/make_validation_funnel.R`` (R's qbinom /
pbinom / qpois / ppois; R 4.x from Debian). Each key is (p, volume, target).
"""

# > interp_binom(p, n, p0) = (qbinom(p, n, p0) - a) / n,
# >   a = (pbinom(r, n, p0) - p) / (pbinom(r, n, p0) - pbinom(r - 1, n, p0))
BINOMIAL = {
    (0.975, 100, 0.3): 0.386912014163788,
    (0.025, 100, 0.3): 0.206902385791073,
    (0.999, 100, 0.3): 0.441562623860848,
    (0.001, 100, 0.3): 0.160260746891119,
    (0.999, 20, 0.1): 0.335171821685282,
    (0.975, 1000, 0.45): 0.480389059192768,
    (0.025, 1000, 0.45): 0.418707614643435,
}

# > interp_pois(p, E) = (qpois(p, E) - a) / E,
# >   a = (ppois(r, E) - p) / (ppois(r, E) - ppois(r - 1, E))
POISSON = {
    (0.999, 50, 1.0): 1.45502817031239,
    (0.001, 50, 1.0): 0.582456329829631,
    (0.975, 4.2, 1.0): 1.94630503365486,
    (0.025, 200, 1.0): 0.861266469741486,
}
