"""Reference numbers for tests/metrics/test_sensitivity.py (issue 26).

Lead in children's blood (Rosenbaum 2002, Observational Studies, 2nd ed., chapter 4; the example of
rbounds::psens and hlsens): 33 matched pairs of children of lead-factory workers (TREATED) and
neighbourhood controls (CONTROL), blood lead in micrograms per decilitre. Issue 26's audit: the
critical Gamma of the signed-rank test at alpha = 0.05 is 4.43 by psens' normal approximation and
4.81 by the exact distribution of the bounding statistic.

    library(rbounds); psens(TREATED, CONTROL, Gamma = 6, GammaInc = 0.01)   # normal approximation

Risk difference E-value: Hammond and Horn's smokers (the example of EValue::evalues.RD), lung cancer
in 397 of 78,954 smokers and 51 of 108,829 non-smokers. Issue 26's audit: evalues.RD gives 15.957 for
the lower confidence limit (desist's risk-ratio method gave 15.518); the point estimate's E-value
follows from the closed form on p. 376 of Ding and VanderWeele (2016, Epidemiology 27, 368-377).

    library(EValue); evalues.RD(397, 78557, 51, 108778)
"""

TREATED = [38, 23, 41, 18, 37, 36, 23, 62, 31, 34, 24, 14, 21, 17, 16, 20, 15, 10, 45, 39, 22, 35, 49, 48, 44, 35,
           43, 39, 34, 13, 73, 25, 27]  # fmt: skip
CONTROL = [16, 18, 18, 24, 19, 11, 10, 15, 16, 18, 18, 13, 19, 10, 16, 16, 24, 13, 9, 14, 21, 19, 7, 18, 19, 12,
           11, 22, 25, 16, 13, 11, 13]  # fmt: skip
CRITICAL_GAMMA_NORMAL = 4.43
CRITICAL_GAMMA_EXACT = 4.81

SMOKING_COUNTS = (397, 78557, 51, 108778)  # n11, n10, n01, n00 as evalues.RD takes them
EVALUE_RD_LOWER = 15.957  # evalues.RD(...)$lower.Evalue, as quoted in issue 26
EVALUE_RR_LOWER_OLD = 15.518  # what the risk-ratio method gave (issue 26)
