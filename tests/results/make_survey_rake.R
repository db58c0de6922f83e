# Reference weights for cohorts.weights.rake from R's survey::rake.
#
# Run from the repository root:
#     Rscript tests/results/make_survey_rake.R
# It writes
#     tests/data/survey_rake_sample.csv   the sample (R and Python read the same file)
#     tests/results/survey_rake.py        the weights, with the R calls above them
# Needs only Debian's r-cran-survey; desist never needs R at run time or in tests.
#
# The sample is skewed (15% women against a 50% target) and its margins are
# dependent (women are mostly young, the young mostly live in the north and
# midlands, ethnicity depends on region), so raking needs many passes:
# survey's defaults (maxit = 10, epsilon = 1) stop short with a warning.
suppressMessages(library(survey))
set.seed(20261125)
n <- 2000
ages <- c("18-24", "25-34", "35-49", "50+")
regs <- c("north", "midlands", "south", "wales")
eths <- c("white", "black", "asian", "mixed", "other")
sex <- ifelse(runif(n) < 0.15, "female", "male")
age_band <- character(n)
age_band[sex == "female"] <- sample(ages, sum(sex == "female"), TRUE, c(0.60, 0.25, 0.10, 0.05))
age_band[sex == "male"] <- sample(ages, sum(sex == "male"), TRUE, c(0.05, 0.15, 0.35, 0.45))
young <- age_band %in% c("18-24", "25-34")
region <- character(n)
region[young] <- sample(regs, sum(young), TRUE, c(0.60, 0.20, 0.15, 0.05))
region[!young] <- sample(regs, sum(!young), TRUE, c(0.10, 0.20, 0.50, 0.20))
north <- region %in% c("north", "midlands")
ethnicity <- character(n)
ethnicity[north] <- sample(eths, sum(north), TRUE, c(0.55, 0.15, 0.20, 0.05, 0.05))
ethnicity[!north] <- sample(eths, sum(!north), TRUE, c(0.90, 0.03, 0.03, 0.02, 0.02))
d <- data.frame(id = 1:n, sex, age_band, region, ethnicity,
                base_weight = round(runif(n, 0.5, 2), 3))
write.csv(d, "tests/data/survey_rake_sample.csv", row.names = FALSE, quote = FALSE)

pop_sex <- data.frame(sex = c("female", "male"), Freq = c(250000, 250000))
pop_age <- data.frame(age_band = ages, Freq = c(150000, 150000, 120000, 80000))
pop_reg <- data.frame(region = regs, Freq = c(125000, 125000, 125000, 125000))
pop_eth <- data.frame(ethnicity = eths, Freq = c(300000, 70000, 70000, 30000, 30000))
des <- svydesign(ids = ~1, weights = ~base_weight, data = d)
sample_margins <- list(~sex, ~age_band, ~region, ~ethnicity)
population_margins <- list(pop_sex, pop_age, pop_reg, pop_eth)

converged <- rake(des, sample_margins, population_margins,
                  control = list(maxit = 1000, epsilon = 1e-12))
warned <- ""
defaults <- withCallingHandlers(
  rake(des, sample_margins, population_margins),
  warning = function(w) {
    warned <<- trimws(conditionMessage(w))
    invokeRestart("muffleWarning")
  })

fmt <- function(x) paste(sprintf("%.17g", x), collapse = ",\n    ")
margin_py <- function(p) {
  paste0('"', names(p)[1], '": {',
         paste(sprintf('"%s": %.17g', p[[1]], p$Freq), collapse = ", "), "}")
}
defaults_sex <- tapply(weights(defaults), d$sex, sum)
out <- c(
  '"""Reference raking weights from R survey::rake (generated, do not edit).',
  "",
  "Regenerate with ``Rscript tests/results/make_survey_rake.R`` from the repository root;",
  "the sample is tests/data/survey_rake_sample.csv, written by the same script.",
  '"""',
  "",
  "import numpy as np",
  "",
  sprintf("# %s, survey %s", R.version.string, packageVersion("survey")),
  "# > d <- read.csv('tests/data/survey_rake_sample.csv')",
  "# > des <- svydesign(ids = ~1, weights = ~base_weight, data = d)",
  "# population margins as counts (pop_sex, pop_age, pop_reg, pop_eth):",
  "margins = {",
  paste0("    ", sapply(population_margins, margin_py), ","),
  "}",
  "",
  "# > r <- rake(des, list(~sex, ~age_band, ~region, ~ethnicity), list(pop_sex, pop_age, pop_reg, pop_eth),",
  "# +           control = list(maxit = 1000, epsilon = 1e-12))",
  "# > weights(r)",
  "weights_converged = np.array([",
  paste0("    ", fmt(weights(converged)), ","),
  "])",
  "",
  "# survey's defaults, control = list(maxit = 10, epsilon = 1):",
  "# > r10 <- rake(des, list(~sex, ~age_band, ~region, ~ethnicity), list(pop_sex, pop_age, pop_reg, pop_eth))",
  sprintf("# warning: %s", warned),
  sprintf("defaults_warning = %s", deparse(warned)),
  "# > tapply(weights(r10), d$sex, sum)   (target 250000 each)",
  sprintf('defaults_sex_totals = {"female": %.17g, "male": %.17g}', defaults_sex[["female"]], defaults_sex[["male"]]),
  "# > weights(r10)",
  "weights_defaults = np.array([",
  paste0("    ", fmt(weights(defaults)), ","),
  "])",
  ""
)
writeLines(out, "tests/results/survey_rake.py")
