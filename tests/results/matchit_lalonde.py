"""MatchIt 4.7.2 reference results on the lalonde data (R 4.2.2, sandwich 3.0.2, lmtest 0.9.40).

Origin: the project's shared reference folder (matchit_lalonde.json, lalonde_match_m1.csv,
lalonde_match_m2.csv), produced by the lead with R MatchIt 4.7.2 (CRAN; NOT Debian's 4.5.1,
whose nn_matchC_vec truncates distances, MatchIt issue #163). Numbers copied unchanged; the
per-unit weights and subclasses are in tests/data/lalonde_match_m1.csv and _m2.csv.
The data, tests/data/lalonde.csv, is MatchIt's `lalonde` (614 rows, 185 treated).

R calls (for each model):
> library(MatchIt); data("lalonde", package = "MatchIt")
> m <- matchit(treat ~ age + educ + race + married + nodegree + re74 + re75, data = lalonde,
+              method = "nearest", distance = "glm", ...)          # see CALL below
> s <- summary(m)            # s$sum.all (before), s$sum.matched (after), s$nn (counts)
> md <- match.data(m)
> fit <- lm(re78 ~ treat, data = md, weights = weights)
> lmtest::coeftest(fit, vcov = sandwich::vcovCL, cluster = ~subclass)   # type "HC1" default
"""

# > coef(m$model)   (glm, binomial logit)
PROPENSITY_COEFFICIENTS = {
    "(Intercept)": -1.66328159482181,
    "age": 0.0157770709858204,
    "educ": 0.161306877011067,
    "racehispan": -2.08173411895593,
    "racewhite": -3.06536772923412,
    "married": -0.832113271326339,
    "nodegree": 0.707296881079667,
    "re74": -7.17766856807588e-05,
    "re75": 5.34464463884473e-05,
}

# balance statistics: columns as in summary.matchit (standardize = TRUE): Means Treated, Means Control,
# Std. Mean Diff., Var. Ratio, eCDF Mean, eCDF Max; None = NA (binary variables have no Var. Ratio).
STATISTICS = ["mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max"]

MODELS = {}

