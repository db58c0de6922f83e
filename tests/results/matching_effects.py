"""Reference Poisson rate-ratio SEs from R sandwich (generated, do not edit).

Regenerate with ``Rscript tests/results/make_matching_effects.R`` from the repository root.
R 4.2.2, sandwich 3.0.2.
Data: lalonde m1 matched sample (MatchIt 4.7.2 weights/subclass), jobs = re78 %/% 5000.
"""

# > f <- glm(jobs ~ treat, family = poisson, data = md, weights = weights); coef(f)['treat']
LOG_RATE_RATIO = 0.18351987928606475
# > sqrt(vcovCL(f, cluster = ~subclass)['treat', 'treat'])   (default type HC1)
SE_CLUSTER = 0.15514475662394528
# > sqrt(vcovHC(f, type = 'HC0')['treat', 'treat'])
SE_HC0 = 0.15817353267845571

# Cox model clustered on the matched pair (weeks = pmin(52, 1 + age), event = married):
# > cx <- coxph(Surv(weeks, married) ~ treat, data = md, ties = 'efron', cluster = subclass)
COX_COEF = 0.048121361090102469
# > sqrt(vcov(cx)['treat', 'treat'])   (robust, summed within subclass)
COX_SE_CLUSTER = 0.23509421723690477
