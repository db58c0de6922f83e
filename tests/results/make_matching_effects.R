# Reference sandwich SEs for metrics.effects kind="count" (Poisson GLM, R sandwich) and a
# pair-clustered Cox model (R survival) on a matched sample.
#
# Run from the repository root:
#     Rscript tests/results/make_matching_effects.R
# It writes tests/results/matching_effects.py. Uses MatchIt 4.7.2's m1 matched sample as
# stored in tests/data/lalonde_match_m1.csv (weights, subclass), so MatchIt is not needed.
suppressMessages(library(sandwich))
suppressMessages(library(survival))
d <- read.csv("tests/data/lalonde.csv")
m <- read.csv("tests/data/lalonde_match_m1.csv")
d$weights <- m$weight
d$subclass <- m$subclass
md <- d[d$weights > 0, ]
md$jobs <- md$re78 %/% 5000
f <- glm(jobs ~ treat, family = poisson, data = md, weights = weights)
md$weeks <- pmin(52, 1 + md$age)
cx <- coxph(Surv(weeks, married) ~ treat, data = md, ties = "efron", cluster = subclass)
fmt <- function(x) sprintf("%.17g", x)
out <- c(
  '"""Reference Poisson rate-ratio SEs from R sandwich (generated, do not edit).',
  "",
  "Regenerate with ``Rscript tests/results/make_matching_effects.R`` from the repository root.",
  paste0("R ", R.version$major, ".", R.version$minor, ", sandwich ", packageVersion("sandwich"), "."),
  "Data: lalonde m1 matched sample (MatchIt 4.7.2 weights/subclass), jobs = re78 %/% 5000.",
  '"""',
  "",
  "# > f <- glm(jobs ~ treat, family = poisson, data = md, weights = weights); coef(f)['treat']",
  paste0("LOG_RATE_RATIO = ", fmt(coef(f)[["treat"]])),
  "# > sqrt(vcovCL(f, cluster = ~subclass)['treat', 'treat'])   (default type HC1)",
  paste0("SE_CLUSTER = ", fmt(sqrt(vcovCL(f, cluster = ~subclass)["treat", "treat"]))),
  "# > sqrt(vcovHC(f, type = 'HC0')['treat', 'treat'])",
  paste0("SE_HC0 = ", fmt(sqrt(vcovHC(f, type = "HC0")["treat", "treat"]))),
  "",
  "# Cox model clustered on the matched pair (weeks = pmin(52, 1 + age), event = married):",
  "# > cx <- coxph(Surv(weeks, married) ~ treat, data = md, ties = 'efron', cluster = subclass)",
  paste0("COX_COEF = ", fmt(coef(cx)[["treat"]])),
  "# > sqrt(vcov(cx)['treat', 'treat'])   (robust, summed within subclass)",
  paste0("COX_SE_CLUSTER = ", fmt(sqrt(vcov(cx)["treat", "treat"])))
)
writeLines(out, "tests/results/matching_effects.py")