# > m <- matchit(formula = treat ~ age + educ + race + married + nodegree +      re74 + re75, data = lalonde, method = "nearest", distance = "glm",      replace = FALSE, ratio = 1)
# > summary(m); coeftest(lm(re78 ~ treat, md, weights = weights), vcov = vcovCL, cluster = ~subclass)
# (se_cluster_hc0: vcovCL(type = "HC0"); se_hc3: vcovHC(fit, type = "HC3"))
MODELS["m1"] = {
    "call": "matchit(formula = treat ~ age + educ + race + married + nodegree +      re74 + re75, "
    'data = lalonde, method = "nearest", distance = "glm",      replace = FALSE, ratio = 1)',
    "caliper": None,
    "caliper_raw_distance_units": None,
    "sd_distance_all_units": 0.290313372039788,
    "max_abs_pair_distance": 0.449206409474689,
    "counts": {
        "treated": {"all": 185, "matched": 185, "unmatched": 0, "discarded": 0},
        "control": {"all": 429, "matched": 185, "unmatched": 244, "discarded": 0},
    },
    "att": 894.367480270274,
    "se_cluster_hc1": 705.229764061618,
    "p_t_df_resid": 0.205530739852477,
    "se_cluster_hc0": 704.273519873913,
    "se_hc3": 732.276586326009,
    "balance_before": {
        "distance": [
            0.577435546655728,
            0.182224764762873,
            1.79408604967622,
            0.921144705541392,
            0.377423218260915,
            0.644364644364644,
        ],
        "age": [
            25.8162162162162,
            28.030303030303,
            -0.309445261997982,
            0.439995463435061,
            0.0813390663390664,
            0.157726957726958,
        ],
        "educ": [
            10.3459459459459,
            10.2354312354312,
            0.0549646613888354,
            0.495893371429209,
            0.0347223189328453,
            0.111371511371511,
        ],
        "raceblack": [0.843243243243243, 0.202797202797203, 1.76154188981543, None, 0.64044604044604, 0.64044604044604],
        "racehispan": [
            0.0594594594594595,
            0.142191142191142,
            -0.349842541598422,
            None,
            0.0827316827316827,
            0.0827316827316827,
        ],
        "racewhite": [
            0.0972972972972973,
            0.655011655011655,
            -1.88186760097513,
            None,
            0.557714357714358,
            0.557714357714358,
        ],
        "married": [
            0.189189189189189,
            0.512820512820513,
            -0.826309272340716,
            None,
            0.323631323631324,
            0.323631323631324,
        ],
        "nodegree": [
            0.708108108108108,
            0.596736596736597,
            0.244970232272019,
            None,
            0.111371511371511,
            0.111371511371511,
        ],
        "re74": [
            2095.57368864865,
            5619.23650638695,
            -0.721083809071869,
            0.518128480856177,
            0.224794889040699,
            0.447035847035847,
        ],
        "re75": [
            1532.05531378378,
            2466.48444312354,
            -0.290262911185457,
            0.95629304538895,
            0.134171446530997,
            0.287645687645688,
        ],
    },
    "balance_after": {
        "distance": [
            0.577435546655728,
            0.362891389001665,
            0.973937700897652,
            0.756566302061647,
            0.132069242016886,
            0.421621621621622,
        ],
        "age": [
            25.8162162162162,
            25.3027027027027,
            0.0717696897509558,
            0.456802731609319,
            0.0847297297297297,
            0.254054054054054,
        ],
        "educ": [
            10.3459459459459,
            10.6054054054054,
            -0.129042561545878,
            0.572113945521668,
            0.0238975817923186,
            0.0756756756756757,
        ],
        "raceblack": [
            0.843243243243243,
            0.47027027027027,
            1.02585928270134,
            None,
            0.372972972972973,
            0.372972972972973,
        ],
        "racehispan": [
            0.0594594594594595,
            0.216216216216216,
            -0.662867965279617,
            None,
            0.156756756756757,
            0.156756756756757,
        ],
        "racewhite": [
            0.0972972972972973,
            0.313513513513514,
            -0.729567540219444,
            None,
            0.216216216216216,
            0.216216216216216,
        ],
        "married": [
            0.189189189189189,
            0.210810810810811,
            -0.0552052447473883,
            None,
            0.0216216216216216,
            0.0216216216216216,
        ],
        "nodegree": [
            0.708108108108108,
            0.637837837837838,
            0.154564881251391,
            None,
            0.0702702702702702,
            0.0702702702702702,
        ],
        "re74": [
            2095.57368864865,
            2342.10756351351,
            -0.050450793605419,
            1.3289093229409,
            0.0469424731994564,
            0.275675675675676,
        ],
        "re75": [
            1532.05531378378,
            1614.74512518919,
            -0.0256860414880991,
            1.49562003479418,
            0.0452019435165503,
            0.205405405405405,
        ],
    },
}

