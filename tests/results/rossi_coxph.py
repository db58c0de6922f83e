"""Reference Cox PH results for the Rossi trial from R survival (generated, do not edit).

Regenerate with ``Rscript tests/results/make_rossi_coxph.R`` from the repository root.
R 4.2.2, survival 3.5.3.
"""

COVARIATES = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]

# > fit <- coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi, ties = 'efron')
# > coef(fit)
COEF = [
    -0.37942216648588667,
    -0.0574377426840623,
    0.31389978784249856,
    -0.14979569766653705,
    -0.43370387793730858,
    -0.084871082500394657,
    0.091497080985295964,
]
# > sqrt(diag(vcov(fit)))   (model-based)
SE_MODEL = [
    0.19137948071354347,
    0.021999470600679975,
    0.30799277655741819,
    0.21222429624862288,
    0.38186805766879128,
    0.1957566719066243,
    0.028648549959973665,
]
# > rob <- coxph(..., robust = TRUE); sqrt(diag(vcov(rob)))   (sandwich, per subject)
SE_ROBUST = [
    0.19554177898196171,
    0.025336146263977087,
    0.29232855534683222,
    0.2180603152836692,
    0.38024446574998433,
    0.19920082959884897,
    0.028974594631634473,
]
# > exp(coef(fit))['fin']
HR_FIN = 0.68425668144338048
# > unadj <- coxph(Surv(week, arrest) ~ fin, data = rossi, robust = TRUE); coef; robust se
UNADJUSTED_COEF = -0.36906921027551315
UNADJUSTED_SE_ROBUST = 0.18943884984078382
# > rossi$w <- ifelse(rossi$race == 1, 2, 0.5) * (1 + rossi$prio / 10)
# > wfit <- coxph(Surv(week, arrest) ~ ..., data = rossi, ties = 'efron', weights = w, robust = TRUE)
WEIGHTED_COEF = [
    -0.42179138127289084,
    -0.059016748410544891,
    0.27052074471556159,
    -0.15680885949717824,
    -0.37319146807220155,
    0.0011068744721349022,
    0.089778795697995864,
]
# > sqrt(diag(vcov(wfit)))   (robust)
WEIGHTED_SE_ROBUST = [
    0.20950142919241327,
    0.026817700074429147,
    0.29375848415232475,
    0.22980803455446999,
    0.39460665341111595,
    0.21541374642123118,
    0.0313388236467399,
]
# > km <- survfit(Surv(week, arrest) ~ fin, data = rossi); summary(km, times = c(10, 20, 30, 40, 52))
KM_TIMES = [10, 20, 30, 40, 52]
KM_FIN0 = [0.95833333333333348, 0.90277777777777779, 0.82870370370370383, 0.77314814814814803, 0.6944444444444442]
KM_FIN1 = [0.97222222222222221, 0.91203703703703687, 0.89351851851851827, 0.83333333333333304, 0.77777777777777757]
