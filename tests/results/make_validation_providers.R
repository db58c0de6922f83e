# Reference values for tests/validation/test_providers.py: the random-intercept logistic
# regression that validation.providers fits, in R's lme4 with 25-point adaptive Gauss-Hermite
# quadrature. tests/data/providers.csv: 2,915 people in 14 providers (25 to 650 people), an
# expected probability per person (the case-mix model) and a 0/1 outcome.
# Run: Rscript tests/results/make_validation_providers.R (its output is pasted into validation_providers.py)
suppressMessages(library(lme4))
d <- read.csv("tests/data/providers.csv")
ctl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5), tolPwrss = 1e-10)
adj <- glmer(reoffended ~ 1 + (1 | provider_id), offset = qlogis(expected), family = binomial,
             data = d, nAGQ = 25, control = ctl)
raw <- glmer(reoffended ~ 1 + (1 | provider_id), family = binomial, data = d, nAGQ = 25, control = ctl)
show <- function(name, fit) {
  re <- ranef(fit, condVar = TRUE)$provider_id
  cat(sprintf("%s mu=%.10f tau=%.10f loglik=%.10f\n", name, fixef(fit)[1],
              attr(VarCorr(fit)$provider_id, "stddev"), logLik(fit)))
  cat(sprintf("%s mode %s %.10f sd %.10f\n", name, rownames(re), re[, 1], sqrt(attr(re, "postVar")[1, 1, ])), sep = "")
}
show("adjusted", adj)
show("raw", raw)