# > m <- matchit(formula = treat ~ age + educ + race + married + nodegree +      re74 + re75, data = lalonde, method = "nearest", distance = "glm",      caliper = 0.2, ratio = 1)
# > summary(m); coeftest(lm(re78 ~ treat, md, weights = weights), vcov = vcovCL, cluster = ~subclass)
# (se_cluster_hc0: vcovCL(type = "HC0"); se_hc3: vcovHC(fit, type = "HC3"))
MODELS["m2"] = {
    "call": "matchit(formula = treat ~ age + educ + race + married + nodegree +      re74 + re75, "
    'data = lalonde, method = "nearest", distance = "glm",      caliper = 0.2, ratio = 1)',
    "caliper": 0.2,
    "caliper_raw_distance_units": 0.0580626744079575,
    "sd_distance_all_units": 0.290313372039788,
    "max_abs_pair_distance": 0.0578428998755112,
    "counts": {
        "treated": {"all": 185, "matched": 113, "unmatched": 72, "discarded": 0},
        "control": {"all": 429, "matched": 113, "unmatched": 316, "discarded": 0},
    },
    "att": 1571.74445442479,
    "se_cluster_hc1": 1010.9479698261,
    "p_t_df_resid": 0.121423674076588,
    "se_cluster_hc0": 1008.69891705172,
    "se_hc3": 986.241294741887,
    "balance_before": {
        "distance": [
            0.577435546655728,
            0.182224764762873,
            1.79408604967622,
            0.921144705541392,
            0.377423218260915,
            0.644364644364644,
        ],
        "age": [
            25.8162162162162,
            28.030303030303,
            -0.309445261997982,
            0.439995463435061,
            0.0813390663390664,
            0.157726957726958,
        ],
        "educ": [
            10.3459459459459,
            10.2354312354312,
            0.0549646613888354,
            0.495893371429209,
            0.0347223189328453,
            0.111371511371511,
        ],
        "raceblack": [0.843243243243243, 0.202797202797203, 1.76154188981543, None, 0.64044604044604, 0.64044604044604],
        "racehispan": [
            0.0594594594594595,
            0.142191142191142,
            -0.349842541598422,
            None,
            0.0827316827316827,
            0.0827316827316827,
        ],
        "racewhite": [
            0.0972972972972973,
            0.655011655011655,
            -1.88186760097513,
            None,
            0.557714357714358,
            0.557714357714358,
        ],
        "married": [
            0.189189189189189,
            0.512820512820513,
            -0.826309272340716,
            None,
            0.323631323631324,
            0.323631323631324,
        ],
        "nodegree": [
            0.708108108108108,
            0.596736596736597,
            0.244970232272019,
            None,
            0.111371511371511,
            0.111371511371511,
        ],
        "re74": [
            2095.57368864865,
            5619.23650638695,
            -0.721083809071869,
            0.518128480856177,
            0.224794889040699,
            0.447035847035847,
        ],
        "re75": [
            1532.05531378378,
            2466.48444312354,
            -0.290262911185457,
            0.95629304538895,
            0.134171446530997,
            0.287645687645688,
        ],
    },
    "balance_after": {
        "distance": [
            0.525021057013676,
            0.491993334303466,
            0.149931578999853,
            1.18383655948872,
            0.038734188945003,
            0.238938053097345,
        ],
        "age": [
            26.7610619469027,
            26.4159292035398,
            0.0482364519378805,
            0.379101276417661,
            0.0993362831858407,
            0.327433628318584,
        ],
        "educ": [
            10.5752212389381,
            10.4690265486726,
            0.0528160926681136,
            0.539046412165373,
            0.0298090358639963,
            0.0884955752212389,
        ],
        "raceblack": [
            0.743362831858407,
            0.725663716814159,
            0.0486812792868407,
            None,
            0.0176991150442478,
            0.0176991150442478,
        ],
        "racehispan": [
            0.0973451327433628,
            0.106194690265487,
            -0.03742159706339,
            None,
            0.00884955752212389,
            0.00884955752212389,
        ],
        "racewhite": [
            0.15929203539823,
            0.168141592920354,
            -0.0298606183496897,
            None,
            0.00884955752212391,
            0.00884955752212391,
        ],
        "married": [
            0.20353982300885,
            0.256637168141593,
            -0.135570401923896,
            None,
            0.0530973451327434,
            0.0530973451327434,
        ],
        "nodegree": [
            0.690265486725664,
            0.619469026548673,
            0.155722276550074,
            None,
            0.0707964601769911,
            0.0707964601769911,
        ],
        "re74": [
            2531.95954690265,
            2601.03947115044,
            -0.0141365441256843,
            1.48082560654471,
            0.0456567953725219,
            0.265486725663717,
        ],
        "re75": [
            1720.8839579646,
            1882.7538619469,
            -0.0502818545440801,
            1.40427649714889,
            0.0507109475986875,
            0.15929203539823,
        ],
    },
}
