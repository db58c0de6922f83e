"""metrics: compared with whom. Propensity, matching, balance, effects, power and
payment thresholds."""

from metrics.balance import balance_table, balance_variables, plot_balance
from metrics.effects import Effect, compare, kaplan_meier
from metrics.matching import MatchedComparison, match, nearest_neighbours
from metrics.propensity import PropensityModel, fit_propensity
