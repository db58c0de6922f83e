# Reference Cox model for metrics.compare(kind="time") on the Rossi recidivism trial.
#
# Run from the repository root:
#     Rscript tests/results/make_rossi_coxph.R
# It writes tests/results/rossi_coxph.py. Needs only Debian's r-cran-survival;
# desist never needs R at run time or in tests.
suppressMessages(library(survival))
rossi <- read.csv("tests/data/rossi.csv")
f <- Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio
fit <- coxph(f, data = rossi, ties = "efron")
rob <- coxph(f, data = rossi, ties = "efron", robust = TRUE)
unadj <- coxph(Surv(week, arrest) ~ fin, data = rossi, ties = "efron", robust = TRUE)
rossi$w <- ifelse(rossi$race == 1, 2, 0.5) * (1 + rossi$prio / 10)
wfit <- coxph(f, data = rossi, ties = "efron", weights = w, robust = TRUE)
km <- survfit(Surv(week, arrest) ~ fin, data = rossi)
sk <- summary(km, times = c(10, 20, 30, 40, 52))
fmt <- function(x) paste(sprintf("%.17g", x), collapse = ", ")
out <- c(
  '"""Reference Cox PH results for the Rossi trial from R survival (generated, do not edit).',
  "",
  "Regenerate with ``Rscript tests/results/make_rossi_coxph.R`` from the repository root.",
  paste0("R ", R.version$major, ".", R.version$minor, ", survival ", packageVersion("survival"), "."),
  '"""',
  "",
  "COVARIATES = ['fin', 'age', 'race', 'wexp', 'mar', 'paro', 'prio']",
  "",
  "# > fit <- coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi, ties = 'efron')",
  "# > coef(fit)",
  paste0("COEF = [", fmt(coef(fit)), "]"),
  "# > sqrt(diag(vcov(fit)))   (model-based)",
  paste0("SE_MODEL = [", fmt(sqrt(diag(vcov(fit)))), "]"),
  "# > rob <- coxph(..., robust = TRUE); sqrt(diag(vcov(rob)))   (sandwich, per subject)",
  paste0("SE_ROBUST = [", fmt(sqrt(diag(vcov(rob)))), "]"),
  "# > exp(coef(fit))['fin']",
  paste0("HR_FIN = ", fmt(exp(coef(fit))["fin"])),
  "# > unadj <- coxph(Surv(week, arrest) ~ fin, data = rossi, robust = TRUE); coef; robust se",
  paste0("UNADJUSTED_COEF = ", fmt(coef(unadj))),
  paste0("UNADJUSTED_SE_ROBUST = ", fmt(sqrt(diag(vcov(unadj))))),
  "# > rossi$w <- ifelse(rossi$race == 1, 2, 0.5) * (1 + rossi$prio / 10)",
  "# > wfit <- coxph(Surv(week, arrest) ~ ..., data = rossi, ties = 'efron', weights = w, robust = TRUE)",
  paste0("WEIGHTED_COEF = [", fmt(coef(wfit)), "]"),
  "# > sqrt(diag(vcov(wfit)))   (robust)",
  paste0("WEIGHTED_SE_ROBUST = [", fmt(sqrt(diag(vcov(wfit)))), "]"),
  "# > km <- survfit(Surv(week, arrest) ~ fin, data = rossi); summary(km, times = c(10, 20, 30, 40, 52))",
  "KM_TIMES = [10, 20, 30, 40, 52]",
  paste0("KM_FIN0 = [", fmt(sk$surv[sk$strata == "fin=0"]), "]"),
  paste0("KM_FIN1 = [", fmt(sk$surv[sk$strata == "fin=1"]), "]")
)
writeLines(out, "tests/results/rossi_coxph.py")
