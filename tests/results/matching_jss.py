"""Published output of R's Matching on its lalonde data (tests/data/nsw_dw.csv), for tests/metrics/test_matching_jss.py.

Sekhon, J. S. (2011). Multivariate and propensity score matching software with automated balance
optimization: the Matching package for R. Journal of Statistical Software 42(7), 1-52, section 3's
propensity-score example (its printed summary, also reproduced in public course scripts):

    library(Matching); data(lalonde)
    glm1 <- glm(treat ~ age + educ + black + hisp + married + nodegr + re74 + re75,
                family = binomial, data = lalonde)
    rr1 <- Match(Y = lalonde$re78, Tr = lalonde$treat, X = glm1$fitted)   # M = 1, ATT, ties = TRUE,
    summary(rr1)                                                          # Var.calc = 0, replace = TRUE

    Estimate...  2624.3
    AI SE......  802.19
    T-stat.....  3.2714
    p.val......  0.0010702
    Original number of observations..............  445
    Original number of treated obs...............  185
    Matched number of observations...............  185
    Matched number of observations  (unweighted).  344
"""

ESTIMATE = 2624.3  # printed to 5 significant digits
AI_SE = 802.19
T_STAT = 3.2714
P_VALUE = 0.0010702
N_OBSERVATIONS = 445
N_TREATED = 185
N_PAIRS = 344  # matched pairs counting every tied control
