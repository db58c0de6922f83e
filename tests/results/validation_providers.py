"""Reference values for tests/validation/test_providers.py, from R 4.2 and lme4 1.1.31.

Produced by tests/results/make_validation_providers.R on tests/data/providers.csv:

    glmer(reoffended ~ 1 + (1 | provider_id), offset = qlogis(expected), family = binomial,
          data = d, nAGQ = 25)                               # "adjusted"
    glmer(reoffended ~ 1 + (1 | provider_id), family = binomial, data = d, nAGQ = 25)   # "raw"

mu = fixef(fit), tau = the random intercepts' SD, loglik = logLik(fit); MODES are
ranef(fit) (conditional modes of each provider's intercept) and SD the square root of
their conditional variances (attr(ranef(fit, condVar = TRUE), "postVar")).
"""

FITS = {
    "adjusted": {"mu": 0.0744610821, "tau": 0.4794158551, "loglik": -1768.0467493034},
    "raw": {"mu": -0.3023084618, "tau": 0.4386936707, "loglik": -1962.3025747102},
}

MODES = {
    "adjusted": {
        "PRV01": 0.4058991647,
        "PRV02": 0.2761852372,
        "PRV03": -0.0254474424,
        "PRV04": -0.5310418165,
        "PRV05": -0.2495457282,
        "PRV06": -0.2160874899,
        "PRV07": 0.582768605,
        "PRV08": -0.6159109949,
        "PRV09": 0.4588411221,
        "PRV10": -0.698881021,
        "PRV11": -0.4101518446,
        "PRV12": 0.4716997415,
        "PRV13": 0.4244992571,
        "PRV14": 0.1515479212,
    },
    "raw": {
        "PRV01": 0.3835112108,
        "PRV02": 0.2647416901,
        "PRV03": 0.0334973576,
        "PRV04": -0.4434808075,
        "PRV05": -0.2989864244,
        "PRV06": -0.2339357752,
        "PRV07": 0.5715894521,
        "PRV08": -0.5770004797,
        "PRV09": 0.3463248189,
        "PRV10": -0.6361044337,
        "PRV11": -0.3352172428,
        "PRV12": 0.4015260887,
        "PRV13": 0.3824532202,
        "PRV14": 0.1675174472,
    },
}

SD = {
    "adjusted": {
        "PRV01": 0.3155572451,
        "PRV02": 0.2749192458,
        "PRV03": 0.2480029874,
        "PRV04": 0.2505571905,
        "PRV05": 0.2281667709,
        "PRV06": 0.208366133,
        "PRV07": 0.1826926312,
        "PRV08": 0.1770435589,
        "PRV09": 0.1455199672,
        "PRV10": 0.1415054782,
        "PRV11": 0.1252507197,
        "PRV12": 0.1041470925,
        "PRV13": 0.0936912931,
        "PRV14": 0.0829025129,
    },
    "raw": {
        "PRV01": 0.2957104141,
        "PRV02": 0.2565573018,
        "PRV03": 0.2312445237,
        "PRV04": 0.2338294526,
        "PRV05": 0.2115321666,
        "PRV06": 0.1955414041,
        "PRV07": 0.1698609247,
        "PRV08": 0.1660024488,
        "PRV09": 0.1346297629,
        "PRV10": 0.1339538883,
        "PRV11": 0.116990382,
        "PRV12": 0.0976130667,
        "PRV13": 0.0877072905,
        "PRV14": 0.0773915398,
    },
}
