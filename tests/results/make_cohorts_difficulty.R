# Reference AUC, DeLong variance and CI for cohorts.difficulty, from R's pROC.
#
# Run from the repository root:
#     Rscript tests/results/make_cohorts_difficulty.R
# It writes tests/results/cohorts_difficulty.py (data and results together).
# Needs only Debian's r-cran-proc; desist never needs R at run time or in tests.
suppressMessages(library(pROC))
set.seed(7)
n <- 60
outcome <- rbinom(n, 1, 0.4)
# Scores rounded to one decimal so that there are ties within and across groups.
score <- round(plogis(-0.4 + 1.2 * outcome + rnorm(n)), 1)
r <- roc(outcome, score, levels = c(0, 1), direction = "<", quiet = TRUE)
ci <- ci.auc(r, method = "delong", conf.level = 0.95)
v <- var(r, method = "delong")
fmt <- function(x) paste(sprintf("%.17g", x), collapse = ", ")
out <- c(
  '"""Reference AUC and DeLong CI from R pROC (generated, do not edit).',
  "",
  "Regenerate with ``Rscript tests/results/make_cohorts_difficulty.R`` from the repository root.",
  '"""',
  "",
  "import numpy as np",
  "",
  sprintf("# %s, pROC %s", R.version.string, packageVersion("pROC")),
  "# > set.seed(7); outcome <- rbinom(60, 1, 0.4)",
  sprintf("outcome = np.array([%s])", paste(outcome, collapse = ", ")),
  "# > score <- round(plogis(-0.4 + 1.2 * outcome + rnorm(60)), 1)",
  sprintf("score = np.array([%s])", fmt(score)),
  "# > r <- roc(outcome, score, levels = c(0, 1), direction = '<'); auc(r)",
  sprintf("auc = %.17g", as.numeric(auc(r))),
  "# > var(r, method = 'delong')",
  sprintf("auc_var_delong = %.17g", v),
  "# > ci.auc(r, method = 'delong', conf.level = 0.95)",
  sprintf("auc_ci_delong = (%.17g, %.17g)", ci[1], ci[3]),
  ""
)
writeLines(out, "tests/results/cohorts_difficulty.py")
